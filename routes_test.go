package funcauth

import (
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
)

// storedRoutes counts the paths a route cache holds.
func storedRoutes(c *routeCache) int {
	n := 0
	c.paths.Range(func(_, _ interface{}) bool { n++; return true })
	return n
}

func TestRouteCacheDecidesAsTheRules(t *testing.T) {
	g := newTestGuard(t, &Config{Rules: []Rule{
		{Path: "/open/*", Require: "open"},
		{Path: "/function/env", Require: "open"},
		{Path: "/function/*", Require: "deny"},
	}}, &clock{t: testNow})
	if g.routes == nil {
		t.Fatal("rules matching by path alone: no route cache")
	}
	for round := 0; round < 2; round++ { // uncached, then cached
		for path, allowed := range map[string]bool{
			"/open/a": true, "/function/env": true, "/function/env.openfaas-fn": true,
			"/function/figlet": false, "/other": false, "/open/../function/x": false,
		} {
			if d := g.Check(request("GET", path, "", nil), "192.0.2.1"); d.Allowed != allowed {
				t.Errorf("round %d: %s allowed %v (%s)", round, path, d.Allowed, d.Reason)
			}
		}
	}
	if n := storedRoutes(g.routes); n != 5 {
		t.Errorf("%d routes cached, want the 5 canonical paths", n)
	}
}

func TestRouteCacheIsBounded(t *testing.T) {
	g := newTestGuard(t, &Config{Rules: []Rule{{Path: "/function/*", Require: "open"}}}, &clock{t: testNow})
	long := "/function/x/" + strings.Repeat("a", routeCachePathMax)
	if d := g.Check(request("GET", long, "", nil), "192.0.2.1"); !d.Allowed {
		t.Fatalf("long path: %s", d.Reason)
	}
	if n := storedRoutes(g.routes); n != 0 {
		t.Fatalf("a path longer than %d bytes was cached", routeCachePathMax)
	}
	for i := 0; i < 3*routeCacheSize; i++ {
		if d := g.Check(request("GET", "/function/f"+strconv.Itoa(i), "", nil), "192.0.2.1"); !d.Allowed {
			t.Fatalf("path %d: %s", i, d.Reason)
		}
		if n := storedRoutes(g.routes); n > routeCacheSize {
			t.Fatalf("%d paths cached, over the bound of %d", n, routeCacheSize)
		}
	}
	if n := atomic.LoadInt64(&g.routes.stored); n < 1 || n > routeCacheSize {
		t.Fatalf("stored count %d", n)
	}
}

func TestNoRouteCacheWhenRulesNameMethodsOrHosts(t *testing.T) {
	for _, rl := range []Rule{
		{Path: "/x", Methods: []string{"GET"}, Require: "open"},
		{Path: "/x", Hosts: []string{"a.example"}, Require: "open"},
	} {
		g := newTestGuard(t, &Config{Rules: []Rule{rl}}, &clock{t: testNow})
		if g.routes != nil {
			t.Errorf("%+v: the route depends on more than the path, yet routes are cached", rl)
		}
		r := request("GET", "/x", "", nil)
		r.Host = "a.example"
		if d := g.Check(r, "192.0.2.1"); !d.Allowed {
			t.Errorf("%+v: GET a.example/x: %s", rl, d.Reason)
		}
		r = request("POST", "/x", "", nil)
		r.Host = "b.example"
		if d := g.Check(r, "192.0.2.1"); d.Allowed {
			t.Errorf("%+v: POST b.example/x allowed", rl)
		}
	}
}
