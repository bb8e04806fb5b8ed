package traefik

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"testing"

	"github.com/funcauth/funcauth/integration/internal/e2e"
)

// TestRetryMiddlewareOrderInTraefikBinary: Traefik's retry middleware
// runs the rest of the chain again on its own copy of the request. In
// front of funcauth, the second attempt finds the body already read: that
// must be body_unreadable (400), never bad_signature, and never a ban
// (issue 10, item 18). After funcauth, as the documentation says to place
// it, a call made while the upstream is down goes through once it is up.
func TestRetryMiddlewareOrderInTraefikBinary(t *testing.T) {
	tb := startTraefik(t)
	addr := fmt.Sprintf("127.0.0.1:%d", e2e.FreePort(t))
	options, err := OptionsFromJSON([]byte(`{"rules":[{"path":"/function/*","require":"signature"}],
		"signatures":[{"scheme":"faas-cli","keys":["s3cr3t"]}],
		"bans":{"max_failures":2},
		"client_address":{"trusted_proxies":["127.0.0.1"]}}`))
	if err != nil {
		t.Fatal(err)
	}
	middlewares := map[string]interface{}{
		"funcauth": map[string]interface{}{"plugin": map[string]interface{}{"funcauth": options}},
		"retry":    map[string]interface{}{"retry": map[string]interface{}{"attempts": 3, "initialInterval": "10ms"}},
	}
	send := func(client, body string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest("POST", "http://fn.example/function/env", bytes.NewReader([]byte(body)))
		mac := hmac.New(sha256.New, []byte("s3cr3t"))
		mac.Write([]byte(body))
		req.Header.Set("Hmac", "sha256="+hex.EncodeToString(mac.Sum(nil)))
		resp, reason := tb.Do(t, req, client)
		return resp.StatusCode, reason
	}
	upstreamUp := func() func() {
		l, err := net.Listen("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Write([]byte("ok"))
		})}
		go srv.Serve(l)
		return func() { srv.Close() }
	}

	// Retry before funcauth, upstream down: every call is refused as an
	// unreadable body, more often than the ban threshold, with no ban.
	tb.applyChain(t, middlewares, []string{"retry", "funcauth"}, "http://"+addr)
	for i := 0; i < 4; i++ {
		status, reason := send("198.51.100.41", fmt.Sprintf("call %d", i))
		if status != http.StatusBadRequest || reason != "body_unreadable" {
			t.Fatalf("retry before funcauth, call %d: %d %q, want 400 body_unreadable", i, status, reason)
		}
	}
	stop := upstreamUp()
	if status, reason := send("198.51.100.41", "call when up"); status != http.StatusOK {
		t.Fatalf("retry before funcauth, upstream up: %d %q (the sender must not be banned)", status, reason)
	}
	stop()

	// funcauth before retry: the call made while the upstream is down
	// fails with the proxy's 502, and the sender's retry of the very same
	// message is accepted once the upstream is back.
	tb.applyChain(t, middlewares, []string{"funcauth", "retry"}, "http://"+addr)
	if status, _ := send("198.51.100.42", "the message"); status != http.StatusBadGateway {
		t.Fatalf("funcauth before retry, upstream down: %d, want 502", status)
	}
	stop = upstreamUp()
	defer stop()
	if status, reason := send("198.51.100.42", "the message"); status != http.StatusOK {
		t.Fatalf("funcauth before retry, the same message once the upstream is up: %d %q", status, reason)
	}
}
