package funcauth

import (
	"errors"
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
}

func compilePathPattern(s string) (pathPattern, error) {
	p := pathPattern{raw: s}
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
	if !strings.Contains(s, "*") {
		p.literal = true
		return p, nil
	}
	body := s
	if strings.HasSuffix(s, "*") {
		p.rest = true
		body = s[:len(s)-1]
	}
	p.segments = strings.Split(body, "/")
	return p, nil
}

// match reports whether path (already checked to be canonical) matches.
func (p *pathPattern) match(path string) bool {
	if p.all {
		return true
	}
	if p.literal {
		return p.raw == path
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
// stands for any run of characters. It runs in O(len(pattern)*len(s)).
func matchSegment(pattern, s string) bool {
	pi, si := 0, 0
	star, mark := -1, 0
	for si < len(s) {
		switch {
		case pi < len(pattern) && pattern[pi] == '*':
			star, mark = pi, si
			pi++
		case pi < len(pattern) && pattern[pi] == s[si]:
			pi++
			si++
		case star >= 0:
			pi = star + 1
			mark++
			si = mark
		default:
			return false
		}
	}
	for pi < len(pattern) && pattern[pi] == '*' {
		pi++
	}
	return pi == len(pattern)
}

// canonicalPath reports whether a decoded request path is one funcauth is
// willing to interpret: absolute, without empty, "." or ".." segments,
// backslashes or control characters. An upstream that cleans paths could
// otherwise route "/function/x/../../system/secrets" to a route whose rule
// did not match.
func canonicalPath(path string) bool {
	if path == "" || path[0] != '/' {
		return false
	}
	segStart := 1
	for i := 1; i <= len(path); i++ {
		if i < len(path) {
			c := path[i]
			if c < 0x20 || c == 0x7f || c == '\\' {
				return false
			}
			if c != '/' {
				continue
			}
		}
		seg := path[segStart:i]
		if seg == "." || seg == ".." || (seg == "" && i < len(path)) {
			return false
		}
		segStart = i + 1
	}
	return true
}
