package traefik

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"github.com/funcauth/funcauth/examples/internal/traefikload"
)

func TestSmoke(t *testing.T) {
	p, err := traefikload.Load("../..", t.TempDir(), os.Stdout, os.Stderr)
	if err != nil {
		t.Fatal(err)
	}
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(200) })
	h, err := p.NewMiddleware(context.Background(), next, p.Manifest.TestData, "x@file")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		path, user, pass, sig string
		body                  string
		want                  int
	}{
		{"/system/functions", "admin", "correct horse battery staple", "", "", 200},
		{"/system/functions", "admin", "wrong", "", "", 401},
		{"/function/env", "", "", "", "x", 401},
	} {
		req := httptest.NewRequest("GET", tc.path, nil)
		if tc.user != "" {
			req.SetBasicAuth(tc.user, tc.pass)
		}
		rec := httptest.NewRecorder()
		start := time.Now()
		h.ServeHTTP(rec, req)
		t.Logf("%s %d in %v", tc.path, rec.Code, time.Since(start))
		if rec.Code != tc.want {
			t.Errorf("%s: got %d want %d", tc.path, rec.Code, tc.want)
		}
	}
}
