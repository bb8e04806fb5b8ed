package traefik

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"syscall"
	"testing"

	"github.com/funcauth/funcauth/internal/redistest"
	"github.com/funcauth/funcauth/internal/sign"
)

// BenchmarkStoreUnderYaegi measures what the shared store costs a signed
// request under Yaegi, one request at a time: the same faas-cli
// middleware (replay protection and bans on, as in
// scripts/bench-store.sh) with its state in memory and on a real
// redis-server on loopback. The difference is the interpreted client's
// work plus one loopback round trip.
func BenchmarkStoreUnderYaegi(b *testing.B) {
	p := loaded(b)
	srv := redistest.Start(b)
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.Copy(io.Discard, r.Body) })
	body := bytes.Repeat([]byte("a"), 1024)
	sent := 0 // every message new, over every run
	for _, c := range []struct {
		name  string
		store interface{}
	}{
		{"memory", nil},
		{"redis", map[string]interface{}{"address": srv.Addr, "timeout": "1s"}},
	} {
		options := signedFunctions(c.store)
		options["replay"] = map[string]interface{}{"maxEntries": 2000000}
		h, err := p.NewMiddleware(context.Background(), next, options, "store-"+c.name+"@file")
		if err != nil {
			b.Fatal(err)
		}
		b.Run(c.name, func(b *testing.B) {
			cpu := processCPU()
			for i := 0; i < b.N; i++ {
				sent++
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, faasSigned(append(strconv.AppendInt(nil, int64(sent), 10), body...)))
				if rec.Code != http.StatusOK {
					b.Fatal(rec.Code, rec.Body.String())
				}
			}
			// The CPU this process spent, less noisy than the wall clock
			// on a shared machine (Redis's own CPU is not in it).
			b.ReportMetric(float64(processCPU()-cpu)/float64(b.N)/1e3, "cpu-µs/op")
		})
	}
}

// processCPU is the user and system CPU time this process has used, in ns.
func processCPU() int64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return ru.Utime.Nano() + ru.Stime.Nano()
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
