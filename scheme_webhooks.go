package funcauth

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"io"
	"net/http"
	"strings"
)

// standardWebhooks verifies Standard Webhooks (standardwebhooks.com, also
// Svix and GitLab's signing tokens): webhook-id, webhook-timestamp and
// webhook-signature, a space-separated list of "v1,<base64 HMAC-SHA256>" of
// "<id>.<timestamp>.<body>" under the base64 key behind "whsec_". Svix
// sends svix-* headers and falls back to webhook-*, as its library reads
// them. Replay protection remembers the signed id and timestamp with the
// body's digest, whichever signature of the list verified.
type standardWebhooks struct {
	prefixes []string // header prefixes, tried in order: "svix-", "webhook-"
}

func newStandardWebhooksScheme(_ *Signature) (scheme, error) {
	return &standardWebhooks{prefixes: []string{"Webhook-"}}, nil
}

func newSvixScheme(_ *Signature) (scheme, error) {
	return &standardWebhooks{prefixes: []string{"Svix-", "Webhook-"}}, nil
}

func (s *standardWebhooks) headers() []string {
	var names []string
	for _, p := range s.prefixes {
		names = append(names, p+"Signature")
	}
	return names
}

func (s *standardWebhooks) start(in *sigInput) (sigCheck, *refusal) {
	h := in.r.Header
	prefix := ""
	for _, p := range s.prefixes {
		if len(h[p+"Id"]) > 0 && len(h[p+"Timestamp"]) > 0 && len(h[p+"Signature"]) > 0 {
			prefix = p
			break
		}
	}
	if prefix == "" {
		return nil, refuse(ReasonBadSignature, "the id, timestamp and signature headers must all be present")
	}
	id, _, dup1 := singleHeader(h, prefix+"Id")
	ts, _, dup2 := singleHeader(h, prefix+"Timestamp")
	list, _, dup3 := singleHeader(h, prefix+"Signature")
	if dup1 || dup2 || dup3 {
		text := "repeated " + prefix + "* header"
		return nil, refuse(ReasonBadSignature, text)
	}
	if id == "" || len(id) > 256 {
		return nil, refuse(ReasonBadSignature, "the message id is empty or longer than 256 bytes")
	}
	when, ok := parseUnix(ts)
	if !ok {
		return nil, refuse(ReasonBadSignature, "the timestamp is not a unix time")
	}
	if no := checkTimestamp(when, in.now, in.tolerance, in.tolerance); no != nil {
		return nil, no
	}
	want := parseWebhookSignatures(list)
	if len(want) == 0 {
		return nil, refuse(ReasonBadSignature, "no v1 signature in the signature header")
	}
	// The replay key is what was signed, id and timestamp included: a
	// verbatim replay is refused, while the sender's retries of one message
	// (same id, new timestamp) are not.
	return newMACCheck(in, hmacSHA256, []byte(id+"."+ts+"."), want, nil), nil
}

// parseWebhookSignatures returns the decoded "v1," entries of a Standard
// Webhooks signature header; other versions are skipped, as the
// libraries do.
func parseWebhookSignatures(list string) [][]byte {
	var out [][]byte
	for _, entry := range strings.Fields(list) {
		version, sig, ok := strings.Cut(entry, ",")
		if !ok || version != "v1" {
			continue
		}
		mac, err := base64.StdEncoding.DecodeString(sig)
		if err != nil || len(mac) != sha256.Size {
			continue
		}
		out = append(out, mac)
		if len(out) == 16 {
			break
		}
	}
	return out
}

// stripe verifies Stripe-Signature: "t=<unix>,v1=<hex>[,v1=<hex>...]",
// HMAC-SHA256 of "<t>.<body>" under the whole endpoint secret (whsec_
// included). Every v1 entry is a candidate; v0 and other schemes are
// ignored, as Stripe's libraries do.
type stripe struct{}

func newStripeScheme(_ *Signature) (scheme, error) { return stripe{}, nil }

func (stripe) headers() []string { return []string{"Stripe-Signature"} }

func (stripe) start(in *sigInput) (sigCheck, *refusal) {
	value, _, dup := singleHeader(in.r.Header, "Stripe-Signature")
	if dup {
		return nil, refuse(ReasonBadSignature, "repeated Stripe-Signature header")
	}
	ts, want := parseStripeSignature(value)
	when, ok := parseUnix(ts)
	if !ok {
		return nil, refuse(ReasonBadSignature, "Stripe-Signature has no t=<unix time>")
	}
	if len(want) == 0 {
		return nil, refuse(ReasonBadSignature, "Stripe-Signature has no v1 signature")
	}
	if no := checkTimestamp(when, in.now, in.tolerance, in.tolerance); no != nil {
		return nil, no
	}
	return newMACCheck(in, hmacSHA256, []byte(ts+"."), want, nil), nil
}

// parseStripeSignature splits a Stripe-Signature header into its timestamp
// and its decoded v1 signatures. A repeated t makes the header invalid.
func parseStripeSignature(value string) (string, [][]byte) {
	var ts string
	var want [][]byte
	for _, item := range strings.Split(value, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(item), "=")
		if !ok {
			continue
		}
		switch k {
		case "t":
			if ts != "" {
				return "", nil
			}
			ts = v
		case "v1":
			mac, err := hex.DecodeString(v)
			if err == nil && len(mac) == sha256.Size && len(want) < 16 {
				want = append(want, mac)
			}
		}
	}
	return ts, want
}

// slack verifies X-Slack-Signature: "v0=<hex>", HMAC-SHA256 of
// "v0:<X-Slack-Request-Timestamp>:<body>" under the signing secret.
type slack struct{}

func newSlackScheme(_ *Signature) (scheme, error) { return slack{}, nil }

func (slack) headers() []string { return []string{"X-Slack-Signature"} }

func (slack) start(in *sigInput) (sigCheck, *refusal) {
	h := in.r.Header
	sig, _, dup1 := singleHeader(h, "X-Slack-Signature")
	ts, _, dup2 := singleHeader(h, "X-Slack-Request-Timestamp")
	if dup1 || dup2 {
		return nil, refuse(ReasonBadSignature, "repeated X-Slack-* header")
	}
	when, ok := parseUnix(ts)
	if !ok {
		return nil, refuse(ReasonBadSignature, "X-Slack-Request-Timestamp is missing or not a unix time")
	}
	if !strings.HasPrefix(sig, "v0=") {
		return nil, refuse(ReasonBadSignature, "X-Slack-Signature is not v0=<hex>")
	}
	mac, ok := decodeMAC(sig[3:], false, sha256.Size)
	if !ok {
		return nil, refuse(ReasonBadSignature, "X-Slack-Signature is not v0=<hex>")
	}
	if no := checkTimestamp(when, in.now, in.tolerance, in.tolerance); no != nil {
		return nil, no
	}
	return newMACCheck(in, hmacSHA256, []byte("v0:"+ts+":"), nil, mac), nil
}

// gitlab verifies X-Gitlab-Token, the plain shared secret GitLab sends with
// every delivery. It signs nothing: anyone who sees one delivery can send
// others. Replays are refused by the delivery's Idempotency-Key (or
// X-Gitlab-Event-UUID), which a replay of a captured request repeats, but
// an attacker can change. Prefer GitLab's signing tokens (scheme
// standard-webhooks) where GitLab offers them.
type gitlab struct{}

func newGitLabScheme(_ *Signature) (scheme, error) { return gitlab{}, nil }

func (gitlab) headers() []string { return []string{"X-Gitlab-Token"} }

func (gitlab) start(in *sigInput) (sigCheck, *refusal) {
	token, _, dup := singleHeader(in.r.Header, "X-Gitlab-Token")
	if dup {
		return nil, refuse(ReasonBadSignature, "repeated X-Gitlab-Token header")
	}
	sum := sha256.Sum256([]byte(token))
	c := &fixedCheck{refusal: refuse(ReasonBadSignature, "no key matches X-Gitlab-Token")}
	for _, k := range in.keys {
		want := sha256.Sum256(k.secret)
		if subtle.ConstantTimeCompare(sum[:], want[:]) == 1 && c.refusal != nil {
			c.refusal = nil
			c.keyID = k.id
		}
	}
	if c.refusal == nil {
		c.replayID = firstHeader(in.r.Header, "Idempotency-Key", "X-Gitlab-Event-Uuid", "X-Gitlab-Webhook-Uuid")
		if c.replayID != "" {
			c.replayID = "delivery:" + c.replayID
		}
		// The token is a password: the function has no use for it, and
		// its logs must not record it. (A host's access log that copies
		// the request before funcauth runs needs a filter: see
		// Guard.SensitiveHeaders.)
		in.r.Header.Del("X-Gitlab-Token")
	}
	return c, nil
}

func firstHeader(h http.Header, names ...string) string {
	for _, n := range names {
		if v := h.Get(n); v != "" {
			return v
		}
	}
	return ""
}

// fixedCheck is a check decided before the body is read.
type fixedCheck struct {
	keyID    string
	replayID string
	refusal  *refusal // nil when the key matched
}

func (c *fixedCheck) sink() io.Writer { return io.Discard }

func (c *fixedCheck) finish(_ *spooledBody) (string, string, *refusal) {
	return c.keyID, c.replayID, c.refusal
}
