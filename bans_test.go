package funcauth

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// bodyCounter counts how much of a body was read.
type bodyCounter struct {
	r     io.Reader
	reads *atomic.Int64
}

func (b bodyCounter) Read(p []byte) (int, error) {
	b.reads.Add(1)
	return b.r.Read(p)
}
func (b bodyCounter) Close() error { return nil }

func abuseGuard(t testing.TB, c *clock, cmp *countingComparer, bans *Bans, limits []RateLimit, client *ClientAddress) *Guard {
	t.Helper()
	g, err := New(&Config{
		Rules: []Rule{
			{Path: "/function/*", Require: "signature"},
			{Path: "*", Require: "basic"},
		},
		BasicAuth:     &BasicAuth{Users: []User{{Name: "admin", PasswordHash: "$test$pw"}, {Name: "ops", PasswordHash: "$test$ops"}}},
		Signatures:    []Signature{{Scheme: "faas-cli", Keys: []string{"k"}, Tolerance: "0s"}},
		Bans:          bans,
		RateLimits:    limits,
		ClientAddress: client,
	}, Options{Now: c.now, HashComparers: map[string]HashComparer{"$test$": cmp}})
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func login(g *Guard, client, user, password string) *Decision {
	r := request("GET", "/system/functions", "", nil)
	r.SetBasicAuth(user, password)
	r.RemoteAddr = net.JoinHostPort(client, "5000")
	return g.Check(r, g.ClientAddress(r))
}

func TestBanAfterFailuresAndRelease(t *testing.T) {
	c := &clock{t: testNow}
	cmp := &countingComparer{}
	g := abuseGuard(t, c, cmp, &Bans{MaxFailures: 3, Window: "1m", Duration: "10m"}, nil, nil)
	for i := 0; i < 2; i++ {
		if d := login(g, "198.51.100.7", "admin", "wrong"); d.Reason != ReasonBadCredentials || d.BanStarted() {
			t.Fatalf("failure %d: %s", i, d.Reason)
		}
	}
	d := login(g, "198.51.100.7", "admin", "wrong")
	if d.Reason != ReasonBadCredentials || d.BannedClient != "198.51.100.7" {
		t.Fatalf("third failure: %s, banned %q", d.Reason, d.BannedClient)
	}
	hashes := cmp.calls.Load()
	var reads atomic.Int64
	r := signedRequest("/function/env", "payload", "k")
	r.Body = bodyCounter{r: strings.NewReader("payload"), reads: &reads}
	r.RemoteAddr = "198.51.100.7:5000"
	d = g.Check(r, "198.51.100.7")
	if d.Reason != ReasonBanned || d.Status != http.StatusTooManyRequests || d.RetryAfter != 10*time.Minute {
		t.Fatalf("banned client, signed call: %s %d retry %v", d.Reason, d.Status, d.RetryAfter)
	}
	if d := login(g, "198.51.100.7", "admin", "pw"); d.Reason != ReasonBanned {
		t.Fatalf("banned client, right password: %s", d.Reason)
	}
	if cmp.calls.Load() != hashes || reads.Load() != 0 {
		t.Fatalf("a banned client cost %d hashes and %d body reads", cmp.calls.Load()-hashes, reads.Load())
	}
	if d := login(g, "198.51.100.8", "admin", "pw"); !d.Allowed {
		t.Fatalf("another client: %s", d.Reason)
	}
	c.advance(10*time.Minute - time.Second)
	if d := login(g, "198.51.100.7", "admin", "pw"); d.Reason != ReasonBanned || d.RetryAfter != time.Second {
		t.Fatalf("a second before the end: %s %v", d.Reason, d.RetryAfter)
	}
	c.advance(time.Second)
	if d := login(g, "198.51.100.7", "admin", "pw"); !d.Allowed {
		t.Fatalf("after the ban: %s", d.Reason)
	}
}

func TestFailuresOutsideTheWindowDoNotAddUp(t *testing.T) {
	c := &clock{t: testNow}
	g := abuseGuard(t, c, &countingComparer{}, &Bans{MaxFailures: 3, Window: "1m"}, nil, nil)
	for i := 0; i < 10; i++ {
		if d := login(g, "198.51.100.9", "admin", "wrong"); d.BanStarted() {
			t.Fatalf("banned at failure %d, 61 s apart", i)
		}
		c.advance(61 * time.Second)
	}
}

func TestMissingCredentialsAndUnknownRoutesDoNotBan(t *testing.T) {
	c := &clock{t: testNow}
	g := newTestGuard(t, &Config{
		Rules:     []Rule{{Path: "/system/*", Require: "basic"}},
		BasicAuth: &BasicAuth{Users: []User{{Name: "admin", PasswordHash: testHash}}},
		Bans:      &Bans{MaxFailures: 2},
	}, c)
	for i := 0; i < 5; i++ {
		g.Check(request("GET", "/system/functions", "", nil), "198.51.100.10")
		g.Check(request("GET", "/favicon.ico", "", nil), "198.51.100.10")
	}
	if d := g.Check(request("GET", "/system/functions", "", nil), "198.51.100.10"); d.Reason != ReasonMissingCredentials {
		t.Fatalf("a browser's first requests got it banned: %s", d.Reason)
	}
}

func TestAllowListIsNeverBanned(t *testing.T) {
	c := &clock{t: testNow}
	g := abuseGuard(t, c, &countingComparer{}, &Bans{MaxFailures: 2, AllowList: []string{"10.0.0.0/8", "2001:db8::1"}}, nil, nil)
	for _, client := range []string{"10.1.2.3", "2001:db8::1"} {
		for i := 0; i < 5; i++ {
			if d := login(g, client, "admin", "wrong"); d.BanStarted() || d.Reason != ReasonBadCredentials {
				t.Fatalf("%s failure %d: %s", client, i, d.Reason)
			}
		}
		if d := login(g, client, "admin", "pw"); !d.Allowed {
			t.Fatalf("%s: %s", client, d.Reason)
		}
	}
}

func TestUserLockoutLeavesOtherUsersAlone(t *testing.T) {
	c := &clock{t: testNow}
	g := abuseGuard(t, c, &countingComparer{}, &Bans{MaxFailures: 100, UserMaxFailures: 3, Duration: "5m"}, nil, nil)
	// A distributed guess: each failure from another address.
	for i := 0; i < 3; i++ {
		d := login(g, fmt.Sprintf("203.0.113.%d", i+1), "admin", "guess")
		if i == 2 && d.BannedUser != "admin" {
			t.Fatalf("the third failure did not lock admin out: %+v", d)
		}
	}
	if d := login(g, "203.0.113.50", "admin", "pw"); d.Reason != ReasonBanned {
		t.Fatalf("locked-out admin, right password, new address: %s", d.Reason)
	}
	if d := login(g, "203.0.113.50", "ops", "ops"); !d.Allowed {
		t.Fatalf("another user: %s", d.Reason)
	}
	c.advance(5 * time.Minute)
	if d := login(g, "203.0.113.50", "admin", "pw"); !d.Allowed {
		t.Fatalf("after the lockout: %s", d.Reason)
	}
	off := abuseGuard(t, c, &countingComparer{}, &Bans{MaxFailures: 100, UserMaxFailures: -1}, nil, nil)
	for i := 0; i < 30; i++ {
		login(off, fmt.Sprintf("203.0.113.%d", i+1), "admin", "guess")
	}
	if d := login(off, "203.0.113.99", "admin", "pw"); !d.Allowed {
		t.Fatalf("user lockout off: %s", d.Reason)
	}
}

func TestIPv6ClientsAreGroupedByPrefix(t *testing.T) {
	c := &clock{t: testNow}
	g := abuseGuard(t, c, &countingComparer{}, &Bans{MaxFailures: 2}, nil, nil)
	login(g, "2001:db8:1:2::1", "admin", "wrong")
	if d := login(g, "2001:db8:1:2:ffff::9", "admin", "wrong"); d.BannedClient != "2001:db8:1:2::/64" {
		t.Fatalf("two addresses of one /64: banned %q", d.BannedClient)
	}
	if d := login(g, "2001:db8:1:2:dead:beef::1", "admin", "pw"); d.Reason != ReasonBanned {
		t.Fatalf("a third address of the /64: %s", d.Reason)
	}
	if d := login(g, "2001:db8:1:3::1", "admin", "pw"); !d.Allowed {
		t.Fatalf("the next /64: %s", d.Reason)
	}
	g56 := abuseGuard(t, c, &countingComparer{}, &Bans{MaxFailures: 2}, nil, &ClientAddress{IPv6Prefix: 56})
	login(g56, "2001:db8:1:2::1", "admin", "wrong")
	login(g56, "2001:db8:1:3::1", "admin", "wrong")
	if d := login(g56, "2001:db8:1:4::1", "admin", "pw"); d.Reason != ReasonBanned {
		t.Fatalf("a /56 grouping: %s", d.Reason)
	}
	// An IPv4-mapped address is the IPv4 address.
	login(g, "::ffff:192.0.2.44", "admin", "wrong")
	if d := login(g, "192.0.2.44", "admin", "wrong"); d.BannedClient != "192.0.2.44" {
		t.Fatalf("IPv4-mapped: banned %q", d.BannedClient)
	}
}

func TestForwardedForOnlyFromTrustedProxies(t *testing.T) {
	c := &clock{t: testNow}
	g := abuseGuard(t, c, &countingComparer{}, &Bans{MaxFailures: 2}, nil, &ClientAddress{TrustedProxies: []string{"10.0.0.0/8"}})
	addr := func(peer string, xff ...string) string {
		r := request("GET", "/", "", http.Header{"X-Forwarded-For": xff})
		r.RemoteAddr = peer + ":1234"
		return g.ClientAddress(r)
	}
	garbage := unparsedHop("garbage")
	for _, tc := range []struct {
		peer string
		xff  []string
		want string
	}{
		{"198.51.100.1", []string{"1.2.3.4"}, "198.51.100.1"},    // untrusted peer: spoofing ignored
		{"10.0.0.2", []string{"1.2.3.4"}, "1.2.3.4"},             // trusted proxy
		{"10.0.0.2", []string{"1.2.3.4, 10.0.0.9"}, "1.2.3.4"},   // right to left, skipping trusted hops
		{"10.0.0.2", []string{"6.6.6.6, 1.2.3.4"}, "1.2.3.4"},    // the left-most is the client's own claim
		{"10.0.0.2", []string{"6.6.6.6", "1.2.3.4"}, "1.2.3.4"},  // several headers
		{"10.0.0.2", []string{"garbage, 1.2.3.4"}, "1.2.3.4"},    // stops at the first untrusted
		{"10.0.0.2", []string{"1.2.3.4, garbage"}, garbage},      // unparseable hop: its digest, not the proxy's address
		{"10.0.0.2", nil, "10.0.0.2"},                            // no header
		{"[2001:db8::1]", []string{"1.2.3.4"}, "2001:db8::1"},    // untrusted IPv6 peer
		{"10.0.0.2", []string{"[2001:db8::5]"}, "2001:db8::5"},   // brackets without a port
		{"10.0.0.2", []string{"2001:db8::5"}, "2001:db8::5"},     // IPv6 client
		{"10.0.0.2", []string{"10.0.0.3, 10.0.0.4"}, "10.0.0.3"}, // all trusted: the left-most
		{"10.0.0.2", []string{strings.Repeat("1.1.1.1, ", 50) + "9.9.9.9"}, "9.9.9.9"},
	} {
		if got := addr(tc.peer, tc.xff...); got != tc.want {
			t.Errorf("peer %s, X-Forwarded-For %q: %s, want %s", tc.peer, tc.xff, got, tc.want)
		}
	}
	// A spoofed header does not let an attacker get someone else banned
	// or escape their own ban.
	for i := 0; i < 2; i++ {
		r := request("GET", "/system/functions", "", http.Header{"X-Forwarded-For": {fmt.Sprintf("1.1.1.%d", i)}})
		r.SetBasicAuth("admin", "wrong")
		r.RemoteAddr = "198.51.100.66:1234"
		g.Check(r, g.ClientAddress(r))
	}
	if d := login(g, "198.51.100.66", "admin", "pw"); d.Reason != ReasonBanned {
		t.Fatalf("the spoofer escaped its ban: %s", d.Reason)
	}
}

// TestForwardedForHopsWithPorts reads hops as some load balancers write
// them, with a port, brackets or a zone: the client is the address in the
// hop, and so is its ban key, never the proxy's.
func TestForwardedForHopsWithPorts(t *testing.T) {
	c := &clock{t: testNow}
	g := abuseGuard(t, c, &countingComparer{}, &Bans{MaxFailures: 2}, nil, &ClientAddress{TrustedProxies: []string{"10.0.0.0/8", "fd00::/8"}})
	via := func(peer, xff string) *http.Request {
		r := request("GET", "/system/functions", "", http.Header{"X-Forwarded-For": {xff}})
		r.RemoteAddr = peer
		return r
	}
	for _, tc := range []struct{ peer, xff, want string }{
		{"10.0.0.2:1234", "203.0.113.7:51234", "203.0.113.7"},
		{"10.0.0.2:1234", "[2001:db8::1]:443", "2001:db8::1"},
		{"10.0.0.2:1234", "[2001:db8::1]", "2001:db8::1"},
		{"10.0.0.2:1234", "fe80::1%eth0", "fe80::1"},
		{"10.0.0.2:1234", "[fe80::1%eth0]:443", "fe80::1"},
		{"10.0.0.2:1234", " 203.0.113.7:51234 , 10.0.0.9:80", "203.0.113.7"},
		{"10.0.0.2:1234", "[::ffff:203.0.113.9]:80", "203.0.113.9"},
		{"[fd00::2]:1234", "[fd00::3]:80, 203.0.113.7:1", "203.0.113.7"},
		{"10.0.0.2:1234", "203.0.113.7:51234:1", unparsedHop("203.0.113.7:51234:1")},
		{"10.0.0.2:1234", "unknown", unparsedHop("unknown")},
	} {
		if got := g.ClientAddress(via(tc.peer, tc.xff)); got != tc.want {
			t.Errorf("peer %s, X-Forwarded-For %q: %s, want %s", tc.peer, tc.xff, got, tc.want)
		}
	}
	if id := unparsedHop(strings.Repeat("x", 100000)); len(id) > 40 {
		t.Errorf("an unparsed hop's identity is %d bytes long", len(id))
	}

	// Two failures from 203.0.113.7 (whatever its port) ban 203.0.113.7
	// only: another client behind the same proxy still gets in.
	for _, xff := range []string{"203.0.113.7:51234", "203.0.113.7:6000"} {
		r := via("10.0.0.2:1234", xff)
		r.SetBasicAuth("admin", "wrong")
		g.Check(r, g.ClientAddress(r)).Close()
	}
	r := via("10.0.0.2:1234", "203.0.113.7:7000")
	r.SetBasicAuth("admin", "pw")
	if d := g.Check(r, g.ClientAddress(r)); d.Reason != ReasonBanned {
		t.Fatalf("203.0.113.7 on another port: %s, want banned", d.Reason)
	}
	for _, xff := range []string{"203.0.113.8:51234", "[2001:db8::1]:443"} {
		r := via("10.0.0.2:1234", xff)
		r.SetBasicAuth("admin", "pw")
		if d := g.Check(r, g.ClientAddress(r)); d.Reason != ReasonAuthenticated {
			t.Errorf("another client (%s) behind the proxy: %s, want authenticated", xff, d.Reason)
		}
	}
	// Neither is the proxy banned: a request it makes itself gets in.
	r = via("10.0.0.2:1234", "")
	r.SetBasicAuth("admin", "pw")
	if d := g.Check(r, g.ClientAddress(r)); d.Reason != ReasonAuthenticated {
		t.Errorf("the proxy itself: %s, want authenticated", d.Reason)
	}
}

func TestRateLimits(t *testing.T) {
	c := &clock{t: testNow}
	g := abuseGuard(t, c, &countingComparer{}, &Bans{Disabled: true}, []RateLimit{
		{Name: "per-client", Rate: "2/s", Burst: 3},
		{Name: "per-function", Key: "function", Path: "/function/*", Rate: "10/1m"},
		{Name: "per-user", Key: "user", Path: "/system/*", Rate: "1/1m", Burst: 4},
	}, nil)
	for i := 0; i < 3; i++ {
		if d := login(g, "198.51.100.20", "admin", "pw"); !d.Allowed {
			t.Fatalf("burst request %d: %s", i, d.Reason)
		}
	}
	d := login(g, "198.51.100.20", "admin", "pw")
	if d.Reason != ReasonRateLimited || d.Status != http.StatusTooManyRequests || d.RetryAfter != 500*time.Millisecond {
		t.Fatalf("past the burst: %s %d %v", d.Reason, d.Status, d.RetryAfter)
	}
	if d := login(g, "198.51.100.21", "admin", "pw"); !d.Allowed {
		t.Fatalf("another client: %s", d.Reason)
	}
	// The user limit (burst 4) is spent now: admin is limited from any address.
	if d := login(g, "198.51.100.22", "admin", "pw"); d.Reason != ReasonRateLimited || !strings.Contains(d.Detail, "per-user") {
		t.Fatalf("per-user limit: %s %s", d.Reason, d.Detail)
	}
	if d := login(g, "198.51.100.22", "ops", "ops"); !d.Allowed {
		t.Fatalf("another user: %s", d.Reason)
	}
	c.advance(500 * time.Millisecond)
	if d := login(g, "198.51.100.20", "ops", "ops"); !d.Allowed {
		t.Fatalf("a token refilled after 500 ms: %s", d.Reason)
	}
	// Per function: 10 a minute, whatever the client.
	for i := 0; i < 10; i++ {
		r := signedRequest("/function/busy", "x"+fmt.Sprint(i), "k")
		if d := g.Check(r, fmt.Sprintf("192.0.2.%d", i+1)); !d.Allowed {
			t.Fatalf("function call %d: %s", i, d.Reason)
		}
	}
	if d := g.Check(signedRequest("/function/busy", "y", "k"), "192.0.2.100"); d.Reason != ReasonRateLimited {
		t.Fatalf("the 11th call to one function: %s", d.Reason)
	}
	if d := g.Check(signedRequest("/function/quiet", "y", "k"), "192.0.2.100"); !d.Allowed {
		t.Fatalf("another function: %s", d.Reason)
	}
}

// TestSprayKeepsTablesBounded sprays failures from 200,000 addresses at
// tables of 10,000 entries: the tables stay at their bound, the heap does
// not grow with the number of addresses, and a legitimate client is still
// served. BenchmarkSpray does the same with a million.
func TestSprayKeepsTablesBounded(t *testing.T) {
	c := &clock{t: testNow}
	g := abuseGuard(t, c, &countingComparer{}, &Bans{MaxFailures: 3, MaxEntries: 10000},
		[]RateLimit{{Rate: "5/s", MaxEntries: 10000}}, nil)
	spray(g, 200000)
	if n := g.state.abuse.clients.len(); n > 10000 {
		t.Fatalf("the ban table holds %d entries, bound 10000", n)
	}
	if n := g.state.abuse.limiters[0].len(); n > 10000 {
		t.Fatalf("the rate-limit table holds %d entries, bound 10000", n)
	}
	if d := login(g, "198.51.100.200", "admin", "pw"); !d.Allowed {
		t.Fatalf("the legitimate client after the spray: %s", d.Reason)
	}
}

// spray sends n signed requests with a wrong key from n addresses.
func spray(g *Guard, n int) {
	for i := 0; i < n; i++ {
		client := fmt.Sprintf("%d.%d.%d.%d", 11+i>>24&0x7f, i>>16&0xff, i>>8&0xff, i&0xff)
		r := signedRequest("/function/env", "spray", "wrong")
		d := g.Check(r, client)
		d.Close()
	}
}

// BenchmarkSpray sprays one million distinct addresses at the default
// bounds (100,000 entries per table) and reports the heap the tables
// hold, their sizes, and whether a legitimate client still got through.
func BenchmarkSpray(b *testing.B) {
	for i := 0; i < b.N; i++ {
		c := &clock{t: testNow}
		g := abuseGuard(b, c, &countingComparer{}, &Bans{MaxFailures: 3}, []RateLimit{{Rate: "5/s"}}, nil)
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		spray(g, 1000000)
		runtime.GC()
		runtime.ReadMemStats(&after)
		served := 0.0
		if d := login(g, "198.51.100.200", "admin", "pw"); d.Allowed {
			served = 1
		}
		b.ReportMetric(float64(int64(after.HeapAlloc)-int64(before.HeapAlloc))/(1<<20), "MiB-tables")
		b.ReportMetric(float64(g.state.abuse.clients.len()), "ban-entries")
		b.ReportMetric(float64(g.state.abuse.limiters[0].len()), "limit-entries")
		b.ReportMetric(served, "legit-served")
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
