package funcauth

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// TestTrailersCannotCarryIdentity: a client that sends the identity headers
// as trailers of a chunked body, declared or not, and in the underscore
// spelling, does not get them to the upstream, on an open route and on a
// signed one; other trailers still arrive.
func TestTrailersCannotCarryIdentity(t *testing.T) {
	g := newTestGuard(t, &Config{
		Rules: []Rule{
			{Path: "/open/*", Require: "open"},
			{Path: "/function/*", Require: "signature"},
		},
		Signatures: []Signature{{Scheme: "faas-cli", Keys: []string{"k"}, Tolerance: "0s"}},
	}, nil)
	var mu sync.Mutex
	var got http.Header
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		buf := make([]byte, 512)
		for {
			if _, err := r.Body.Read(buf); err != nil {
				break
			}
		}
		mu.Lock()
		got = r.Trailer.Clone()
		mu.Unlock()
	})
	srv := httptest.NewServer(g.Handler(next, nil))
	defer srv.Close()

	const body = "hello"
	for _, tc := range []struct{ name, target, extra string }{
		{"open", "/open/x", ""},
		{"signed", "/function/env", "Hmac: sha256=" + hexMAC("k", body) + "\r\n"},
	} {
		for _, declared := range []string{"X-Funcauth-User, X-Funcauth-Signature, X-Other", "X-Other"} {
			got = nil
			conn, err := net.Dial("tcp", strings.TrimPrefix(srv.URL, "http://"))
			if err != nil {
				t.Fatal(err)
			}
			raw := "POST " + tc.target + " HTTP/1.1\r\nHost: gateway.test\r\nTransfer-Encoding: chunked\r\n" +
				"Trailer: " + declared + "\r\n" + tc.extra + "Connection: close\r\n\r\n" +
				"5\r\n" + body + "\r\n0\r\n" +
				"X-Funcauth-User: admin\r\nX-Funcauth-Signature: faas-cli/keys[0]\r\nX_Funcauth_User: admin\r\nX-Other: kept\r\n\r\n"
			conn.Write([]byte(raw))
			resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
			conn.Close()
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("%s (%s): status %d", tc.name, declared, resp.StatusCode)
			}
			mu.Lock()
			if got.Get("X-Other") != "kept" {
				t.Errorf("%s (%s): the other trailer did not arrive: %v", tc.name, declared, got)
			}
			for k := range got {
				if strings.EqualFold(strings.ReplaceAll(k, "_", "-"), "X-Funcauth-User") || strings.EqualFold(k, "X-Funcauth-Signature") {
					t.Errorf("%s (%s): the upstream got trailer %s: %v", tc.name, declared, k, got[k])
				}
			}
			mu.Unlock()
		}
	}
}

// TestSensitiveHeaders lists the credential headers of a configuration.
func TestSensitiveHeaders(t *testing.T) {
	g := newTestGuard(t, &Config{
		Rules: []Rule{{Path: "*", Require: "signature"}},
		Signatures: []Signature{
			{Scheme: "faas-cli", Keys: []string{"k"}, Algorithms: []string{"sha1", "sha256"}},
			{Scheme: "github", Keys: []string{"k"}, Algorithms: []string{"sha256", "sha1"}},
			{Scheme: "generic", Keys: []string{"k"}, Header: "x-my-sig", Algorithms: []string{"sha256"}},
			{Scheme: "gitlab", Keys: []string{"k"}},
			{Scheme: "svix", Keys: []string{"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}},
			{Scheme: "standard-webhooks", Keys: []string{"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}},
			{Scheme: "stripe", Keys: []string{"k"}},
			{Scheme: "slack", Keys: []string{"k"}},
			{Scheme: "shopify", Keys: []string{"k"}},
			{Scheme: "twilio", Keys: []string{"k"}},
		},
	}, nil)
	want := "Hmac Shopify-Hmac-Sha256 Stripe-Signature Svix-Signature Webhook-Signature X-Gitlab-Token X-Hub-Signature X-Hub-Signature-256 X-My-Sig X-Shopify-Hmac-Sha256 X-Slack-Signature X-Twilio-Signature"
	if got := strings.Join(g.SensitiveHeaders(), " "); got != want {
		t.Errorf("SensitiveHeaders = %s\nwant %s", got, want)
	}
	g = newTestGuard(t, &Config{Rules: []Rule{{Path: "*", Require: "basic"}}, BasicAuth: &BasicAuth{Users: []User{{Name: "a", PasswordHash: "$pbkdf2-sha256$i=100000$FvsaKqDUjTxkY0LDcLY6LQ$avC3cRwBiE71Wx/YKvObS6LpxMgpuYhieUKArM2/40k"}}}}, nil)
	if got := strings.Join(g.SensitiveHeaders(), " "); got != "Authorization" {
		t.Errorf("Basic Auth only: %s", got)
	}
}

// TestTrailersCannotCarryIdentityOverHTTP2: the same over HTTP/2, where a
// body of known length can carry trailers too.
func TestTrailersCannotCarryIdentityOverHTTP2(t *testing.T) {
	g := newTestGuard(t, &Config{
		Rules: []Rule{
			{Path: "/open/*", Require: "open"},
			{Path: "/function/*", Require: "signature"},
		},
		Signatures: []Signature{{Scheme: "faas-cli", Keys: []string{"k"}, Tolerance: "0s"}},
	}, nil)
	var mu sync.Mutex
	var got http.Header
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		mu.Lock()
		got = r.Trailer.Clone()
		mu.Unlock()
	})
	srv := httptest.NewUnstartedServer(g.Handler(next, nil))
	srv.EnableHTTP2 = true
	srv.StartTLS()
	defer srv.Close()
	const body = "hello"
	for _, target := range []string{"/open/x", "/function/env"} {
		req, _ := http.NewRequest("POST", srv.URL+target, strings.NewReader(body))
		req.Header.Set("Hmac", "sha256="+hexMAC("k", body))
		req.Trailer = http.Header{"X-Funcauth-User": {"admin"}, "X-Funcauth-Signature": {"faas-cli/keys[0]"}, "X-Other": {"kept"}}
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || resp.ProtoMajor != 2 {
			t.Fatalf("%s: %d over %s", target, resp.StatusCode, resp.Proto)
		}
		mu.Lock()
		if got.Get("X-Other") != "kept" || got.Get("X-Funcauth-User") != "" || got.Get("X-Funcauth-Signature") != "" {
			t.Errorf("%s: the upstream got trailers %v", target, got)
		}
		mu.Unlock()
	}
}

func TestIdentityHeadersWithUnderscoresAreRemoved(t *testing.T) {
	g := newTestGuard(t, &Config{Rules: []Rule{{Path: "*", Require: "open"}}}, nil)
	r := request("GET", "/", "", http.Header{"X_funcauth_user": {"admin"}, "X_Funcauth_Signature": {"x/y"}, "X_other": {"kept"}})
	_, _, up := serve(g, r)
	for k := range up.header {
		if strings.Contains(strings.ToLower(k), "funcauth") {
			t.Errorf("%s reached the upstream", k)
		}
	}
	if up.header.Get("X_other") != "kept" {
		t.Error("an unrelated underscore header was removed")
	}
}
