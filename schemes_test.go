package funcauth

import (
	"crypto/ed25519"
	"crypto/tls"
	"encoding/hex"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/funcauth/funcauth/internal/sign"
)

// schemeCase is one request against a guard with one verifier on
// /function/* (and the time it is checked at).
type schemeCase struct {
	name   string
	method string
	target string
	host   string
	body   string
	header http.Header
	tls    bool // arrived over TLS
	at     time.Time
	want   Reason
}

func runSchemeCases(t *testing.T, sig Signature, cases []schemeCase) {
	t.Helper()
	c := &clock{}
	g := newTestGuard(t, &Config{
		Rules:      []Rule{{Path: "*", Require: "signature"}},
		Signatures: []Signature{sig},
		Bans:       &Bans{Disabled: true},
	}, c)
	for _, tc := range cases {
		c.t = tc.at
		method := tc.method
		if method == "" {
			method = "POST"
		}
		target := tc.target
		if target == "" {
			target = "/function/hook"
		}
		r := request(method, target, tc.body, tc.header)
		if tc.host != "" {
			r.Host = tc.host
		}
		if tc.tls {
			r.TLS = &tls.ConnectionState{}
		}
		rec, d, up := serve(g, r)
		if d.Reason != tc.want {
			t.Errorf("%s: %s (%s), want %s", tc.name, d.Reason, d.Detail, tc.want)
			continue
		}
		if tc.want == ReasonSigned && (!up.reached || string(up.body) != tc.body) {
			t.Errorf("%s: the upstream got %q", tc.name, up.body)
		}
		if tc.want != ReasonSigned && (up.reached || rec.Code != http.StatusUnauthorized) {
			t.Errorf("%s: status %d, reached %v", tc.name, rec.Code, up.reached)
		}
	}
}

// Standard Webhooks: the vector of standard-webhooks/standard-webhooks,
// libraries/go/webhook_test.go (TestWebhookSign), which the js, php and
// java tests share.
func TestStandardWebhooksVector(t *testing.T) {
	const (
		secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
		id     = "msg_p5jXN8AQM9LWM0D4loKWxJek"
		ts     = "1614265330"
		body   = `{"test": 2432232314}`
		good   = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
	)
	at := time.Unix(1614265330, 0)
	hdr := func(prefix, sigs string) http.Header {
		return http.Header{prefix + "Id": {id}, prefix + "Timestamp": {ts}, prefix + "Signature": {sigs}}
	}
	cases := []schemeCase{
		{name: "published vector", body: body, header: hdr("Webhook-", good), at: at, want: ReasonSigned},
		{name: "replay of the same message id", body: body, header: hdr("Webhook-", good), at: at.Add(time.Minute), want: ReasonReplayed},
	}
	runSchemeCases(t, Signature{Scheme: "standard-webhooks", Keys: []string{secret}}, cases)
	runSchemeCases(t, Signature{Scheme: "standard-webhooks", Keys: []string{"whsec_" + strings.Repeat("A", 32), secret}}, []schemeCase{
		{name: "rotation: the second key", body: body, header: hdr("Webhook-", good), at: at, want: ReasonSigned},
	})
	runSchemeCases(t, Signature{Scheme: "standard-webhooks", Keys: []string{secret}}, []schemeCase{
		{name: "one valid among several", body: body, header: hdr("Webhook-", "v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc= v2,abc "+good+" v1,"), at: at, want: ReasonSigned},
	})
	runSchemeCases(t, Signature{Scheme: "standard-webhooks", Keys: []string{secret}}, []schemeCase{
		{name: "last character changed", body: body, header: hdr("Webhook-", "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OA="), at: at, want: ReasonBadSignature},
		{name: "tampered body", body: `{"test": 2432232315}`, header: hdr("Webhook-", good), at: at, want: ReasonBadSignature},
		{name: "unknown version only", body: body, header: hdr("Webhook-", "v2,"+good[3:]), at: at, want: ReasonBadSignature},
		{name: "empty signature", body: body, header: hdr("Webhook-", "v1,"), at: at, want: ReasonBadSignature},
		{name: "stale", body: body, header: hdr("Webhook-", good), at: at.Add(5*time.Minute + time.Second), want: ReasonExpired},
		{name: "from the future", body: body, header: hdr("Webhook-", good), at: at.Add(-5*time.Minute - time.Second), want: ReasonFuture},
		{name: "no id", body: body, header: http.Header{"Webhook-Timestamp": {ts}, "Webhook-Signature": {good}}, at: at, want: ReasonBadSignature},
		{name: "missing", body: body, at: at, want: ReasonMissingSignature},
	})
	bad := hdr("Webhook-", good)
	bad.Set("Webhook-Timestamp", "16142653.30")
	runSchemeCases(t, Signature{Scheme: "standard-webhooks", Keys: []string{secret}}, []schemeCase{
		{name: "timestamp not a number", body: body, header: bad, at: at, want: ReasonBadSignature},
	})
	// Svix: svix-* headers (the same vector is in svix-webhooks go/webhook_test.go),
	// and the webhook-* fallback its library has.
	runSchemeCases(t, Signature{Scheme: "svix", Keys: []string{secret}}, []schemeCase{
		{name: "svix headers", body: body, header: hdr("Svix-", good), at: at, want: ReasonSigned},
	})
	runSchemeCases(t, Signature{Scheme: "svix", Keys: []string{secret}}, []schemeCase{
		{name: "svix falls back to webhook headers", body: body, header: hdr("Webhook-", good), at: at, want: ReasonSigned},
	})
}

// Stripe publishes no (secret, t, body) vector; this one was computed with
// the algorithm of stripe-go webhook/client.go ComputeSignature for
// stripe-node's test payload (see the interop test in integration/providers,
// which signs with stripe-go itself).
func TestStripe(t *testing.T) {
	const (
		secret = "whsec_test_secret"
		body   = "{\n  \"id\": \"evt_test_webhook\",\n  \"object\": \"event\"\n}"
		v1     = "af4ead0627a34a8cca29808e8de9ada8e41a92e6237c63cef6eacf51d36cca34"
	)
	at := time.Unix(1614265330, 0)
	hdr := func(v string) http.Header { return http.Header{"Stripe-Signature": {v}} }
	runSchemeCases(t, Signature{Scheme: "stripe", Keys: []string{secret}}, []schemeCase{
		{name: "derived vector", body: body, header: hdr("t=1614265330,v1=" + v1), at: at, want: ReasonSigned},
		{name: "replayed", body: body, header: hdr("t=1614265330,v1=" + v1), at: at.Add(time.Second), want: ReasonReplayed},
	})
	runSchemeCases(t, Signature{Scheme: "stripe", Keys: []string{secret}}, []schemeCase{
		{name: "a second v1 from a rolled secret, and v0", body: body, header: hdr("t=1614265330,v1=" + strings.Repeat("0", 64) + ",v1=" + v1 + ",v0=6ffbb59b2300aae63f272406069a9788598b792a944a07aba816edb039989a39"), at: at, want: ReasonSigned},
	})
	runSchemeCases(t, Signature{Scheme: "stripe", Keys: []string{secret}}, []schemeCase{
		{name: "v0 only", body: body, header: hdr("t=1614265330,v0=" + v1), at: at, want: ReasonBadSignature},
		{name: "no timestamp", body: body, header: hdr("v1=" + v1), at: at, want: ReasonBadSignature},
		{name: "two timestamps", body: body, header: hdr("t=1614265330,t=1614265331,v1=" + v1), at: at, want: ReasonBadSignature},
		{name: "older than 300 s", body: body, header: hdr("t=1614265330,v1=" + v1), at: at.Add(301 * time.Second), want: ReasonExpired},
		{name: "in the future", body: body, header: hdr("t=1614265330,v1=" + v1), at: at.Add(-301 * time.Second), want: ReasonFuture},
		{name: "tampered", body: body + " ", header: hdr("t=1614265330,v1=" + v1), at: at, want: ReasonBadSignature},
		{name: "wrong timestamp", body: body, header: hdr("t=1614265331,v1=" + v1), at: at, want: ReasonBadSignature},
	})
	runSchemeCases(t, Signature{Scheme: "stripe", Keys: []string{"whsec_other"}}, []schemeCase{
		{name: "wrong secret", body: body, header: hdr("t=1614265330,v1=" + v1), at: at, want: ReasonBadSignature},
	})
	runSchemeCases(t, Signature{Scheme: "stripe", Keys: []string{secret}, Tolerance: "10m"}, []schemeCase{
		{name: "a configured tolerance", body: body, header: hdr("t=1614265330,v1=" + v1), at: at.Add(9 * time.Minute), want: ReasonSigned},
	})
}

// Slack: the example of Slack's "Verifying requests from Slack" page, which
// slackapi/python-slack-sdk tests/slack_sdk/signature/test_signature_verifier.py
// uses too.
func TestSlackVector(t *testing.T) {
	const (
		secret = "8f742231b10e8888abcd99yyyzzz85a5"
		body   = "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
		sig    = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"
	)
	at := time.Unix(1531420618, 0)
	hdr := func(ts, s string) http.Header {
		return http.Header{"X-Slack-Request-Timestamp": {ts}, "X-Slack-Signature": {s}}
	}
	runSchemeCases(t, Signature{Scheme: "slack", Keys: []string{secret}}, []schemeCase{
		{name: "published vector", body: body, header: hdr("1531420618", sig), at: at, want: ReasonSigned},
		{name: "replayed", body: body, header: hdr("1531420618", sig), at: at, want: ReasonReplayed},
	})
	runSchemeCases(t, Signature{Scheme: "slack", Keys: []string{secret}}, []schemeCase{
		{name: "other timestamp", body: body, header: hdr("1531420619", sig), at: at, want: ReasonBadSignature},
		{name: "stale", body: body, header: hdr("1531420618", sig), at: at.Add(6 * time.Minute), want: ReasonExpired},
		{name: "no timestamp", body: body, header: http.Header{"X-Slack-Signature": {sig}}, at: at, want: ReasonBadSignature},
		{name: "v1 prefix", body: body, header: hdr("1531420618", "v1"+sig[2:]), at: at, want: ReasonBadSignature},
	})
}

// Shopify: Shopify/shopify-app-js packages/apps/shopify-api/lib/webhooks/
// __tests__/validate.test.ts with the secret of __tests__/test-config.ts.
func TestShopifyVector(t *testing.T) {
	const sig = "B23tXN681gZ0qIWNRrgtzBE9XSDo5yaUu6wfmhu3a7g="
	at := testNow
	runSchemeCases(t, Signature{Scheme: "shopify", Keys: []string{"test_secret_key"}}, []schemeCase{
		{name: "published vector", body: `{"foo": "bar"}`, header: http.Header{"X-Shopify-Hmac-Sha256": {sig}}, at: at, want: ReasonSigned},
		{name: "replayed", body: `{"foo": "bar"}`, header: http.Header{"X-Shopify-Hmac-Sha256": {sig}}, at: at.Add(time.Minute), want: ReasonReplayed},
		{name: "replay window over", body: `{"foo": "bar"}`, header: http.Header{"X-Shopify-Hmac-Sha256": {sig}}, at: at.Add(6 * time.Minute), want: ReasonSigned},
		{name: "events header", body: `{"foo": "baz"}`, header: http.Header{"Shopify-Hmac-Sha256": {sig}}, at: at, want: ReasonBadSignature},
		{name: "hex instead of base64", body: `{"foo": "bar"}`, header: http.Header{"X-Shopify-Hmac-Sha256": {hex.EncodeToString([]byte("x"))}}, at: at, want: ReasonBadSignature},
	})
}

// GitLab sends its secret token in plain text.
func TestGitLabToken(t *testing.T) {
	at := testNow
	runSchemeCases(t, Signature{Scheme: "gitlab", Keys: []string{"old-token", "new-token"}}, []schemeCase{
		{name: "token", body: "{}", header: http.Header{"X-Gitlab-Token": {"new-token"}, "Idempotency-Key": {"d1"}}, at: at, want: ReasonSigned},
		{name: "the same delivery again", body: "{}", header: http.Header{"X-Gitlab-Token": {"new-token"}, "Idempotency-Key": {"d1"}}, at: at, want: ReasonReplayed},
		{name: "wrong token", body: "{}", header: http.Header{"X-Gitlab-Token": {"new-toke"}}, at: at, want: ReasonBadSignature},
		{name: "empty token", body: "{}", header: http.Header{"X-Gitlab-Token": {""}}, at: at, want: ReasonBadSignature},
	})
}

// Twilio: twilio/twilio-python tests/unit/test_request_validator.py, auth
// token 12345.
func TestTwilioVectors(t *testing.T) {
	const form = "CallSid=CA1234567890ABCDE&Caller=%2B14158675309&Digits=1234&From=%2B14158675309&To=%2B18005551212"
	formHeader := func(sig string) http.Header {
		return http.Header{"X-Twilio-Signature": {sig}, "Content-Type": {"application/x-www-form-urlencoded"}}
	}
	at := testNow
	base := Signature{Scheme: "twilio", Keys: []string{"12345"}, Tolerance: "0s"}
	runSchemeCases(t, base, []schemeCase{
		{name: "form parameters", target: "/myapp.php?foo=1&bar=2", host: "mycompany.com", tls: true, body: form,
			header: formHeader("RSOYDt4T1cUTdK1PDd93/VVr8B8="), at: at, want: ReasonSigned},
		{name: "port stripped (removes_port_on_http)", target: "/myapp.php?foo=1&bar=2", host: "mycompany.com:1234", body: form,
			header: formHeader("Zmvh+3yNM1Phv2jhDCwEM3q5ebU="), at: at, want: ReasonSigned},
		{name: "duplicate parameters", target: "/myapp.php?foo=1&bar=2", host: "mycompany.com", tls: true,
			body:   "Sid=CA123&SidAccount=AC123&Digits=5678&Digits=1234&Digits=1234",
			header: formHeader("IK+Dwps556ElfBT0I3Rgjkr1wJU="), at: at, want: ReasonSigned},
		{name: "tampered parameter", target: "/myapp.php?foo=1&bar=2", host: "mycompany.com", tls: true, body: strings.Replace(form, "1234", "1235", 1),
			header: formHeader("RSOYDt4T1cUTdK1PDd93/VVr8B8="), at: at, want: ReasonBadSignature},
		{name: "other URL", target: "/myapp.php?foo=1&bar=3", host: "mycompany.com", tls: true, body: form,
			header: formHeader("RSOYDt4T1cUTdK1PDd93/VVr8B8="), at: at, want: ReasonBadSignature},
	})
	// Behind a TLS-terminating proxy the request arrives over http: pin the public URL.
	pinned := base
	pinned.BaseURL = "https://mycompany.com"
	runSchemeCases(t, pinned, []schemeCase{
		{name: "pinned base URL", target: "/myapp.php?foo=1&bar=2", host: "10.0.0.5:8080", body: form,
			header: formHeader("RSOYDt4T1cUTdK1PDd93/VVr8B8="), at: at, want: ReasonSigned},
		{name: "pinned base URL with default port (adds_port_on_https)", target: "/myapp.php?foo=1&bar=2", host: "x", body: form,
			header: formHeader("kvajT1Ptam85bY51eRf/AJRuM3w="), at: at, want: ReasonSigned},
		{name: "JSON body with bodySHA256", target: "/myapp.php?foo=1&bar=2&bodySHA256=0a1ff7634d9ab3b95db5c9a2dfe9416e41502b283a80c7cf19632632f96e6620",
			host: "x", body: `{"property": "value", "boolean": true}`,
			header: http.Header{"X-Twilio-Signature": {"a9nBmqA0ju/hNViExpshrM61xv4="}, "Content-Type": {"application/json"}}, at: at, want: ReasonSigned},
		{name: "JSON body not matching bodySHA256", target: "/myapp.php?foo=1&bar=2&bodySHA256=0a1ff7634d9ab3b95db5c9a2dfe9416e41502b283a80c7cf19632632f96e6620",
			host: "x", body: `{"property": "value", "boolean": false}`,
			header: http.Header{"X-Twilio-Signature": {"a9nBmqA0ju/hNViExpshrM61xv4="}, "Content-Type": {"application/json"}}, at: at, want: ReasonBadSignature},
	})
	httpPinned := base
	httpPinned.BaseURL = "http://mycompany.com"
	runSchemeCases(t, httpPinned, []schemeCase{
		{name: "adds_port_on_http", target: "/myapp.php?foo=1&bar=2", host: "x", body: form,
			header: formHeader("0ZXoZLH/DfblKGATFgpif+LLRf4="), at: at, want: ReasonSigned},
	})
}

// Discord publishes no vector: this one uses the RFC 8032 section 7.1
// TEST 1 key pair, signing "<timestamp><body>" as Discord does.
func TestDiscord(t *testing.T) {
	const (
		public = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"
		seed   = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"
		sig    = "1695961a47c91a1ec033b819b7e87e3dbc583dd0cee6d1fd0216f58ac87b6228ae531ddbf91fb7bc28d7edf7f08604da16f54624f38a6bc0614e4dc13cd47f0f"
	)
	// The RFC's own vector pins the key pair.
	seedBytes, _ := hex.DecodeString(seed)
	if got := hex.EncodeToString(ed25519.Sign(ed25519.NewKeyFromSeed(seedBytes), nil)); !strings.HasPrefix(got, "e5564300c360ac72") {
		t.Fatalf("RFC 8032 TEST 1: %s", got)
	}
	at := time.Unix(1700000000, 0)
	hdr := func(s, ts string) http.Header {
		return http.Header{"X-Signature-Ed25519": {s}, "X-Signature-Timestamp": {ts}}
	}
	runSchemeCases(t, Signature{Scheme: "discord", Keys: []string{public}}, []schemeCase{
		{name: "interaction", body: `{"type":1}`, header: hdr(sig, "1700000000"), at: at, want: ReasonSigned},
		{name: "replayed", body: `{"type":1}`, header: hdr(sig, "1700000000"), at: at, want: ReasonReplayed},
	})
	runSchemeCases(t, Signature{Scheme: "discord", Keys: []string{public}}, []schemeCase{
		{name: "Discord's deliberately invalid probe", body: `{"type":1}`, header: hdr(strings.Repeat("00", 64), "1700000000"), at: at, want: ReasonBadSignature},
		{name: "other timestamp", body: `{"type":1}`, header: hdr(sig, "1700000001"), at: at, want: ReasonBadSignature},
		{name: "tampered", body: `{"type":2}`, header: hdr(sig, "1700000000"), at: at, want: ReasonBadSignature},
		{name: "stale", body: `{"type":1}`, header: hdr(sig, "1700000000"), at: at.Add(time.Hour), want: ReasonExpired},
		{name: "not hex", body: `{"type":1}`, header: hdr("zz"+sig[2:], "1700000000"), at: at, want: ReasonBadSignature},
	})
	if _, err := New(&Config{Rules: []Rule{{Path: "*", Require: "signature"}}, Signatures: []Signature{{Scheme: "discord", Keys: []string{"abc"}}}}, Options{}); err == nil || !strings.Contains(err.Error(), "signatures[0].keys[0]: is not an Ed25519 public key") {
		t.Errorf("a malformed public key: %v", err)
	}
}

// HTTP Message Signatures: RFC 9421 appendix B.2.5 (hmac-sha256) and
// B.2.6 (ed25519) on the test request of B.2, with the keys of B.1.4 and
// B.1.5, at the signatures' created time.
func TestHTTPMessageSignaturesVectors(t *testing.T) {
	const (
		secret  = "uzvJfB4u3N0Jy4T7NZ75MDVcr8zSTInedJtkgcu46YW4XByzNJjxBdtjUkdJPBtbmHhIDi6pcl8jsasjlTMtDQ=="
		edPub   = "JrQLj5P_89iXES9-vFgrIy29clF9CC_oPPsw3c5D0bs"
		body    = `{"hello": "world"}`
		target  = "/foo?param=Value&Pet=dog"
		input25 = `sig-b25=("date" "@authority" "content-type");created=1618884473;keyid="test-shared-secret"`
		sig25   = `sig-b25=:pxcQw6G3AjtMBQjwo8XzkZf/bws5LelbaMk5rGIGtE8=:`
		input26 = `sig-b26=("date" "@method" "@path" "@authority" "content-type" "content-length");created=1618884473;keyid="test-key-ed25519"`
		sig26   = `sig-b26=:wqcAqbmYJ2ji2glfAMaRy4gruYYnx2nEFN2HN6jrnDnQCK1u02Gb04v9EDgwUPiu4A0w6vuQv5lIp5WPpBKRCw==:`
	)
	at := time.Unix(1618884473, 0)
	hdr := func(input, sig string) http.Header {
		return http.Header{
			"Date":            {"Tue, 20 Apr 2021 02:07:55 GMT"},
			"Content-Type":    {"application/json"},
			"Content-Digest":  {"sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==:"},
			"Content-Length":  {"18"},
			"Signature-Input": {input},
			"Signature":       {sig},
		}
	}
	hmacKey := "hmac-sha256:test-shared-secret:" + secret
	edKey := "ed25519:test-key-ed25519:" + edPub
	runSchemeCases(t, Signature{Scheme: "http-message-signatures", Keys: []string{hmacKey}, Components: []string{"@authority"}}, []schemeCase{
		{name: "B.2.5 hmac-sha256", target: target, host: "example.com", body: body, header: hdr(input25, sig25), at: at, want: ReasonSigned},
	})
	runSchemeCases(t, Signature{Scheme: "http-message-signatures", Keys: []string{edKey}, Components: []string{"@method", "@path", "@authority"}}, []schemeCase{
		{name: "B.2.6 ed25519", target: target, host: "example.com", body: body, header: hdr(input26, sig26), at: at, want: ReasonSigned},
	})
	runSchemeCases(t, Signature{Scheme: "http-message-signatures", Keys: []string{hmacKey, edKey}}, []schemeCase{
		{name: "B.2.6 lacks content-digest, which funcauth requires by default", target: target, host: "example.com", body: body, header: hdr(input26, sig26), at: at, want: ReasonBadSignature},
	})
	runSchemeCases(t, Signature{Scheme: "http-message-signatures", Keys: []string{hmacKey}, Components: []string{"@authority"}}, []schemeCase{
		{name: "B.2.5 on another host", target: target, host: "example.org", body: body, header: hdr(input25, sig25), at: at, want: ReasonBadSignature},
		{name: "B.2.5 an hour later", target: target, host: "example.com", body: body, header: hdr(input25, sig25), at: at.Add(time.Hour), want: ReasonExpired},
		{name: "B.2.5 signature under another label", target: target, host: "example.com", body: body, header: hdr(input25, strings.Replace(sig25, "sig-b25", "sig-x", 1)), at: at, want: ReasonBadSignature},
	})
	// An ed25519 public key is never an HMAC secret (algorithm confusion).
	confused := hdr(strings.Replace(input25, `keyid="test-shared-secret"`, `keyid="test-key-ed25519";alg="hmac-sha256"`, 1), sig25)
	runSchemeCases(t, Signature{Scheme: "http-message-signatures", Keys: []string{edKey}, Components: []string{"@authority"}}, []schemeCase{
		{name: "alg confusion", target: target, host: "example.com", body: body, header: confused, at: at, want: ReasonBadSignature},
	})

	// Content-Digest, nonce and replays, signed by funcauth's test signer.
	seed := strings.Repeat("ab", 32)
	seedBytes, _ := hex.DecodeString(seed)
	pub := hex.EncodeToString(ed25519.NewKeyFromSeed(seedBytes).Public().(ed25519.PublicKey))
	signed := func(key, body, url, nonce string, ts time.Time) http.Header {
		h, err := sign.Headers("http-message-signatures", key, sign.Options{}, sign.Message{Method: "POST", URL: url, Body: []byte(body), Timestamp: ts, ID: nonce})
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	at = testNow
	url := "http://fn.example.com/function/hook"
	sigCfg := Signature{Scheme: "http-message-signatures", Keys: []string{"ed25519:k1:" + pub, hmacKey}}
	runSchemeCases(t, sigCfg, []schemeCase{
		{name: "ed25519 with content-digest", host: "fn.example.com", body: "payload", header: signed("ed25519:k1:"+seed, "payload", url, "n1", at), at: at, want: ReasonSigned},
		{name: "the same nonce again", host: "fn.example.com", body: "payload2", header: signed("ed25519:k1:"+seed, "payload2", url, "n1", at), at: at, want: ReasonReplayed},
		{name: "hmac with content-digest", host: "fn.example.com", body: "payload", header: signed(hmacKey, "payload", url, "", at), at: at, want: ReasonSigned},
	})
	tampered := signed(hmacKey, "payload", url, "", at)
	runSchemeCases(t, sigCfg, []schemeCase{
		{name: "body does not match Content-Digest", host: "fn.example.com", body: "payloaD", header: tampered, at: at, want: ReasonBadSignature},
		{name: "path differs", target: "/function/other", host: "fn.example.com", body: "payload", header: signed(hmacKey, "payload", url, "", at), at: at, want: ReasonBadSignature},
		{name: "unknown keyid", host: "fn.example.com", body: "payload", header: signed("hmac-sha256:nobody:"+secret, "payload", url, "", at), at: at, want: ReasonBadSignature},
		{name: "created in the future", host: "fn.example.com", body: "payload", header: signed(hmacKey, "payload", url, "", at.Add(10*time.Minute)), at: at, want: ReasonFuture},
		{name: "malformed Signature-Input", host: "fn.example.com", body: "payload", header: http.Header{"Signature-Input": {"sig1=(\"@method\""}, "Signature": {"sig1=:AAAA:"}}, at: at, want: ReasonBadSignature},
	})
}

func TestTimestampedSchemesNeedATolerance(t *testing.T) {
	for _, scheme := range []string{"slack", "stripe", "standard-webhooks", "svix", "discord", "http-message-signatures"} {
		key := "k"
		switch scheme {
		case "standard-webhooks", "svix":
			key = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
		case "discord":
			key = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"
		case "http-message-signatures":
			key = "hmac-sha256:k:" + strings.Repeat("A", 24)
		}
		_, err := New(&Config{Rules: []Rule{{Path: "*", Require: "signature"}}, Signatures: []Signature{{Scheme: scheme, Keys: []string{key}, Tolerance: "0s"}}}, Options{})
		if err == nil || !strings.Contains(err.Error(), "signatures[0].tolerance: must be positive") {
			t.Errorf("%s with tolerance 0s: %v", scheme, err)
		}
	}
}

func TestTwilioRefusesBodiesItDidNotSign(t *testing.T) {
	// A URL-only signature (a GET callback's) must not carry a body.
	h, _ := sign.Headers("twilio", "12345", sign.Options{}, sign.Message{URL: "https://fn.example.com/function/sms?From=%2B1"})
	h.Set("Content-Type", "application/json")
	runSchemeCases(t, Signature{Scheme: "twilio", Keys: []string{"12345"}, BaseURL: "https://fn.example.com", Tolerance: "0s"}, []schemeCase{
		{name: "JSON body under a URL-only signature", target: "/function/sms?From=%2B1", body: `{"admin":true}`, header: h, at: testNow, want: ReasonBadSignature},
		{name: "no body", target: "/function/sms?From=%2B1", header: h, at: testNow, want: ReasonSigned},
	})
}

func TestGitLabTokenIsNotPassedOn(t *testing.T) {
	g := newTestGuard(t, &Config{Rules: []Rule{{Path: "*", Require: "signature"}}, Signatures: []Signature{{Scheme: "gitlab", Keys: []string{"tok"}}}}, nil)
	_, d, up := serve(g, request("POST", "/function/x", "{}", http.Header{"X-Gitlab-Token": {"tok"}}))
	if !d.Allowed || up.header.Get("X-Gitlab-Token") != "" {
		t.Fatalf("allowed %v, token at the upstream %q", d.Allowed, up.header.Get("X-Gitlab-Token"))
	}
}
