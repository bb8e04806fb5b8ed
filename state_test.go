package funcauth

import (
	"testing"
	"time"
)

// TestStateAdaptsToAnEditedConfig: a host that keeps one State per
// middleware name (Traefik) hands it to New with an edited configuration;
// bans, rate-limit buckets and the tables' sizes follow the edit, and
// nothing is forgotten that the new configuration still has.
func TestStateAdaptsToAnEditedConfig(t *testing.T) {
	c := &clock{t: testNow}
	cfg := func(banEntries int, limits ...RateLimit) *Config {
		return &Config{
			Rules:      []Rule{{Path: "*", Require: "basic"}},
			BasicAuth:  &BasicAuth{Users: []User{{Name: "admin", PasswordHash: "$test$pw"}}},
			Bans:       &Bans{MaxFailures: 2, Duration: "1h", MaxEntries: banEntries},
			RateLimits: limits,
		}
	}
	build := func(cfg *Config, state *State) *Guard {
		g, err := New(cfg, Options{Now: c.now, State: state, HashComparers: map[string]HashComparer{"$test$": &countingComparer{}}})
		if err != nil {
			t.Fatal(err)
		}
		return g
	}
	first := cfg(0, RateLimit{Name: "api", Rate: "3/1h"}, RateLimit{Name: "old", Rate: "100/1s"})
	state := NewState(first)
	g := build(first, state)
	login(g, "198.51.100.1", "admin", "wrong")
	login(g, "198.51.100.1", "admin", "wrong") // banned for 1h
	for i := 0; i < 3; i++ {
		login(g, "198.51.100.2", "admin", "pw") // spends api's burst of 3
	}
	api, apiID := state.abuse.limiters[0], state.abuse.limiterIDs[0]

	// The edit: a bigger api limit under the same name, "old" gone, a new
	// limit, a smaller ban table.
	c.advance(time.Minute)
	g = build(cfg(500, RateLimit{Name: "new", Rate: "100/1s"}, RateLimit{Name: "api", Rate: "4/1h"}), state)
	if d := login(g, "198.51.100.1", "admin", "pw"); d.Reason != ReasonBanned {
		t.Errorf("the ban did not outlive the edit: %s", d.Reason)
	}
	// api's bucket is kept, empty: a fresh one would hold 4 tokens.
	if d := login(g, "198.51.100.2", "admin", "pw"); d.Reason != ReasonRateLimited {
		t.Errorf("the bucket was refilled by the edit: %s", d.Reason)
	}
	kept := false
	for i, id := range state.abuse.limiterIDs {
		kept = kept || id == apiID && state.abuse.limiters[i] == api
	}
	if len(state.abuse.limiters) != 2 || !kept {
		t.Errorf("bucket tables after the edit: %d, api kept: %v", len(state.abuse.limiters), kept)
	}
	if state.abuse.clients.max != 500 {
		t.Errorf("the ban table's size is %d, want 500", state.abuse.clients.max)
	}
	if h := g.StateHorizon(); h != time.Hour {
		t.Errorf("StateHorizon %s, want the ban duration of 1h", h)
	}
}

// TestStateShrinks: a table made smaller by an edit drops entries down to
// its new size, bans last.
func TestStateShrinks(t *testing.T) {
	c := &clock{t: testNow}
	state := NewState(&Config{})
	tbl := state.abuse.clients
	for i := 0; i < 50; i++ {
		tbl.fail(string(rune('a'+i)), c.now(), 1+i%2, time.Minute, time.Hour) // every other one banned
	}
	tbl.resize(10, c.now(), time.Minute)
	if n := tbl.len(); n != 10 {
		t.Fatalf("%d entries after shrinking to 10", n)
	}
	banned := 0
	for k := range tbl.entries {
		if bannedFor(tbl, k, c.now()) > 0 {
			banned++
		}
	}
	if banned != 10 {
		t.Errorf("%d of the 10 entries left are bans, want all", banned)
	}
}

// TestStateSharedByOwnersFitsTheLargest: Guards that share a State at once
// under owners of their own (Caddy's sites with the same rules, users and
// verifiers) get tables sized for the largest of their configurations,
// whichever was built last; a Guard's Release shrinks them to the largest
// claim left, and keeps the rate-limit tables only the others still have.
func TestStateSharedByOwnersFitsTheLargest(t *testing.T) {
	c := &clock{t: testNow}
	cfg := func(entries int, limits ...RateLimit) *Config {
		return &Config{
			Rules:      []Rule{{Path: "*", Require: "basic"}},
			BasicAuth:  &BasicAuth{Users: []User{{Name: "admin", PasswordHash: "$test$pw"}}, CacheSize: entries},
			Bans:       &Bans{MaxEntries: entries},
			RateLimits: limits,
		}
	}
	state := NewState(cfg(0))
	build := func(owner string, cfg *Config) *Guard {
		g, err := New(cfg, Options{Now: c.now, State: state, StateOwner: owner, HashComparers: map[string]HashComparer{"$test$": &countingComparer{}}})
		if err != nil {
			t.Fatal(err)
		}
		return g
	}
	sizes := func() (int, int, int) {
		return state.credentials.max, state.abuse.clients.max, len(state.abuse.limiters)
	}
	big := build("site a", cfg(5000, RateLimit{Name: "api", Rate: "10/1s", MaxEntries: 3000}))
	small := build("site b", cfg(50))
	if creds, bans, limiters := sizes(); creds != 5000 || bans != 5000 || limiters != 1 || state.abuse.limiters[0].max != 3000 {
		t.Errorf("shared by a large and a small site: cache %d, bans %d, %d bucket tables, want 5000, 5000 and api's (3000)", creds, bans, limiters)
	}
	big.Release()
	if creds, bans, limiters := sizes(); creds != 50 || bans != 50 || limiters != 0 {
		t.Errorf("the large site released: cache %d, bans %d, %d bucket tables, want 50, 50, none", creds, bans, limiters)
	}
	small.Release()
	if creds, bans, _ := sizes(); creds != 50 || bans != 50 {
		t.Errorf("the last claim released: cache %d, bans %d, want them left as they were", creds, bans)
	}
	// Without an owner, each Guard's claim replaces the last (Traefik).
	build("", cfg(5000))
	build("", cfg(70))
	if _, bans, _ := sizes(); bans != 70 {
		t.Errorf("the anonymous claim: bans %d, want the last one's 70", bans)
	}
}
