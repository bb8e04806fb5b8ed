package funcauth

import (
	"crypto/sha256"
	"strconv"
	"sync"
)

// credentialCache remembers successful password checks so that a hash is
// computed once per user and password. Its keys are SHA-256 values keyed
// by a random per-process secret: the cache never holds a password, and a
// key is useless outside this process. Its size is bounded; when it is
// full, an arbitrary entry makes room.
type credentialCache struct {
	secret string

	mu      sync.Mutex
	entries map[string]string // key -> the stored hash the password matched
	max     int
}

func newCredentialCache(secret []byte, max int) *credentialCache {
	return &credentialCache{secret: string(secret), entries: make(map[string]string), max: max}
}

// credentialKey derives the cache key of a user name and password: the
// SHA-256 of the cache's secret (32 random bytes) followed by "<length of
// the user name>:<user name><password>", which tells every pair apart.
//
// (A keyed hash, not an HMAC: a key is only ever looked up in this
// process's memory and never shown, so length extension, which an HMAC
// guards against, tells nothing; and the hash is one call into the
// standard library, where an HMAC is three and five allocations.)
func credentialKey(c *credentialCache, user, password string) string {
	sum := sha256.Sum256([]byte(c.secret + strconv.Itoa(len(user)) + ":" + user + password))
	return string(sum[:])
}

func (c *credentialCache) add(key, stored string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.entries[key]; !ok && len(c.entries) >= c.max {
		for k := range c.entries {
			delete(c.entries, k)
			break
		}
	}
	c.entries[key] = stored
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
