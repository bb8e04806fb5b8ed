package caddyauth

import (
	"net/http"
	"testing"

	"github.com/funcauth/funcauth/internal/conformance"
)

// TestForwardedProtoFollowsTrustedProxies: behind a TLS-terminating load
// balancer, Twilio (without base_url) signs the https URL and the request
// reaches Caddy over http. funcauth believes X-Forwarded-Proto exactly
// when Caddy's trusted_proxies trust the peer, as Caddy does for the
// client address.
func TestForwardedProtoFollowsTrustedProxies(t *testing.T) {
	cfg := []byte(`{"rules":[{"path":"/function/*","require":"signature"}],
		"signatures":[{"scheme":"twilio","keys":["12345"],"tolerance":"0s"}]}`)
	twilio := func() *http.Request {
		req, err := conformance.BuildRequest(&conformance.Request{
			Method: "POST", Target: "/function/hook?x=1", Body: "CallSid=CA1&Digits=1234",
			Headers: map[string][]string{"Content-Type": {"application/x-www-form-urlencoded"}, "X-Forwarded-Proto": {"https"}},
			Sign:    &conformance.Sign{Scheme: "twilio", Key: "12345", URL: "https://gateway.test/function/hook?x=1"},
		}, "http://gateway.test")
		if err != nil {
			t.Fatal(err)
		}
		return req
	}
	for _, tc := range []struct {
		name    string
		trusted []string
		status  int
		reason  string
	}{
		{"loopback is a trusted proxy", []string{"127.0.0.1/32", "::1/128"}, http.StatusOK, ""},
		{"loopback is not a trusted proxy", []string{"192.0.2.0/24"}, http.StatusUnauthorized, "bad_signature"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := startCaddy(t, cfg, serverOptions{server: map[string]interface{}{
				"trusted_proxies": map[string]interface{}{"source": "static", "ranges": tc.trusted},
			}})
			resp, reason := c.Do(t, twilio(), conformance.TrustedProxy)
			if resp.StatusCode != tc.status || reason != tc.reason {
				t.Errorf("status %d, reason %q; want %d, %q", resp.StatusCode, reason, tc.status, tc.reason)
			}
		})
	}
}
