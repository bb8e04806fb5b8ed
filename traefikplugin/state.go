package traefikplugin

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/funcauth/funcauth"
)

// maxStates bounds how many middlewares keep their State: far more than
// any Traefik configuration has. Beyond it the least recently used goes.
var maxStates = 4096

// sweepEvery is how often New looks for States to let go.
const sweepEvery = time.Minute

// clock is the plugin's one clock: the Guards', and the registry's.
var clock = time.Now

// states shares one funcauth.State between the instances of a middleware:
// Traefik builds an instance per router and again on every reload, all in
// one interpreter, so a package-level registry keyed by the middleware's
// name keeps bans, replay memory and caches across reloads and edits of
// its configuration (funcauth.New adapts the State to an edit).
//
// A deleted middleware is no longer built and gets no more requests: its
// State is let go once it has been idle for longer than its horizon
// (Guard.StateHorizon), after which it would hold nothing that still
// matters. There is no goroutine: New sweeps, at most once a minute.
var states = &stateRegistry{entries: make(map[string]*stateEntry)}

type stateRegistry struct {
	mu        sync.Mutex
	entries   map[string]*stateEntry
	lastSweep time.Time
}

type stateEntry struct {
	used     int64 // unix nanoseconds of the last New or request (atomic)
	released int32 // 1 once the registry let go of it (atomic)
	horizon  int64 // nanoseconds (atomic)
	name     string
	state    *funcauth.State
}

// get returns the State of the middleware name, sized for cfg when new.
func (s *stateRegistry) get(name string, cfg *Config) *stateEntry {
	now := clock()
	s.mu.Lock()
	defer s.mu.Unlock()
	if now.Sub(s.lastSweep) >= sweepEvery || now.Before(s.lastSweep) {
		s.lastSweep = now
		s.sweep(now)
	}
	e, ok := s.entries[name]
	if !ok {
		if len(s.entries) >= maxStates {
			s.evictOldest()
		}
		e = &stateEntry{name: name, state: funcauth.NewState(cfg), horizon: int64(time.Hour)}
		s.entries[name] = e
	}
	atomic.StoreInt64(&e.used, now.UnixNano())
	return e
}

// sweep lets go of the States idle for longer than their horizon.
func (s *stateRegistry) sweep(now time.Time) {
	n := now.UnixNano()
	for name, e := range s.entries {
		if n-atomic.LoadInt64(&e.used) > atomic.LoadInt64(&e.horizon) {
			s.release(name, e)
		}
	}
}

func (s *stateRegistry) evictOldest() {
	var oldest *stateEntry
	for _, e := range s.entries {
		if oldest == nil || atomic.LoadInt64(&e.used) < atomic.LoadInt64(&oldest.used) {
			oldest = e
		}
	}
	if oldest != nil {
		s.release(oldest.name, oldest)
	}
}

func (s *stateRegistry) release(name string, e *stateEntry) {
	atomic.StoreInt32(&e.released, 1)
	delete(s.entries, name)
}

// touch notes a request; an instance whose State was let go while it
// still serves (idle past its horizon, then woken) puts it back, so the
// next reload finds it.
func (s *stateRegistry) touch(e *stateEntry, now time.Time) {
	atomic.StoreInt64(&e.used, now.UnixNano())
	if atomic.LoadInt32(&e.released) == 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, taken := s.entries[e.name]; !taken && len(s.entries) < maxStates {
		s.entries[e.name] = e
		atomic.StoreInt32(&e.released, 0)
	}
}
