package funcauth

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestParseStoreAddress(t *testing.T) {
	for _, c := range []struct {
		in                 string
		addr, user, pass   string
		db                 int
		tls                bool
		wrong              string // part of the error; "" for none
		mustNotQuoteSecret string
	}{
		{in: "redis.internal:6380", addr: "redis.internal:6380"},
		{in: "redis.internal", addr: "redis.internal:6379"},
		{in: "[::1]:7000", addr: "[::1]:7000"},
		{in: "redis://127.0.0.1", addr: "127.0.0.1:6379"},
		{in: "redis://u:p%40ss@h:1/3", addr: "h:1", user: "u", pass: "p@ss", db: 3},
		{in: "redis://:only-password@h", addr: "h:6379", pass: "only-password"},
		{in: "redis://bare-password@h", addr: "h:6379", pass: "bare-password"},
		{in: "rediss://h:6390", addr: "h:6390", tls: true},
		{in: "http://h", wrong: "redis:// or rediss://"},
		{in: "redis://user:hunter2@h/x", wrong: "database number", mustNotQuoteSecret: "hunter2"},
		{in: "redis://h/0?password=hunter2", wrong: "query", mustNotQuoteSecret: "hunter2"},
		{in: "redis:///0", wrong: "no host"},
		{in: ":hunter2@redis.internal:6379", wrong: "redis://user:password@host", mustNotQuoteSecret: "hunter2"},
		{in: "user:hunter2@redis.internal", wrong: "store.username", mustNotQuoteSecret: "hunter2"},
		{in: "redis.internal:6379/0", wrong: "neither host[:port] nor"},
	} {
		a, err := parseStoreAddress(c.in)
		if c.wrong != "" {
			if err == nil || !strings.Contains(err.Error(), c.wrong) {
				t.Errorf("%s: error %v, want one saying %q", c.in, err, c.wrong)
			}
			if err != nil && c.mustNotQuoteSecret != "" && strings.Contains(err.Error(), c.mustNotQuoteSecret) {
				t.Errorf("%s: error quotes the password: %v", c.in, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", c.in, err)
			continue
		}
		if a.addr != c.addr || a.username != c.user || a.password != c.pass || a.db != c.db || a.tls != c.tls {
			t.Errorf("%s: got %+v", c.in, a)
		}
	}
}

func TestCompileStoreFailsClosed(t *testing.T) {
	env := func(name string) (string, bool) {
		if name == "SET" {
			return "from-env", true
		}
		if name == "BLANK" {
			return "  ", true
		}
		return "", false
	}
	dir := t.TempDir()
	for _, c := range []struct {
		cfg   Store
		field string
	}{
		{Store{}, "store.address"},
		{Store{Address: "redis://:a@h", Password: "b"}, "store.password"},
		{Store{Address: "h", PasswordEnv: "UNSET"}, "store.password_env"},
		{Store{Address: "h", PasswordEnv: "BLANK"}, "store.password_env"},
		{Store{Address: "h", PasswordFile: filepath.Join(dir, "missing")}, "store.password_file"},
		{Store{Address: "h", Username: "u"}, "store.username"},
		{Store{Address: "h", Timeout: "soon"}, "store.timeout"},
		{Store{Address: "h", PoolSize: -1}, "store.pool_size"},
		{Store{Address: "h", ReplayOnError: "allow"}, "store.replay_on_error"},
		{Store{Address: "h", BansOnError: "ignore"}, "store.bans_on_error"},
		{Store{Address: "h", TLS: &StoreTLS{CAFile: filepath.Join(dir, "none.pem")}}, "store.tls.ca_file"},
		{Store{Address: "h", TLS: &StoreTLS{CertFile: "c.pem"}}, "store.tls.cert_file"},
		{Store{Address: "h", Sentinel: &StoreSentinel{Master: "m", Addresses: []string{"s"}}}, "store.address"},
		{Store{Sentinel: &StoreSentinel{Addresses: []string{"s"}}}, "store.sentinel.master"},
		{Store{Sentinel: &StoreSentinel{Master: "m"}}, "store.sentinel.addresses"},
		{Store{Sentinel: &StoreSentinel{Master: "m", Addresses: []string{"redis://s"}}}, "store.sentinel.addresses[0]"},
		{Store{Sentinel: &StoreSentinel{Master: "m", Addresses: []string{"s", ":26379"}}}, "store.sentinel.addresses[1]"},
		{Store{Sentinel: &StoreSentinel{Master: "m", Addresses: []string{"s:99999"}}}, "store.sentinel.addresses[0]"},
		{Store{Sentinel: &StoreSentinel{Master: "m", Addresses: []string{"s:abc"}}}, "store.sentinel.addresses[0]"},
		{Store{Sentinel: &StoreSentinel{Master: "m", Addresses: []string{""}}}, "store.sentinel.addresses[0]"},
		{Store{Sentinel: &StoreSentinel{Master: "m", Addresses: []string{"s"}, Password: "a", PasswordEnv: "SET"}}, "store.sentinel.password"},
		{Store{Sentinel: &StoreSentinel{Master: "m", Addresses: []string{"s"}, PasswordEnv: "UNSET"}}, "store.sentinel.password_env"},
		{Store{Sentinel: &StoreSentinel{Master: "m", Addresses: []string{"s"}, Username: "u"}}, "store.sentinel.username"},
	} {
		_, err := compileStore(&c.cfg, env)
		if err == nil || !strings.Contains(err.Error(), c.field) {
			t.Errorf("%+v: error %v, want one naming %s", c.cfg, err, c.field)
		}
	}
	s, err := compileStore(&Store{Address: "h", PasswordEnv: "SET"}, env)
	if err != nil || s.client.password != "from-env" || s.replayOnError != storeDeny || s.bansOnError != storeLocal {
		t.Fatalf("password_env: %+v %v", s, err)
	}
	s, err = compileStore(&Store{Password: "primary", Sentinel: &StoreSentinel{Master: "m", Addresses: []string{"s1", "s2:26380", "[::1]"}, PasswordEnv: "SET"}}, env)
	if err != nil {
		t.Fatalf("sentinel: %v", err)
	}
	if sn := s.client.sentinels; sn == nil || sn.master != "m" || strings.Join(sn.addrs, " ") != "s1:26379 s2:26380 [::1]:26379" || sn.password != "from-env" || s.client.password != "primary" {
		t.Fatalf("sentinel: %+v, the primary's password %q", s.client.sentinels, s.client.password)
	}
}

func TestStoreKeysHoldNoClientStringOrSecret(t *testing.T) {
	s := &sharedStore{prefix: "tenant-a:"}
	long := strings.Repeat("attacker-controlled-", 500)
	k := s.key("r", "github", long)
	if !strings.HasPrefix(k, "tenant-a:r:") || len(k) > 64 || strings.Contains(k, "attacker") {
		t.Fatalf("key %q", k)
	}
	if s.key("r", "a", "bc") == s.key("r", "ab", "c") {
		t.Fatal("parts are not separated in the key")
	}
}

// The ban's key written out for the claim is the general key's.
func TestBanKeyIsTheStoreKey(t *testing.T) {
	s, err := compileStore(&Store{Address: "127.0.0.1:1", KeyPrefix: "p:"}, os.LookupEnv)
	if err != nil {
		t.Fatal(err)
	}
	count, ban := s.banKeys("client", "198.51.100.0/24")
	if ban != s.key("b", "client", "198.51.100.0/24") || count != s.key("f", "client", "198.51.100.0/24") {
		t.Errorf("ban key %q, count key %q differ from the store's keys", ban, count)
	}
	if len(s.banHead) < 4 || s.banHead != respBulk(ban)[:len(s.banHead)] {
		t.Errorf("the ban key's RESP head %q does not fit %q", s.banHead, ban)
	}
	// clientBanCommand works the client's ban key out inline.
	q := &checkedRequest{group: "198.51.100.0/24"}
	if cmd := clientBanCommand(s, q); cmd != respCommand("PTTL", ban) {
		t.Errorf("the client's ban command %q is not the PTTL of its ban key %q", cmd, ban)
	}
}

func newTestStore(t *testing.T, addr string, timeout time.Duration) *sharedStore {
	t.Helper()
	s, err := compileStore(&Store{Address: addr, Timeout: timeout.String(), KeyPrefix: "test:"}, os.LookupEnv)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.client.close)
	return s
}

// One pipeline carries a replay claim, a ban check, a failure count and a
// token: one round trip, each answered as the script says.
func TestStoreOperationsAgainstRealRedis(t *testing.T) {
	srv := startRedis(t)
	s := newTestStore(t, srv.Addr, time.Second)
	now := testNow
	claim := s.key("r", "stripe", "evt_1")
	count, ban := s.key("f", "198.51.100.7"), s.key("b", "198.51.100.7")
	bucket := s.key("t", "client", "198.51.100.7")
	var results []bool
	for i := 0; i < 3; i++ {
		r, err := s.exec([]string{
			s.claimCommand(claim, time.Minute),
			s.failCommand(count, ban, "", "", 2, time.Minute, 30*time.Second),
			s.takeCommand(bucket, now, 1, 2),
			s.admitCommand([]string{count, ban, s.heldKey(ban)}, []int{5}, "check "+strconv.Itoa(i), now),
		}, now)
		if err != nil {
			t.Fatal(err)
		}
		results = append(results, claimed(r[0]))
		n, banned, ok := failed(r[1])
		allowed, wait, ok2 := took(r[2])
		outcome, _, left, ok3 := admitted(r[3])
		if !ok || !ok2 || !ok3 {
			t.Fatalf("unreadable replies %+v", r)
		}
		switch i {
		case 0:
			if n != 1 || banned != 0 || !allowed || outcome != 0 {
				t.Errorf("first: count %d banned %v allowed %v", n, banned, allowed)
			}
		case 1:
			if n != 2 || banned != 30*time.Second || !allowed || outcome != 1 || left <= 29*time.Second {
				t.Errorf("second: count %d banned %v allowed %v admission %d left %v", n, banned, allowed, outcome, left)
			}
		case 2:
			if banned <= 0 || allowed || wait < 900*time.Millisecond || wait > time.Second {
				t.Errorf("third: banned %v allowed %v wait %v", banned, allowed, wait)
			}
		}
	}
	if !results[0] || results[1] || results[2] {
		t.Errorf("claims %v, want only the first to be new", results)
	}
	// The bucket refills on the Guard's clock.
	r, err := s.exec([]string{s.takeCommand(bucket, now.Add(1100*time.Millisecond), 1, 2)}, now)
	if err != nil {
		t.Fatal(err)
	}
	if allowed, _, _ := took(r[0]); !allowed {
		t.Error("no token after a refill second")
	}
	// Forgotten messages are accepted again.
	if _, err := s.exec([]string{s.forgetCommand(claim)}, now); err != nil {
		t.Fatal(err)
	}
	r, _ = s.exec([]string{s.claimCommand(claim, time.Minute)}, now)
	if !claimed(r[0]) {
		t.Error("a forgotten message is still remembered")
	}
}

// Scripts survive a SCRIPT FLUSH (as after a Redis restart): NOSCRIPT is
// answered by sending the script in full, once.
func TestStoreReloadsFlushedScripts(t *testing.T) {
	srv := startRedis(t)
	s := newTestStore(t, srv.Addr, time.Second)
	key := s.key("t", "x")
	for i := 0; i < 2; i++ {
		if _, err := s.client.do([]string{str("SCRIPT", "FLUSH")}, testNow); err != nil {
			t.Fatal(err)
		}
		r, err := s.exec([]string{s.claimCommand(s.key("r", "flush", string(rune('a'+i))), time.Minute), s.takeCommand(key, testNow, 10, 10)}, testNow)
		if err != nil {
			t.Fatal(err)
		}
		if !claimed(r[0]) {
			t.Error("the claim in the same pipeline was not new")
		}
		if allowed, _, ok := took(r[1]); !ok || !allowed {
			t.Errorf("after SCRIPT FLUSH: %+v", r[1])
		}
	}
}

// A frozen store costs a timeout for the few calls in a row that begin an
// outage, then calls fail fast until the next probe; the store recovers by
// itself once it answers again.
func TestStoreOutageFailsFastAndRecovers(t *testing.T) {
	srv := startRedis(t)
	s := newTestStore(t, srv.Addr, 150*time.Millisecond)
	now := testNow
	if _, err := decidedPing(s, now); err != nil {
		t.Fatal(err)
	}
	srv.Freeze(t)
	start := time.Now()
	for i := 0; i < storeFailuresForOutage; i++ {
		if _, err := decidedPing(s, now); err == nil || err == errStoreDown {
			t.Fatalf("call %d to a frozen store: %v, want a timeout", i, err)
		}
		if down, _ := s.outage(); down != (i == storeFailuresForOutage-1) {
			t.Fatalf("after %d failed calls: outage %v", i+1, down)
		}
	}
	var wg sync.WaitGroup
	fast := make([]time.Duration, 50)
	for i := range fast {
		i := i
		wg.Add(1)
		go func() {
			defer wg.Done()
			t0 := time.Now()
			if _, err := decidedPing(s, now.Add(10*time.Millisecond)); err != errStoreDown {
				t.Errorf("during the outage: %v, want errStoreDown", err)
			}
			fast[i] = time.Since(t0)
		}()
	}
	wg.Wait()
	if down, why := s.outage(); !down || !strings.Contains(why, "timed out") {
		t.Errorf("outage %v %q", down, why)
	}
	if e := s.counts(); e.outages != 1 || e.failures != 50+storeFailuresForOutage {
		t.Errorf("events %+v, want one outage and %d failed calls", e, 50+storeFailuresForOutage)
	}
	t.Logf("the calls that began the outage %v; calls during the outage took at most %v", time.Since(start), maxDuration(fast))
	srv.Thaw(t)
	later := now.Add(storeRetryInterval + time.Second)
	var err error
	for i := 0; i < 20; i++ {
		if _, err = decidedPing(s, later); err == nil {
			break
		}
		later = later.Add(storeRetryInterval + time.Second)
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("no recovery: %v", err)
	}
	if down, _ := s.outage(); down || s.counts().recovered != 1 {
		t.Errorf("after recovery: down %v, events %+v", down, s.counts())
	}
}

// decidedPing is a PING from a call with a decision, which may begin or
// end an outage.
func decidedPing(s *sharedStore, now time.Time) ([]respValue, error) {
	replies, _, err := storeDo(s, []string{str("PING")}, now, true)
	return replies, err
}

// A call that has no decision to report an outage on (the forget of a
// message whose upstream failed, after the decision was logged) neither
// begins nor ends one: the next call with a decision does, and reports it,
// once.
func TestStoreOutagesBeginAndEndOnCallsWithADecision(t *testing.T) {
	srv := startRedis(t)
	s := newTestStore(t, srv.Addr, 150*time.Millisecond)
	now := testNow
	event := func(at time.Time) string {
		d := new(Decision)
		storeExec(s, d, []string{str("PING")}, at)
		return d.StoreEvent
	}
	srv.Freeze(t)
	for i := 0; i < storeFailuresForOutage; i++ {
		if _, err := s.exec([]string{str("PING")}, now); err == nil || err == errStoreDown {
			t.Fatalf("call %d to a frozen store: %v, want a timeout", i, err)
		}
	}
	if down, _ := s.outage(); down {
		t.Fatal("calls without a decision began an outage nothing reports")
	}
	if e := event(now); !strings.Contains(e, "store failing") || !strings.Contains(e, "timed out") {
		t.Errorf("the next decision's store event %q, want the outage's start", e)
	}
	now = now.Add(storeRetryInterval + time.Second)
	if e := event(now); e != "" {
		t.Errorf("the outage's start reported again: %q", e)
	}

	srv.Thaw(t)
	var err error
	for i := 0; i < 20; i++ {
		now = now.Add(storeRetryInterval + time.Second)
		if _, err = s.exec([]string{str("PING")}, now); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("no answer after the thaw: %v", err)
	}
	if down, _ := s.outage(); !down {
		t.Fatal("a call without a decision ended the outage")
	}
	// The very next call probes (no wait for the retry interval), ends
	// the outage and reports it; with a time before the forget's, too.
	if e := event(now.Add(-time.Second)); e != "store answers again" {
		t.Errorf("the next decision's store event %q, want the recovery", e)
	}
	if e := event(now); e != "" {
		t.Errorf("the recovery reported again: %q", e)
	}
	if c := s.counts(); c.outages != 1 || c.recovered != 1 {
		t.Errorf("events %+v, want one outage and one recovery", c)
	}
}

func maxDuration(ds []time.Duration) time.Duration {
	var m time.Duration
	for _, d := range ds {
		if d > m {
			m = d
		}
	}
	return m
}

// rediss:// with a CA file, and AUTH, against Redis's own TLS listener.
func TestStoreTLSAndAuth(t *testing.T) {
	dir := t.TempDir()
	caFile, certFile, keyFile := writeTestCertificate(t, dir)
	srv := startRedis(t, "--port", "0", "--tls-port", freePort(t), "--tls-cert-file", certFile, "--tls-key-file", keyFile,
		"--tls-auth-clients", "no", "--requirepass", "tls-secret")
	addr := srv.TLSAddr
	pwFile := filepath.Join(dir, "pw")
	os.WriteFile(pwFile, []byte("tls-secret\n"), 0o600)
	s, err := compileStore(&Store{Address: "rediss://" + addr + "/2", PasswordFile: pwFile, TLS: &StoreTLS{CAFile: caFile}}, os.LookupEnv)
	if err != nil {
		t.Fatal(err)
	}
	defer s.client.close()
	r, err := s.exec([]string{s.claimCommand(s.key("r", "x"), time.Minute)}, testNow)
	if err != nil || !claimed(r[0]) {
		t.Fatalf("over TLS: %+v %v", r, err)
	}
	// A connection that idled is checked (a read that times out) and kept:
	// the TLS connection still works after the timeout.
	before := s.client.idle[0]
	if r, err := s.exec([]string{str("PING")}, testNow.Add(staleAfter)); err != nil || r[0].str != "PONG" {
		t.Fatalf("over TLS, after an idle second: %+v %v", r, err)
	}
	if len(s.client.idle) != 1 || s.client.idle[0] != before {
		t.Errorf("the live TLS connection was not kept after its check")
	}
	// Without the CA the server's certificate is refused.
	bad, _ := compileStore(&Store{Address: "rediss://" + addr, PasswordFile: pwFile}, os.LookupEnv)
	defer bad.client.close()
	if _, err := bad.exec([]string{str("PING")}, testNow); err == nil || !strings.Contains(err.Error(), "TLS") {
		t.Fatalf("an unknown CA was accepted: %v", err)
	}
}

func freePort(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	return port
}

// writeTestCertificate writes a self-signed CA-less certificate for
// 127.0.0.1 (it is its own root).
func writeTestCertificate(t *testing.T, dir string) (caFile, certFile, keyFile string) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "funcauth test redis"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600)
	return certFile, certFile, keyFile
}

// The fleet's admission of password checks: failures and checks in flight
// of a scope stay below its limit whichever replica holds them; a failure
// ends its check and counts, a release ends it only, and the lease of a
// check that never ends (a replica that crashed mid-check) runs out.
func TestStoreAdmitsChecksWithinTheBudget(t *testing.T) {
	srv := startRedis(t)
	s := newTestStore(t, srv.Addr, time.Second)
	now := testNow
	count, ban := s.banKeys("client", "198.51.100.7")
	held := s.heldKey(ban)
	keys := []string{count, ban, held}
	admit := func(token string, at time.Time) int {
		t.Helper()
		r, err := s.exec([]string{s.admitCommand(keys, []int{3}, token, at)}, at)
		if err != nil {
			t.Fatal(err)
		}
		outcome, scope, _, ok := admitted(r[0])
		if !ok || (outcome != 0 && scope != 1) {
			t.Fatalf("unreadable admission %+v", r[0])
		}
		return outcome
	}
	for i, want := range []int{0, 0, 0, 2} {
		if got := admit("a"+strconv.Itoa(i), now); got != want {
			t.Errorf("check %d: admission %d, want %d", i, got, want)
		}
	}
	// A failure ends a0 and counts: 1 failure and 2 in flight, still full.
	if _, err := s.exec([]string{s.failCommand(count, ban, held, "a0", 3, time.Minute, time.Minute)}, now); err != nil {
		t.Fatal(err)
	}
	if got := admit("b", now); got != 2 {
		t.Errorf("1 failure and 2 checks in flight of 3: admission %d", got)
	}
	// A release ends a1: 1 failure, 1 in flight, one place free.
	if _, err := s.exec([]string{s.releaseCommand(held, "a1")}, now); err != nil {
		t.Fatal(err)
	}
	if got := admit("c", now); got != 0 {
		t.Errorf("after a release: admission %d", got)
	}
	// The leases of a2 and c run out: two places free again.
	later := now.Add(fleetCheckLease + time.Second)
	if got := admit("d", later); got != 0 {
		t.Errorf("after the leases ended: admission %d", got)
	}
	if got := admit("e", later); got != 0 {
		t.Errorf("after the leases ended, second: admission %d", got)
	}
	if got := admit("f", later); got != 2 {
		t.Errorf("1 failure and 2 fresh checks: admission %d", got)
	}
	// Two more failures ban: the ban is the answer then, with its length.
	for _, token := range []string{"d", "e"} {
		if _, err := s.exec([]string{s.failCommand(count, ban, held, token, 3, time.Minute, time.Minute)}, later); err != nil {
			t.Fatal(err)
		}
	}
	r, err := s.exec([]string{s.admitCommand(keys, []int{3}, "g", later)}, later)
	if err != nil {
		t.Fatal(err)
	}
	if outcome, scope, left, _ := admitted(r[0]); outcome != 1 || scope != 1 || left <= 59*time.Second {
		t.Errorf("a banned scope: admission %d scope %d left %v", outcome, scope, left)
	}
}

// outage reports whether an outage is on and why it began.
func (s *sharedStore) outage() (bool, string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.down, s.lastError
}

// counts returns the outages, recoveries and failures counted so far.
func (s *sharedStore) counts() storeEvents {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.events
}

// claimCommand remembers a message for ttl unless it is already known.
func (s *sharedStore) claimCommand(key string, ttl time.Duration) string {
	return respCommand("SET", key, "1", "NX", "PX", strconv.FormatInt(durationMillis(ttl), 10))
}

// claimed reads the reply of claimCommand: true for a new message.
func claimed(r respValue) bool { return r.kind == '+' && r.str == "OK" }
