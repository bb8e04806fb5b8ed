// Package sign computes the signature headers that senders of signed
// requests (faas-cli, webhook providers) put on a request. funcauth's tests,
// benchmarks and `funcauth sign` (internal/cli) use it; it follows each provider's
// documented wire format, and its results are checked against published
// vectors in the core's tests.
package sign

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"hash"
	"net/http"
	"strconv"
	"time"
)

// Message is what gets signed.
type Message struct {
	Method    string
	URL       string // the full URL the client uses (Twilio, RFC 9421)
	Body      []byte
	Timestamp time.Time // for schemes with a timestamp; zero means now
	ID        string    // message or delivery id, where the scheme has one
}

// Options adjust a scheme.
type Options struct {
	Header    string // signature header (faas-cli, generic)
	Algorithm string // sha1, sha256 or sha512 (faas-cli, github, generic)
	Encoding  string // hex or base64 (generic)
	Prefix    string // before the encoded MAC (generic)
	// Components are the components an HTTP message signature covers.
	Components []string
}

// Headers returns the headers that sign msg with key under scheme.
func Headers(scheme, key string, opts Options, msg Message) (http.Header, error) {
	if msg.Timestamp.IsZero() {
		msg.Timestamp = time.Now()
	}
	h := http.Header{}
	switch scheme {
	case "faas-cli":
		alg := or(opts.Algorithm, "sha256")
		header := or(opts.Header, "Hmac")
		h.Set(header, alg+"="+hex.EncodeToString(mac(alg, key, msg.Body)))
	case "github":
		switch alg := or(opts.Algorithm, "sha256"); alg {
		case "sha256":
			h.Set("X-Hub-Signature-256", "sha256="+hex.EncodeToString(mac(alg, key, msg.Body)))
		case "sha1":
			h.Set("X-Hub-Signature", "sha1="+hex.EncodeToString(mac(alg, key, msg.Body)))
		default:
			return nil, errors.New("github signs with sha256 or sha1")
		}
		if msg.ID != "" {
			h.Set("X-GitHub-Delivery", msg.ID)
		}
	case "generic":
		sum := mac(or(opts.Algorithm, "sha256"), key, msg.Body)
		value := hex.EncodeToString(sum)
		if opts.Encoding == "base64" {
			value = base64.StdEncoding.EncodeToString(sum)
		}
		if opts.Header == "" {
			return nil, errors.New("generic needs a header")
		}
		h.Set(opts.Header, opts.Prefix+value)
	case "shopify":
		h.Set("X-Shopify-Hmac-Sha256", base64.StdEncoding.EncodeToString(mac("sha256", key, msg.Body)))
	default:
		return extraHeaders(scheme, key, opts, msg)
	}
	return h, nil
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func newHash(alg string) func() hash.Hash {
	switch alg {
	case "sha1":
		return sha1.New
	case "sha512":
		return sha512.New
	}
	return sha256.New
}

func mac(alg, key string, parts ...[]byte) []byte {
	m := hmac.New(newHash(alg), []byte(key))
	for _, p := range parts {
		m.Write(p)
	}
	return m.Sum(nil)
}

func unix(t time.Time) string { return strconv.FormatInt(t.Unix(), 10) }
