package funcauth

import (
	"strings"
	"testing"

	"github.com/funcauth/funcauth/internal/sign"
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
		// A path naming functions covers every route to them (see
		// TestFunctionRulesCoverAliases): with a sub-path or none.
		{"/function/*.dev/*", []string{"/function/env.dev/", "/function/env.dev/x/y", "/function/.dev/", "/function/env.dev", "/async-function/env.dev"},
			[]string{"/function/env.prod/x", "/function/env", "/function/a/b.dev/x"}},
		{"/function/*.dev", []string{"/function/env.dev", "/function/.dev", "/function/env.dev/", "/function/env.dev/x"}, []string{"/function/env", "/function/a/x.dev"}},
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
	for _, bad := range []string{"", "system/*", "/a/**", "**",
		"/function/a.b.c", "/function/bill$ing", "/async-function/.dev", "/function/env./x", "/function/x/a**"} {
		if _, err := compilePathPattern(bad); err == nil {
			t.Errorf("compilePathPattern(%q) accepted", bad)
		}
	}
}

// TestFunctionRulesCoverAliases: a rule path that names a function applies
// to every path the OpenFaaS gateway routes to that function (issue 10,
// item 12): sync or async, with the default namespace written or not,
// with or without a sub-path.
func TestFunctionRulesCoverAliases(t *testing.T) {
	billing := []string{"/function/billing", "/function/billing/", "/function/billing/x/y",
		"/function/billing.openfaas-fn", "/function/billing.openfaas-fn/x",
		"/async-function/billing", "/async-function/billing.openfaas-fn/x"}
	others := []string{"/function/billing.dev", "/function/billing2", "/function/billingx/x",
		"/async-function/billing.dev/x", "/function/bill", "/functions/billing", "/system/billing"}
	for _, pattern := range []string{"/function/billing", "/function/billing/*", "/async-function/billing",
		"/function/billing.openfaas-fn", "/async-function/billing.openfaas-fn/*"} {
		p, err := compilePathPattern(pattern)
		if err != nil {
			t.Fatalf("%q: %v", pattern, err)
		}
		for _, path := range billing {
			if !p.match(path) {
				t.Errorf("%q should match %q", pattern, path)
			}
		}
		for _, path := range others {
			if p.match(path) {
				t.Errorf("%q should not match %q", pattern, path)
			}
		}
	}
	for _, tc := range []struct {
		pattern string
		match   []string
		noMatch []string
	}{
		// A namespace of its own is another function.
		{"/function/billing.dev", []string{"/function/billing.dev", "/async-function/billing.dev/x"},
			[]string{"/function/billing", "/function/billing.openfaas-fn"}},
		// A wildcard segment matches name.namespace, and the bare name in
		// the default namespace.
		{"/function/internal-*", []string{"/function/internal-x", "/function/internal-x.dev/y", "/async-function/internal-x.openfaas-fn"},
			[]string{"/function/x-internal", "/async-function/x"}},
		{"/function/*-admin/*", []string{"/function/x-admin", "/async-function/x-admin.openfaas-fn/y"},
			[]string{"/function/x-admin.dev", "/function/x"}},
		{"/function/*", []string{"/function/x", "/async-function/x.dev/y", "/function/"}, []string{"/system/x"}},
		// A sub-path past the function is matched as a path.
		{"/function/billing/admin/*", []string{"/function/billing/admin/x", "/async-function/billing.openfaas-fn/admin/x"},
			[]string{"/function/billing", "/function/billing/admin", "/function/billing/other"}},
		{"/function/billing/admin", []string{"/function/billing/admin", "/async-function/billing/admin"},
			[]string{"/function/billing/admin/x", "/function/billing"}},
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
	for _, bad := range []string{"", "a", "//", "///", "/a//", "/a/./", "/a/../", "/./", "/a//b", "/.", "/..", "/a/./b", "/a/../b", "/a/..", "/a\\b", "/a\x00b", "/a\nb", "/a\x7fb"} {
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
	f.Add("/function/0", "/function/0/") // a function's literal covers its sub-paths
	f.Fuzz(func(t *testing.T, pattern, path string) {
		p, err := compilePathPattern(pattern)
		if err != nil {
			return
		}
		got := p.match(path)
		// A literal matches just itself, unless it names a function: then
		// every route to that function too (its aliases and sub-paths).
		if p.literal && p.fn == nil && got != (pattern == path) {
			t.Fatalf("literal %q vs %q: %v", pattern, path, got)
		}
		if p.literal && !p.match(pattern) {
			t.Fatalf("literal %q does not match itself", pattern)
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

// A verifier a rule names is that rule's: its secret opens no other
// function through the preset's /function/*.
func TestNamedVerifiersBelongToTheirRules(t *testing.T) {
	g := newTestGuard(t, &Config{
		Preset:    "openfaas",
		BasicAuth: &BasicAuth{Users: []User{{Name: "admin", PasswordHash: testHash}}},
		Rules:     []Rule{{Path: "/function/github-events", Require: "signature", Signatures: []string{"github"}}},
		Signatures: []Signature{
			{Scheme: "github", Keys: []string{"github secret"}},
			{Scheme: "faas-cli", Keys: []string{"cookie"}},
		},
	}, nil)
	body := "{}"
	h, _ := sign.Headers("github", "github secret", sign.Options{}, sign.Message{Body: []byte(body)})
	if d := g.Check(request("POST", "/function/github-events", body, h), "192.0.2.1"); !d.Allowed {
		t.Fatalf("its own function: %s", d.Reason)
	}
	h, _ = sign.Headers("github", "github secret", sign.Options{}, sign.Message{Body: []byte(body + " ")})
	if d := g.Check(request("POST", "/function/payroll", body+" ", h), "192.0.2.1"); d.Allowed || d.Reason != ReasonMissingSignature {
		t.Fatalf("the GitHub secret opened another function: %s", d.Reason)
	}
	if d := g.Check(signedRequest("/function/payroll", "x", "cookie"), "192.0.2.1"); !d.Allowed {
		t.Fatalf("faas-cli elsewhere: %s", d.Reason)
	}
	_, err := New(&Config{
		Rules:      []Rule{{Path: "/a", Require: "signature", Signatures: []string{"github"}}, {Path: "*", Require: "signature"}},
		Signatures: []Signature{{Scheme: "github", Keys: []string{"k"}}},
	}, Options{})
	if err == nil || !strings.Contains(err.Error(), "rules[1].signatures: is empty, and every verifier is named by another rule") {
		t.Fatalf("a catch-all rule left with no verifier: %v", err)
	}
}

func TestMethodsMatchCaseInsensitivelyAndGETCoversHEAD(t *testing.T) {
	g := newTestGuard(t, &Config{
		Rules: []Rule{
			{Path: "/admin/*", Methods: []string{"GET", "POST"}, Require: "deny"},
			{Path: "*", Require: "open"},
		},
	}, nil)
	for _, m := range []string{"GET", "HEAD", "get", "Post"} {
		if d := g.Check(request(m, "/admin/export", "", nil), "192.0.2.1"); d.Reason != ReasonDenied {
			t.Errorf("%s: %s", m, d.Reason)
		}
	}
	if d := g.Check(request("DELETE", "/admin/export", "", nil), "192.0.2.1"); d.Reason != ReasonOpen {
		t.Errorf("DELETE: %s", d.Reason)
	}
}

// functionFromPath extracts the function a path addresses. ok is false when
// the path is not a function route or the name is not a valid function name.
func functionFromPath(path string) (functionRef, bool) {
	ref, _, ok := functionRoute(path)
	return ref, ok
}
