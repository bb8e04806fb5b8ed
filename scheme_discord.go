package funcauth

import (
	"crypto/ed25519"
	"encoding/hex"
	"io"
)

// maxEd25519Message bounds what an Ed25519 signature over a whole body is
// checked on: pure Ed25519 cannot be verified as a stream, so the body is
// read back into memory.
const maxEd25519Message = 1 << 20

// discord verifies Discord's interaction requests: X-Signature-Ed25519,
// the hex Ed25519 signature of X-Signature-Timestamp followed by the body,
// under the application's public key. Discord checks that an endpoint
// answers 401 to a bad signature before it accepts the endpoint.
type discord struct{}

func newDiscordScheme(_ *Signature) (scheme, error) { return discord{}, nil }

func (discord) headers() []string { return []string{"X-Signature-Ed25519"} }

func (discord) start(in *sigInput) (sigCheck, *refusal) {
	h := in.r.Header
	value, _, dup1 := singleHeader(h, "X-Signature-Ed25519")
	ts, _, dup2 := singleHeader(h, "X-Signature-Timestamp")
	if dup1 || dup2 {
		return nil, refuse(ReasonBadSignature, "repeated X-Signature-* header")
	}
	sig, err := hex.DecodeString(value)
	if err != nil || len(sig) != ed25519.SignatureSize {
		return nil, refuse(ReasonBadSignature, "X-Signature-Ed25519 is not a hex Ed25519 signature")
	}
	when, ok := parseUnix(ts)
	if !ok {
		return nil, refuse(ReasonBadSignature, "X-Signature-Timestamp is missing or not a unix time")
	}
	if no := checkTimestamp(when, in.now, in.tolerance, in.tolerance); no != nil {
		return nil, no
	}
	return &ed25519Check{keys: in.keys, prefix: ts, sig: sig}, nil
}

// ed25519Check verifies an Ed25519 signature of a prefix and the body.
type ed25519Check struct {
	keys   []key
	prefix string
	sig    []byte
}

func (c *ed25519Check) sink() io.Writer { return io.Discard }

func (c *ed25519Check) finish(body *spooledBody) (string, string, *refusal) {
	data, ok := body.bytes(maxEd25519Message)
	if !ok {
		return "", "", refuse(ReasonBadSignature, "the body is larger than the 1 MiB an Ed25519 signature is checked on")
	}
	msg := make([]byte, 0, len(c.prefix)+len(data))
	msg = append(msg, c.prefix...)
	msg = append(msg, data...)
	for _, k := range c.keys {
		if len(k.secret) == ed25519.PublicKeySize && ed25519.Verify(ed25519.PublicKey(k.secret), msg, c.sig) {
			text := signedReplayID([]byte(c.prefix), body)
			return k.id, text, nil
		}
	}
	return "", "", refuse(ReasonBadSignature, "no key verifies the Ed25519 signature")
}
