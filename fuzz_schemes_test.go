package funcauth

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

func FuzzParseSFDictionary(f *testing.F) {
	for _, s := range []string{
		`sig-b25=("date" "@authority" "content-type");created=1618884473;keyid="test-shared-secret"`,
		`sig1=:pxcQw6G3AjtMBQjwo8XzkZf/bws5LelbaMk5rGIGtE8=:, sig2=?0`,
		`sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:`,
		`a=("x";p="y" "z");q=-12, b, c=tok*en`,
		`a=1.5`, `=`, `a=(`, `a="\"`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		members, err := parseSFDictionary(s)
		if err != nil {
			return
		}
		if len(members) > maxSFMembers {
			t.Fatalf("%d members", len(members))
		}
		for _, m := range members {
			if m.key == "" {
				t.Fatal("empty key")
			}
			if !m.inner {
				continue
			}
			if len(m.items) > maxSFItems {
				t.Fatalf("%d items", len(m.items))
			}
			// What the parser accepts, its serialization reads back the same.
			again, err := parseSFDictionary("x=" + serializeInnerList(m.items, m.params))
			if err != nil || len(again) != 1 || serializeInnerList(again[0].items, again[0].params) != serializeInnerList(m.items, m.params) {
				t.Fatalf("%q: inner list does not round-trip: %v", s, err)
			}
		}
	})
}

func FuzzParseStripeSignature(f *testing.F) {
	f.Add("t=1614265330,v1=af4ead0627a34a8cca29808e8de9ada8e41a92e6237c63cef6eacf51d36cca34,v0=00")
	f.Add("t=,v1=")
	f.Fuzz(func(t *testing.T, s string) {
		ts, sigs := parseStripeSignature(s)
		if len(sigs) > 16 {
			t.Fatalf("%d signatures", len(sigs))
		}
		for _, sig := range sigs {
			if len(sig) != 32 {
				t.Fatalf("a %d-byte signature", len(sig))
			}
		}
		if strings.Count(s, "t=") < 1 && ts != "" {
			t.Fatalf("a timestamp from nowhere: %q", ts)
		}
	})
}

func FuzzParseWebhookSignatures(f *testing.F) {
	f.Add("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE= v1a,abc v2,x")
	f.Add("v1,")
	f.Fuzz(func(t *testing.T, s string) {
		for _, sig := range parseWebhookSignatures(s) {
			if len(sig) != 32 {
				t.Fatalf("a %d-byte signature", len(sig))
			}
		}
	})
}

// FuzzSchemeHeaders throws arbitrary header values at every scheme: a
// refusal is always a 401 (never a panic), and nothing forged is accepted.
func FuzzSchemeHeaders(f *testing.F) {
	f.Add("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=", "1614265330", "msg_1", "body")
	f.Add(`sig1=("@method");created=1`, "sig1=:AAAA:", "x", "")
	f.Add("t=1,v1=00", "v0=00", "", "a=b&c=d")
	g := newTestGuard(f, &Config{
		Rules: []Rule{{Path: "*", Require: "signature"}},
		Signatures: []Signature{
			{Scheme: "standard-webhooks", Keys: []string{"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}},
			{Scheme: "stripe", Keys: []string{"k"}},
			{Scheme: "slack", Keys: []string{"k"}},
			{Scheme: "gitlab", Keys: []string{"k"}},
			{Scheme: "twilio", Keys: []string{"k"}},
			{Scheme: "discord", Keys: []string{"d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"}},
			{Scheme: "http-message-signatures", Keys: []string{"hmac-sha256:k:" + strings.Repeat("A", 24)}},
		},
		Bans: &Bans{Disabled: true},
	}, &clock{t: time.Unix(1614265330, 0)})
	f.Fuzz(func(t *testing.T, a, b, c, body string) {
		h := http.Header{
			"Webhook-Id": {c}, "Webhook-Timestamp": {b}, "Webhook-Signature": {a},
			"Stripe-Signature": {a}, "X-Slack-Signature": {a}, "X-Slack-Request-Timestamp": {b},
			"X-Gitlab-Token": {a}, "X-Twilio-Signature": {a}, "Content-Type": {"application/x-www-form-urlencoded"},
			"X-Signature-Ed25519": {a}, "X-Signature-Timestamp": {b},
			"Signature-Input": {a}, "Signature": {b}, "Content-Digest": {c},
		}
		d := g.Check(request("POST", "/function/x", body, h), "192.0.2.1")
		defer d.Close()
		if d.Allowed && a != "k" {
			t.Fatalf("accepted forged headers %q %q %q", a, b, c)
		}
		if !d.Allowed && d.Status != http.StatusUnauthorized {
			t.Fatalf("status %d (%s)", d.Status, d.Reason)
		}
	})
}
