package funcauth

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"testing"
)

func TestSpooledBodiesLeaveNoFiles(t *testing.T) {
	dir := t.TempDir()
	g := newTestGuard(t, &Config{
		Rules:      []Rule{{Path: "/function/*", Require: "signature"}},
		Signatures: []Signature{{Scheme: "faas-cli", Keys: []string{"k"}, Tolerance: "0s"}},
		Body:       &Body{MaxSize: "4MiB", MemorySize: "1KiB", TempDir: dir},
	}, nil)
	body := strings.Repeat("x", 3<<20)
	var seenDuring []os.DirEntry
	up := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seenDuring, _ = os.ReadDir(dir)
		got, _ := io.ReadAll(r.Body)
		if string(got) != body || r.ContentLength != int64(len(body)) {
			t.Errorf("upstream got %d bytes, Content-Length %d", len(got), r.ContentLength)
		}
	})
	for _, key := range []string{"k", "wrong"} {
		r := request("POST", "/function/env", body, http.Header{"Hmac": {"sha256=" + hexMAC(key, body)}})
		g.Handler(up, nil).ServeHTTP(httptestRecorder(), r)
		if left, _ := os.ReadDir(dir); len(left) != 0 {
			t.Fatalf("key %s: %d files left in the temp dir", key, len(left))
		}
	}
	if len(seenDuring) != 0 {
		t.Errorf("the spool file was visible during the request (it should be unlinked at once)")
	}
}

func TestUnusableTempDirRefusesOnlyLargeBodies(t *testing.T) {
	dir := t.TempDir()
	g := newTestGuard(t, &Config{
		Rules:      []Rule{{Path: "/function/*", Require: "signature"}},
		Signatures: []Signature{{Scheme: "faas-cli", Keys: []string{"k"}, Tolerance: "0s"}},
		Body:       &Body{MemorySize: "1KiB", TempDir: dir},
	}, nil)
	// Take the directory away after start (the tests run as root, for whom
	// permissions would not stop the write).
	if err := os.Remove(dir); err != nil {
		t.Fatal(err)
	}
	small, large := "small", strings.Repeat("L", 4096)
	if d := g.Check(signedRequest("/function/env", small, "k"), "192.0.2.1"); !d.Allowed {
		t.Fatalf("small body: %s", d.Reason)
	}
	d := g.Check(signedRequest("/function/env", large, "k"), "192.0.2.1")
	if d.Reason != ReasonSpoolFailed || d.Status != http.StatusServiceUnavailable || !strings.Contains(d.Detail, "body.memory_size") {
		t.Fatalf("large body: %s %d %q", d.Reason, d.Status, d.Detail)
	}
}

// errReader fails after some bytes, as a client that disconnects does.
type errReader struct {
	data []byte
	err  error
}

func (e *errReader) Read(p []byte) (int, error) {
	if len(e.data) == 0 {
		return 0, e.err
	}
	n := copy(p, e.data)
	e.data = e.data[n:]
	return n, nil
}

func TestClientDisconnectMidBody(t *testing.T) {
	g := newTestGuard(t, &Config{
		Rules:      []Rule{{Path: "/function/*", Require: "signature"}},
		Signatures: []Signature{{Scheme: "faas-cli", Keys: []string{"k"}, Tolerance: "0s"}},
	}, nil)
	r := signedRequest("/function/env", "complete body", "k")
	r.Body = io.NopCloser(&errReader{data: []byte("compl"), err: io.ErrUnexpectedEOF})
	rec, d, up := serve(g, r)
	if d.Reason != ReasonBodyUnreadable || rec.Code != http.StatusBadRequest || up.reached {
		t.Fatalf("%s %d reached=%v", d.Reason, rec.Code, up.reached)
	}
	// A host's own limit (Caddy's request_body) is a 413.
	r = signedRequest("/function/env", "complete body", "k")
	r.Body = io.NopCloser(&errReader{data: []byte("compl"), err: &http.MaxBytesError{Limit: 5}})
	if d := g.Check(r, "192.0.2.1"); d.Reason != ReasonBodyTooLarge {
		t.Fatalf("host limit: %s", d.Reason)
	}
}

func TestLimitBodyStopsAtTheLimit(t *testing.T) {
	r := request("POST", "/", "", nil)
	r.Body = io.NopCloser(bytes.NewReader(make([]byte, 100)))
	r.ContentLength = -1
	if no := limitBody(r, 10); no != nil {
		t.Fatal(no.reason)
	}
	got, err := io.ReadAll(r.Body)
	var mbe *http.MaxBytesError
	if len(got) != 10 || !errors.As(err, &mbe) || mbe.Limit != 10 {
		t.Fatalf("read %d bytes, err %v", len(got), err)
	}
}

func TestRetryAfterRoundsUp(t *testing.T) {
	h := http.Header{}
	(&Decision{Status: 429, RetryAfter: 1500 * 1e6}).WriteHeaders(h)
	if h.Get("Retry-After") != "2" {
		t.Fatalf("Retry-After %q", h.Get("Retry-After"))
	}
}

// inUse returns the bytes held now.
func (m *memoryBudget) inUse() int64 {
	return atomic.LoadInt64(&m.held)
}
