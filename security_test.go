package funcauth

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/funcauth/funcauth/internal/sign"
)

// Regression tests for the findings of a security review.

// A rotated gateway password must not come back when a new instance (a
// reload) shares the State, and with it the credential cache.
func TestRotatedGatewayPasswordStaysRotatedAcrossReloads(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "basic-auth-user"), []byte("admin"), 0o600)
	os.WriteFile(filepath.Join(dir, "basic-auth-password"), []byte("first"), 0o600)
	cfg := &Config{Rules: []Rule{{Path: "*", Require: "basic"}}, BasicAuth: &BasicAuth{GatewaySecretsDir: dir}}
	state := NewState(cfg)
	c := &clock{t: testNow}
	build := func() *Guard {
		g, err := New(cfg, Options{State: state, Now: c.now})
		if err != nil {
			t.Fatal(err)
		}
		return g
	}
	if d := checkBasic(build(), "admin", "first"); !d.Allowed {
		t.Fatalf("first password: %s", d.Reason)
	}
	os.WriteFile(filepath.Join(dir, "basic-auth-password"), []byte("second"), 0o600)
	c.advance(fileRecheckInterval)
	if d := checkBasic(build(), "admin", "first"); d.Allowed {
		t.Fatal("the rotated-out password is accepted by a reloaded instance")
	}
	if d := checkBasic(build(), "admin", "second"); !d.Allowed {
		t.Fatalf("second password: %s", d.Reason)
	}
}

// Junk candidates beside a captured Stripe signature must not make the
// replay look new.
func TestStripeReplayWithJunkCandidates(t *testing.T) {
	body := []byte(`{"id":"evt_1"}`)
	h, _ := sign.Headers("stripe", "whsec_x", sign.Options{}, sign.Message{Body: body, Timestamp: testNow})
	captured := h.Get("Stripe-Signature")
	ts, good, _ := strings.Cut(captured, ",")
	runSchemeCases(t, Signature{Scheme: "stripe", Keys: []string{"whsec_x"}}, []schemeCase{
		{name: "original", body: string(body), header: http.Header{"Stripe-Signature": {captured}}, at: testNow, want: ReasonSigned},
		{name: "junk first", body: string(body), header: http.Header{"Stripe-Signature": {ts + ",v1=" + strings.Repeat("ab", 32) + "," + good}}, at: testNow, want: ReasonReplayed},
		{name: "other junk first", body: string(body), header: http.Header{"Stripe-Signature": {ts + ",v1=" + strings.Repeat("cd", 32) + "," + good}}, at: testNow, want: ReasonReplayed},
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

func TestTimestampedSchemesNeedATolerance(t *testing.T) {
	for _, scheme := range []string{"slack", "stripe", "standard-webhooks", "svix", "discord", "http-message-signatures"} {
		key := "k"
		switch scheme {
		case "standard-webhooks", "svix":
			key = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
		case "discord":
			key = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"
		case "http-message-signatures":
			key = "hmac-sha256:k:" + strings.Repeat("A", 24)
		}
		_, err := New(&Config{Rules: []Rule{{Path: "*", Require: "signature"}}, Signatures: []Signature{{Scheme: scheme, Keys: []string{key}, Tolerance: "0s"}}}, Options{})
		if err == nil || !strings.Contains(err.Error(), "signatures[0].tolerance: must be positive") {
			t.Errorf("%s with tolerance 0s: %v", scheme, err)
		}
	}
}

func TestTwilioRefusesBodiesItDidNotSign(t *testing.T) {
	// A URL-only signature (a GET callback's) must not carry a body.
	h, _ := sign.Headers("twilio", "12345", sign.Options{}, sign.Message{URL: "https://fn.example.com/function/sms?From=%2B1"})
	h.Set("Content-Type", "application/json")
	runSchemeCases(t, Signature{Scheme: "twilio", Keys: []string{"12345"}, BaseURL: "https://fn.example.com", Tolerance: "0s"}, []schemeCase{
		{name: "JSON body under a URL-only signature", target: "/function/sms?From=%2B1", body: `{"admin":true}`, header: h, at: testNow, want: ReasonBadSignature},
		{name: "no body", target: "/function/sms?From=%2B1", header: h, at: testNow, want: ReasonSigned},
	})
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

// A message stamped ahead of the clock stays valid until its stamp plus
// the tolerance: it must be remembered that long.
func TestFutureStampedMessageCannotBeReplayedLater(t *testing.T) {
	at := testNow
	ts := at.Add(4 * time.Minute)
	h, _ := sign.Headers("slack", "k", sign.Options{}, sign.Message{Body: []byte("x"), Timestamp: ts})
	runSchemeCases(t, Signature{Scheme: "slack", Keys: []string{"k"}}, []schemeCase{
		{name: "stamped 4 minutes ahead", body: "x", header: h, at: at, want: ReasonSigned},
		{name: "replayed 5m01s later", body: "x", header: h, at: at.Add(5*time.Minute + time.Second), want: ReasonReplayed},
		{name: "replayed 8m59s later", body: "x", header: h, at: at.Add(8*time.Minute + 59*time.Second), want: ReasonReplayed},
	})
}

// Replays are refused but do not count towards a ban (a provider's honest
// retries look like them), and a message the upstream failed on is
// forgotten, so the retry gets through.
func TestRetriesAfterUpstreamFailure(t *testing.T) {
	g := newTestGuard(t, &Config{
		Rules:      []Rule{{Path: "*", Require: "signature"}},
		Signatures: []Signature{{Scheme: "faas-cli", Keys: []string{"k"}}},
		Bans:       &Bans{MaxFailures: 2},
	}, nil)
	status := http.StatusBadGateway
	up := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(status) })
	send := func() int {
		rec := httptest.NewRecorder()
		g.Handler(up, nil).ServeHTTP(rec, signedRequest("/function/env", "the same body", "k"))
		return rec.Code
	}
	if code := send(); code != http.StatusBadGateway {
		t.Fatalf("first delivery: %d", code)
	}
	status = http.StatusOK
	if code := send(); code != http.StatusOK {
		t.Fatalf("the retry after the upstream failed: %d", code)
	}
	for i := 0; i < 5; i++ {
		if code := send(); code != http.StatusUnauthorized {
			t.Fatalf("replay %d after success: %d", i, code)
		}
	}
	if d := g.Check(signedRequest("/function/env", "another body", "k"), "192.0.2.1"); !d.Allowed {
		t.Fatalf("five replays got the sender banned: %s", d.Reason)
	}
}

func TestReplayQueueDoesNotGrowWithReusedIDs(t *testing.T) {
	c := newReplayCache(100)
	now := testNow
	for i := 0; i < 200000; i++ {
		c.check(quota("v", 100), "same", time.Second, now)
		now = now.Add(2 * time.Second)
	}
	n := 0
	for _, q := range c.queues {
		n += len(q.entries) - q.head
	}
	if n > 2 || c.len() > 1 {
		t.Fatalf("%d queued, %d seen after re-adding one expired id 200,000 times", n, c.len())
	}
}

func TestIdentityHeadersWithUnderscoresAreRemoved(t *testing.T) {
	g := newTestGuard(t, &Config{Rules: []Rule{{Path: "*", Require: "open"}}}, nil)
	r := request("GET", "/", "", http.Header{"X_funcauth_user": {"admin"}, "X_Funcauth_Signature": {"x/y"}, "X_other": {"kept"}})
	_, _, up := serve(g, r)
	for k := range up.header {
		if strings.Contains(strings.ToLower(k), "funcauth") {
			t.Errorf("%s reached the upstream", k)
		}
	}
	if up.header.Get("X_other") != "kept" {
		t.Error("an unrelated underscore header was removed")
	}
}

func TestFunctionRateLimitKeyFillsTheDefaultNamespace(t *testing.T) {
	g := newTestGuard(t, &Config{
		Rules:      []Rule{{Path: "*", Require: "signature"}},
		Signatures: []Signature{{Scheme: "faas-cli", Keys: []string{"k"}, Tolerance: "0s"}},
		RateLimits: []RateLimit{{Key: "function", Rate: "2/1h"}},
	}, nil)
	for i, path := range []string{"/function/foo", "/function/foo.openfaas-fn", "/function/foo"} {
		d := g.Check(signedRequest(path, strconv.Itoa(i), "k"), "192.0.2.1")
		if want := i < 2; d.Allowed != want {
			t.Fatalf("%s #%d: %s", path, i, d.Reason)
		}
	}
}

func TestGitLabTokenIsNotPassedOn(t *testing.T) {
	g := newTestGuard(t, &Config{Rules: []Rule{{Path: "*", Require: "signature"}}, Signatures: []Signature{{Scheme: "gitlab", Keys: []string{"tok"}}}}, nil)
	_, d, up := serve(g, request("POST", "/function/x", "{}", http.Header{"X-Gitlab-Token": {"tok"}}))
	if !d.Allowed || up.header.Get("X-Gitlab-Token") != "" {
		t.Fatalf("allowed %v, token at the upstream %q", d.Allowed, up.header.Get("X-Gitlab-Token"))
	}
}
