package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/funcauth/funcauth/internal/sign"
)

// BadInputConfig is the funcauth configuration RawBadInput expects: the
// openfaas preset, faas-cli key "cookie", bodies up to 64 KiB spooled past
// 1 KiB into tempDir, no bans (the corpus fails on purpose).
func BadInputConfig(tempDir string) string {
	return fmt.Sprintf(`{"preset":"openfaas",
		"basic_auth":{"users":[{"name":"admin","password_hash":"$pbkdf2-sha256$i=10000$b3BzLXNhbHQtMTIzNDU2Nw$6hRJUBLyXIcGoFCLxRvLchRjFd7AjtS+7DAQOW3rfSk"}]},
		"signatures":[{"scheme":"faas-cli","keys":["cookie"],"tolerance":"0s"}],
		"body":{"max_size":"64KiB","memory_size":"1KiB","temp_dir":%q},
		"bans":{"disabled":true}}`, tempDir)
}

func signedHead(body []byte, extra string) string {
	h, _ := sign.Headers("faas-cli", "cookie", sign.Options{}, sign.Message{Body: body})
	return "POST /function/env HTTP/1.1\r\nHost: gateway.test\r\nHmac: " + h.Get("Hmac") + "\r\n" + extra + "\r\n"
}

// RawBadInput sends what a well-behaved HTTP client never sends straight
// down a socket to a proxy running funcauth with BadInputConfig: lying
// Content-Lengths, chunked bodies past the limit, slow and abandoned
// bodies. Each must end in a 4xx or a closed connection, never reach the
// upstream, never get a 5xx, and leave nothing in tempDir. A slow but
// complete signed body is served. readTimeout is the proxy's.
func RawBadInput(t *testing.T, addr string, upstream *Counter, tempDir string, readTimeout time.Duration) {
	body := []byte(strings.Repeat("0123456789abcdef", 256)) // 4 KiB: spooled
	refused := func(name string, res RawResult) {
		t.Helper()
		if res.Status >= 500 {
			t.Errorf("%s: %d", name, res.Status)
		}
		if res.Status != 0 && (res.Status < 400 || res.Status >= 500) {
			t.Errorf("%s: status %d, want a 4xx or a closed connection", name, res.Status)
		}
	}
	check := func(name string, before int64) {
		t.Helper()
		time.Sleep(200 * time.Millisecond)
		if upstream.Count() != before {
			t.Errorf("%s reached the upstream", name)
		}
		DirEmpty(t, tempDir)
	}

	before := upstream.Count()
	res := Raw(t, addr, signedHead(body, "Content-Length: 8192\r\nConnection: close\r\n"), [][]byte{body}, 0, false, readTimeout+2*time.Second)
	refused("Content-Length claims more than is sent", res)
	check("Content-Length claims more", before)

	before = upstream.Count()
	res = Raw(t, addr, signedHead(body, "Content-Length: 100\r\n"), [][]byte{body}, 0, false, 5*time.Second)
	refused("Content-Length claims less than is sent", res)
	if res.Status != 401 {
		t.Errorf("Content-Length claims less: %d, want 401 (the signature covers the whole body)", res.Status)
	}
	check("Content-Length claims less", before)

	big := []byte(strings.Repeat("x", 100<<10))
	chunk := func(p []byte) []byte { return []byte(fmt.Sprintf("%x\r\n%s\r\n", len(p), p)) }
	before = upstream.Count()
	res = Raw(t, addr, signedHead(big, "Transfer-Encoding: chunked\r\n"), [][]byte{chunk(big[:50<<10]), chunk(big[50<<10:]), []byte("0\r\n\r\n")}, 0, false, 5*time.Second)
	if res.Status != 413 {
		t.Errorf("chunked body past the limit: %d %q", res.Status, res.Raw)
	}
	check("chunked body past the limit", before)

	before = upstream.Count()
	Raw(t, addr, signedHead(body, "Content-Length: 4096\r\n"), [][]byte{body[:2048]}, 0, true, 0)
	check("a client gone mid-body", before)

	before = upstream.Count()
	res = Raw(t, addr, signedHead(body, "Content-Length: 4096\r\n"), [][]byte{body[:2048]}, 0, false, readTimeout+3*time.Second)
	refused("a body that stalls", res)
	check("a body that stalls", before)

	// Slow but complete: 8 parts over 0.8 s.
	before = upstream.Count()
	var parts [][]byte
	for i := 0; i < 8; i++ {
		parts = append(parts, body[i*512:(i+1)*512])
	}
	res = Raw(t, addr, signedHead(body, "Content-Length: 4096\r\n"), parts, 100*time.Millisecond, false, 5*time.Second)
	if res.Status != 200 || upstream.Count() != before+1 {
		t.Errorf("a slow but complete signed body: %d %q", res.Status, res.Raw)
	}
	DirEmpty(t, tempDir)
}
