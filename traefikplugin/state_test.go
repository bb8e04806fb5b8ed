package traefikplugin

import (
	"bytes"
	"context"
	"log"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/funcauth/funcauth"
	"github.com/funcauth/funcauth/internal/redistest"
)

// fakeClock replaces the plugin's clock for a test.
func fakeClock(t *testing.T) *time.Time {
	t.Helper()
	now := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	saved := clock
	clock = func() time.Time { return now }
	t.Cleanup(func() { clock = saved })
	return &now
}

// freshRegistry gives the test a registry of its own.
func freshRegistry(t *testing.T) {
	t.Helper()
	saved := states
	states = &stateRegistry{entries: make(map[string]*stateEntry)}
	t.Cleanup(func() { states = saved })
}

func banConfig(rate string) *Config {
	return &Config{
		Rules:      []funcauth.Rule{{Path: "*", Require: "basic"}},
		BasicAuth:  &funcauth.BasicAuth{Users: []funcauth.User{{Name: "admin", PasswordHash: "$pbkdf2-sha256$i=10000$b3BzLXNhbHQtMTIzNDU2Nw$6hRJUBLyXIcGoFCLxRvLchRjFd7AjtS+7DAQOW3rfSk"}}},
		Bans:       &funcauth.Bans{MaxFailures: 1, Duration: "1h"},
		RateLimits: []funcauth.RateLimit{{Name: "all", Rate: rate}},
	}
}

func serve(t *testing.T, h http.Handler, client string) int {
	t.Helper()
	r := httptest.NewRequest("GET", "/system/functions", nil)
	r.RemoteAddr = client + ":5000"
	r.SetBasicAuth("admin", "wrong")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w.Code
}

func build(t *testing.T, name string, cfg *Config) http.Handler {
	t.Helper()
	h, err := New(context.Background(), http.NotFoundHandler(), cfg, name)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// TestStatesOfManyMiddlewaresSurviveReloads: with 40 funcauth middlewares,
// a reload (every one built again) and an edit of their configuration
// keep every ban; the States of deleted middlewares are let go once idle
// past their horizon (the 1h ban), those of live ones are not.
func TestStatesOfManyMiddlewaresSurviveReloads(t *testing.T) {
	now := fakeClock(t)
	freshRegistry(t)
	const n = 40
	name := func(i int) string { return "auth" + strconv.Itoa(i) + "@file" }
	for i := 0; i < n; i++ {
		h := build(t, name(i), banConfig("100/1s"))
		if code := serve(t, h, "198.51.100.1"); code != http.StatusUnauthorized {
			t.Fatalf("%s: first failure: %d", name(i), code)
		}
	}
	// Reload, with an edited configuration: every client is still banned.
	*now = now.Add(time.Minute)
	live := make([]http.Handler, n)
	for i := 0; i < n; i++ {
		live[i] = build(t, name(i), banConfig("200/1s"))
		if code := serve(t, live[i], "198.51.100.1"); code != http.StatusTooManyRequests {
			t.Fatalf("%s after a reload: %d, want 429 (banned)", name(i), code)
		}
	}
	if got := states.len(); got != n {
		t.Fatalf("%d States for %d middlewares", got, n)
	}
	// Half the middlewares are deleted; the others keep serving.
	*now = now.Add(30 * time.Minute)
	for i := 0; i < n/2; i++ {
		serve(t, live[i], "198.51.100.2")
	}
	kept := states.entries[name(0)].state
	*now = now.Add(45 * time.Minute) // deleted ones idle 75 min, live ones 45
	for i := 0; i < n/2; i++ {
		build(t, name(i), banConfig("200/1s"))
	}
	if got := states.len(); got != n/2 {
		t.Errorf("%d States after deleting %d of %d middlewares, want %d", got, n/2, n, n/2)
	}
	if e := states.entries[name(0)]; e == nil || e.state != kept {
		t.Errorf("a live middleware's State was replaced")
	}
	if _, ok := states.entries[name(n-1)]; ok {
		t.Errorf("a deleted middleware's State is kept")
	}
}

// TestStatesAreBounded: beyond maxStates the least recently used goes,
// and an instance whose State was let go while it still serves puts it
// back on its next request.
func TestStatesAreBounded(t *testing.T) {
	now := fakeClock(t)
	freshRegistry(t)
	saved := maxStates
	maxStates = 5
	defer func() { maxStates = saved }()
	var first http.Handler
	for i := 0; i < 8; i++ {
		*now = now.Add(time.Second)
		h := build(t, "m"+strconv.Itoa(i), banConfig("100/1s"))
		if i == 0 {
			first = h
		}
	}
	if got := states.len(); got != 5 {
		t.Fatalf("%d States, bound 5", got)
	}
	if _, ok := states.entries["m0"]; ok {
		t.Fatal("the least recently used State is kept")
	}
	delete(states.entries, "m7")
	serve(t, first, "198.51.100.3")
	if _, ok := states.entries["m0"]; !ok {
		t.Error("a serving instance did not put its State back")
	}
}

// len returns how many States the registry keeps.
func (s *stateRegistry) len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.entries)
}

// TestNewChecksTheStore: the first middleware to use a store whose Redis
// evicts keys writes one line to Traefik's error log naming the policy;
// the middleware built again on a reload, with the same store, writes none.
func TestNewChecksTheStore(t *testing.T) {
	freshRegistry(t)
	const password = "s3cret-traefik-store"
	srv := redistest.Start(t, "--requirepass", password, "--maxmemory", "64mb", "--maxmemory-policy", "volatile-lru")
	t.Setenv("FUNCAUTH_TEST_REDIS_PASSWORD", password)
	var buf bytes.Buffer
	saved := log.Writer()
	log.SetOutput(&buf)
	defer log.SetOutput(saved)
	cfg := &Config{
		Rules:      []funcauth.Rule{{Path: "*", Require: "signature"}},
		Signatures: []funcauth.Signature{{Scheme: "faas-cli", Keys: []string{"k"}}},
		Store:      &funcauth.Store{Address: srv.Addr, PasswordEnv: "FUNCAUTH_TEST_REDIS_PASSWORD"},
	}
	build(t, "fleet@file", cfg)
	out := buf.String()
	if strings.Count(out, "funcauth store settings:") != 1 || !strings.Contains(out, `middleware="fleet@file"`) || !strings.Contains(out, "maxmemory-policy volatile-lru") {
		t.Errorf("want one line naming the middleware and the policy, got:\n%s", out)
	}
	if strings.Contains(out, password) {
		t.Errorf("the log quotes the password:\n%s", out)
	}
	buf.Reset()
	build(t, "fleet@file", cfg)
	if buf.Len() != 0 {
		t.Errorf("the reloaded middleware checked the store again:\n%s", buf.String())
	}
}

// Traefik's error log says whether a store event begins an outage or ends
// one.
func TestStoreEventsSayWhichTheyAre(t *testing.T) {
	var buf bytes.Buffer
	saved := log.Writer()
	log.SetOutput(&buf)
	defer log.SetOutput(saved)
	logStoreEvent("m@file", &funcauth.Decision{StoreEvent: "store failing", StoreOutage: true})
	logStoreEvent("m@file", &funcauth.Decision{StoreEvent: "store answers again"})
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 || !strings.Contains(lines[0], "event=outage") || !strings.Contains(lines[1], "event=recovered") {
		t.Errorf("log:\n%s", buf.String())
	}
}
