package funcauth

import (
	"crypto/hmac"
	"crypto/sha512"
	"hash"
	"io"
	"net/http"
	"strconv"
	"time"
)

// scheme verifies one signature format.
type scheme interface {
	// headers lists the canonical names of the request headers that carry
	// the signature or token, which must stay out of logs. A request
	// carrying any of them carries this scheme's signature (see
	// verifier.presence).
	headers() []string

	// start reads the signature headers and returns the check that the
	// body is written to, or why the request cannot be verified.
	start(in *sigInput) (sigCheck, *refusal)
}

// sigInput is what a scheme sees of a request. A scheme keeps no pointer
// to it: the request path fills one for each verifier in turn.
type sigInput struct {
	r         *http.Request
	now       time.Time
	keys      []key
	tolerance time.Duration
	// forwardedProtoTrusted says the peer is a trusted proxy, whose
	// X-Forwarded-Proto tells the scheme the client used.
	forwardedProtoTrusted bool
	// spare is where newMACCheck makes the request's first MAC check,
	// inside the request's own allocation; nil once taken.
	spare *macCheck
}

// sigCheck receives the body while it is read, then decides.
type sigCheck interface {
	// sink is what the body is written to while it is read: the check's
	// own hashes, or io.Discard for schemes that verify the whole body
	// at the end. It is a standard-library writer, never a type of this
	// package: under Yaegi, compiled code calling back into interpreted
	// code costs an interpreter frame per call.
	sink() io.Writer

	// finish says which key verified the signature and what identifies
	// the message for replay protection ("" for none), or why it failed.
	// body is the whole body, for schemes that cannot verify a stream,
	// with its SHA-256 when replay protection needs it.
	//
	// The replay id is derived from what was signed (a signed id or nonce,
	// else the signed prefix and the body's digest), never from which
	// header, algorithm, MAC or key verified: a message carrying several
	// genuine signatures is one message.
	finish(body *spooledBody) (keyID, replayID string, no *refusal)
}

// verifier is one configured, named signature verifier.
type verifier struct {
	name   string
	scheme scheme
	keys   *keyring
	// presence lists the headers whose presence says a request carries
	// the scheme's signature, so that one carrying none is
	// "missing_signature" rather than "bad_signature": its headers, and
	// for RFC 9421 Signature-Input too.
	presence  []string
	tolerance time.Duration // for timestamps and the replay window; 0: no replay protection
	// timestamped verifiers remember messages for twice the tolerance: a
	// message stamped up to the tolerance ahead stays valid that long.
	timestamped bool
	// refuseEmptyBody refuses bodiless requests: the scheme signs the body
	// alone, so their signature is one constant per key.
	refuseEmptyBody bool
	// replay is the room the verifier's messages may take in the replay
	// memory (see setReplayShare).
	replay *replayQuota
	// window is how long an accepted message is remembered: the
	// tolerance, twice it for timestamped schemes; windowArg is it in
	// milliseconds as a RESP bulk string, for the store's claim.
	window    time.Duration
	windowArg string
}

// setReplayShare sets the verifier's share of a replay memory of max
// entries: the verifiers with replay protection (verifiers of them)
// divide max equally, and each verifier's keys divide its share (see
// keyring.replaySlots).
func (v *verifier) setReplayShare(max, verifiers int) {
	q := &replayQuota{verifier: v.name, verifierMax: max / verifiers}
	if q.verifierMax < 1 {
		q.verifierMax = 1
	}
	q.keyMax = q.verifierMax / v.keys.replaySlots()
	if q.keyMax < 1 {
		q.keyMax = 1
	}
	v.replay = q
}

// replayWindow is how long an accepted message is remembered.
func (v *verifier) replayWindow() time.Duration {
	return v.window
}

// macCheck verifies one or more candidate MACs over a stream, computing one
// MAC per key so that any configured key verifies.
type macCheck struct {
	macs   []hash.Hash
	body   io.Writer // the MACs, as one writer
	keys   []key     // the keys of macs, in order
	hash   *macHash
	want   [][]byte // candidate MACs from the header; any match accepts
	signed []byte   // the signed prefix (timestamp, id) before the body

	// oneMAC and oneWant hold macs and want for the usual one key and one
	// candidate, and sum each MAC in turn: no allocations of their own.
	oneMAC  [1]hash.Hash
	oneWant [1][]byte
	sum     [sha512.Size]byte
}

// newMACCheck starts a MAC per key of in under h, each fed the signed
// prefix (such as a timestamp) that precedes the body. want lists the
// candidate MACs; when it is nil, mac is the only one.
func newMACCheck(in *sigInput, h *macHash, prefix []byte, want [][]byte, mac []byte) *macCheck {
	c := in.spare
	if c != nil {
		in.spare = nil
	} else {
		c = new(macCheck) // (not &macCheck{}: under Yaegi, a composite literal costs its size at every call)
	}
	keys := in.keys
	c.want, c.signed, c.keys, c.hash = want, prefix, keys, h
	if want == nil {
		c.oneWant[0] = mac
		c.want = c.oneWant[:]
	}
	if len(keys) == 1 {
		c.macs = c.oneMAC[:]
	} else {
		c.macs = make([]hash.Hash, len(keys))
	}
	for i := range keys {
		// newMAC, inline: from the key's pool (see macPools), else new.
		k := &keys[i]
		var kept interface{}
		if k.macs != nil {
			kept = k.macs[h.pool].Get()
		}
		var m hash.Hash
		if kept != nil {
			m = kept.(hash.Hash) // (not comma-ok: Yaegi v0.16.1 panics asserting a nil interface so)
		} else {
			m = hmac.New(h.new, k.secret)
		}
		if len(prefix) > 0 {
			m.Write(prefix)
		}
		c.macs[i] = m
	}
	if len(keys) == 1 {
		c.body = c.macs[0]
	} else {
		c.body = macsWriter(c.macs)
	}
	return c
}

// macsWriter feeds every MAC of macs.
func macsWriter(macs []hash.Hash) io.Writer {
	writers := make([]io.Writer, len(macs))
	for i, m := range macs {
		writers[i] = m
	}
	return io.MultiWriter(writers...)
}

func (c *macCheck) sink() io.Writer { return c.body }

func (c *macCheck) finish(body *spooledBody) (string, string, *refusal) { return finishMAC(c, body) }

// finishMAC is macCheck's finish, which the request path calls without
// the interface (see calls.go). Each MAC goes back to its key's pool once
// summed.
func finishMAC(c *macCheck, body *spooledBody) (string, string, *refusal) {
	for i, mac := range c.macs {
		sum := mac.Sum(c.sum[:0])
		if pools := c.keys[i].macs; pools != nil {
			mac.Reset()
			pools[c.hash.pool].Put(mac)
		}
		c.macs[i] = nil
		for _, w := range c.want {
			if hmac.Equal(sum, w) {
				// What was signed, not the MAC that verified: the same
				// message under another algorithm, key or candidate is
				// the same message.
				id := "signed:" + string(c.signed) + "\x00" + string(body.digest) // signedReplayID
				return c.keys[i].id, id, nil
			}
		}
	}
	return "", "", refuse(ReasonBadSignature, noKeyVerifies(len(c.macs)))
}

// singleHeader returns the one value of header name, whether the header
// is present, and whether it is repeated, which is refused: two signatures
// would leave it unclear which one was meant. (Unnamed results, returned
// from variables: Yaegi v0.16.1 panics returning an untyped "" into a
// named string result.)
func singleHeader(h http.Header, name string) (string, bool, bool) {
	values := h[name]
	value := ""
	if len(values) == 1 {
		value = values[0]
	}
	present := len(values) > 0
	repeated := len(values) > 1
	return value, present, repeated
}

// checkTimestamp applies a tolerance to a signed unix timestamp. A
// negative future tolerance accepts any future time.
func checkTimestamp(ts, now time.Time, past, future time.Duration) *refusal {
	if past > 0 && now.Sub(ts) > past {
		return refuse(ReasonExpired, "signed "+now.Sub(ts).Round(time.Second).String()+" ago, tolerance "+past.String())
	}
	if future >= 0 && ts.Sub(now) > future {
		return refuse(ReasonFuture, "signed "+ts.Sub(now).Round(time.Second).String()+" in the future, tolerance "+future.String())
	}
	return nil
}

// unixTime is a unix time in seconds.
func unixTime(n int64) time.Time { return time.Unix(n, 0) }

// parseUnix parses a unix timestamp in seconds.
func parseUnix(s string) (time.Time, bool) {
	if s == "" || len(s) > 12 {
		return time.Time{}, false
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return time.Time{}, false
	}
	return time.Unix(n, 0), true
}

// signedReplayID identifies a message by its signed prefix (a timestamp,
// an id) and the SHA-256 of its body.
func signedReplayID(prefix []byte, body *spooledBody) string {
	id := "signed:" + string(prefix) + "\x00" + string(body.digest)
	return id
}
