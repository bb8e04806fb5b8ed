// Package floor is the least an interpreted HMAC middleware can do: read
// the body, one HMAC-SHA256 of it, a constant-time comparison with the
// faas-cli header, the body put back for the upstream. BenchmarkUnderYaegi
// runs it beside funcauth: the interpreter's floor for a signature check.
package floor

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
)

// Config is the middleware's configuration.
type Config struct {
	Key string
}

// CreateConfig returns the default configuration.
func CreateConfig() *Config { return &Config{} }

type floor struct {
	next http.Handler
	key  []byte
}

// New returns the middleware.
func New(ctx context.Context, next http.Handler, config *Config, name string) (http.Handler, error) {
	return &floor{next: next, key: []byte(config.Key)}, nil
}

func (f *floor) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		http.Error(w, "unreadable body", http.StatusBadRequest)
		return
	}
	mac := hmac.New(sha256.New, f.key)
	mac.Write(body)
	want := "sha256=" + hex.EncodeToString(mac.Sum(nil))
	if !hmac.Equal([]byte(r.Header.Get("Hmac")), []byte(want)) {
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	f.next.ServeHTTP(w, r)
}
