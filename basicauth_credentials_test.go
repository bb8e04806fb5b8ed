package funcauth

import (
	"encoding/base64"
	"strings"
	"testing"
)

func TestParseBasicAuth(t *testing.T) {
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	for _, tc := range []struct {
		header         string
		user, password string
		scheme, ok     bool
	}{
		{"Basic " + b64("admin:secret"), "admin", "secret", true, true},
		{"basic " + b64("admin:secret"), "admin", "secret", true, true},
		{"BASIC  " + b64("admin:secret"), "admin", "secret", true, true},
		{"Basic " + b64("admin:se:cr:et"), "admin", "se:cr:et", true, true},
		{"Basic " + b64("admin:"), "admin", "", true, true},
		{"Basic " + b64(":secret"), "", "", true, false},
		{"Basic " + b64("admin"), "", "", true, false},
		{"Basic !!!", "", "", true, false},
		{"Basic " + b64("admin:secret")[:5], "", "", true, false},
		{"Basic " + b64(strings.Repeat("u", 257)+":p"), "", "", true, false},
		{"Basic " + b64("u:"+strings.Repeat("p", 1025)), "", "", true, false},
		{"Basic " + strings.Repeat("A", 100000), "", "", true, false},
		{"Bearer abc", "", "", false, false},
		{"Basic", "", "", true, false},
		{"Basic ", "", "", true, false},
		{"", "", "", false, false},
	} {
		user, password, scheme, ok := parseBasicAuth(tc.header)
		if user != tc.user || password != tc.password || scheme != tc.scheme || ok != tc.ok {
			t.Errorf("parseBasicAuth(%.40q) = %q, %q, %v, %v", tc.header, user, password, scheme, ok)
		}
	}
}

func FuzzParseBasicAuth(f *testing.F) {
	f.Add("Basic YWRtaW46c2VjcmV0")
	f.Add("basic Og==")
	f.Add("Bearer x")
	f.Fuzz(func(t *testing.T, header string) {
		user, password, scheme, ok := parseBasicAuth(header)
		if ok && (!scheme || user == "" || strings.Contains(user, ":") || len(user) > maxUserNameLength || len(password) > maxPasswordLength) {
			t.Fatalf("accepted %q as %q/%q", header, user, password)
		}
		if ok {
			again := "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+password))
			u2, p2, _, ok2 := parseBasicAuth(again)
			if !ok2 || u2 != user || p2 != password {
				t.Fatalf("round trip of %q failed", header)
			}
		}
	})
}
