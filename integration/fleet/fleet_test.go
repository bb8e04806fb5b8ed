package fleet

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/funcauth/funcauth/internal/conformance"
	"github.com/funcauth/funcauth/internal/redistest"
	"github.com/funcauth/funcauth/internal/sign"
)

// Keys of the fleet's verifiers (those of testdata/conformance/schemes.json).
const (
	whsec      = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	stripeKey  = "whsec_current"
	slackKey   = "8f742231b10e8888abcd99yyyzzz85a5"
	httpsigKey = "hmac-sha256:fleet:Y29uZm9ybWFuY2UtaG1hYy1rZXktMzItYnl0ZXMhISE="
	faasKey    = "cookie"
	password   = "correct horse battery staple"
	// PBKDF2-SHA256 of password (the hash the Traefik binary tests use).
	passwordHash = "$pbkdf2-sha256$i=100000$FvsaKqDUjTxkY0LDcLY6LQ$avC3cRwBiE71Wx/YKvObS6LpxMgpuYhieUKArM2/40k"
	// The public name every replica sees: signatures that cover the
	// authority stay valid on every replica.
	host = "gateway.test"
	// maxFailures failures anywhere in the fleet ban a client everywhere.
	maxFailures = 4
	// fleetRate per second (and as many at once) is the global limit of
	// /limited, for the fleet as a whole.
	fleetRate = 20
	// The client the bans subtest bans, and another.
	attacker, bystander = "192.0.2.66", "192.0.2.67"
)

// fleetConfig is the core's JSON configuration of every replica: one
// function path per timestamped scheme, faas-cli for the other functions,
// Basic Auth on the admin API, bans after maxFailures, state on the store
// at redisAddr with storeTimeout.
func fleetConfig(redisAddr string) string {
	return fmt.Sprintf(`{
	"rules": [
		{"path": "/function/standard", "require": "signature", "signatures": ["standard-webhooks"]},
		{"path": "/function/svix", "require": "signature", "signatures": ["svix"]},
		{"path": "/function/stripe", "require": "signature", "signatures": ["stripe"]},
		{"path": "/function/slack", "require": "signature", "signatures": ["slack"]},
		{"path": "/function/signed/*", "require": "signature", "signatures": ["http-message-signatures"]},
		{"path": "/function/*", "require": "signature", "signatures": ["faas-cli"]},
		{"path": "/system/*", "require": "basic"},
		{"path": "/limited", "require": "open"}
	],
	"basic_auth": {"users": [{"name": "admin", "password_hash": %q}]},
	"signatures": [
		{"scheme": "standard-webhooks", "keys": [%q]},
		{"scheme": "svix", "keys": [%q]},
		{"scheme": "stripe", "keys": [%q]},
		{"scheme": "slack", "keys": [%q]},
		{"scheme": "http-message-signatures", "keys": [%q]},
		{"scheme": "faas-cli", "keys": [%q]}
	],
	"bans": {"max_failures": %d, "window": "1m", "duration": "1m"},
	"rate_limits": [{"name": "fleet", "key": "global", "path": "/limited", "rate": "%d/s", "burst": %d}],
	"store": {"address": %q, "timeout": %q}
}`, passwordHash, whsec, whsec, stripeKey, slackKey, httpsigKey, faasKey, maxFailures, fleetRate, fleetRate, redisAddr, storeTimeout.String())
}

// storeTimeout is the replicas' store.timeout.
const storeTimeout = 300 * time.Millisecond

// message is a request the test can send, the same bytes, to any replica.
type message struct {
	method, path string
	body         []byte
	header       http.Header
}

// signed signs body for path under scheme, as the scheme's sender does.
func signed(t testing.TB, scheme, key, path, id string, body []byte) *message {
	t.Helper()
	h, err := sign.Headers(scheme, key, sign.Options{}, sign.Message{Method: "POST", URL: "http://" + host + path, Body: body, ID: id})
	if err != nil {
		t.Fatal(err)
	}
	h.Set("Content-Type", "application/json")
	return &message{method: "POST", path: path, body: body, header: h}
}

// faasCLI is a fresh faas-cli-signed call of the function env.
func faasCLI(t testing.TB, body string) *message {
	return signed(t, "faas-cli", faasKey, "/function/env.openfaas-fn", "", []byte(body))
}

func admin(pass string) *message {
	h := http.Header{}
	req, _ := http.NewRequest("GET", "/", nil)
	req.SetBasicAuth("admin", pass)
	h.Set("Authorization", req.Header.Get("Authorization"))
	return &message{method: "GET", path: "/system/functions", header: h}
}

// answer is what a replica answered.
type answer struct {
	status     int
	code       string // the refusal's public reason ("error" of its JSON body)
	retryAfter string
	upstream   bool // the upstream answered
	latency    time.Duration
	err        error
}

func (a answer) String() string {
	if a.err != nil {
		return a.err.Error()
	}
	return fmt.Sprintf("%d %s", a.status, a.code)
}

var client = &http.Client{
	Timeout:   10 * time.Second,
	Transport: &http.Transport{MaxIdleConnsPerHost: 16},
}

// send sends m to the replica as the client at address from (named in
// X-Forwarded-For, which every replica believes from loopback).
func (r *replica) send(m *message, from string) answer {
	req, err := http.NewRequest(m.method, "http://"+r.addr+m.path, bytes.NewReader(m.body))
	if err != nil {
		return answer{err: err}
	}
	req.Host = host
	for k, vs := range m.header {
		req.Header[k] = append([]string(nil), vs...)
	}
	conformance.ViaProxy(req, from)
	start := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		return answer{err: err, latency: time.Since(start)}
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	a := answer{status: resp.StatusCode, retryAfter: resp.Header.Get("Retry-After"), latency: time.Since(start),
		upstream: resp.Header.Get(conformance.UpstreamHeader) == "reached"}
	if resp.StatusCode >= 400 {
		var refusal struct {
			Error string `json:"error"`
		}
		json.Unmarshal(body, &refusal)
		a.code = refusal.Error
	}
	return a
}

// expect sends m and fails unless the answer has the status and code.
func (r *replica) expect(t *testing.T, what string, m *message, from string, status int, code string) answer {
	t.Helper()
	a := r.send(m, from)
	if a.err != nil || a.status != status || a.code != code || (status == http.StatusOK) != a.upstream {
		t.Errorf("%s via %s: %v (upstream reached: %v), want %d %s", what, r.name, a, a.upstream, status, code)
	}
	return a
}

// acceptedOnceFleetWide checks that each message, accepted by one replica
// (each by another), is refused as replayed by the three others.
func acceptedOnceFleetWide(t *testing.T, fleet []*replica, msgs map[string]*message, from string) {
	t.Helper()
	i := 0
	for name, m := range msgs {
		first := fleet[i%len(fleet)]
		i++
		if a := first.expect(t, name+", first delivery", m, from, http.StatusOK, ""); a.status != http.StatusOK {
			continue
		}
		for _, other := range fleet {
			if other != first {
				other.expect(t, name+", replayed after "+first.name+" accepted it", m, from, http.StatusUnauthorized, "replayed")
			}
		}
	}
}

// TestFleetOfFourReplicasSharesOneRedis: two xcaddy-built Caddy and two
// real Traefik processes, each on its own port in front of one upstream,
// share one redis-server. A message accepted by one is a replay on the
// three others, for every timestamped scheme and faas-cli; failures
// spread over the replicas ban the client on all; with Redis killed or
// frozen under load every signed request gets the deny policy's 429
// store_unavailable quickly, and the fleet recovers by itself; after a
// failover behind the address they reach Redis by, they follow it to the
// new primary.
func TestFleetOfFourReplicasSharesOneRedis(t *testing.T) {
	// The replicas reach Redis through a stable address, as a Kubernetes
	// Service gives, which the failover subtest moves to the standby.
	redis, standby := redistest.Start(t), redistest.Start(t)
	front := redistest.NewFront(t, redis)
	start := time.Now()
	fleet := startFleet(t, fleetConfig(front.Addr))
	t.Logf("four replicas serving in %v", time.Since(start).Round(100*time.Millisecond))
	run := strconv.FormatInt(time.Now().UnixNano(), 36)

	t.Run("replays", func(t *testing.T) {
		body := func(s string) []byte { return []byte(`{"event":"` + s + `","run":"` + run + `"}`) }
		acceptedOnceFleetWide(t, fleet, map[string]*message{
			"standard-webhooks":               signed(t, "standard-webhooks", whsec, "/function/standard", "msg_"+run, body("standard")),
			"svix":                            signed(t, "svix", whsec, "/function/svix", "msg_svix_"+run, body("svix")),
			"stripe":                          signed(t, "stripe", stripeKey, "/function/stripe", "", body("stripe")),
			"slack":                           signed(t, "slack", slackKey, "/function/slack", "", body("slack")),
			"http-message-signatures (nonce)": signed(t, "http-message-signatures", httpsigKey, "/function/signed/hook", "nonce-"+run, body("httpsig")),
			"faas-cli":                        faasCLI(t, "faas-cli "+run),
		}, "192.0.2.10")
	})

	t.Run("bans", func(t *testing.T) {
		// One failure on each replica: a forged signature on the Caddy
		// replicas, a wrong password on the Traefik ones.
		for i := 0; i < maxFailures; i++ {
			r := fleet[i%len(fleet)]
			m := faasCLI(t, "forged "+strconv.Itoa(i))
			m.header.Set("Hmac", "sha256=0000000000000000000000000000000000000000000000000000000000000000")
			want := "bad_signature"
			if i%2 == 1 {
				m, want = admin("guess "+strconv.Itoa(i)), "bad_credentials"
			}
			a := r.send(m, attacker)
			if a.status != http.StatusUnauthorized || a.code != want {
				t.Errorf("failure %d via %s: %v, want 401 %s", i+1, r.name, a, want)
			}
		}
		for i, r := range fleet {
			a := r.expect(t, "the banned client's genuine signed call", faasCLI(t, "from the attacker "+strconv.Itoa(i)+run), attacker, http.StatusTooManyRequests, "banned")
			if a.retryAfter == "" {
				t.Errorf("the ban via %s has no Retry-After", r.name)
			}
			r.expect(t, "the banned client with the right password", admin(password), attacker, http.StatusTooManyRequests, "banned")
			r.expect(t, "another client", faasCLI(t, "from a bystander "+strconv.Itoa(i)+run), bystander, http.StatusOK, "")
			// The banned client's message is not remembered: the same
			// bytes from another client are accepted, not replayed.
			fleet[(i+1)%len(fleet)].expect(t, "the banned client's message from another client", faasCLI(t, "from the attacker "+strconv.Itoa(i)+run), bystander, http.StatusOK, "")
		}
	})

	t.Run("concurrent guesses", func(t *testing.T) {
		// Two workers per replica send wrong passwords of one client
		// without pause: replicas admit a password check only while the
		// fleet's failures and checks in flight stay below maxFailures,
		// so at most maxFailures guesses are hashed fleet-wide, where each
		// replica counting its own checks would let through more while
		// the others' hashes run. Then the client is banned on all.
		const guesser = "192.0.2.68"
		var mu sync.Mutex
		var wg sync.WaitGroup
		answers := map[string]int{}
		deadline := time.Now().Add(10 * time.Second)
		for w := 0; w < 2*len(fleet); w++ {
			r := fleet[w%len(fleet)]
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; time.Now().Before(deadline); i++ {
					a := r.send(admin("guess "+strconv.Itoa(i)), guesser)
					mu.Lock()
					answers[a.String()]++
					mu.Unlock()
					if a.code == "banned" {
						return
					}
				}
			}()
		}
		wg.Wait()
		t.Logf("answers to concurrent guesses over %d replicas: %v", len(fleet), answers)
		if n := answers["401 bad_credentials"]; n != maxFailures {
			t.Errorf("%d guesses hashed (401 bad_credentials), want exactly max_failures (%d)", n, maxFailures)
		}
		for what, n := range answers {
			if what != "401 bad_credentials" && what != "429 rate_limited" && what != "429 banned" {
				t.Errorf("%d answers %s", n, what)
			}
		}
		for _, r := range fleet {
			r.expect(t, "the client after its concurrent guesses, with the right password", admin(password), guesser, http.StatusTooManyRequests, "banned")
		}
	})

	t.Run("rate limit", func(t *testing.T) {
		// Eight clients round the four replicas, far faster than the
		// limit: the fleet lets through its burst and then the rate,
		// within 10%, where four replicas on their own would allow four
		// times as much.
		var mu sync.Mutex
		var wg sync.WaitGroup
		allowed, refused := 0, 0
		var first, last time.Time
		deadline := time.Now().Add(3 * time.Second)
		for w := 0; w < 8; w++ {
			w := w
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; time.Now().Before(deadline); i++ {
					sent := time.Now()
					a := fleet[(w+i)%len(fleet)].send(&message{method: "GET", path: "/limited"}, "192.0.2."+strconv.Itoa(150+w))
					mu.Lock()
					if first.IsZero() || sent.Before(first) {
						first = sent
					}
					if sent.After(last) {
						last = sent
					}
					switch {
					case a.status == http.StatusOK:
						allowed++
					case a.status == http.StatusTooManyRequests && a.code == "rate_limited" && a.retryAfter != "":
						refused++
					default:
						t.Errorf("via %s: %v, want 200 or 429 rate_limited with Retry-After", fleet[(w+i)%len(fleet)].name, a)
					}
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		want := float64(fleetRate) + fleetRate*last.Sub(first).Seconds()
		t.Logf("fleet limit %d/s (burst %d) over %v: %d allowed (the bucket gives %.0f), %d refused",
			fleetRate, fleetRate, last.Sub(first).Round(time.Millisecond), allowed, want, refused)
		if float64(allowed) < 0.9*want || float64(allowed) > 1.1*want {
			t.Errorf("%d requests allowed, want %.0f within 10%%", allowed, want)
		}
		if refused < allowed {
			t.Errorf("only %d refusals: the load did not exceed the limit", refused)
		}
	})

	outages := []struct {
		name        string
		stop, start func(testing.TB)
	}{
		{"redis killed", redis.Kill, redis.Restart},
		{"redis frozen", redis.Freeze, redis.Thaw},
	}
	for _, o := range outages {
		t.Run(o.name, func(t *testing.T) {
			logged := make([][3]int, len(fleet))
			for i, r := range fleet {
				logged[i][0], logged[i][1] = r.storeEvents(t)
				if r.admin != "" {
					logged[i][2] = r.storeErrors(t)
				}
			}
			o.stop(t)
			stopped := true
			defer func() {
				if stopped {
					o.start(t)
				}
			}()
			res := load(t, fleet, 8, 3*time.Second, o.name)
			t.Logf("%s: %d signed requests in 3 s from 8 clients: %v; latency max %v", o.name, res.n, res.answers, res.max.Round(time.Millisecond))
			if res.n < 40 {
				t.Errorf("only %d requests in 3 s", res.n)
			}
			for what, n := range res.answers {
				if what != "429 store_unavailable" {
					t.Errorf("%d answers %s, want every one 429 store_unavailable", n, what)
				}
			}
			if res.noRetryAfter > 0 {
				t.Errorf("%d of the 429 answers have no Retry-After", res.noRetryAfter)
			}
			// A store call ends within the store's timeout, its wait for
			// a turn included, and a signed request makes one: the rest
			// is the margin of two loaded cores running eight clients and
			// four proxies. (A call that waited its turn and then a round
			// trip of its own took up to twice the timeout.)
			if bound := storeTimeout + 250*time.Millisecond; res.max >= bound {
				t.Errorf("the slowest answer took %v, want under %v (store timeout %v)", res.max, bound, storeTimeout)
			}

			// bans_on_error local: each replica keeps the ban it learned
			// from the fleet, and Basic Auth goes on from its own tables.
			for _, r := range fleet {
				r.expect(t, "the banned client during the outage", admin(password), attacker, http.StatusTooManyRequests, "banned")
				r.expect(t, "Basic Auth during the outage", admin(password), bystander, http.StatusOK, "")
			}

			o.start(t)
			stopped = false
			back := time.Now()
			for i, r := range fleet {
				recovered(t, r, "recovery "+o.name+" "+strconv.Itoa(i)+run, back)
			}
			t.Logf("%s: every replica accepted signed calls again %v after Redis was back", o.name, time.Since(back).Round(100*time.Millisecond))
			// Each replica logged the outage once, and its end once.
			for i, r := range fleet {
				outages, recoveries := r.storeEvents(t)
				if outages-logged[i][0] != 1 || recoveries-logged[i][1] != 1 {
					t.Errorf("%s logged %d outages and %d recoveries, want one each (log %s)", r.name, outages-logged[i][0], recoveries-logged[i][1], r.log)
				}
				// Caddy counts the requests that met it.
				if r.admin != "" {
					if n := r.storeErrors(t) - logged[i][2]; n < 10 {
						t.Errorf("%s: funcauth_store_errors_total grew by %d during the outage, want the requests it refused", r.name, n)
					}
				}
			}
			acceptedOnceFleetWide(t, fleet, map[string]*message{
				"faas-cli after the outage": faasCLI(t, "after "+o.name+" "+run),
				"stripe after the outage":   signed(t, "stripe", stripeKey, "/function/stripe", "", []byte("after "+o.name+" "+run)),
			}, "192.0.2.11")
		})
	}

	// A failover behind the front: connections to the demoted primary
	// answer READONLY, which the deny policy refuses as an outage; each
	// replica then leaves them and dials the front again, which leads to
	// the new primary, and that has the messages the old one had.
	t.Run("failover", func(t *testing.T) {
		before := failover(t, fleet, redis, standby, front, "before the failover "+run)
		back := time.Now()
		for i, r := range fleet {
			recovered(t, r, "after the failover "+strconv.Itoa(i)+run, back)
		}
		t.Logf("failover: every replica accepted signed calls on the new primary %v after the front moved", time.Since(back).Round(100*time.Millisecond))
		for _, r := range fleet {
			r.expect(t, "the message accepted before the failover", before, "192.0.2.13", http.StatusUnauthorized, "replayed")
		}
		acceptedOnceFleetWide(t, fleet, map[string]*message{
			"faas-cli after the failover": faasCLI(t, "after the failover "+run),
		}, "192.0.2.11")
	})
}

// failover has the standby follow the primary, has the fleet accept a
// message, promotes the standby once it has the message, demotes the old
// primary to its replica, and moves the front to the new primary: a
// failover as Sentinel or a managed Redis does it, behind a DNS name or a
// Service. It returns the message.
func failover(t *testing.T, fleet []*replica, primary, standby *redistest.Redis, front *redistest.Front, body string) *message {
	t.Helper()
	// (A full sync starts at once, not after the default 5 s wait for
	// other replicas.)
	for _, r := range []*redistest.Redis{primary, standby} {
		if r := r.Do(t, "CONFIG SET repl-diskless-sync-delay 0"); r != "+OK" {
			t.Fatalf("CONFIG SET: %s", r)
		}
	}
	if r := standby.Do(t, "REPLICAOF "+strings.Replace(primary.Addr, ":", " ", 1)); r != "+OK" {
		t.Fatalf("REPLICAOF: %s", r)
	}
	before := faasCLI(t, body)
	fleet[0].expect(t, "a message before the failover", before, "192.0.2.13", http.StatusOK, "")
	standby.AwaitCopyOf(t, primary)
	if r := standby.Do(t, "REPLICAOF NO ONE"); r != "+OK" {
		t.Fatalf("REPLICAOF NO ONE: %s", r)
	}
	if r := primary.Do(t, "REPLICAOF "+strings.Replace(standby.Addr, ":", " ", 1)); r != "+OK" {
		t.Fatalf("REPLICAOF: %s", r)
	}
	front.Lead(standby)
	return before
}

// recovered waits (up to 10 s) until r accepts a new signed call; every
// answer meanwhile must be the outage policy's.
func recovered(t *testing.T, r *replica, body string, since time.Time) {
	t.Helper()
	for i := 0; time.Since(since) < 10*time.Second; i++ {
		a := r.send(faasCLI(t, body+" try "+strconv.Itoa(i)), "192.0.2.12")
		switch {
		case a.status == http.StatusOK:
			return
		case a.status != http.StatusTooManyRequests || a.code != "store_unavailable":
			t.Errorf("%s while the store recovers: %v", r.name, a)
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("%s did not accept signed calls within 10 s of Redis coming back", r.name)
}

// loadResult sums up a load run.
type loadResult struct {
	n            int
	answers      map[string]int // "status code" or the transport error
	noRetryAfter int
	max          time.Duration
}

// load has workers clients send fresh faas-cli-signed calls round the
// fleet for d, each waiting for its answer before the next.
func load(t *testing.T, fleet []*replica, workers int, d time.Duration, tag string) loadResult {
	t.Helper()
	res := loadResult{answers: map[string]int{}}
	var mu sync.Mutex
	var wg sync.WaitGroup
	deadline := time.Now().Add(d)
	for w := 0; w < workers; w++ {
		w := w
		wg.Add(1)
		go func() {
			defer wg.Done()
			from := "192.0.2." + strconv.Itoa(100+w)
			for i := 0; time.Now().Before(deadline); i++ {
				r := fleet[(w+i)%len(fleet)]
				a := r.send(faasCLI(t, fmt.Sprintf("%s load %d %d", tag, w, i)), from)
				mu.Lock()
				res.n++
				res.answers[a.String()]++
				if a.status == http.StatusTooManyRequests && a.retryAfter == "" {
					res.noRetryAfter++
				}
				if a.latency > res.max {
					res.max = a.latency
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return res
}
