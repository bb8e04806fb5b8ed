package funcauth

import (
	"sync"
	"time"
)

// recentLoginMemory is how long a successful login keeps its client
// exempt from the lockout of that user name.
const recentLoginMemory = 24 * time.Hour

// loginTable remembers which client address groups recently authenticated
// as which user, so that other clients' failures cannot lock those out
// (user lockout would otherwise let anyone lock the administrator out with
// a few guesses per window). Only successful logins add entries, and at
// most max of them are kept: when full, an expired entry or else the
// oldest of a few sampled makes room.
type loginTable struct {
	mu      sync.Mutex
	entries map[string]int64 // group "\x00" user -> unix nanoseconds of the last success
	max     int
}

func newLoginTable(max int) *loginTable {
	return &loginTable{entries: make(map[string]int64), max: max}
}

// rememberLogin records that group authenticated as user at now.
func rememberLogin(t *loginTable, group, user string, now time.Time) {
	key := group + "\x00" + user
	n := now.UnixNano()
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, ok := t.entries[key]; !ok && len(t.entries) >= t.max {
		t.evict(n)
	}
	t.entries[key] = n
}

// recentLogin reports whether group authenticated as user within recentLoginMemory.
func recentLogin(t *loginTable, group, user string, now time.Time) bool {
	key := group + "\x00" + user
	n := now.UnixNano()
	t.mu.Lock()
	defer t.mu.Unlock()
	at, ok := t.entries[key]
	return ok && at <= n && n-at < int64(recentLoginMemory)
}

func (t *loginTable) evict(now int64) {
	victim, found := "", false
	var oldest int64
	seen := 0
	for k, at := range t.entries {
		if now-at >= int64(recentLoginMemory) {
			victim, found = k, true
			break
		}
		if !found || at < oldest {
			victim, oldest, found = k, at, true
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
