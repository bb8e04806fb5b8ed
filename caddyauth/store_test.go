package caddyauth

import (
	"context"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/funcauth/funcauth"
	"github.com/funcauth/funcauth/internal/cli"
	"github.com/funcauth/funcauth/internal/redistest"
)

// The store's password never sits in Caddy's JSON configuration, which the
// admin API exports: written inline or in a URL, it is refused by name.
func TestStorePasswordStaysOutOfTheConfig(t *testing.T) {
	for _, tc := range []struct {
		store funcauth.Store
		field string // "" for accepted
	}{
		{funcauth.Store{Address: "redis:6379", Password: "{env.REDIS_PASSWORD}"}, ""},
		{funcauth.Store{Address: "redis:6379", Password: "{file./run/secrets/redis}"}, ""},
		{funcauth.Store{Address: "redis:6379", PasswordFile: "/run/secrets/redis"}, ""},
		{funcauth.Store{Address: "redis://:{env.REDIS_PASSWORD}@redis:6379"}, ""},
		{funcauth.Store{Address: "redis://user@redis:6379"}, "store.address"},
		{funcauth.Store{Address: "redis:6379", Password: "hunter2"}, "store.password"},
		{funcauth.Store{Address: "redis://:hunter2@redis:6379"}, "store.address"},
		{funcauth.Store{Sentinel: &funcauth.StoreSentinel{Master: "m", Addresses: []string{"s"}, Password: "{env.SENTINEL_PASSWORD}"}}, ""},
		{funcauth.Store{Sentinel: &funcauth.StoreSentinel{Master: "m", Addresses: []string{"s"}, Password: "hunter2"}}, "store.sentinel.password"},
	} {
		err := cli.CaddyRules(&funcauth.Config{Store: &tc.store})
		switch {
		case tc.field == "" && err != nil:
			t.Errorf("%+v: %v", tc.store, err)
		case tc.field != "" && (err == nil || !strings.HasPrefix(err.Error(), tc.field)):
			t.Errorf("%+v: %v, want an error naming %s", tc.store, err, tc.field)
		case err != nil && strings.Contains(err.Error(), "hunter2"):
			t.Errorf("the error quotes the password: %v", err)
		}
	}
}

// TestProvisionChecksTheStore: loading a configuration whose store evicts
// keys logs a warning that names the policy and what to set, with the
// password nowhere in the log; a server that cannot be reached is logged
// as not checked.
func TestProvisionChecksTheStore(t *testing.T) {
	const password = "s3cret-caddy-store"
	srv := redistest.Start(t, "--requirepass", password, "--maxmemory", "64mb", "--maxmemory-policy", "allkeys-lru")
	t.Setenv("FUNCAUTH_TEST_REDIS_PASSWORD", password)
	down := redistest.Start(t)
	down.Kill(t)
	for _, tc := range []struct {
		addr, level, msg, detail string
	}{
		{srv.Addr, "warn", "funcauth store settings", "maxmemory-policy allkeys-lru"},
		{down.Addr, "info", "funcauth store settings not checked", "cannot connect"},
	} {
		c := startCaddy(t, []byte(`{"rules":[{"path":"*","require":"signature"}],
			"signatures":[{"scheme":"faas-cli","keys":["k"]}],
			"store":{"address":"`+tc.addr+`","password":"{env.FUNCAUTH_TEST_REDIS_PASSWORD}"}}`), serverOptions{})
		lines, err := c.log.Lines()
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, l := range lines {
			if strings.Contains(fmt.Sprint(l), password) {
				t.Errorf("the log quotes the password: %v", l)
			}
			found = found || l["level"] == tc.level && l["msg"] == tc.msg && strings.Contains(fmt.Sprint(l["detail"]), tc.detail)
		}
		if !found {
			t.Errorf("%s: no %s line %q saying %q in %v", tc.addr, tc.level, tc.msg, tc.detail, lines)
		}
	}
}

// A store event is logged at its own level: the start of an outage at
// WARN, its end at INFO, whatever else the decision's calls met.
func TestStoreEventsAreLoggedAtTheirLevel(t *testing.T) {
	core, logs := observer.New(zap.InfoLevel)
	h := &Handler{logger: zap.New(core)}
	h.logStoreEvent(&funcauth.Decision{StoreEvent: "store failing", StoreOutage: true})
	h.logStoreEvent(&funcauth.Decision{StoreEvent: "store answers again"})
	var got []string
	for _, e := range logs.All() {
		got = append(got, e.Level.String()+" "+e.Message)
	}
	if want := []string{"warn funcauth store outage", "info funcauth store recovered"}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("logged %q, want %q", got, want)
	}
}

// Two sites with the same rules, users and verifiers share one state, each
// with its own sizes and rate limits: provisioning the second (which has
// no rate limit) keeps the first's bucket table, so the first site's
// reload (provisioned again, then the old instance cleaned up) finds its
// buckets as they were; once cleaned up, a site's claim is gone.
func TestSitesSharingAStateKeepEachOthersTables(t *testing.T) {
	site := func(limited bool) *Handler {
		h := &Handler{Config: funcauth.Config{
			Rules:     []funcauth.Rule{{Path: "*", Require: "basic"}},
			BasicAuth: &funcauth.BasicAuth{Users: []funcauth.User{{Name: "shared-state-test", PasswordHash: "$pbkdf2-sha256$i=10000$b3BzLXNhbHQtMTIzNDU2Nw$6hRJUBLyXIcGoFCLxRvLchRjFd7AjtS+7DAQOW3rfSk"}}},
		}}
		if limited {
			h.RateLimits = []funcauth.RateLimit{{Name: "api", Rate: "1/1h"}}
		}
		ctx, cancel := caddy.NewContext(caddy.Context{Context: context.Background()})
		t.Cleanup(cancel)
		if err := h.Provision(ctx); err != nil {
			t.Fatal(err)
		}
		return h
	}
	check := func(h *Handler) funcauth.Reason {
		r := httptest.NewRequest("GET", "/", nil)
		return h.guard.Check(r, "192.0.2.80").Reason
	}
	limited, other := site(true), site(false)
	defer other.Cleanup()
	check(limited) // spends api's one token
	if reason := check(limited); reason != funcauth.ReasonRateLimited {
		t.Fatalf("the second request under 1/1h: %s", reason)
	}
	reloaded := site(true)
	limited.Cleanup()
	if reason := check(reloaded); reason != funcauth.ReasonRateLimited {
		t.Errorf("after a reload, beside a site without the limit: %s, want the bucket kept (rate_limited)", reason)
	}
	// Once no site has the limit, its table is let go: a site that adds it
	// again starts with a full bucket.
	reloaded.Cleanup()
	again := site(true)
	defer again.Cleanup()
	if reason := check(again); reason == funcauth.ReasonRateLimited {
		t.Errorf("the limit's table outlived every site that had it")
	}
}
