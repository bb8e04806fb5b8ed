package traefik

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/funcauth/funcauth/internal/cputime"
	"github.com/funcauth/funcauth/internal/redistest"
	"github.com/funcauth/funcauth/internal/sign"
)

// BenchmarkStoreUnderYaegi measures what the shared store costs a signed
// request under Yaegi: the same faas-cli middleware (replay protection and
// bans on, as in scripts/bench-store.sh) with its state in memory and on
// a real redis-server on loopback, one request at a time (serial) and 16
// at a time (parallel, as under load, where requests that find a round
// trip in flight ride in the next one). The store's cases claim a message
// with a plain SET NX PX where no ban applies (redis: the client is on the
// bans' allow list, as in scripts/bench-store.sh) and with the client's ban
// (PTTL) before it where bans apply (redis-bans, the default). The difference is the
// interpreted client's work plus the round trips; cpu-µs/op is the CPU
// this process spent per request, less noisy than the wall clock on a
// shared machine (Redis's own CPU is not in it).
func BenchmarkStoreUnderYaegi(b *testing.B) {
	p := loaded(b)
	srv := redistest.Start(b)
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.Copy(io.Discard, r.Body) })
	body := bytes.Repeat([]byte("a"), 1024)
	var sent int64 // every message new, over every run
	redis := map[string]interface{}{"address": srv.Addr, "timeout": "1s"}
	for _, c := range []struct {
		name        string
		store       interface{}
		allowListed bool
	}{
		{"memory", nil, true},
		{"redis", redis, true},
		{"redis-bans", redis, false},
	} {
		options := signedFunctions(c.store)
		options["replay"] = map[string]interface{}{"maxEntries": 5000000}
		if c.allowListed {
			options["bans"] = map[string]interface{}{"allowList": []interface{}{"192.0.2.0/24"}}
		}
		h, err := p.NewMiddleware(context.Background(), next, options, "store-"+c.name+"@file")
		if err != nil {
			b.Fatal(err)
		}
		for _, workers := range []int{1, 16} {
			workers := workers
			mode := "serial"
			if workers > 1 {
				mode = "parallel"
			}
			b.Run(c.name+"/"+mode, func(b *testing.B) {
				b.ReportAllocs()
				cpu := cputime.Process()
				left := int64(b.N)
				var wg sync.WaitGroup
				for w := 0; w < workers; w++ {
					wg.Add(1)
					go func() {
						defer wg.Done()
						for atomic.AddInt64(&left, -1) >= 0 {
							n := atomic.AddInt64(&sent, 1)
							r := faasSigned(append(strconv.AppendInt(nil, n, 10), body...))
							r.RemoteAddr = "192.0.2.1:1234"
							rec := httptest.NewRecorder()
							h.ServeHTTP(rec, r)
							if rec.Code != http.StatusOK {
								b.Error(rec.Code, rec.Body.String())
								return
							}
						}
					}()
				}
				wg.Wait()
				b.ReportMetric(float64((cputime.Process()-cpu).Microseconds())/float64(b.N), "cpu-µs/op")
			})
		}
	}
}

// signedFunctions is a middleware's options for faas-cli signatures under
// the key "cookie" on /function/*, with store (nil for none) as its
// shared store.
func signedFunctions(store interface{}) map[string]interface{} {
	options := map[string]interface{}{
		"rules":      []interface{}{map[string]interface{}{"path": "/function/*", "require": "signature"}},
		"signatures": []interface{}{map[string]interface{}{"scheme": "faas-cli", "keys": []interface{}{"cookie"}}},
	}
	if store != nil {
		options["store"] = store
	}
	return options
}

// faasSigned is a POST of body to /function/env signed as faas-cli signs
// it (internal/sign), under the key "cookie".
func faasSigned(body []byte) *http.Request {
	h, err := sign.Headers("faas-cli", "cookie", sign.Options{}, sign.Message{Body: body})
	if err != nil {
		panic(err) // faas-cli's scheme with its defaults always signs
	}
	r := httptest.NewRequest("POST", "/function/env", bytes.NewReader(body))
	for name, values := range h {
		r.Header[name] = values
	}
	return r
}
