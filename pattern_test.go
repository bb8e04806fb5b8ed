package funcauth

import (
	"strings"
	"testing"
)

func TestPathPattern(t *testing.T) {
	for _, tc := range []struct {
		pattern string
		match   []string
		noMatch []string
	}{
		{"*", []string{"/", "/a", "/a/b/c"}, nil},
		{"/healthz", []string{"/healthz"}, []string{"/healthz/", "/healthzx", "/", "/HEALTHZ"}},
		{"/system/*", []string{"/system/", "/system/functions", "/system/a/b"}, []string{"/system", "/systemx", "/ui/system/x"}},
		{"/ui*", []string{"/ui", "/ui/", "/uix", "/ui/a/b"}, []string{"/u", "/x/ui"}},
		{"/function/*.dev/*", []string{"/function/env.dev/", "/function/env.dev/x/y", "/function/.dev/"},
			[]string{"/function/env.prod/x", "/function/env.dev", "/function/a/b.dev/x"}},
		{"/function/*.dev", []string{"/function/env.dev", "/function/.dev"}, []string{"/function/env.dev/", "/function/a/x.dev"}},
		{"/a/*/c", []string{"/a/b/c", "/a//c"}, []string{"/a/b/d", "/a/b/c/", "/a/b/x/c"}},
		{"/a/*b*c*", []string{"/a/bc", "/a/xbyczz", "/a/bc/d/e"}, []string{"/a/cb", "/a/x/bc"}},
	} {
		p, err := compilePathPattern(tc.pattern)
		if err != nil {
			t.Fatalf("%q: %v", tc.pattern, err)
		}
		for _, path := range tc.match {
			if !p.match(path) {
				t.Errorf("%q should match %q", tc.pattern, path)
			}
		}
		for _, path := range tc.noMatch {
			if p.match(path) {
				t.Errorf("%q should not match %q", tc.pattern, path)
			}
		}
	}
}

func TestPathPatternErrors(t *testing.T) {
	for _, bad := range []string{"", "system/*", "/a/**", "**"} {
		if _, err := compilePathPattern(bad); err == nil {
			t.Errorf("compilePathPattern(%q) accepted", bad)
		}
	}
}

func TestMatchSegmentIsLinear(t *testing.T) {
	// A pattern with many stars against a long segment must not backtrack
	// exponentially: this returns at once.
	pattern := strings.Repeat("*a", 30) + "b"
	if matchSegment(pattern, strings.Repeat("a", 5000)) {
		t.Fatal("matched without a b")
	}
}

func TestCanonicalPath(t *testing.T) {
	for _, ok := range []string{"/", "/a", "/a/", "/function/env.openfaas-fn/x", "/a/.b", "/a/..b", "/a/b.."} {
		if !canonicalPath(ok) {
			t.Errorf("%q should be canonical", ok)
		}
	}
	for _, bad := range []string{"", "a", "//", "/a//b", "/.", "/..", "/a/./b", "/a/../b", "/a/..", "/a\\b", "/a\x00b", "/a\nb", "/a\x7fb"} {
		if canonicalPath(bad) {
			t.Errorf("%q should not be canonical", bad)
		}
	}
}

func TestFunctionFromPath(t *testing.T) {
	for _, tc := range []struct {
		path     string
		name, ns string
		ok       bool
	}{
		{"/function/env", "env", "", true},
		{"/function/env/", "env", "", true},
		{"/function/env.openfaas-fn", "env", "openfaas-fn", true},
		{"/function/env.dev/a/b", "env", "dev", true},
		{"/async-function/figlet", "figlet", "", true},
		{"/function/", "", "", false},
		{"/function/.dev", "", "", false},
		{"/function/env.", "", "", false},
		{"/function/a.b.c", "", "", false},
		{"/function/..", "", "", false},
		{"/function/a%2Fb", "", "", false},
		{"/system/functions", "", "", false},
		{"/functions/env", "", "", false},
	} {
		ref, ok := functionFromPath(tc.path)
		if ok != tc.ok || ref.Name != tc.name || ref.Namespace != tc.ns {
			t.Errorf("functionFromPath(%q) = %+v, %v", tc.path, ref, ok)
		}
	}
}

func FuzzPathPattern(f *testing.F) {
	for _, s := range []string{"/system/*", "/function/*.dev/*", "*", "/a*b*", "/healthz"} {
		f.Add(s, "/function/env.dev/x")
	}
	f.Fuzz(func(t *testing.T, pattern, path string) {
		p, err := compilePathPattern(pattern)
		if err != nil {
			return
		}
		got := p.match(path)
		if p.literal && got != (pattern == path) {
			t.Fatalf("literal %q vs %q: %v", pattern, path, got)
		}
		if p.all && !got {
			t.Fatal("* did not match")
		}
		if !strings.Contains(pattern, "*") {
			return
		}
		// A pattern matches itself with each star read as an empty string.
		if !p.match(strings.ReplaceAll(pattern, "*", "")) && !strings.Contains(pattern, "/*/") && !strings.HasSuffix(pattern, "/*") {
			t.Fatalf("%q does not match its own literal parts", pattern)
		}
	})
}

func FuzzCanonicalPath(f *testing.F) {
	for _, s := range []string{"/", "/a/../b", "//x", "/function/env"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, path string) {
		if !canonicalPath(path) {
			return
		}
		for _, seg := range strings.Split(path[1:], "/") {
			if seg == "." || seg == ".." {
				t.Fatalf("%q accepted with a dot segment", path)
			}
		}
		if strings.Contains(path, "//") || strings.ContainsAny(path, "\\\x00") {
			t.Fatalf("%q accepted", path)
		}
	})
}
