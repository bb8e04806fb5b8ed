package funcauth

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/funcauth/funcauth/internal/sign"
)

// benchGuard protects /function/* with a faas-cli verifier (replay
// protection off, so that one signed request can be checked repeatedly).
func benchGuard(b *testing.B, body *Body) *Guard {
	return newTestGuard(b, &Config{
		Preset:     "openfaas",
		BasicAuth:  &BasicAuth{Users: []User{{Name: "admin", PasswordHash: testHash}}},
		Signatures: []Signature{{Scheme: "faas-cli", Keys: []string{"cookie"}, Tolerance: "0s"}},
		Body:       body,
		Bans:       &Bans{Disabled: true},
	}, nil)
}

func signedBenchRequest(body []byte) *http.Request {
	m := hmac.New(sha256.New, []byte("cookie"))
	m.Write(body)
	r := httptest.NewRequest("POST", "/function/env.openfaas-fn", bytes.NewReader(body))
	r.Header.Set("Hmac", "sha256="+hex.EncodeToString(m.Sum(nil)))
	return r
}

// requestFrom makes a fresh request like template with body, as cheaply as
// a server does, so that benchmarks measure the check and not the setup.
func requestFrom(template *http.Request, body []byte) *http.Request {
	r := *template
	r.Header = make(http.Header, len(template.Header)+1)
	for k, v := range template.Header {
		r.Header[k] = v
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	r.ContentLength = int64(len(body))
	return &r
}

// reusedRequest remakes a request like template in the same memory each
// time, as a server reuses a connection's buffers, so that a benchmark
// counts the check's allocations and not those of its setup.
type reusedRequest struct {
	template *http.Request
	body     []byte
	r        http.Request
	header   http.Header
	reader   bytes.Reader
	closer   io.ReadCloser // reader, as a request body
}

func newReusedRequest(template *http.Request, body []byte) *reusedRequest {
	u := &reusedRequest{template: template, body: body, header: make(http.Header, len(template.Header)+2)}
	u.closer = io.NopCloser(&u.reader)
	return u
}

// next returns the request, as template made it.
func (u *reusedRequest) next() *http.Request {
	for k := range u.header {
		delete(u.header, k)
	}
	for k, v := range u.template.Header {
		u.header[k] = v
	}
	u.r = *u.template
	u.r.Header = u.header
	u.reader.Reset(u.body)
	u.r.Body = u.closer
	u.r.ContentLength = int64(len(u.body))
	return &u.r
}

// BenchmarkSignature verifies a faas-cli signature through the whole Guard
// (rule match, header parse, body read, MAC, upstream body) and, side by
// side, plain crypto/hmac over the same bytes, the two interleaved in
// blocks of about 64 KiB of body each so that a noisy machine slows both
// alike. "x-hmac" is the ratio of their times. The allocations are counted
// apart, per check and per plain HMAC; the request is remade in the same
// memory each time (see reusedRequest), so they are the check's own.
func BenchmarkSignature(b *testing.B) {
	for _, size := range []int{1 << 10, 1 << 20} {
		size := size
		body := bytes.Repeat([]byte("a"), size)
		b.Run(strconv.Itoa(size>>10)+"KiB", func(b *testing.B) {
			g := benchGuard(b, &Body{MaxSize: "2MiB", MemorySize: "2MiB"})
			template := signedBenchRequest(body)
			want, _ := hex.DecodeString(template.Header.Get("Hmac")[7:])
			req := newReusedRequest(template, body)
			check := func() {
				r := req.next()
				d := g.Check(r, "192.0.2.1")
				if !d.Allowed {
					b.Fatal(d.Reason)
				}
				io.Copy(io.Discard, r.Body)
				r.Body.Close() // as http.Transport does
				d.Close()
			}
			plain := func() {
				m := hmac.New(sha256.New, []byte("cookie"))
				m.Write(body)
				if !hmac.Equal(m.Sum(nil), want) {
					b.Fatal("mismatch")
				}
			}
			checkAllocs, checkBytes := allocated(check)
			plainAllocs, _ := allocated(plain)
			block := (64 << 10) / size
			if block < 1 {
				block = 1
			}
			b.SetBytes(int64(size))
			b.ResetTimer()
			var checkNs, plainNs time.Duration
			for done := 0; done < b.N; done += block {
				n := b.N - done
				if n > block {
					n = block
				}
				t0 := time.Now()
				for i := 0; i < n; i++ {
					check()
				}
				t1 := time.Now()
				for i := 0; i < n; i++ {
					plain()
				}
				checkNs += t1.Sub(t0)
				plainNs += time.Since(t1)
			}
			b.StopTimer()
			n := float64(b.N)
			b.ReportMetric(float64(checkNs.Nanoseconds())/n, "funcauth-ns/op")
			b.ReportMetric(float64(plainNs.Nanoseconds())/n, "hmac-ns/op")
			b.ReportMetric(float64(checkNs)/float64(plainNs), "x-hmac")
			b.ReportMetric(checkAllocs, "funcauth-allocs/op")
			b.ReportMetric(checkBytes, "funcauth-B/op")
			b.ReportMetric(plainAllocs, "hmac-allocs/op")
		})
	}
}

// allocated runs f 100 times and returns the objects and bytes it
// allocated per run.
func allocated(f func()) (objects, bytes float64) {
	f()
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	for i := 0; i < 100; i++ {
		f()
	}
	runtime.ReadMemStats(&m1)
	return float64(m1.Mallocs-m0.Mallocs) / 100, float64(m1.TotalAlloc-m0.TotalAlloc) / 100
}

// BenchmarkSignatureReplayCost verifies the same faas-cli signature with
// replay protection off and on (the clock moves past the window between
// checks, so the message is new each time), interleaved in one run, and
// reports the ratio: what remembering the message costs, the body's
// SHA-256 (its replay id) included.
func BenchmarkSignatureReplayCost(b *testing.B) {
	for _, size := range []int{1 << 10, 1 << 20} {
		size := size
		body := bytes.Repeat([]byte("a"), size)
		b.Run(strconv.Itoa(size>>10)+"KiB", func(b *testing.B) {
			off := benchGuard(b, &Body{MaxSize: "2MiB", MemorySize: "2MiB"})
			c := &clock{t: testNow}
			on := newTestGuard(b, &Config{
				Preset:     "openfaas",
				BasicAuth:  &BasicAuth{Users: []User{{Name: "admin", PasswordHash: testHash}}},
				Signatures: []Signature{{Scheme: "faas-cli", Keys: []string{"cookie"}}},
				Body:       &Body{MaxSize: "2MiB", MemorySize: "2MiB"},
				Bans:       &Bans{Disabled: true},
			}, c)
			template := signedBenchRequest(body)
			b.SetBytes(int64(size))
			var offNs, onNs time.Duration
			for i := 0; i < b.N; i++ {
				for j, g := range []*Guard{off, on} {
					r := requestFrom(template, body)
					t0 := time.Now()
					d := g.Check(r, "192.0.2.1")
					io.Copy(io.Discard, r.Body)
					d.Finish(http.StatusOK)
					if j == 0 {
						offNs += time.Since(t0)
					} else {
						onNs += time.Since(t0)
					}
					if !d.Allowed {
						b.Fatal(d.Reason)
					}
				}
				c.advance(6 * time.Minute)
			}
			n := float64(b.N)
			b.ReportMetric(float64(offNs.Nanoseconds())/n, "off-ns/op")
			b.ReportMetric(float64(onNs.Nanoseconds())/n, "on-ns/op")
			b.ReportMetric(float64(onNs)/float64(offNs), "x-off")
		})
	}
}

// BenchmarkBasicAuthCached checks valid credentials that are already in the
// cache (the steady state of faas-cli list or the UI).
func BenchmarkBasicAuthCached(b *testing.B) {
	g := benchGuard(b, nil)
	template := httptest.NewRequest("GET", "/system/functions", nil)
	template.SetBasicAuth("admin", "correct horse battery staple")
	req := newReusedRequest(template, nil)
	check := func() {
		r := req.next()
		if d := g.Check(r, "192.0.2.1"); !d.Allowed {
			b.Fatal(d.Reason)
		}
	}
	check()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		check()
	}
}

// BenchmarkPBKDF2 is one uncached check at the default iteration count.
func BenchmarkPBKDF2(b *testing.B) {
	h, err := parsePBKDF2(testHash)
	if err != nil {
		b.Fatal(err)
	}
	for i := 0; i < b.N; i++ {
		if !h.verify([]byte("correct horse battery staple")) {
			b.Fatal("no match")
		}
	}
}

// BenchmarkLargeBody verifies a signed 64 MiB body, kept in memory up to
// the default 256 KiB and spooled beyond, and reports the heap in use at
// its peak and the bytes allocated per body: neither grows with the body.
func BenchmarkLargeBody(b *testing.B) {
	const size = 64 << 20
	g := benchGuard(b, &Body{MaxSize: "100MiB"})
	body := bytes.Repeat([]byte("z"), size)
	m := hmac.New(sha256.New, []byte("cookie"))
	m.Write(body)
	template := httptest.NewRequest("POST", "/function/env", nil)
	template.Header.Set("Hmac", "sha256="+hex.EncodeToString(m.Sum(nil)))
	var peak uint64
	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	base := ms.HeapInuse
	b.SetBytes(size)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r := requestFrom(template, body)
		d := g.Check(r, "192.0.2.1")
		if !d.Allowed {
			b.Fatal(d.Reason, d.Detail)
		}
		runtime.ReadMemStats(&ms)
		if ms.HeapInuse > peak {
			peak = ms.HeapInuse
		}
		io.Copy(io.Discard, r.Body)
		d.Close()
	}
	b.StopTimer()
	// The 64 MiB source buffer is part of the baseline; what the check
	// adds on top of it is what matters.
	b.ReportMetric(float64(peak-base)/(1<<20), "MiB-heap-added")
}

// BenchmarkReplayMemory fills a replay cache to its default bound and
// reports the heap it holds per entry.
func BenchmarkReplayMemory(b *testing.B) {
	for i := 0; i < b.N; i++ {
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		c := newReplayCache(100000)
		q := &replayQuota{verifier: "faas-cli", verifierMax: 100000, keyMax: 100000}
		for j := 0; j < 100000; j++ {
			checkReplay(c, q, "keys[0]", strconv.Itoa(j), 5*time.Minute, testNow)
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/100000, "B/entry")
		runtime.KeepAlive(c)
	}
}

// BenchmarkReplayShareFill is the attack of issue 10: whoever holds one
// key fills the replay memory as fast as the Guard accepts its messages.
// Two verifiers share the default 100,000 entries, so the leaked key fills
// its verifier's 50,000; it reports how long that takes, and checks that a
// genuine message under the other verifier still gets in.
func BenchmarkReplayShareFill(b *testing.B) {
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		g := newTestGuard(b, &Config{
			Rules: []Rule{{Path: "*", Require: "signature"}},
			Signatures: []Signature{
				{Scheme: "faas-cli", Keys: []string{"leaked"}},
				{Scheme: "stripe", Keys: []string{"whsec_stripe"}},
			},
			Bans: &Bans{Disabled: true},
		}, nil)
		reqs := make([]*http.Request, 60000)
		for j := range reqs {
			reqs[j] = signedRequest("/function/env", "flood "+strconv.Itoa(j), "leaked")
		}
		b.StartTimer()
		start := time.Now()
		accepted := 0
		for _, r := range reqs {
			if d := g.Check(r, "192.0.2.66"); d.Allowed {
				accepted++
			} else if d.Reason != ReasonReplayCacheFull {
				b.Fatalf("flood: %s", d.Reason)
			}
		}
		elapsed := time.Since(start)
		b.StopTimer()
		if accepted != 50000 {
			b.Fatalf("%d accepted, want the verifier's share of 50,000", accepted)
		}
		body := []byte(`{"id":"evt_1"}`)
		h, _ := sign.Headers("stripe", "whsec_stripe", sign.Options{}, sign.Message{Body: body, Timestamp: testNow})
		if d := g.Check(request("POST", "/function/payments", string(body), h), "192.0.2.2"); !d.Allowed {
			b.Fatalf("Stripe after the flood: %s", d.Reason)
		}
		b.ReportMetric(elapsed.Seconds(), "s-to-fill-share")
		b.StartTimer()
	}
}
