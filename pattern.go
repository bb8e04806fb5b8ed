package funcauth

import (
	"errors"
	"path"
	"strconv"
	"strings"
)

// pathPattern matches request paths. See Rule.Path for the syntax.
type pathPattern struct {
	raw      string
	all      bool     // "*"
	segments []string // the pattern split at "/", without a trailing "*"
	rest     bool     // a trailing "*" matches the remainder, across segments
	literal  bool     // no "*" at all: compare raw with the path
	prefix   string   // a trailing "*" is the only one: a plain prefix
	// fn is set for paths under /function/ and /async-function/: they
	// also match every other route to the functions they name.
	fn *functionPattern
}

// compilePathPattern compiles a Rule.Path. (A pointer: under Yaegi a
// method call on a struct held by value copies it through reflection.)
func compilePathPattern(s string) (*pathPattern, error) {
	p := &pathPattern{raw: s}
	switch {
	case s == "":
		return p, errors.New("path is empty: use \"*\" to match every path")
	case s == "*":
		p.all = true
		return p, nil
	case s[0] != '/':
		return p, errors.New("path " + strconv.Quote(s) + " must start with \"/\" (or be \"*\")")
	case strings.Contains(s, "**"):
		return p, errors.New("path " + strconv.Quote(s) + " has \"**\": a trailing \"*\" already matches across segments")
	}
	for _, route := range []string{"/function/", "/async-function/"} {
		if strings.HasPrefix(s, route) {
			fn, err := compileFunctionPattern(s, s[len(route):])
			if err != nil {
				return p, err
			}
			p.fn = fn
		}
	}
	if !strings.Contains(s, "*") {
		p.literal = true
		return p, nil
	}
	body := s
	if strings.HasSuffix(s, "*") {
		p.rest = true
		body = s[:len(s)-1]
		if !strings.Contains(body, "*") {
			p.prefix = body
		}
	}
	p.segments = strings.Split(body, "/")
	return p, nil
}

// match reports whether path (already checked to be canonical) matches.
func (p *pathPattern) match(path string) bool {
	if p.all {
		return true
	}
	if p.fn != nil {
		if ref, sub, ok := functionRoute(path); ok && p.fn.match(ref, sub) {
			return true
		}
	}
	return p.matchPath(path)
}

// matchPath is match without the other routes to the functions a
// function pattern names: the path against the pattern itself.
func (p *pathPattern) matchPath(path string) bool {
	if p.all {
		return true
	}
	if p.literal {
		return p.raw == path
	}
	if p.prefix != "" {
		return strings.HasPrefix(path, p.prefix)
	}
	last := len(p.segments) - 1
	for i := 0; i <= last; i++ {
		var seg string
		slash := strings.IndexByte(path, '/')
		if slash < 0 {
			seg, path = path, ""
		} else {
			seg, path = path[:slash], path[slash+1:]
		}
		if i == last {
			if p.rest {
				// The trailing "*" takes the rest of this segment and
				// whatever follows it.
				return matchSegment(p.segments[i]+"*", seg)
			}
			return slash < 0 && matchSegment(p.segments[i], seg)
		}
		if slash < 0 || !matchSegment(p.segments[i], seg) {
			return false
		}
	}
	return false
}

// matchSegment matches one path segment against a pattern in which "*"
// stands for any run of characters. With "*" the only wildcard, matching
// the parts between stars leftmost-first is exact; it is done with
// compiled string functions, which matters under Yaegi, where a loop over
// characters is interpreted.
func matchSegment(pattern, s string) bool {
	star := strings.IndexByte(pattern, '*')
	if star < 0 {
		return pattern == s
	}
	if !strings.HasPrefix(s, pattern[:star]) {
		return false
	}
	s = s[star:]
	parts := strings.Split(pattern[star+1:], "*")
	last := len(parts) - 1
	for i := 0; i < last; i++ {
		at := strings.Index(s, parts[i])
		if at < 0 {
			return false
		}
		s = s[at+len(parts[i]):]
	}
	return len(s) >= len(parts[last]) && strings.HasSuffix(s, parts[last])
}

// controlChars are the bytes a path may not hold, with the backslash some
// upstreams read as a slash.
const controlChars = "\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f" +
	"\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19\x1a\x1b\x1c\x1d\x1e\x1f\x7f\\"

// canonicalPath reports whether a decoded request path is one funcauth is
// willing to interpret: absolute, without empty, "." or ".." segments,
// backslashes or control characters. An upstream that cleans paths could
// otherwise route "/function/x/../../system/secrets" to a route whose rule
// did not match.
func canonicalPath(p string) bool {
	// path.Clean returns a clean path as it is: one that differs has an
	// empty, "." or ".." segment, or ends in a slash (which is allowed).
	// (Two calls where six did the work: under Yaegi each call costs.)
	if p == "" || p[0] != '/' || strings.ContainsAny(p, controlChars) {
		return false
	}
	clean := path.Clean(p)
	return clean == p || len(clean) > 1 && len(clean)+1 == len(p) && p[len(clean)] == '/' && clean == p[:len(clean)]
}
