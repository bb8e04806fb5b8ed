package traefik

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"syscall"
	"testing"

	"github.com/funcauth/funcauth/internal/redistest"
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
		options := map[string]interface{}{
			"rules":      []interface{}{map[string]interface{}{"path": "/function/*", "require": "signature"}},
			"signatures": []interface{}{map[string]interface{}{"scheme": "faas-cli", "keys": []interface{}{"cookie"}}},
			"replay":     map[string]interface{}{"maxEntries": 2000000},
		}
		if c.store != nil {
			options["store"] = c.store
		}
		h, err := p.NewMiddleware(context.Background(), next, options, "store-"+c.name+"@file")
		if err != nil {
			b.Fatal(err)
		}
		b.Run(c.name, func(b *testing.B) {
			cpu := processCPU()
			for i := 0; i < b.N; i++ {
				sent++
				m := append(strconv.AppendInt(nil, int64(sent), 10), body...)
				mac := hmac.New(sha256.New, []byte("cookie"))
				mac.Write(m)
				r := httptest.NewRequest("POST", "/function/env", bytes.NewReader(m))
				r.Header.Set("Hmac", "sha256="+hex.EncodeToString(mac.Sum(nil)))
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, r)
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
