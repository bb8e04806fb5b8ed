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
	api := state.abuse.limiters[0]

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
	if len(state.abuse.limiters) != 2 || state.abuse.limiters[1] != api {
		t.Errorf("bucket tables after the edit: %d, api kept: %v", len(state.abuse.limiters), state.abuse.limiters[1] == api)
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
