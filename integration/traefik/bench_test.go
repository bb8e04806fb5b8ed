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
	"testing"
)

// BenchmarkUnderYaegi measures funcauth interpreted as Traefik runs it:
// an uncached PBKDF2 check at the default 100,000 iterations (a wrong
// password each time, so the cache never answers) and a faas-cli
// signature check on a 1 KiB body.
func BenchmarkUnderYaegi(b *testing.B) {
	p := loaded(b)
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.Copy(io.Discard, r.Body) })
	h, err := p.NewMiddleware(context.Background(), next, map[string]interface{}{
		"preset":     "openfaas",
		"basicAuth":  map[string]interface{}{"users": []interface{}{map[string]interface{}{"name": "admin", "passwordHash": "$pbkdf2-sha256$i=100000$FvsaKqDUjTxkY0LDcLY6LQ$avC3cRwBiE71Wx/YKvObS6LpxMgpuYhieUKArM2/40k"}}},
		"signatures": []interface{}{map[string]interface{}{"scheme": "faas-cli", "keys": []interface{}{"cookie"}, "tolerance": "0s"}},
		"bans":       map[string]interface{}{"disabled": "true"},
	}, "bench@file")
	if err != nil {
		b.Fatal(err)
	}
	b.Run("PBKDF2-uncached", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			r := httptest.NewRequest("GET", "/system/functions", nil)
			r.SetBasicAuth("admin", "wrong "+strconv.Itoa(i))
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, r)
			if rec.Code != http.StatusUnauthorized {
				b.Fatal(rec.Code)
			}
		}
	})
	body := bytes.Repeat([]byte("a"), 1024)
	mac := hmac.New(sha256.New, []byte("cookie"))
	mac.Write(body)
	sig := "sha256=" + hex.EncodeToString(mac.Sum(nil))
	b.Run("signature-1KiB", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			r := httptest.NewRequest("POST", "/function/env", bytes.NewReader(body))
			r.Header.Set("Hmac", sig)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, r)
			if rec.Code != http.StatusOK {
				b.Fatal(rec.Code)
			}
		}
	})
}
