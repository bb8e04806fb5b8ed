package funcauth

import "crypto/rand"

// State is what a Guard learns while it serves: the cache of successful
// password checks, the messages seen for replay protection, bans and
// rate-limit buckets. Hosts keep one State per configuration across reloads
// (Caddy in a usage pool, Traefik across the instances of one middleware)
// so that a reload neither forgets a ban nor lets a message be replayed.
//
// All of it is bounded by the sizes in the Config it was made for, and it
// starts no goroutine: entries expire when they are next looked at.
type State struct {
	credentials *credentialCache
	flights     *flightGroup
	replay      *replayCache
	abuse       *abuseState
}

// NewState returns an empty State sized by cfg. Invalid sizes fall back to
// defaults here; New reports them.
func NewState(cfg *Config) *State {
	cfg = cfg.withSections()
	secret := make([]byte, 32)
	if _, err := rand.Read(secret); err != nil {
		panic("funcauth: no randomness for the credential cache: " + err.Error())
	}
	cacheSize := cfg.BasicAuth.CacheSize
	if cacheSize <= 0 {
		cacheSize = 1000
	}
	replaySize := cfg.Replay.MaxEntries
	if replaySize <= 0 {
		replaySize = 100000
	}
	return &State{
		credentials: newCredentialCache(secret, cacheSize),
		flights:     &flightGroup{},
		replay:      newReplayCache(replaySize),
		abuse:       newAbuseState(cfg),
	}
}
