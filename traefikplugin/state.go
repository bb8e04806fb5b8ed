package traefikplugin

import (
	"crypto/sha256"
	"encoding/json"
	"sync"

	"github.com/funcauth/funcauth"
)

// maxSharedStates bounds how many configurations keep their State alive.
const maxSharedStates = 32

// states shares one funcauth.State between the instances of a middleware:
// Traefik builds an instance per router and again on every reload, all in
// one interpreter, so a package-level registry keyed by the middleware's
// name and a fingerprint of its configuration keeps bans, replay memory and
// caches across them. Only the maxSharedStates most recently used stay.
var states = &stateRegistry{entries: make(map[string]*stateEntry)}

type stateRegistry struct {
	mu      sync.Mutex
	entries map[string]*stateEntry
	clock   uint64
}

type stateEntry struct {
	state *funcauth.State
	used  uint64
}

func (s *stateRegistry) get(name string, cfg *Config) *funcauth.State {
	key := name + "\x00" + fingerprint(cfg)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.clock++
	if e, ok := s.entries[key]; ok {
		e.used = s.clock
		return e.state
	}
	if len(s.entries) >= maxSharedStates {
		oldest, first := "", true
		var at uint64
		for k, e := range s.entries {
			if first || e.used < at {
				oldest, at, first = k, e.used, false
			}
		}
		delete(s.entries, oldest)
	}
	e := &stateEntry{state: funcauth.NewState(cfg), used: s.clock}
	s.entries[key] = e
	return e.state
}

// fingerprint identifies a configuration without keeping its secrets.
func fingerprint(cfg *Config) string {
	data, err := json.Marshal(cfg)
	if err != nil {
		return "unencodable"
	}
	sum := sha256.Sum256(data)
	return string(sum[:])
}
