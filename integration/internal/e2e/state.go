package e2e

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"testing"

	alexellis "github.com/alexellis/hmac/v2"
)

// StateSite is a proxy running funcauth with the openfaas preset and its
// default bans, which believes X-Forwarded-For from the test (loopback):
// the ban and replay memory a certificate renewal must leave alone.
type StateSite struct {
	Client         *http.Client
	Base           string // https://<name>:<port>
	Key            string // the faas-cli key of the function "env"
	User, Password string // Basic Auth on the admin API
}

// Addresses of the two clients of the check.
const (
	stateSigner = "192.0.2.31"
	stateBanned = "192.0.2.32"
)

func (s *StateSite) do(t testing.TB, req *http.Request, client string) *http.Response {
	t.Helper()
	req.Header.Set("X-Forwarded-For", client)
	resp, err := s.Client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}

func (s *StateSite) signed(t testing.TB, body string) *http.Request {
	req, err := http.NewRequest("POST", s.Base+"/function/env.openfaas-fn", bytes.NewReader([]byte(body)))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Hmac", "sha256="+hex.EncodeToString(alexellis.Sign([]byte(body), []byte(s.Key), sha256.New)))
	return req
}

func (s *StateSite) admin(password string) *http.Request {
	req, _ := http.NewRequest("GET", s.Base+"/system/functions", nil)
	req.SetBasicAuth(s.User, password)
	return req
}

// MakeState has one client call the function with a faas-cli signature
// (served, and so remembered) and another fail Basic Auth until it is
// banned.
func (s *StateSite) MakeState(t testing.TB) {
	t.Helper()
	if resp := s.do(t, s.signed(t, "before the renewal"), stateSigner); resp.StatusCode != http.StatusOK {
		t.Fatalf("signed call: %d", resp.StatusCode)
	}
	banned := false
	for i := 0; i < 30 && !banned; i++ {
		resp := s.do(t, s.admin("wrong password"), stateBanned)
		banned = resp.StatusCode == http.StatusTooManyRequests
	}
	if !banned {
		t.Fatal("no ban after 30 failed logins")
	}
	if resp := s.do(t, s.admin(s.Password), stateBanned); resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("the banned client with the right password: %d", resp.StatusCode)
	}
}

// CheckState checks that what MakeState left is still remembered: the
// signed call replayed is refused, the banned client stays banned even
// with the right password, and other calls are served.
func (s *StateSite) CheckState(t testing.TB) {
	t.Helper()
	if resp := s.do(t, s.signed(t, "before the renewal"), stateSigner); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("the signed call replayed: %d, want 401 (replay memory lost?)", resp.StatusCode)
	}
	if resp := s.do(t, s.admin(s.Password), stateBanned); resp.StatusCode != http.StatusTooManyRequests {
		t.Errorf("the banned client with the right password: %d, want 429 (ban lost?)", resp.StatusCode)
	}
	if resp := s.do(t, s.signed(t, "after the renewal"), stateSigner); resp.StatusCode != http.StatusOK {
		t.Errorf("a new signed call: %d", resp.StatusCode)
	}
	if resp := s.do(t, s.admin(s.Password), stateSigner); resp.StatusCode != http.StatusOK {
		t.Errorf("the admin API from another client: %d", resp.StatusCode)
	}
}
