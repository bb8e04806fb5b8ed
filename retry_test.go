package funcauth

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// retryInFront behaves as Traefik's retry middleware placed before
// funcauth: it wraps the body once and runs the rest of the chain again,
// each time with its own shallow copy of the request, until an attempt
// reaches an upstream that answers.
func retryInFront(attempts int, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		req.Body = io.NopCloser(req.Body)
		for i := 0; i < attempts; i++ {
			rec := httptest.NewRecorder()
			ctx := context.WithValue(req.Context(), retryAttemptKey{}, i)
			next.ServeHTTP(rec, req.WithContext(ctx))
			if rec.Code != http.StatusBadGateway || i == attempts-1 {
				for k, v := range rec.Header() {
					w.Header()[k] = v
				}
				w.WriteHeader(rec.Code)
				w.Write(rec.Body.Bytes())
				return
			}
		}
	})
}

type retryAttemptKey struct{}

// TestRetryBeforeFuncauthIsNotABadSignature: a retry middleware in front
// of funcauth hands the second attempt a body the first one already
// read. That is body_unreadable (400), never bad_signature, and never
// counts towards a ban (issue 10, item 18).
func TestRetryBeforeFuncauthIsNotABadSignature(t *testing.T) {
	g := newTestGuard(t, &Config{
		Rules:      []Rule{{Path: "/function/*", Require: "signature"}},
		Signatures: []Signature{{Scheme: "faas-cli", Keys: []string{"k"}}},
		Bans:       &Bans{MaxFailures: 1},
	}, nil)
	var reasons []Reason
	upstreamDown := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusBadGateway)
	})
	chain := retryInFront(3, seeingAll(g, upstreamDown, func(d *Decision) { reasons = append(reasons, d.Reason) }))
	for i := 0; i < 3; i++ {
		r := signedRequest("/function/env", "the payload", "k")
		r.RemoteAddr = "192.0.2.7:1234"
		rec := httptest.NewRecorder()
		chain.ServeHTTP(rec, r)
		if rec.Code != http.StatusBadRequest {
			t.Fatalf("round %d: status %d, want 400 (reasons %v)", i, rec.Code, reasons)
		}
	}
	for i, reason := range reasons {
		want := ReasonBodyUnreadable
		if i%2 == 0 {
			want = ReasonSigned
		}
		if reason != want {
			t.Fatalf("decision %d: %s, want %s (all: %v)", i, reason, want, reasons)
		}
	}
	if left := bannedFor(g.state.abuse.clients, "192.0.2.7", testNow); left > 0 {
		t.Fatal("the sender was banned")
	}
}

// TestShortBodyIsUnreadable: a body that ends before its Content-Length,
// or is gone altogether, is body_unreadable whatever the signature says;
// one longer than its Content-Length too.
func TestShortBodyIsUnreadable(t *testing.T) {
	g := newTestGuard(t, &Config{
		Rules:      []Rule{{Path: "/function/*", Require: "signature"}},
		Signatures: []Signature{{Scheme: "faas-cli", Keys: []string{"k"}, AllowEmptyBody: true}},
	}, nil)
	for _, tc := range []struct {
		name string
		body io.ReadCloser
	}{
		{"already read", io.NopCloser(strings.NewReader(""))},
		{"no body", http.NoBody},
		{"short", io.NopCloser(strings.NewReader("the pay"))},
		{"long", io.NopCloser(strings.NewReader("the payload and more"))},
	} {
		// Signed over what was sent: an empty body's MAC would verify.
		sent := "the payload"
		if tc.name == "already read" || tc.name == "no body" {
			sent = ""
		}
		r := signedRequest("/function/env", sent, "k")
		r.Body = tc.body
		r.ContentLength = int64(len("the payload"))
		rec, d, up := serve(g, r)
		if d.Reason != ReasonBodyUnreadable || rec.Code != http.StatusBadRequest || up.reached {
			t.Errorf("%s: %s %d (%s)", tc.name, d.Reason, rec.Code, d.Detail)
		}
	}
}
