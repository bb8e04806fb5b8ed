// Package traefikplugin is funcauth as a Traefik middleware plugin. Traefik
// interprets it with Yaegi: it imports the standard library and the
// funcauth core only.
//
// Traefik decodes the middleware's options into Config by field name,
// case-insensitively, so the YAML, TOML, label and CRD keys are the core
// Config's Go field names in camelCase: preset, rules[0].path,
// basicAuth.users[0].passwordHash, signatures[0].keyFiles, body.maxSize.
package traefikplugin

import (
	"context"
	"errors"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/funcauth/funcauth"
)

// Config is the plugin's configuration: the funcauth core's Config, decoded
// by Traefik from the middleware's dynamic configuration.
type Config = funcauth.Config

// CreateConfig returns the configuration Traefik decodes the middleware's
// options into.
func CreateConfig() *Config {
	return &Config{}
}

// bcryptHint is appended to the error for a bcrypt or argon2id hash.
const bcryptHint = "under Traefik funcauth runs in the Yaegi interpreter, where a bcrypt check takes about 47 s: " +
	"use a $pbkdf2-sha256$ hash (`go run github.com/funcauth/funcauth/cmd/funcauth@latest hash`, or funcauth.HashPassword), or Traefik's own basicAuth middleware for bcrypt"

// New builds the middleware named name in front of next. It refuses an
// invalid configuration with an error naming the field. It starts no
// goroutine: Traefik builds a new instance for every router on every
// configuration reload. (A store's client runs one only while requests
// wait for Redis, which ends with them.) With a store, the first instance to use it asks
// the Redis server whether its settings keep what funcauth stores there,
// in one call bounded by the store's timeout, and logs what is wrong (see
// funcauth.Guard.CheckStore).
func New(ctx context.Context, next http.Handler, config *Config, name string) (http.Handler, error) {
	if config == nil {
		return nil, errors.New("funcauth " + name + ": no configuration")
	}
	entry := states.get(name, config)
	guard, err := funcauth.New(config, funcauth.Options{State: entry.state, UnsupportedHashHint: bcryptHint, Now: clock})
	if err != nil {
		return nil, errors.New("funcauth " + name + ": " + err.Error())
	}
	atomic.StoreInt64(&entry.horizon, int64(guard.StateHorizon()))
	if warning, err := guard.CheckStore(); err != nil || warning != "" {
		logStoreCheck(name, warning, err)
	}
	m := &middleware{name: name, guard: guard, state: entry}
	m.trustsProxies = config.ClientAddress != nil && len(config.ClientAddress.TrustedProxies) > 0
	return guard.Handler(next, m.observe), nil
}

// middleware is what one instance of the plugin adds to the core's
// handler: Traefik's logs and the state registry's bookkeeping.
type middleware struct {
	name  string
	guard *funcauth.Guard
	state *stateEntry
	// trustsProxies says clientAddress.trustedProxies is set: only then
	// can a trusted proxy leave out X-Forwarded-For.
	trustsProxies bool
}

// touchEvery is how often a middleware in use marks its state used.
const touchEvery = time.Second

// observe sees every decision: it keeps the middleware's state alive in
// the registry and writes Traefik's log lines.
func (m *middleware) observe(r *http.Request, d *funcauth.Decision) {
	now := clock()
	// The registry's clock of use needs no finer grain than touchEvery:
	// most requests skip the call (under Yaegi each call costs a frame).
	if now.UnixNano()-atomic.LoadInt64(&m.state.used) >= int64(touchEvery) || atomic.LoadInt32(&m.state.released) != 0 {
		states.touch(m.state, now)
	}
	if m.trustsProxies && len(r.Header["X-Forwarded-For"]) == 0 {
		m.warnMissingForwardedFor(r, now)
	}
	if d.StoreEvent != "" {
		logStoreEvent(m.name, d)
	}
	if !d.Allowed {
		logRefusal(m.name, r, d)
	}
}
