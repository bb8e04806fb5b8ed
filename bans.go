package funcauth

import (
	"net/netip"
	"sync"
	"time"
)

// banPolicy is the compiled Bans configuration.
type banPolicy struct {
	enabled         bool
	maxFailures     int
	userMaxFailures int // <= 0: no user lockout
	// locksUsers says bans are on with user lockout: failures count per
	// user name too.
	locksUsers bool
	window     time.Duration
	duration   time.Duration
	allow      []netip.Prefix
}

func compileBans(cfg *Bans) (*banPolicy, error) {
	p := &banPolicy{
		enabled:         !cfg.Disabled,
		maxFailures:     cfg.MaxFailures,
		userMaxFailures: cfg.UserMaxFailures,
		window:          10 * time.Minute,
		duration:        15 * time.Minute,
	}
	if p.maxFailures == 0 {
		p.maxFailures = 10
	}
	if p.maxFailures < 0 {
		return nil, fieldError("bans.max_failures", "must be positive (set disabled to turn bans off)")
	}
	switch {
	case p.userMaxFailures == 0:
		p.userMaxFailures = 20
	case p.userMaxFailures < -1:
		return nil, fieldError("bans.user_max_failures", "must be positive, or -1 to turn user lockout off")
	}
	var err error
	if cfg.Window != "" {
		if p.window, err = parseDuration(cfg.Window); err != nil || p.window == 0 {
			return nil, fieldError("bans.window", "must be a positive duration such as 10m")
		}
	}
	if cfg.Duration != "" {
		if p.duration, err = parseDuration(cfg.Duration); err != nil || p.duration == 0 {
			return nil, fieldError("bans.duration", "must be a positive duration such as 15m")
		}
	}
	if cfg.MaxEntries < 0 {
		return nil, fieldError("bans.max_entries", "must be positive")
	}
	if p.allow, err = parsePrefixes(cfg.AllowList, "bans.allow_list"); err != nil {
		return nil, err
	}
	p.locksUsers = p.enabled && p.userMaxFailures > 0
	return p, nil
}

// allowListed reports whether addr is on the allow-list.
func allowListed(p *banPolicy, addr string) bool {
	if len(p.allow) == 0 {
		return false
	}
	a, err := netip.ParseAddr(addr)
	return err == nil && containsAddr(p.allow, a.Unmap())
}

// failureTable counts failures per key (a client address group or a user
// name) in a fixed window and bans a key that reaches the limit. It holds
// at most max entries: when full, an entry that is neither banned nor
// recent makes room, found among a few sampled ones, so that a spray from
// many addresses evicts its own entries before anyone's ban.
type failureTable struct {
	mu      sync.Mutex
	entries map[string]*failureEntry
	max     int
}

type failureEntry struct {
	windowStart int64 // unix nanoseconds
	bannedUntil int64
	failures    int32
	inflight    int32 // admitted checks that have not ended yet
}

// evictionSample is how many entries a full table looks at to pick one to drop.
const evictionSample = 16

func newFailureTable(max int) *failureTable {
	return &failureTable{entries: make(map[string]*failureEntry), max: max}
}

// bannedFor returns how much longer key is banned (0: not banned).
//
// (No defer here, in reserveCheck and in releaseCheck, which every request
// of a client that bans apply to calls: under Yaegi a deferred call costs
// allocations of its own, and nothing between Lock and Unlock can panic.)
func bannedFor(t *failureTable, key string, now time.Time) time.Duration {
	var until int64
	t.mu.Lock()
	if e := t.entries[key]; e != nil {
		until = e.bannedUntil
	}
	t.mu.Unlock()
	if left := time.Duration(until - now.UnixNano()); left > 0 {
		return left
	}
	return 0
}

// fail counts a failure of key and reports whether it started a ban.
func (t *failureTable) fail(key string, now time.Time, limit int, window, duration time.Duration) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.failLocked(key, now.UnixNano(), limit, window, duration)
}

// reserveCheck admits one expensive check of key (a password hash, a signed
// body read) when the failures in the window and the checks still in
// flight stay below limit, so that concurrent guesses cannot outrun the
// count. An admitted check ends in commit (it failed) or release. When it
// refuses, wait is how long the key should wait: the rest of its ban
// (banned is true), or a second for the checks in flight to end.
func reserveCheck(t *failureTable, key string, now time.Time, limit int, window time.Duration) (ok bool, wait time.Duration, banned bool) {
	n := now.UnixNano()
	t.mu.Lock()
	e := t.entries[key] // a client known already: no call (see failureEntryOf)
	if e == nil {
		e = failureEntryOf(t, key, n, int64(window))
	}
	if e.bannedUntil > n {
		left := time.Duration(e.bannedUntil - n)
		t.mu.Unlock()
		return false, left, true
	}
	if n-e.windowStart > int64(window) {
		e.windowStart, e.failures = n, 0
	}
	if int(e.failures)+int(e.inflight) >= limit {
		t.mu.Unlock()
		return false, time.Second, false
	}
	e.inflight++
	t.mu.Unlock()
	return true, 0, false
}

// commit ends an admitted check of key as a failure and reports whether
// it started a ban.
func (t *failureTable) commit(key string, now time.Time, limit int, window, duration time.Duration) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if e := t.entries[key]; e != nil && e.inflight > 0 {
		e.inflight--
	}
	return t.failLocked(key, now.UnixNano(), limit, window, duration)
}

// releaseCheck ends an admitted check of key that did not fail.
func releaseCheck(t *failureTable, key string) {
	t.mu.Lock()
	if e := t.entries[key]; e != nil && e.inflight > 0 {
		e.inflight--
	}
	t.mu.Unlock()
}

// failureEntryOf returns key's entry, making room for a new one when the table is full.
func failureEntryOf(t *failureTable, key string, now, window int64) *failureEntry {
	e := t.entries[key]
	if e == nil {
		if len(t.entries) >= t.max {
			t.evict(now, window)
		}
		e = &failureEntry{windowStart: now}
		t.entries[key] = e
	}
	return e
}

func (t *failureTable) failLocked(key string, n int64, limit int, window, duration time.Duration) bool {
	e := failureEntryOf(t, key, n, int64(window))
	if e.bannedUntil > n {
		return false
	}
	if n-e.windowStart > int64(window) {
		e.windowStart, e.failures = n, 0
	}
	e.failures++
	if int(e.failures) < limit {
		return false
	}
	e.bannedUntil = n + int64(duration)
	e.failures = 0
	e.windowStart = e.bannedUntil
	return true
}

// evict drops one entry among a sample: a stale one at once, else the one
// with the fewest failures and no ban, else the ban that ends first. An
// entry with checks in flight goes last, so that they are still counted.
func (t *failureTable) evict(now, window int64) {
	victim, found := "", false
	var best int64
	seen := 0
	for k, e := range t.entries {
		if e.bannedUntil <= now && now-e.windowStart > window && e.inflight == 0 {
			victim, found = k, true
			break
		}
		score := int64(e.failures)
		if e.bannedUntil > now {
			score = 1<<40 + (e.bannedUntil-now)/int64(time.Millisecond)
		}
		if e.inflight > 0 {
			score = 1 << 60
		}
		if !found || score < best {
			victim, best, found = k, score, true
		}
		seen++
		if seen >= evictionSample {
			break
		}
	}
	if found {
		delete(t.entries, victim)
	}
}

// countsAsFailure says which refusals count towards a ban: wrong
// credentials and signatures, stale messages, and requests that try to
// trick the path matching, and a signature for a function without a key
// (so that probing which functions have keys is as costly as guessing
// one). Missing credentials do not count (a browser's
// first request has none), nor do routes no rule allows, nor replays (a
// webhook provider's or a cron job's honest retries look like them).
func countsAsFailure(r Reason) bool {
	switch r {
	case ReasonBadCredentials, ReasonBadSignature, ReasonKeyUnavailable, ReasonExpired, ReasonFuture, ReasonBadRequest:
		return true
	}
	return false
}
