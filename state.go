package funcauth

import (
	"crypto/rand"
	"sync"
	"time"
)

// State is what a Guard learns while it serves: the cache of successful
// password checks, the messages seen for replay protection, bans and
// rate-limit buckets. Hosts keep one State per configuration across reloads
// (Caddy in a usage pool, Traefik per middleware name) so that a reload
// neither forgets a ban nor lets a message be replayed. A State handed to
// New with an edited configuration adapts to it: its tables take the new
// sizes and keep what they hold.
//
// All of it is bounded by the sizes in the Config it was made for, and it
// starts no goroutine: entries expire when they are next looked at.
type State struct {
	credentials *credentialCache
	flights     *flightGroup
	replay      *replayCache
	abuse       *abuseState

	// store is the shared store of the last configuration that had one,
	// kept across reloads so that its connections and its outage state
	// carry over while its settings do not change.
	mu    sync.Mutex
	store *sharedStore
	// claims are what the Guards using the State need of its tables, by
	// Options.StateOwner (see claim). Under mu.
	claims map[string]*stateClaim

	// usedSecond is the Unix second of the State's last check (atomic):
	// the first decision of each second says so (see Guard.Handler).
	usedSecond int64
}

// useStore returns the store the State already uses when s has the same
// settings, and otherwise starts using s, closing the old one's idle
// connections.
func (st *State) useStore(s *sharedStore) *sharedStore {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.store != nil && st.store.settings == s.settings {
		return st.store
	}
	if st.store != nil {
		st.store.client.close()
	}
	st.store = s
	return s
}

// NewState returns an empty State sized by cfg. Invalid sizes fall back to
// defaults here; New reports them.
func NewState(cfg *Config) *State {
	cfg = cfg.withSections()
	secret := make([]byte, 32)
	if _, err := rand.Read(secret); err != nil {
		panic("funcauth: no randomness for the credential cache: " + err.Error())
	}
	return &State{
		credentials: newCredentialCache(secret, credentialCacheSize(cfg)),
		flights:     &flightGroup{},
		replay:      newReplayCache(replayCacheSize(cfg)),
		abuse:       newAbuseState(cfg),
	}
}

func credentialCacheSize(cfg *Config) int {
	return orDefault(cfg.BasicAuth.CacheSize, defaultCredentialCacheSize)
}

func replayCacheSize(cfg *Config) int {
	return orDefault(cfg.Replay.MaxEntries, defaultTableEntries)
}

// stateClaim is what one owner's configuration needs of a State's
// tables: the sizes of the credential cache and of the ban tables, and the
// bucket tables of its rate limits with their sizes (by rateLimit.tableID).
type stateClaim struct {
	credentials int
	bans        int
	limits      map[string]int
}

// claim records what cfg, which New has compiled into limits, needs of s
// for owner, replacing owner's earlier claim, and sizes s for all claims
// (see fit).
func (s *State) claim(owner string, cfg *Config, limits []*rateLimit, bans *banPolicy, now time.Time) {
	c := &stateClaim{
		credentials: credentialCacheSize(cfg),
		bans:        orDefault(cfg.Bans.MaxEntries, defaultTableEntries),
		limits:      make(map[string]int, len(limits)),
	}
	for i, l := range limits {
		c.limits[l.tableID()] = orDefault(cfg.RateLimits[i].MaxEntries, defaultTableEntries)
	}
	s.replay.resize(replayCacheSize(cfg))
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.claims == nil {
		s.claims = make(map[string]*stateClaim)
	}
	s.claims[owner] = c
	s.fit(now, bans.window)
}

// withdraw drops owner's claim and sizes s for the claims left.
func (s *State) withdraw(owner string, now time.Time, window time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.claims, owner)
	if len(s.claims) > 0 {
		s.fit(now, window)
	}
}

// fit sizes s for the largest of its claims, keeping what it holds: bans,
// buckets and remembered messages outlive an edit of the configuration. A
// table that shrinks drops entries down to its new size (the replay
// cache, sized by resize, drops none); the bucket tables of rate limits
// no claim has are let go. s.mu is held.
func (s *State) fit(now time.Time, window time.Duration) {
	need := stateClaim{limits: make(map[string]int)}
	for _, c := range s.claims {
		need.credentials = larger(need.credentials, c.credentials)
		need.bans = larger(need.bans, c.bans)
		for id, n := range c.limits {
			need.limits[id] = larger(need.limits[id], n)
		}
	}
	s.credentials.resize(need.credentials)
	s.abuse.clients.resize(need.bans, now, window)
	s.abuse.users.resize(need.bans, now, window)

	a := s.abuse
	a.mu.Lock()
	defer a.mu.Unlock()
	tables := make([]*bucketTable, 0, len(need.limits))
	ids := make([]string, 0, len(need.limits))
	for i, id := range a.limiterIDs {
		if n, ok := need.limits[id]; ok {
			a.limiters[i].resize(n)
			tables = append(tables, a.limiters[i])
			ids = append(ids, id)
		}
	}
	a.limiters = tables
	a.limiterIDs = ids
}

// larger is the larger of a and b (no max builtin under Yaegi v0.16.1).
func larger(a, b int) int {
	if a > b {
		return a
	}
	return b
}

func (c *credentialCache) resize(max int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.max = max
	for k := range c.entries {
		if len(c.entries) <= max {
			break
		}
		delete(c.entries, k)
	}
}

// resize makes room for max entries. A replay cache only grows: a State
// may serve several Guards at once (in Caddy, the sites whose rules, users
// and verifiers are the same share one), and each Guard's own quota (its
// replay.max_entries, divided between its verifiers and keys: see
// verifier.setReplayShare) bounds what its messages take, so the smaller
// configuration cannot shrink the larger one's room, nor the larger one
// lend the smaller more than its own.
func (c *replayCache) resize(max int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if max > c.max {
		c.max = max
	}
}

// resize evicts as a full table does, the least valuable entries first.
func (t *failureTable) resize(max int, now time.Time, window time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.max = max
	for len(t.entries) > max {
		t.evict(now.UnixNano(), int64(window))
	}
}

func (t *bucketTable) resize(max int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.max = max
	for len(t.buckets) > max {
		for k := range t.buckets {
			delete(t.buckets, k)
			break
		}
	}
}

// StateHorizon is how long what g's State holds matters after g's last
// request: the longest of the ban duration and window, the replay window of
// its verifiers and the time a rate-limit bucket takes to refill (at least
// a minute). A host that keeps States by name can let go of one idle for
// longer: it would forget nothing but cached password checks.
func (g *Guard) StateHorizon() time.Duration {
	h := time.Minute
	if g.bans.enabled {
		if g.bans.duration > h {
			h = g.bans.duration
		}
		if g.bans.window > h {
			h = g.bans.window
		}
	}
	for _, v := range g.verifiers {
		if w := v.replayWindow(); w > h {
			h = w
		}
	}
	for _, l := range g.limits {
		if refill := time.Duration(l.burst / l.perSecond * float64(time.Second)); refill > h {
			h = refill
		}
	}
	return h
}

// abuseState holds the ban tables and rate-limit buckets of a State, the
// recent logins that exempt their clients from user lockout and the
// warnings recently logged.
type abuseState struct {
	clients  *failureTable
	users    *failureTable
	logins   *loginTable
	warnings *warnLimiter

	mu         sync.Mutex
	limiters   []*bucketTable
	limiterIDs []string // rateLimit.tableID of each of limiters
}

func newAbuseState(cfg *Config) *abuseState {
	max := orDefault(cfg.Bans.MaxEntries, defaultTableEntries)
	s := &abuseState{clients: newFailureTable(max), users: newFailureTable(max), logins: newLoginTable(max), warnings: newWarnLimiter()}
	for i, l := range cfg.RateLimits {
		s.limiterTable(rateLimitTableID(l, i), l.MaxEntries)
	}
	return s
}

// limiterTable returns the bucket table named id, making one of size
// entries (default defaultTableEntries) when the State has none.
func (s *abuseState) limiterTable(id string, size int) *bucketTable {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, have := range s.limiterIDs {
		if have == id {
			return s.limiters[i]
		}
	}
	t := newBucketTable(orDefault(size, defaultTableEntries))
	s.limiters = append(s.limiters, t)
	s.limiterIDs = append(s.limiterIDs, id)
	return t
}
