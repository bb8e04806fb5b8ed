package funcauth

import (
	"sync"
	"sync/atomic"
)

// route is what a request path means to a Guard: the function it names,
// if any, and the rule that applies to it (nil when none does).
type route struct {
	fn    functionRef
	sub   string
	hasFn bool
	rule  *rule
}

// routeCache remembers the routes of the paths a Guard was asked for,
// when its rules match by path alone (no rule names methods or hosts):
// the next request for the same path skips checking the path, parsing the
// function it names and matching the rules (under Yaegi, the most of a
// request's work before its credentials).
//
// It holds at most routeCacheSize paths of at most routeCachePathMax
// bytes, and starts over once full: paths sent to fill it cost their
// sender the uncached way, and the Guard no memory past the bound.
type routeCache struct {
	paths  sync.Map // path → *route
	stored int64    // atomic: paths stored since it last started over
}

const (
	routeCacheSize    = 1024
	routeCachePathMax = 256
)

// resolveRoute works out the route of q's path, or refuses a path that is
// not canonical (see canonicalPath), and remembers the route when the
// Guard caches routes.
func resolveRoute(g *Guard, q *checkedRequest) (*route, *refusal) {
	if !canonicalPath(q.path) {
		return nil, refuse(ReasonBadRequest, "the path is not canonical (empty, dot or dot-dot segments, backslashes or control characters)")
	}
	rt := new(route)
	rt.fn, rt.sub, rt.hasFn = functionRoute(q.path)
	q.route = rt // matchRule reads the function
	rt.rule = matchRule(g, q)
	if g.routes != nil && len(q.path) <= routeCachePathMax {
		storeRoute(g.routes, q.path, rt)
	}
	return rt, nil
}

// storeRoute remembers rt as the route of path.
func storeRoute(c *routeCache, path string, rt *route) {
	if atomic.AddInt64(&c.stored, 1) > routeCacheSize {
		c.paths.Range(func(k, _ interface{}) bool {
			c.paths.Delete(k)
			return true
		})
		atomic.StoreInt64(&c.stored, 1)
	}
	c.paths.Store(path, rt)
}
