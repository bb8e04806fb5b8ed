package funcauth

import (
	"net/http"
	"testing"
)

// TestForwardedProtoFromTrustedPeer: behind a TLS-terminating proxy the
// request arrives over http; Twilio signed the https URL. The proxy's
// X-Forwarded-Proto is believed from a peer in trusted_proxies, or when
// the host says the peer is trusted (CheckBehindProxy, as Caddy does), and
// from no one else.
func TestForwardedProtoFromTrustedPeer(t *testing.T) {
	const form = "CallSid=CA1234567890ABCDE&Caller=%2B14158675309&Digits=1234&From=%2B14158675309&To=%2B18005551212"
	guard := func(trusted ...string) *Guard {
		return newTestGuard(t, &Config{
			Rules:         []Rule{{Path: "/myapp.php", Require: "signature"}},
			Signatures:    []Signature{{Scheme: "twilio", Keys: []string{"12345"}, Tolerance: "0s"}},
			ClientAddress: &ClientAddress{TrustedProxies: trusted},
		}, nil)
	}
	req := func(peer string) *http.Request {
		r := request("POST", "/myapp.php?foo=1&bar=2", form, http.Header{
			"X-Twilio-Signature": {"RSOYDt4T1cUTdK1PDd93/VVr8B8="}, // https://mycompany.com/myapp.php?foo=1&bar=2
			"Content-Type":       {"application/x-www-form-urlencoded"},
			"X-Forwarded-Proto":  {"https"},
		})
		r.Host = "mycompany.com"
		r.RemoteAddr = peer + ":4000"
		return r
	}
	check := func(name string, d *Decision, want Reason) {
		t.Helper()
		defer d.Close()
		if d.Reason != want {
			t.Errorf("%s: %s (%s), want %s", name, d.Reason, d.Detail, want)
		}
	}
	withProxy := guard("10.0.0.0/8")
	r := req("10.0.0.2")
	check("peer in trusted_proxies", withProxy.Check(r, withProxy.ClientAddress(r)), ReasonSigned)
	r = req("198.51.100.9")
	check("peer not in trusted_proxies", withProxy.Check(r, withProxy.ClientAddress(r)), ReasonBadSignature)

	hostDecides := guard()
	check("host says the peer is trusted", hostDecides.CheckBehindProxy(req("10.0.0.2"), "203.0.113.7", true), ReasonSigned)
	check("host says the peer is not trusted", hostDecides.CheckBehindProxy(req("10.0.0.2"), "10.0.0.2", false), ReasonBadSignature)
	check("Check without trusted_proxies", hostDecides.Check(req("10.0.0.2"), "10.0.0.2"), ReasonBadSignature)
}
