package traefik

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/funcauth/funcauth/internal/redistest"
)

// Under Yaegi as under Go, requests that find every connection of the
// store's pool busy wait and share the next round trip: with a pool of
// one connection and many requests at once, every signed message is
// claimed once, and each request gets its own answer.
func TestStorePoolSharedByConcurrentRequestsUnderYaegi(t *testing.T) {
	srv := redistest.Start(t)
	h := onePoolMiddleware(t, srv.Addr, "5s", "store-pool@file")
	const senders, each = 16, 20
	answers := make([][]string, senders)
	var wg sync.WaitGroup
	for s := 0; s < senders; s++ {
		s := s
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				// Every second message is the same for all senders: one
				// of them may have it.
				// (The server's address keeps each run's messages new to
				// the plugin's State, which outlives the middleware.)
				body := []byte(srv.Addr + " message " + strconv.Itoa(s) + "/" + strconv.Itoa(i))
				if i%2 == 1 {
					body = []byte(srv.Addr + " shared message " + strconv.Itoa(i))
				}
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, faasSigned(body))
				answers[s] = append(answers[s], strconv.Itoa(rec.Code)+" "+refusalCode(rec.Body.Bytes()))
			}
		}()
	}
	wg.Wait()
	for i := 0; i < each; i++ {
		accepted := 0
		for s := 0; s < senders; s++ {
			switch a := answers[s][i]; {
			case a == "200 ":
				accepted++
			case a == "401 replayed" && i%2 == 1:
			default:
				t.Errorf("sender %d, message %d: %s", s, i, a)
			}
		}
		if i%2 == 1 && accepted != 1 {
			t.Errorf("shared message %d accepted %d times, want once", i, accepted)
		}
	}
}

// A store that stalls for less than the timeout delays requests but
// fails none, under Yaegi as under Go: while the round trip in flight
// waits, the requests that come meanwhile form batches, each taking
// requests for an eighth of the timeout, and the batches ride together in
// the next round trip (TestRedisClientLateCallsStartTheNextBatchOfTheSameRoundTrip
// checks that in Go; here the interpreted client runs it).
func TestStoreStallShorterThanTheTimeoutFailsNoRequestUnderYaegi(t *testing.T) {
	srv := redistest.Start(t)
	h := onePoolMiddleware(t, srv.Addr, "3s", "store-stall@file")
	var wg sync.WaitGroup
	var mu sync.Mutex
	answers := map[string]int{}
	send := func(i int) {
		defer wg.Done()
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, faasSigned([]byte(srv.Addr+" stall "+strconv.Itoa(i))))
		mu.Lock()
		answers[strconv.Itoa(rec.Code)+" "+refusalCode(rec.Body.Bytes())]++
		mu.Unlock()
	}
	// A request every 40ms for 1.4s, Redis frozen for 1s of it: a few
	// eighths of the timeout, so several batches wait when it thaws.
	const requests = 35
	for i := 0; i < requests; i++ {
		switch i {
		case 5:
			srv.Freeze(t)
		case 30:
			srv.Thaw(t)
		}
		wg.Add(1)
		go send(i)
		time.Sleep(40 * time.Millisecond)
	}
	wg.Wait()
	if answers["200 "] != requests {
		t.Fatalf("answers across a stall shorter than the timeout: %v, want %d 200s", answers, requests)
	}
}

// onePoolMiddleware is the faas-cli middleware of signedFunctions with
// its state on the Redis at addr, through a pool of one connection, under
// the given timeout.
func onePoolMiddleware(t *testing.T, addr, timeout, name string) http.Handler {
	t.Helper()
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.Copy(io.Discard, r.Body) })
	options := signedFunctions(map[string]interface{}{"address": addr, "timeout": timeout, "poolSize": 1})
	h, err := loaded(t).NewMiddleware(context.Background(), next, options, name)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// refusalCode is the reason code of a refusal's JSON body, "" for another
// body.
func refusalCode(body []byte) string {
	var refusal struct {
		Error string `json:"error"`
	}
	json.Unmarshal(body, &refusal)
	return refusal.Error
}

// The store's settings are checked under Yaegi as under Go: a middleware
// built on a Redis that evicts keys writes the warning to Traefik's error
// log.
func TestStoreSettingsCheckedUnderYaegi(t *testing.T) {
	p := loaded(t)
	srv := redistest.Start(t, "--maxmemory", "64mb", "--maxmemory-policy", "allkeys-lfu")
	errorLog.take()
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})
	if _, err := p.NewMiddleware(context.Background(), next, signedFunctions(map[string]interface{}{"address": srv.Addr}), "store-settings@file"); err != nil {
		t.Fatal(err)
	}
	if out := errorLog.take(); !strings.Contains(out, `funcauth store settings: middleware="store-settings@file"`) || !strings.Contains(out, "maxmemory-policy allkeys-lfu") {
		t.Errorf("no warning naming the policy in Traefik's log:\n%s", out)
	}
}

// Under Yaegi as under Go, a store found through Sentinel follows a
// failover: with the primary dead, signed calls get the deny policy's 429
// store_unavailable until Sentinel has promoted the replica, then are
// accepted on it, and a message accepted before the failover (and
// replicated) is still refused as a replay.
func TestStoreFollowsSentinelUnderYaegi(t *testing.T) {
	p := loaded(t)
	primary := redistest.Start(t)
	replica := redistest.Start(t, "--replicaof", strings.Replace(primary.Addr, ":", " ", 1))
	sentinel := redistest.StartSentinel(t, "funcauth", primary)
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.Copy(io.Discard, r.Body) })
	options := signedFunctions(map[string]interface{}{
		"sentinel": map[string]interface{}{"master": "funcauth", "addresses": []interface{}{sentinel.Addr}},
		"timeout":  "1s",
	})
	h, err := p.NewMiddleware(context.Background(), next, options, "store-sentinel@file")
	if err != nil {
		t.Fatal(err)
	}
	send := func(body string) string {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, faasSigned([]byte(sentinel.Addr+" "+body)))
		return strconv.Itoa(rec.Code) + " " + refusalCode(rec.Body.Bytes())
	}
	if a := send("before"); a != "200 " {
		t.Fatalf("a message through Sentinel: %s", a)
	}
	replica.AwaitCopyOf(t, primary)
	primary.Kill(t)
	start := time.Now()
	for i := 0; ; i++ {
		a := send("after " + strconv.Itoa(i))
		if a == "200 " {
			break
		}
		if a != "429 store_unavailable" {
			t.Fatalf("during the failover: %s, want 429 store_unavailable", a)
		}
		if time.Since(start) > 20*time.Second {
			t.Fatal("no message accepted within 20 s of the primary's death")
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("accepted on the new primary %v after the old one died", time.Since(start).Round(100*time.Millisecond))
	if a := send("before"); a != "401 replayed" {
		t.Errorf("the message accepted before the failover, again: %s, want 401 replayed", a)
	}
}
