// Package faascli checks funcauth against faas-cli's own signing library,
// github.com/alexellis/hmac/v2, which `faas-cli invoke --sign` uses.
package faascli

import (
	"bytes"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"hash"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/alexellis/hmac/v2"
	"github.com/funcauth/funcauth"
	"github.com/funcauth/funcauth/internal/sign"
)

// faasCLIHeader builds the header value exactly as faas-cli's invoke
// command does: hex of hmac.Sign, behind "sha256=" (faas-cli 0.17.1 and
// later) or "sha1=" (before).
func faasCLIHeader(alg string, body []byte, key string) string {
	var h func() hash.Hash = sha256.New
	if alg == "sha1" {
		h = sha1.New
	}
	return alg + "=" + hex.EncodeToString(hmac.Sign(body, []byte(key), h))
}

func TestFaaSCLISignaturesAreAccepted(t *testing.T) {
	key := "s3cr3t-payload-key"
	guard, err := funcauth.New(&funcauth.Config{
		Preset:    "openfaas",
		BasicAuth: &funcauth.BasicAuth{Users: []funcauth.User{{Name: "admin", PasswordHash: "$pbkdf2-sha256$i=100000$FvsaKqDUjTxkY0LDcLY6LQ$avC3cRwBiE71Wx/YKvObS6LpxMgpuYhieUKArM2/40k"}}},
		// allow_empty_body: the empty body is among the bodies whose
		// signatures must agree with faas-cli's (refused by default).
		Signatures: []funcauth.Signature{{Scheme: "faas-cli", Keys: []string{key}, Tolerance: "0s", AllowEmptyBody: true}},
		Body:       &funcauth.Body{MemorySize: "4KiB"},
		Bans:       &funcauth.Bans{Disabled: true}, // this test fails on purpose more often than a ban allows
	}, funcauth.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var got []byte
	upstream := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got, _ = io.ReadAll(r.Body) })
	srv := httptest.NewServer(guard.Handler(upstream, nil))
	defer srv.Close()

	bodies := [][]byte{nil, []byte("The message"), []byte(`{"a":1}` + "\n")}
	for _, n := range []int{1, 4095, 4097, 1 << 20} {
		b := make([]byte, n)
		rand.Read(b)
		bodies = append(bodies, b)
	}
	for _, alg := range []string{"sha256", "sha1"} {
		for _, body := range bodies {
			for _, k := range []string{key, "wrong"} {
				header := faasCLIHeader(alg, body, k)
				// funcauth's test signer agrees with faas-cli's library.
				h, err := sign.Headers("faas-cli", k, sign.Options{Algorithm: alg}, sign.Message{Body: body})
				if err != nil || h.Get("Hmac") != header {
					t.Fatalf("internal/sign gives %q, faas-cli %q", h.Get("Hmac"), header)
				}
				if err := hmac.Validate(body, header, k); err != nil {
					t.Fatalf("faas-cli's own Validate refuses its header: %v", err)
				}
				req, _ := http.NewRequest("POST", srv.URL+"/function/env.openfaas-fn", bytes.NewReader(body))
				req.Header.Set("Content-Type", "text/plain")
				req.Header.Set("User-Agent", "faas-cli/0.18.12 (openfaas; linux; amd64)")
				req.Header.Set("Hmac", header)
				got = nil
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				want := http.StatusOK
				if k != key {
					want = http.StatusUnauthorized
				}
				if resp.StatusCode != want {
					t.Errorf("%s, %d-byte body, key %q: status %d, want %d", alg, len(body), k, resp.StatusCode, want)
				}
				if want == http.StatusOK && !bytes.Equal(got, body) {
					t.Errorf("%s, %d-byte body: upstream got %d bytes", alg, len(body), len(got))
				}
			}
		}
	}
}

// TestVectors pins faas-cli's documented vectors (../shared/FACTS.md) to
// its library, so a change in either side shows here.
func TestVectors(t *testing.T) {
	for _, tc := range []struct{ alg, key, body, want string }{
		{"sha1", "cookie", "The message", "sha1=9239edfe20185eafd7a5513c303b03d207d22f64"},
		{"sha256", "cookie", "The message", "sha256=8e53524e6c9a789ea2df51e34297940866d0b15a061f6c21a4870dfa5ded19cb"},
		{"sha256", "", "This is a message", "sha256=7fb67a61acd7a9fa2541bbde51cef1bd4086a5a3acec0a0c821b40e06e824cfc"},
		{"sha256", "KeySet", "", "sha256=51846d8900847a40a129743c98742c83a56c3cbc4f5aec188d7eb2de629d11df"},
	} {
		if got := faasCLIHeader(tc.alg, []byte(tc.body), tc.key); got != tc.want {
			t.Errorf("%s %q: %s, want %s", tc.alg, tc.body, got, tc.want)
		}
	}
}
