package funcauth

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/funcauth/funcauth/internal/cputime"
	"github.com/funcauth/funcauth/internal/redistest"
)

// BenchmarkSignedOnStore is what the shared store costs a signed request
// natively, as in Caddy: faas-cli-signed requests of 1 KiB, 16 at a time
// per CPU (32 on 2 cores, as scripts/bench-store.sh), each of them from
// its own address, with state in memory and on a real redis-server, from
// clients allow-listed from bans (the claim alone) and from clients bans
// apply to (the client's ban and the claim, pipelined). Beside ns/op it reports
// the process's CPU time per request (cpu-µs/op, from getrusage: a
// parallel benchmark's wall time hides what waiting costs, and counts
// Redis's own CPU on a shared host) and Redis's read events per request
// (trips/op: one per round trip, however many commands it pipelines).
// The cases of one run share the machine at different moments: run them
// alternately with -count and compare medians.
func BenchmarkSignedOnStore(b *testing.B) {
	srv := redistest.Start(b)
	info := newRedisClient("tcp", srv.Addr, "", "", 0, nil, 5*time.Second, 1)
	defer info.close()
	body := bytes.Repeat([]byte("a"), 1024)
	var seq int64
	for _, c := range []struct {
		name       string
		store      bool
		exemptBans bool
	}{
		{"memory", false, true},
		{"redis", true, true},
		{"memory-bans", false, false},
		{"redis-bans", true, false},
	} {
		cfg := &Config{
			Preset:     "openfaas",
			BasicAuth:  &BasicAuth{Users: []User{{Name: "admin", PasswordHash: testHash}}},
			Signatures: []Signature{{Scheme: "faas-cli", Keys: []string{"cookie"}}},
			Bans:       &Bans{AllowList: []string{}},
			Replay:     &Replay{MaxEntries: 5000000},
		}
		if c.exemptBans {
			cfg.Bans.AllowList = []string{"10.0.0.0/16"}
		}
		if c.store {
			cfg.Store = &Store{Address: srv.Addr}
		}
		b.Run(c.name, func(b *testing.B) {
			g := newTestGuard(b, cfg, nil)
			b.Cleanup(g.Release)
			h := g.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}), nil)
			reads := readsProcessed(b, info)
			cpu := cputime.Process()
			b.ResetTimer()
			b.SetParallelism(16)
			var workers int64
			b.RunParallel(func(pb *testing.PB) {
				// An address each: one address's checks in flight are
				// bounded by bans.max_failures (the hardening's rule).
				w := atomic.AddInt64(&workers, 1)
				addr := "10.0." + strconv.FormatInt(w>>8&255, 10) + "." + strconv.FormatInt(w&255, 10) + ":1234"
				for pb.Next() {
					// A new message each time: the replay memory refuses a repeat.
					n := atomic.AddInt64(&seq, 1)
					r := signedBenchRequest(append([]byte(strconv.FormatInt(n, 10)+" "), body...))
					r.RemoteAddr = addr
					w := httptest.NewRecorder()
					h.ServeHTTP(w, r)
					if w.Code != http.StatusOK {
						b.Fatalf("signed request got %d: %s", w.Code, w.Body)
					}
				}
			})
			b.StopTimer()
			b.ReportMetric(float64((cputime.Process()-cpu).Microseconds())/float64(b.N), "cpu-µs/op")
			if c.store {
				// Less the read of the INFO that counts them.
				b.ReportMetric(float64(readsProcessed(b, info)-reads-1)/float64(b.N), "trips/op")
			}
		})
	}
}
