package caddyauth

import (
	"io"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
)

// TestRefusalBodies: without handle_errors, Caddy sends the body the other
// hosts send (Caddy alone would send an empty one): the reason code in
// JSON, the same for an unknown user and a wrong password, key_unavailable
// shown as bad_signature; refusal_body "status" sends the status text.
func TestRefusalBodies(t *testing.T) {
	const hash = "$pbkdf2-sha256$i=100000$FvsaKqDUjTxkY0LDcLY6LQ$avC3cRwBiE71Wx/YKvObS6LpxMgpuYhieUKArM2/40k"
	cfg := `{"preset":"openfaas","basic_auth":{"users":[{"name":"admin","password_hash":"` + hash + `"}]},
		"signatures":[{"scheme":"faas-cli","function_key_file":"` + t.TempDir() + `/{function}-hmac"}]}`
	c := startCaddy(t, []byte(cfg), serverOptions{})
	const docs = "https://github.com/funcauth/funcauth/blob/main/docs/troubleshooting.md#"
	for _, tc := range []struct {
		name, path, user, password string
		status                     int
		body                       string
	}{
		{"no credentials", "/system/functions", "", "", 401, `{"error":"missing_credentials","status":401,"docs":"` + docs + `missing_credentials"}` + "\n"},
		{"unknown user", "/system/functions", "nobody", "wrong", 401, `{"error":"bad_credentials","status":401,"docs":"` + docs + `bad_credentials"}` + "\n"},
		{"wrong password", "/system/functions", "admin", "wrong", 401, `{"error":"bad_credentials","status":401,"docs":"` + docs + `bad_credentials"}` + "\n"},
		{"no rule", "/elsewhere", "", "", 403, `{"error":"no_rule","status":403,"docs":"` + docs + `no_rule"}` + "\n"},
	} {
		resp := get(t, c, tc.path, tc.user, tc.password, "192.0.2.70")
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != tc.status || string(body) != tc.body || resp.Header.Get("Content-Type") != "application/json" {
			t.Errorf("%s: %d %q (%s), want %d %q", tc.name, resp.StatusCode, body, resp.Header.Get("Content-Type"), tc.status, tc.body)
		}
	}
	resp, _ := c.Do(t, signed(t, "/function/env", "payload", "k"), "192.0.2.70")
	body, _ := io.ReadAll(resp.Body)
	if want := `{"error":"bad_signature","status":401,"docs":"` + docs + `bad_signature"}` + "\n"; resp.StatusCode != 401 || string(body) != want {
		t.Errorf("a function without a key file: %d %q, want 401 %q", resp.StatusCode, body, want)
	}

	// With handle_errors, the error carries the public reason too.
	c = startCaddy(t, []byte(cfg), serverOptions{errorRoutes: []interface{}{map[string]interface{}{"handle": []interface{}{map[string]interface{}{
		"handler": "static_response", "status_code": "{http.error.status_code}", "body": "{http.error.message}",
	}}}}})
	resp, _ = c.Do(t, signed(t, "/function/env", "payload", "k"), "192.0.2.72")
	body, _ = io.ReadAll(resp.Body)
	if resp.StatusCode != 401 || string(body) != "funcauth: bad_signature" {
		t.Errorf("handle_errors, a function without a key file: %d %q", resp.StatusCode, body)
	}

	c = startCaddy(t, []byte(`{"refusal_body":"status","rules":[{"path":"*","require":"deny"}]}`), serverOptions{})
	resp = get(t, c, "/x", "", "", "192.0.2.71")
	body, _ = io.ReadAll(resp.Body)
	if resp.StatusCode != 403 || string(body) != "Forbidden\n" {
		t.Errorf("refusal_body status: %d %q", resp.StatusCode, body)
	}
	raw, _ := caddyConfig(t, []byte(`{"refusal_body":"verbose","rules":[{"path":"*","require":"open"}]}`), serverOptions{})
	if msg := loadError(t, raw); !strings.Contains(msg, "refusal_body") {
		t.Errorf("refusal_body verbose: %q", msg)
	}
}

func TestCaddyfileRefusalBody(t *testing.T) {
	var h Handler
	if err := h.UnmarshalCaddyfile(caddyfile.NewTestDispenser("funcauth {\n refusal_body status\n}")); err != nil || h.RefusalBody != "status" {
		t.Errorf("refusal_body status: %v, %q", err, h.RefusalBody)
	}
	if err := h.UnmarshalCaddyfile(caddyfile.NewTestDispenser("funcauth {\n refusal_body\n}")); err == nil {
		t.Error("refusal_body without a value parsed")
	}
}
