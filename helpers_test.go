package funcauth

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
	"time"
)

// testNow is the fixed time of guards built by newTestGuard. It lies apart
// from the system clock on purpose: no test may depend on today's date.
// FUNCAUTH_TEST_NOW (RFC 3339) moves it, which is how scripts/test.sh runs
// the core with its clock decades away from the system's, in both
// directions, as a system clock far in the future or past would.
var testNow = testClockStart()

func testClockStart() time.Time {
	if s := os.Getenv("FUNCAUTH_TEST_NOW"); s != "" {
		t, err := time.Parse(time.RFC3339, s)
		if err != nil {
			panic("FUNCAUTH_TEST_NOW: " + err.Error())
		}
		return t
	}
	return time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
}

// clock is a settable time source.
type clock struct{ t time.Time }

func (c *clock) now() time.Time          { return c.t }
func (c *clock) advance(d time.Duration) { c.t = c.t.Add(d) }

func newTestGuard(t testing.TB, cfg *Config, c *clock) *Guard {
	t.Helper()
	if c == nil {
		c = &clock{t: testNow}
	}
	g, err := New(cfg, Options{Now: c.now})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return g
}

// upstreamRecord is what the upstream behind a guard received.
type upstreamRecord struct {
	reached       bool
	header        http.Header
	body          []byte
	contentLength int64
}

// serve sends r through g's Handler to a recording upstream.
func serve(g *Guard, r *http.Request) (*httptest.ResponseRecorder, *Decision, *upstreamRecord) {
	up := &upstreamRecord{}
	var decision *Decision
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		up.reached = true
		up.header = r.Header.Clone()
		up.contentLength = r.ContentLength
		up.body, _ = io.ReadAll(r.Body)
		w.WriteHeader(http.StatusOK)
	})
	rec := httptest.NewRecorder()
	seeingAll(g, next, func(d *Decision) { decision = d }).ServeHTTP(rec, r)
	return rec, decision, up
}

// seeingAll is what Guard.Handler does, with see shown every decision
// (Handler's onDecision sees only those a host acts on).
func seeingAll(g *Guard, next http.Handler, see func(*Decision)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d := g.Check(r, g.ClientAddress(r))
		see(d)
		if !d.Allowed {
			g.WriteRefusal(w, d)
			return
		}
		d.Pass(w, r, next)
	})
}

func request(method, path, body string, header http.Header) *http.Request {
	var rd io.Reader
	if body != "" {
		rd = bytes.NewBufferString(body)
	}
	r := httptest.NewRequest(method, path, rd)
	for k, vs := range header {
		r.Header[k] = vs
	}
	return r
}

func hexMAC(key, body string) string {
	m := hmac.New(sha256.New, []byte(key))
	m.Write([]byte(body))
	return hex.EncodeToString(m.Sum(nil))
}

func httptestRecorder() *httptest.ResponseRecorder { return httptest.NewRecorder() }
