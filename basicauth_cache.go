package funcauth

import (
	"crypto/sha256"
	"encoding/base64"
	"sync"
)

// credentialCache remembers successful password checks so that a hash is
// computed once per user name and password, under the key of their
// canonical Authorization header (see canonicalLoginKey). Its keys are
// SHA-256 values keyed by a random per-process secret: the cache never
// holds a password, and a key is useless outside this process. Its size is
// bounded; when it is full, an arbitrary entry makes room.
type credentialCache struct {
	secret string

	mu      sync.Mutex
	entries map[string]rememberedSuccess
	max     int
}

// rememberedSuccess is a successful check: the user it authenticated and
// the stored hash the password matched, which must still be the user's.
type rememberedSuccess struct {
	user   string
	stored string
}

// maxRememberedHeader is the longest Authorization header looked up as it
// came: "Basic " and credentials within the limits, canonically encoded.
// Longer ones (padded with spaces) are parsed, and found by their
// canonical header (see canonicalLoginKey).
const maxRememberedHeader = len("Basic ") + maxEncodedCredentials

func newCredentialCache(secret []byte, max int) *credentialCache {
	return &credentialCache{secret: string(secret), entries: make(map[string]rememberedSuccess), max: max}
}

// loginKey derives the cache key of an Authorization header: the SHA-256
// of the cache's secret (32 random bytes) followed by the header. A
// success is remembered under its canonical header (canonicalLoginKey),
// the one clients send: a request that sends it again is found before its
// header is decoded.
//
// (A keyed hash, not an HMAC: a key is only ever looked up in this
// process's memory and never shown, so length extension, which an HMAC
// guards against, tells nothing; and the hash is one call into the
// standard library, where an HMAC is three and five allocations.)
func loginKey(c *credentialCache, header string) string {
	sum := sha256.Sum256([]byte(c.secret + header))
	return string(sum[:])
}

// canonicalLoginKey is the loginKey of the canonical Authorization header
// of user and password: "Basic " and the standard base64 encoding of
// "user:password", as net/http's SetBasicAuth, curl and browsers send it.
// Every spelling of the same credentials (the scheme's case, spaces,
// base64's unused bits) is remembered and checked once, under this key.
func canonicalLoginKey(c *credentialCache, user, password string) string {
	return loginKey(c, "Basic "+base64.StdEncoding.EncodeToString([]byte(user+":"+password)))
}

func (c *credentialCache) add(key string, login rememberedSuccess) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.entries[key]; !ok && len(c.entries) >= c.max {
		for k := range c.entries {
			delete(c.entries, k)
			break
		}
	}
	c.entries[key] = login
}

// flightGroup runs identical concurrent checks once: the callers that come
// while a check with the same key runs wait for it and share its result
// (one of the check... constants).
type flightGroup struct {
	mu    sync.Mutex
	calls map[string]*flight
}

type flight struct {
	done   sync.WaitGroup
	result int
}

// The results of a password check.
const (
	checkFailed  = 0 // the password does not match
	checkMatched = 1 // it matches
	checkBusy    = 2 // no check slot was free: not checked
)

func (g *flightGroup) do(key string, fn func() int) int {
	g.mu.Lock()
	if g.calls == nil {
		g.calls = make(map[string]*flight)
	}
	if f, ok := g.calls[key]; ok {
		g.mu.Unlock()
		f.done.Wait()
		return f.result
	}
	f := &flight{}
	f.done.Add(1)
	g.calls[key] = f
	g.mu.Unlock()

	defer func() {
		g.mu.Lock()
		delete(g.calls, key)
		g.mu.Unlock()
		f.done.Done()
	}()
	f.result = fn()
	return f.result
}
