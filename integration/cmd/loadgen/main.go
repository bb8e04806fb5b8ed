// Command loadgen drives a funcauth-protected gateway on loopback for a
// fixed time at a fixed concurrency and reports requests per second,
// latency percentiles, status counts and wrong decisions: requests whose
// status is not the one funcauth must give them (a valid signature 200, a
// forged one 401, a replay 401, an unsigned call 401).
//
// Scenarios:
//
//	get     GET -path (no credentials: an open route, or the baseline)
//	signed  POST -path with a fresh faas-cli-signed body of -size bytes each time
//	basic   GET -path with Basic credentials -user/-password
//	mix     60% valid signed, 20% forged signature, 10% replays of accepted
//	        requests, 10% unsigned, each checked against its expected status
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math/rand"
	"net/http"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/funcauth/funcauth/internal/sign"
)

func main() {
	base := flag.String("url", "http://127.0.0.1:8080", "gateway URL")
	scenario := flag.String("scenario", "signed", "get, signed, basic or mix")
	path := flag.String("path", "", "request path (default per scenario)")
	concurrency := flag.Int("c", 32, "concurrent connections")
	duration := flag.Duration("d", 10*time.Second, "how long to run")
	size := flag.Int("size", 1024, "body size for signed requests")
	key := flag.String("key", "cookie", "faas-cli key")
	keyFile := flag.String("key-file", "", "read the faas-cli key from this file, again every 100 ms (to follow a rotation)")
	user := flag.String("user", "admin", "Basic Auth user")
	password := flag.String("password", "correct horse battery staple", "Basic Auth password")
	label := flag.String("label", "", "name of this run in the output")
	jsonOut := flag.Bool("json", false, "print one JSON object instead of a table")
	flag.Parse()

	if *path == "" {
		switch *scenario {
		case "basic":
			*path = "/system/functions"
		case "get":
			*path = "/healthz"
		default:
			*path = "/function/env"
		}
	}
	g := &generator{base: *base, path: *path, scenario: *scenario, size: *size, user: *user, password: *password}
	g.key.Store(*key)
	if *keyFile != "" {
		data, err := os.ReadFile(*keyFile)
		if err != nil || strings.TrimSpace(string(data)) == "" {
			fmt.Fprintln(os.Stderr, "reading -key-file:", err)
			os.Exit(2)
		}
		g.key.Store(strings.TrimSpace(string(data)))
		go g.followKey(*keyFile)
	}
	if g.scenario != "get" && g.scenario != "signed" && g.scenario != "basic" && g.scenario != "mix" {
		fmt.Fprintln(os.Stderr, "unknown scenario", g.scenario)
		os.Exit(2)
	}
	res := g.run(*concurrency, *duration)
	if *label == "" {
		*label = *scenario
	}
	res.Label = *label
	if *jsonOut {
		json.NewEncoder(os.Stdout).Encode(res)
		return
	}
	fmt.Printf("%-28s %9.0f req/s  p50 %7.2f ms  p99 %7.2f ms  requests %d  wrong %d  5xx %d  errors %d  statuses %v\n",
		res.Label, res.RPS, res.P50ms, res.P99ms, res.Requests, res.Wrong, res.ServerErrors, res.TransportErrors, res.Statuses)
	if res.Wrong > 0 || res.ServerErrors > 0 {
		os.Exit(1)
	}
}

type generator struct {
	base, path, scenario string
	size                 int
	user, password       string
	key                  atomic.Value // string
	counter              atomic.Int64

	mu       sync.Mutex
	accepted []acceptedRequest // a ring of accepted signed requests, to replay
}

type acceptedRequest struct {
	body []byte
	sig  string
}

// Result is one run's figures.
type Result struct {
	Label           string         `json:"label"`
	Requests        int64          `json:"requests"`
	RPS             float64        `json:"rps"`
	P50ms           float64        `json:"p50_ms"`
	P99ms           float64        `json:"p99_ms"`
	Wrong           int64          `json:"wrong_decisions"`
	ServerErrors    int64          `json:"server_errors"`
	TransportErrors int64          `json:"transport_errors"`
	Statuses        map[string]int `json:"statuses"`
}

func (g *generator) run(concurrency int, d time.Duration) *Result {
	transport := &http.Transport{MaxIdleConns: concurrency, MaxIdleConnsPerHost: concurrency, DisableCompression: true}
	client := &http.Client{Transport: transport, Timeout: 30 * time.Second}
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		lat      []time.Duration
		statuses = map[string]int{}
		wrong    atomic.Int64
		errs     atomic.Int64
		s5xx     atomic.Int64
	)
	stop := time.Now().Add(d)
	start := time.Now()
	for w := 0; w < concurrency; w++ {
		wg.Add(1)
		go func(seed int64) {
			defer wg.Done()
			rng := rand.New(rand.NewSource(seed))
			var local []time.Duration
			localStatus := map[string]int{}
			for time.Now().Before(stop) {
				req, want, remember, kind := g.next(rng)
				t0 := time.Now()
				resp, err := client.Do(req)
				if err != nil {
					errs.Add(1)
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				local = append(local, time.Since(t0))
				localStatus[strconv.Itoa(resp.StatusCode)]++
				if resp.StatusCode >= 500 {
					s5xx.Add(1)
				}
				if resp.StatusCode != want {
					if wrong.Add(1) <= 5 {
						fmt.Fprintf(os.Stderr, "wrong decision at %v: %s %s got %d, want %d (%s)\n", time.Since(start).Round(time.Millisecond), req.Method, req.URL.Path, resp.StatusCode, want, kind)
					}
				}
				if remember != nil && resp.StatusCode == http.StatusOK {
					g.remember(*remember)
				}
			}
			mu.Lock()
			lat = append(lat, local...)
			for k, v := range localStatus {
				statuses[k] += v
			}
			mu.Unlock()
		}(int64(w) + time.Now().UnixNano())
	}
	wg.Wait()
	elapsed := time.Since(start)
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	pct := func(p float64) float64 {
		if len(lat) == 0 {
			return 0
		}
		return float64(lat[int(p*float64(len(lat)-1))].Microseconds()) / 1000
	}
	return &Result{
		Requests:        int64(len(lat)),
		RPS:             float64(len(lat)) / elapsed.Seconds(),
		P50ms:           pct(0.50),
		P99ms:           pct(0.99),
		Wrong:           wrong.Load(),
		ServerErrors:    s5xx.Load(),
		TransportErrors: errs.Load(),
		Statuses:        statuses,
	}
}

// next makes the next request, the status it must get and what kind of
// request it is.
func (g *generator) next(rng *rand.Rand) (*http.Request, int, *acceptedRequest, string) {
	url := g.base + g.path
	switch g.scenario {
	case "get":
		req, _ := http.NewRequest("GET", url, nil)
		return req, http.StatusOK, nil, "get"
	case "basic":
		req, _ := http.NewRequest("GET", url, nil)
		req.SetBasicAuth(g.user, g.password)
		return req, http.StatusOK, nil, "basic"
	case "signed":
		body := g.body()
		req := g.signed(url, body, g.sign(body))
		return req, http.StatusOK, &acceptedRequest{}, "signed"
	}
	switch r := rng.Intn(10); {
	case r < 6:
		body := g.body()
		sig := g.sign(body)
		return g.signed(url, body, sig), http.StatusOK, &acceptedRequest{body: body, sig: sig}, "valid"
	case r < 8:
		body := g.body()
		return g.signed(url, body, "sha256="+fmt.Sprintf("%064x", rng.Uint64())), http.StatusUnauthorized, nil, "forged"
	case r < 9:
		if old, ok := g.replay(rng); ok {
			return g.signed(url, old.body, old.sig), http.StatusUnauthorized, nil, "replay"
		}
		fallthrough
	default:
		req, _ := http.NewRequest("POST", url, bytes.NewReader(g.body()))
		return req, http.StatusUnauthorized, nil, "unsigned"
	}
}

// body is a fresh body of the configured size: a counter makes each one
// (and so its signature) unique, so replay protection lets it through.
func (g *generator) body() []byte {
	n := g.counter.Add(1)
	prefix := strconv.FormatInt(n, 10) + "-" + strconv.FormatInt(time.Now().UnixNano(), 10) + ":"
	b := make([]byte, g.size)
	copy(b, prefix)
	for i := len(prefix); i < len(b); i++ {
		b[i] = 'a' + byte(i%26)
	}
	if g.size < len(prefix) {
		return []byte(prefix)
	}
	return b
}

// followKey keeps the signing key in step with a key file.
func (g *generator) followKey(path string) {
	for {
		if data, err := os.ReadFile(path); err == nil {
			if k := strings.TrimSpace(string(data)); k != "" {
				g.key.Store(k)
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (g *generator) sign(body []byte) string {
	h, err := sign.Headers("faas-cli", g.key.Load().(string), sign.Options{}, sign.Message{Body: body})
	if err != nil {
		panic(err)
	}
	return h.Get("Hmac")
}

func (g *generator) signed(url string, body []byte, sig string) *http.Request {
	req, _ := http.NewRequest("POST", url, bytes.NewReader(body))
	req.Header.Set("Hmac", sig)
	req.Header.Set("Content-Type", "text/plain")
	return req
}

func (g *generator) remember(a acceptedRequest) {
	if a.body == nil {
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.accepted) < 1024 {
		g.accepted = append(g.accepted, a)
		return
	}
	g.accepted[rand.Intn(len(g.accepted))] = a
}

func (g *generator) replay(rng *rand.Rand) (acceptedRequest, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.accepted) == 0 {
		return acceptedRequest{}, false
	}
	return g.accepted[rng.Intn(len(g.accepted))], true
}
