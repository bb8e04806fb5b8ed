package caddyauth

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"sync/atomic"

	"github.com/caddyserver/caddy/v2"

	"github.com/funcauth/funcauth"
)

// states keeps a funcauth.State per configuration across reloads: Caddy
// provisions the new configuration before it cleans up the old one, so a
// handler whose configuration did not change finds its bans, replay
// memory and caches still there.
var states = caddy.NewUsagePool()

// handlerIDs numbers the handlers provisioned in this process: each one's
// claim on its state's sizes (funcauth.Options.StateOwner).
var handlerIDs atomic.Uint64

// sharedState is a pooled funcauth.State.
type sharedState struct {
	state *funcauth.State
}

// Destruct lets the state go. It holds no goroutine or file; its store's
// connections, if it has one, close after a minute unused.
func (*sharedState) Destruct() error { return nil }

// loadState returns the pool key and state of a configuration: the JSON
// form as written (placeholders unexpanded, so no secret is hashed in) of
// what the state protects (the rules, users and verifiers), and the
// expanded form that sizes the state. Tuning options (bans, rate limits,
// bodies, replay and store sizes, the upstream headers, refusal bodies)
// are left out of the key, so editing them keeps bans and replay memory:
// funcauth.New adapts the state to the new sizes.
func loadState(written, expanded *funcauth.Config) (string, *funcauth.State, error) {
	identity := *written
	identity.Bans, identity.RateLimits, identity.Body, identity.Replay = nil, nil, nil, nil
	identity.Upstream, identity.Store, identity.RefusalBody, identity.ClientAddress = nil, nil, "", nil
	data, err := json.Marshal(&identity)
	if err != nil {
		return "", nil, err
	}
	sum := sha256.Sum256(data)
	key := "funcauth:" + hex.EncodeToString(sum[:])
	v, _, err := states.LoadOrNew(key, func() (caddy.Destructor, error) {
		return &sharedState{state: funcauth.NewState(expanded)}, nil
	})
	if err != nil {
		return "", nil, err
	}
	return key, v.(*sharedState).state, nil
}

func releaseState(key string) {
	states.Delete(key)
}
