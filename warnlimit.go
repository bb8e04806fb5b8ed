package funcauth

import (
	"sync"
	"time"
)

// warnInterval is how often one repeated warning is worth logging.
const warnInterval = time.Minute

// maxWarnKeys bounds the warnings remembered; the function names in their
// keys come from request paths, which anyone can invent.
const maxWarnKeys = 1024

// warnLimiter decides whether a warning that repeats with every request
// (a verifier with no key for a function, a disk that cannot spool) is
// worth logging now: once per warnInterval for one key. When the table is
// full of recent keys, a new key is not warned about: the flood is already
// in the log.
type warnLimiter struct {
	mu   sync.Mutex
	last map[string]int64 // key -> unix nanoseconds of its last warning
}

func newWarnLimiter() *warnLimiter {
	return &warnLimiter{last: make(map[string]int64)}
}

// allow reports whether key may be warned about at now, and if so notes it.
func (w *warnLimiter) allow(key string, now time.Time) bool {
	n := now.UnixNano()
	w.mu.Lock()
	defer w.mu.Unlock()
	if last, ok := w.last[key]; ok {
		if last <= n && n-last < int64(warnInterval) {
			return false
		}
		w.last[key] = n
		return true
	}
	if len(w.last) >= maxWarnKeys && !w.evict(n) {
		return false
	}
	w.last[key] = n
	return true
}

// evict drops one expired key among a sample and reports whether it did.
func (w *warnLimiter) evict(now int64) bool {
	seen := 0
	for k, last := range w.last {
		if last > now || now-last >= int64(warnInterval) {
			delete(w.last, k)
			return true
		}
		seen++
		if seen >= evictionSample {
			break
		}
	}
	return false
}
