package funcauth

import (
	"bytes"
	"encoding/base64"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// countingComparer is a host hash format ("$test$<password>") that counts
// its comparisons and can be slowed down.
type countingComparer struct {
	calls atomic.Int64
	delay time.Duration
	seen  sync.Map // hashes compared against
}

func (c *countingComparer) Compare(hashed, plaintext []byte) (bool, error) {
	c.calls.Add(1)
	c.seen.Store(string(hashed), true)
	time.Sleep(c.delay)
	return bytes.Equal(hashed, append([]byte("$test$"), plaintext...)), nil
}

func basicGuard(t *testing.T, cmp *countingComparer, users []User, mutate func(*Config)) *Guard {
	t.Helper()
	cfg := &Config{
		Rules:     []Rule{{Path: "*", Require: "basic"}},
		BasicAuth: &BasicAuth{Users: users},
	}
	if mutate != nil {
		mutate(cfg)
	}
	g, err := New(cfg, Options{HashComparers: map[string]HashComparer{"$test$": cmp}})
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func basicAs(g *Guard, user, password string) *Decision {
	r := request("GET", "/x", "", nil)
	r.SetBasicAuth(user, password)
	return g.Check(r, "192.0.2.1")
}

func TestUnknownUserCostsAHashOfAKnownUser(t *testing.T) {
	cmp := &countingComparer{}
	g := basicGuard(t, cmp, []User{{Name: "admin", PasswordHash: "$test$a"}, {Name: "ops", PasswordHash: "$test$b"}}, nil)
	if d := basicAs(g, "admin", "wrong"); d.Reason != ReasonBadCredentials || cmp.calls.Load() != 1 {
		t.Fatalf("known user: %s after %d comparisons", d.Reason, cmp.calls.Load())
	}
	for i, name := range []string{"root", "nobody", "x", strings.Repeat("u", 256)} {
		d := basicAs(g, name, "a")
		if d.Reason != ReasonBadCredentials {
			t.Fatalf("unknown user %q: %s", name, d.Reason)
		}
		if got := cmp.calls.Load(); got != int64(i+2) {
			t.Fatalf("unknown user %q made %d comparisons in all, want %d: it must cost one hash like a known user", name, got, i+2)
		}
	}
	// The decoy's password ("a" is admin's) never lets an unknown user in.
	if d := basicAs(g, "root", "a"); d.Allowed {
		t.Fatal("an unknown user was let in with a known user's password")
	}
	cmp.seen.Range(func(k, _ interface{}) bool {
		if k != "$test$a" && k != "$test$b" {
			t.Errorf("compared against %q, not a configured hash", k)
		}
		return true
	})
}

func TestSuccessfulChecksAreCachedWithoutPasswords(t *testing.T) {
	cmp := &countingComparer{}
	g := basicGuard(t, cmp, []User{{Name: "admin", PasswordHash: "$test$hunter2"}}, func(c *Config) { c.BasicAuth.CacheSize = 2 })
	for i := 0; i < 3; i++ {
		if d := basicAs(g, "admin", "hunter2"); !d.Allowed {
			t.Fatalf("check %d: %s", i, d.Reason)
		}
	}
	if cmp.calls.Load() != 1 {
		t.Fatalf("%d comparisons for three identical successful checks, want 1", cmp.calls.Load())
	}
	basicAs(g, "admin", "wrong")
	basicAs(g, "admin", "wrong")
	if cmp.calls.Load() != 3 {
		t.Fatalf("failures must not be cached: %d comparisons", cmp.calls.Load())
	}
	cache := g.state.credentials
	cache.mu.Lock()
	for k, v := range cache.entries {
		if strings.Contains(k, "hunter2") || strings.Contains(v.user+v.stored, "hunter2") && v.stored != "$test$hunter2" {
			t.Errorf("the cache holds the password")
		}
		if len(k) != 32 {
			t.Errorf("cache key of %d bytes, want a 32-byte SHA-256", len(k))
		}
	}
	cache.mu.Unlock()
	// Bounded: three more users' successes leave at most two entries.
	g2 := basicGuard(t, cmp, []User{{Name: "a", PasswordHash: "$test$1"}, {Name: "b", PasswordHash: "$test$2"}, {Name: "c", PasswordHash: "$test$3"}},
		func(c *Config) { c.BasicAuth.CacheSize = 2 })
	basicAs(g2, "a", "1")
	basicAs(g2, "b", "2")
	basicAs(g2, "c", "3")
	if n := g2.state.credentials.len(); n != 2 {
		t.Fatalf("cache holds %d entries, bound is 2", n)
	}
}

// A success is remembered under its canonical Authorization header, which
// a request that sends it again finds before decoding it; every other
// spelling of the same credentials (the scheme's case, spaces, a header
// too long to look up as it came) is parsed and finds it too, so the
// credentials cost one comparison however they are spelled. A remembered
// user who got locked out since is refused like any other.
func TestRememberedLoginsByHeader(t *testing.T) {
	c := &clock{t: testNow}
	cmp := &countingComparer{}
	g := abuseGuard(t, c, cmp, &Bans{MaxFailures: 100, UserMaxFailures: 3, Duration: "5m"}, nil, nil)
	send := func(client, header string) *Decision {
		r := request("GET", "/system/functions", "", nil)
		r.Header.Set("Authorization", header)
		r.RemoteAddr = client + ":5000"
		return g.Check(r, g.ClientAddress(r))
	}
	encoded := base64.StdEncoding.EncodeToString([]byte("admin:pw"))
	padded := "Basic " + strings.Repeat(" ", maxRememberedHeader) + encoded
	for _, tc := range []struct {
		header      string
		comparisons int64 // in three checks
	}{
		{"basic " + encoded, 1},
		{"Basic " + encoded, 0},
		{"Basic  " + encoded, 0},
		{padded, 0},
	} {
		before := cmp.calls.Load()
		for i := 0; i < 3; i++ {
			if d := send("198.51.100.7", tc.header); !d.Allowed || d.User != "admin" {
				t.Fatalf("%.12q, check %d: %s, user %q", tc.header, i, d.Reason, d.User)
			}
		}
		if got := cmp.calls.Load() - before; got != tc.comparisons {
			t.Errorf("%.12q: %d comparisons in three checks, want %d", tc.header, got, tc.comparisons)
		}
	}
	if n := g.state.credentials.len(); n != 1 {
		t.Errorf("%d remembered successes of one user's credentials, want 1", n)
	}
	// Three failures from elsewhere lock admin out: the remembered header
	// is refused from a new address, and still allowed from the address
	// that logged in (see checkUserLockout).
	for i := 0; i < 3; i++ {
		login(g, "203.0.113."+strconv.Itoa(i+1), "admin", "guess")
	}
	if d := send("203.0.113.50", "Basic "+encoded); d.Reason != ReasonBanned {
		t.Errorf("a remembered header of a locked-out user, from a new address: %s", d.Reason)
	}
	if d := send("198.51.100.7", "Basic "+encoded); !d.Allowed {
		t.Errorf("a remembered header of a locked-out user, from its own address: %s", d.Reason)
	}
}

func TestIdenticalConcurrentChecksRunOnce(t *testing.T) {
	cmp := &countingComparer{delay: 100 * time.Millisecond}
	// Every check in flight counts against the client's failure budget
	// (bans.max_failures): 16 at once need a budget of 16.
	g := basicGuard(t, cmp, []User{{Name: "admin", PasswordHash: "$test$hunter2"}}, func(c *Config) { c.Bans = &Bans{MaxFailures: 16} })
	var wg sync.WaitGroup
	var allowed atomic.Int64
	for i := 0; i < 16; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if basicAs(g, "admin", "hunter2").Allowed {
				allowed.Add(1)
			}
		}()
	}
	wg.Wait()
	if allowed.Load() != 16 {
		t.Fatalf("%d of 16 allowed", allowed.Load())
	}
	if n := cmp.calls.Load(); n != 1 {
		t.Fatalf("%d comparisons for 16 identical concurrent checks, want 1", n)
	}
}

func TestGatewaySecretFiles(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("basic-auth-user", "admin\n")
	write("basic-auth-password", "  s3cret\n")
	c := &clock{t: testNow}
	g := newTestGuard(t, &Config{Preset: "openfaas", BasicAuth: &BasicAuth{GatewaySecretsDir: dir},
		Signatures: []Signature{{Scheme: "faas-cli", Keys: []string{"k"}}}}, c)
	login := func(password string) Reason {
		r := request("GET", "/system/functions", "", nil)
		r.SetBasicAuth("admin", password)
		return g.Check(r, "192.0.2.1").Reason
	}
	if got := login("s3cret"); got != ReasonAuthenticated {
		t.Fatalf("trimmed password: %s", got)
	}
	if got := login(" s3cret"); got != ReasonBadCredentials {
		t.Fatalf("untrimmed password: %s", got)
	}
	write("basic-auth-password", "n3w")
	c.advance(fileRecheckInterval + time.Millisecond)
	if got := login("n3w"); got != ReasonAuthenticated {
		t.Fatalf("rotated password: %s", got)
	}
	if got := login("s3cret"); got != ReasonBadCredentials {
		t.Fatalf("old password after rotation: %s (the cache must not keep it)", got)
	}
	os.Remove(filepath.Join(dir, "basic-auth-password"))
	c.advance(fileRecheckInterval + time.Millisecond)
	r := request("GET", "/system/functions", "", nil)
	r.SetBasicAuth("admin", "n3w")
	d := g.Check(r, "192.0.2.1")
	if d.Reason != ReasonBadCredentials || !strings.Contains(d.Detail, "basic-auth-password does not exist") {
		t.Fatalf("vanished password file: %s %q (must fail closed and say why)", d.Reason, d.Detail)
	}
}

func TestHtpasswdFileReload(t *testing.T) {
	path := filepath.Join(t.TempDir(), "htpasswd")
	os.WriteFile(path, []byte("admin:$test$one\n"), 0o600)
	cmp := &countingComparer{}
	c := &clock{t: testNow}
	g, err := New(&Config{Rules: []Rule{{Path: "*", Require: "basic"}}, BasicAuth: &BasicAuth{HtpasswdFile: path}},
		Options{Now: c.now, HashComparers: map[string]HashComparer{"$test$": cmp}})
	if err != nil {
		t.Fatal(err)
	}
	if !basicAs(g, "admin", "one").Allowed {
		t.Fatal("htpasswd user refused")
	}
	os.WriteFile(path, []byte("admin:$test$two\nops:$test$three\n"), 0o600)
	c.advance(fileRecheckInterval)
	if basicAs(g, "admin", "one").Allowed || !basicAs(g, "ops", "three").Allowed {
		t.Fatal("the changed htpasswd file was not picked up")
	}
	os.WriteFile(path, []byte("admin:plaintext\n"), 0o600)
	c.advance(fileRecheckInterval)
	if d := basicAs(g, "ops", "three"); d.Allowed || !strings.Contains(d.Detail, "line 1") {
		t.Fatalf("a broken htpasswd file must fail closed: %s %q", d.Reason, d.Detail)
	}
}

func TestStripAuthorization(t *testing.T) {
	cmp := &countingComparer{}
	for _, strip := range []bool{false, true} {
		g := basicGuard(t, cmp, []User{{Name: "admin", PasswordHash: "$test$pw"}}, func(c *Config) { c.Upstream = &Upstream{StripAuthorization: strip} })
		r := request("GET", "/x", "", nil)
		r.SetBasicAuth("admin", "pw")
		_, d, up := serve(g, r)
		if !d.Allowed || (up.header.Get("Authorization") == "") != strip {
			t.Errorf("strip=%v: allowed=%v, Authorization=%q", strip, d.Allowed, up.header.Get("Authorization"))
		}
	}
}

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
	if d := basicAs(build(), "admin", "first"); !d.Allowed {
		t.Fatalf("first password: %s", d.Reason)
	}
	os.WriteFile(filepath.Join(dir, "basic-auth-password"), []byte("second"), 0o600)
	c.advance(fileRecheckInterval)
	if d := basicAs(build(), "admin", "first"); d.Allowed {
		t.Fatal("the rotated-out password is accepted by a reloaded instance")
	}
	if d := basicAs(build(), "admin", "second"); !d.Allowed {
		t.Fatalf("second password: %s", d.Reason)
	}
}
