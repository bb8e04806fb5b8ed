package funcauth

import (
	"strings"
	"testing"
)

const testHash = "$pbkdf2-sha256$i=100000$FvsaKqDUjTxkY0LDcLY6LQ$avC3cRwBiE71Wx/YKvObS6LpxMgpuYhieUKArM2/40k"

func TestParseHtpasswd(t *testing.T) {
	p := &hashParser{}
	accounts, err := parseHtpasswd("# users\n\nadmin:"+testHash+"\r\n  ops:"+testHash+"  \n", p.parse)
	if err != nil {
		t.Fatal(err)
	}
	if len(accounts) != 2 || accounts[0].name != "admin" || accounts[1].name != "ops" {
		t.Fatalf("got %+v", accounts)
	}
	for _, tc := range []struct{ data, want string }{
		{"admin", "line 1: expected name:hash"},
		{":" + testHash, "line 1: expected name:hash"},
		{"\nadmin:" + testHash + "\nadmin:" + testHash, "line 3: user \"admin\" appears twice"},
		{"admin:hunter2", "line 1: the hash of user \"admin\" looks like a plain-text password"},
		{"admin:$2y$10$abcdefghijklmnopqrstuuJ3p9Zw4m5l5yMgFq0x8y6z4W2m1q3Ke", "bcrypt"},
		{strings.Repeat("u", 300) + ":" + testHash, "longer than"},
	} {
		_, err := parseHtpasswd(tc.data, p.parse)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("parseHtpasswd(%.30q) = %v; want %q", tc.data, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), "hunter2") {
			t.Errorf("the error quotes a password: %v", err)
		}
	}
}

func FuzzParseHtpasswd(f *testing.F) {
	f.Add("admin:" + testHash + "\n# c\nops:" + testHash)
	f.Add("a:b:c")
	f.Fuzz(func(t *testing.T, data string) {
		p := &hashParser{}
		accounts, err := parseHtpasswd(data, p.parse)
		if err != nil {
			return
		}
		seen := map[string]bool{}
		for _, a := range accounts {
			if a.name == "" || strings.Contains(a.name, ":") || seen[a.name] || a.password == nil {
				t.Fatalf("bad account %+v from %q", a, data)
			}
			seen[a.name] = true
		}
	})
}
