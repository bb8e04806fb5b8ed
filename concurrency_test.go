package funcauth

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Regression tests for issue 10: every promise of bans and user lockout
// holds under concurrency.

// gateComparer is a host hash format ("$test$<password>") whose checks
// wait at a gate until the test opens it, so that a test can hold checks
// in flight.
type gateComparer struct {
	calls atomic.Int64
	gate  chan struct{}
}

func newGateComparer() *gateComparer { return &gateComparer{gate: make(chan struct{})} }

func (c *gateComparer) Compare(hashed, plaintext []byte) (bool, error) {
	c.calls.Add(1)
	<-c.gate
	return bytes.Equal(hashed, append([]byte("$test$"), plaintext...)), nil
}

// waitFor yields until cond holds (the test's deadline bounds it).
func waitFor(cond func() bool) {
	for !cond() {
		runtime.Gosched()
		time.Sleep(time.Millisecond)
	}
}

func concurrencyGuard(t *testing.T, c *clock, cmp HashComparer, bans *Bans) *Guard {
	t.Helper()
	g, err := New(&Config{
		Rules:      []Rule{{Path: "/function/*", Require: "signature"}, {Path: "*", Require: "basic"}},
		BasicAuth:  &BasicAuth{Users: []User{{Name: "admin", PasswordHash: "$test$pw"}, {Name: "ops", PasswordHash: "$test$ops"}}},
		Signatures: []Signature{{Scheme: "faas-cli", Keys: []string{"k"}, Tolerance: "0s"}},
		Bans:       bans,
	}, Options{Now: c.now, HashComparers: map[string]HashComparer{"$test$": cmp}})
	if err != nil {
		t.Fatal(err)
	}
	// A slot per guess: these tests are about the ban budgets, not the
	// process-wide bound (TestPasswordChecksAreBoundedProcessWide).
	g.hashSlots = &checkSlots{max: 1000}
	return g
}

// 64 different wrong passwords at once from one address: exactly
// max_failures are hashed and answered 401, the ban starts, and every
// other guess gets 429 with Retry-After before any hash.
func TestConcurrentGuessesSpendOnlyTheBanBudget(t *testing.T) {
	c := &clock{t: testNow}
	cmp := &countingComparer{delay: 5 * time.Millisecond}
	g := concurrencyGuard(t, c, cmp, &Bans{MaxFailures: 10})
	var wg sync.WaitGroup
	decisions := make([]*Decision, 64)
	for i := range decisions {
		i := i
		wg.Add(1)
		go func() {
			defer wg.Done()
			decisions[i] = login(g, "198.51.100.30", "admin", fmt.Sprintf("guess %d", i))
		}()
	}
	wg.Wait()
	counts := map[int]int{}
	bans := 0
	for _, d := range decisions {
		counts[d.Status]++
		if d.BannedClient != "" {
			bans++
		}
		if d.Status == http.StatusTooManyRequests && d.RetryAfter <= 0 {
			t.Errorf("a 429 (%s) without Retry-After", d.Reason)
		}
	}
	if n := cmp.calls.Load(); n != 10 {
		t.Errorf("%d hashes for 64 concurrent guesses, want max_failures = 10", n)
	}
	if counts[http.StatusUnauthorized] != 10 || counts[http.StatusTooManyRequests] != 54 || bans != 1 {
		t.Errorf("statuses %v, %d bans started; want 10 × 401, 54 × 429, one ban", counts, bans)
	}
	if d := login(g, "198.51.100.30", "admin", "pw"); d.Reason != ReasonBanned {
		t.Errorf("the right password after the guesses: %s", d.Reason)
	}
}

// A right password sent while the budget is held by guesses in flight is
// refused before its hash; once they have failed the client is banned.
func TestRightPasswordAmongConcurrentGuesses(t *testing.T) {
	c := &clock{t: testNow}
	cmp := newGateComparer()
	g := concurrencyGuard(t, c, cmp, &Bans{MaxFailures: 10})
	var wg sync.WaitGroup
	var refused atomic.Int64
	decisions := make([]*Decision, 199)
	for i := range decisions {
		i := i
		wg.Add(1)
		go func() {
			defer wg.Done()
			d := login(g, "198.51.100.31", "admin", fmt.Sprintf("guess %d", i))
			decisions[i] = d
			if d.Status == http.StatusTooManyRequests {
				refused.Add(1)
			}
		}()
	}
	// Ten guesses hashing, the other 189 refused: the budget is held.
	waitFor(func() bool { return cmp.calls.Load() == 10 && refused.Load() == 189 })
	d := login(g, "198.51.100.31", "admin", "pw")
	if d.Allowed || d.Reason != ReasonRateLimited || d.RetryAfter != time.Second {
		t.Errorf("the right password while ten guesses are in flight: %s, Retry-After %v", d.Reason, d.RetryAfter)
	}
	close(cmp.gate)
	wg.Wait()
	if n := cmp.calls.Load(); n != 10 {
		t.Errorf("%d hashes, want 10", n)
	}
	if d := login(g, "198.51.100.31", "admin", "pw"); d.Reason != ReasonBanned {
		t.Errorf("the right password after ten failures: %s", d.Reason)
	}
	// The user's budget counts checks in flight too.
	cmp2 := newGateComparer()
	g2 := concurrencyGuard(t, c, cmp2, &Bans{MaxFailures: 100, UserMaxFailures: 3})
	var wg2 sync.WaitGroup
	for i := 0; i < 3; i++ {
		i := i
		wg2.Add(1)
		go func() {
			defer wg2.Done()
			login(g2, fmt.Sprintf("203.0.113.%d", i+1), "admin", fmt.Sprintf("guess %d", i))
		}()
	}
	waitFor(func() bool { return cmp2.calls.Load() == 3 })
	if d := login(g2, "203.0.113.9", "admin", "pw"); d.Reason != ReasonRateLimited || d.RetryAfter != time.Second {
		t.Errorf("admin while three guesses for admin are in flight: %s %v", d.Reason, d.RetryAfter)
	}
	close(cmp2.gate)
	wg2.Wait()
	if d := login(g2, "203.0.113.9", "admin", "pw"); d.Reason != ReasonBanned {
		t.Errorf("admin after three failures: %s", d.Reason)
	}
}

// Uncached password checks are bounded process-wide: past the bound a
// check is refused at once with 429 and Retry-After: 1, without counting
// a failure, while remembered successes need no slot.
func TestPasswordChecksAreBoundedProcessWide(t *testing.T) {
	c := &clock{t: testNow}
	cmp := newGateComparer()
	g := concurrencyGuard(t, c, cmp, &Bans{MaxFailures: 10})
	close(cmp.gate)
	if d := login(g, "198.51.100.40", "ops", "ops"); !d.Allowed {
		t.Fatalf("ops: %s", d.Reason)
	}
	cmp.gate = make(chan struct{})
	g.hashSlots = &checkSlots{max: 2}
	if defaultPasswordCheckSlots() < 1 || defaultPasswordCheckSlots() > runtime.GOMAXPROCS(0) {
		t.Errorf("default slots %d for %d processors", defaultPasswordCheckSlots(), runtime.GOMAXPROCS(0))
	}
	var wg sync.WaitGroup
	for i := 0; i < 2; i++ {
		i := i
		wg.Add(1)
		go func() {
			defer wg.Done()
			login(g, fmt.Sprintf("198.51.100.%d", 41+i), "admin", fmt.Sprintf("guess %d", i))
		}()
	}
	waitFor(func() bool { return cmp.calls.Load() == 3 }) // ops's and two guesses
	d := login(g, "198.51.100.43", "admin", "pw")
	if d.Status != http.StatusTooManyRequests || d.Reason != ReasonRateLimited || d.RetryAfter != time.Second {
		t.Errorf("a third check while two run: %d %s Retry-After %v", d.Status, d.Reason, d.RetryAfter)
	}
	if d := login(g, "198.51.100.43", "ops", "ops"); !d.Allowed {
		t.Errorf("a remembered success while the slots are taken: %s", d.Reason)
	}
	close(cmp.gate)
	wg.Wait()
	if cmp.calls.Load() != 3 {
		t.Errorf("%d hashes, want 3 (ops once, two guesses)", cmp.calls.Load())
	}
	g.state.abuse.clients.mu.Lock()
	e := g.state.abuse.clients.entries["198.51.100.43"]
	g.state.abuse.clients.mu.Unlock()
	if e == nil || e.failures != 0 || e.inflight != 0 {
		t.Errorf("the refused check left %+v in the ban table", e)
	}
	if d := login(g, "198.51.100.43", "admin", "pw"); !d.Allowed {
		t.Errorf("once the slots are free: %s", d.Reason)
	}
}

// User lockout spares allow-listed clients and clients that recently
// logged in as that user, and neither counts towards it.
func TestUserLockoutSparesAllowListAndRecentLogins(t *testing.T) {
	c := &clock{t: testNow}
	g := concurrencyGuard(t, c, &countingComparer{}, &Bans{MaxFailures: 100, UserMaxFailures: 3, Duration: "1h", AllowList: []string{"10.0.0.0/8"}})
	if d := login(g, "198.51.100.1", "admin", "pw"); !d.Allowed {
		t.Fatalf("admin's own login: %s", d.Reason)
	}
	for i := 0; i < 5; i++ {
		login(g, "10.1.2.3", "admin", "allow-listed typo")
	}
	if d := login(g, "203.0.113.77", "admin", "pw"); !d.Allowed {
		t.Fatalf("an allow-listed client's failures locked admin out: %s", d.Reason)
	}
	for i := 0; i < 3; i++ {
		login(g, fmt.Sprintf("203.0.113.%d", i+1), "admin", "guess")
	}
	if d := login(g, "203.0.113.50", "admin", "pw"); d.Reason != ReasonBanned {
		t.Fatalf("after three guesses, from a new address: %s", d.Reason)
	}
	if d := login(g, "198.51.100.1", "admin", "pw"); !d.Allowed {
		t.Errorf("the address admin logged in from: %s", d.Reason)
	}
	if d := login(g, "10.1.2.3", "admin", "pw"); !d.Allowed {
		t.Errorf("an allow-listed address: %s", d.Reason)
	}
	if d := login(g, "198.51.100.1", "admin", "wrong"); d.Reason != ReasonBadCredentials {
		t.Errorf("a typo from the exempt address: %s", d.Reason)
	}
	// The exemption lasts recentLoginMemory after the last success.
	c.advance(recentLoginMemory)
	for i := 0; i < 3; i++ {
		login(g, fmt.Sprintf("203.0.113.%d", i+10), "admin", "guess")
	}
	if d := login(g, "198.51.100.1", "admin", "pw"); d.Reason != ReasonBanned {
		t.Errorf("a day after the last login: %s", d.Reason)
	}
	// Bounded: only successes add entries, and at most max of them.
	logins := newLoginTable(100)
	for i := 0; i < 1000; i++ {
		rememberLogin(logins, fmt.Sprintf("192.0.2.%d", i%250), fmt.Sprintf("user%d", i), testNow.Add(time.Duration(i)*time.Second))
	}
	if n := logins.len(); n > 100 {
		t.Errorf("%d logins remembered, bound 100", n)
	}
}

// keylessGuard has a key for the function env only, one key file per
// function.
func keylessGuard(t *testing.T, c *clock, bans *Bans) *Guard {
	t.Helper()
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "env"), []byte("env-key"), 0o600)
	g, err := New(&Config{
		Rules:      []Rule{{Path: "/function/*", Require: "signature"}},
		Signatures: []Signature{{Scheme: "faas-cli", FunctionKeyFile: filepath.Join(dir, "{function}"), Tolerance: "0s"}},
		Bans:       bans,
	}, Options{Now: c.now})
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// A signature for a function without a key counts towards a ban, and its
// warning is logged once a minute per verifier and function.
func TestKeyUnavailableCountsAndWarnsOncePerMinute(t *testing.T) {
	c := &clock{t: testNow}
	g := keylessGuard(t, c, &Bans{MaxFailures: 3})
	var warned []bool
	for i := 0; i < 3; i++ {
		d := g.Check(signedRequest("/function/nokey", "x", "k"), "198.51.100.90")
		if d.Reason != ReasonKeyUnavailable {
			t.Fatalf("request %d: %s", i, d.Reason)
		}
		warned = append(warned, d.Warn())
		if i == 2 && d.BannedClient != "198.51.100.90" {
			t.Errorf("three signatures for a function without a key started no ban")
		}
	}
	// The third warns for the ban it started.
	if !warned[0] || warned[1] || !warned[2] {
		t.Errorf("warnings %v, want the first, not the second within the minute, and the ban", warned)
	}
	if d := g.Check(signedRequest("/function/nokey", "x", "k"), "198.51.100.91"); d.Warn() {
		t.Errorf("another client, same function, same minute: warned")
	}
	if d := g.Check(signedRequest("/function/other", "x", "k"), "198.51.100.91"); !d.Warn() {
		t.Errorf("another function: not warned")
	}
	c.advance(warnInterval)
	if d := g.Check(signedRequest("/function/nokey", "x", "k"), "198.51.100.92"); !d.Warn() {
		t.Errorf("a minute later: not warned")
	}
	// Bounded: invented function names fill the table, then stop warning.
	for i := 0; i < 3*maxWarnKeys; i++ {
		g.Check(signedRequest(fmt.Sprintf("/function/f%d", i), "x", "k"), fmt.Sprintf("10.%d.%d.1", i>>8, i&0xff))
	}
	if n := len(g.state.abuse.warnings.last); n > maxWarnKeys {
		t.Errorf("%d warnings remembered, bound %d", n, maxWarnKeys)
	}
}

// unsentBody is a body declared but never sent: the client stops.
type unsentBody struct{ reads *atomic.Int64 }

func (b unsentBody) Read([]byte) (int, error) { b.reads.Add(1); return 0, io.ErrUnexpectedEOF }
func (b unsentBody) Close() error             { return nil }

// A function without a key is refused at the same point as one whose key
// does not match, after the same body read, with the same status, and
// both count towards a ban: which functions have keys cannot be learned.
func TestKeylessFunctionsAreRefusedLikeKeyedOnes(t *testing.T) {
	c := &clock{t: testNow}
	g := keylessGuard(t, c, &Bans{MaxFailures: 100})
	send := func(path string, body io.ReadCloser, header string) (*Decision, int64) {
		var reads atomic.Int64
		r := signedRequest(path, "payload", "wrong key")
		if header != "" {
			r.Header.Set("Hmac", header)
		}
		switch b := body.(type) {
		case nil:
			r.Body = bodyCounter{r: strings.NewReader("payload"), reads: &reads}
		case unsentBody:
			b.reads = &reads
			r.Body = b
			r.ContentLength = 1000
		}
		return g.Check(r, "198.51.100.95"), reads.Load()
	}
	for _, tc := range []struct {
		name   string
		body   io.ReadCloser
		header string
		keyed  Reason
		status int
		read   bool
	}{
		{"a wrong signature", nil, "", ReasonBadSignature, http.StatusUnauthorized, true},
		{"a body declared but not sent", unsentBody{}, "", ReasonBodyUnreadable, http.StatusBadRequest, true},
		{"a malformed signature", nil, "sha256=zz", ReasonBadSignature, http.StatusUnauthorized, false},
	} {
		keyed, keyedReads := send("/function/env", tc.body, tc.header)
		keyless, keylessReads := send("/function/nokey", tc.body, tc.header)
		if keyed.Reason != tc.keyed || keyed.Status != tc.status || keyless.Status != tc.status || keyed.Challenge != keyless.Challenge {
			t.Errorf("%s: keyed %s %d %q, keyless %s %d %q", tc.name, keyed.Reason, keyed.Status, keyed.Challenge, keyless.Reason, keyless.Status, keyless.Challenge)
		}
		if (keyedReads > 0) != tc.read || (keylessReads > 0) != tc.read {
			t.Errorf("%s: body read %d times (keyed), %d times (keyless), want read: %v", tc.name, keyedReads, keylessReads, tc.read)
		}
	}
	// The four refusals of a sent body counted, keyed or keyless: with
	// max_failures 4 the last bans. A body never sent counts for neither
	// (body_unreadable is never a ban: a retry in front of funcauth or a
	// client that went away looks the same).
	g = keylessGuard(t, c, &Bans{MaxFailures: 4})
	var last *Decision
	for _, path := range []string{"/function/env", "/function/nokey"} {
		for _, body := range []io.ReadCloser{nil, unsentBody{}} {
			last, _ = send(path, body, "")
		}
		last, _ = send(path, nil, "sha256=zz")
	}
	if last.BannedClient != "198.51.100.95" {
		t.Errorf("four refusals of keyed and keyless functions did not ban: %s", last.Reason)
	}
}
