package caddyauth

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"

	"github.com/funcauth/funcauth/internal/conformance"
)

func get(t *testing.T, c *caddyServer, path string, user, password string, client string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest("GET", "http://gateway.test"+path, nil)
	if user != "" {
		req.SetBasicAuth(user, password)
	}
	resp, _ := c.Do(t, req, client)
	return resp
}

func readAll(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// loadError posts a configuration to Caddy's admin API and returns the
// error Caddy answers with ("" if it loaded).
func loadError(t *testing.T, cfg string) string {
	t.Helper()
	// Caddy restarts its admin endpoint with each configuration it loads:
	// a load sent while the last one's endpoint restarts may find the
	// connection reset, and is sent again (a load that fails changes
	// nothing).
	var resp *http.Response
	var err error
	for attempt := 0; attempt < 5; attempt++ {
		if resp, err = http.Post(adminURL+"/load", "application/json", strings.NewReader(cfg)); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode == http.StatusOK {
		return ""
	}
	return string(b)
}

// TestPlaceholders: secrets given as {env.*} and {file.*} work, stay
// placeholders in the configuration Caddy exports, and fail the load when
// they expand to nothing.
func TestPlaceholders(t *testing.T) {
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "github-secret")
	os.WriteFile(keyFile, []byte("file-secret-value\n"), 0o600)
	t.Setenv("FUNCAUTH_TEST_KEY", "env-secret-value")
	t.Setenv("FUNCAUTH_EMPTY_KEY", "")
	cfg := fmt.Sprintf(`{"rules":[{"path":"/function/*","require":"signature"}],
		"signatures":[{"scheme":"faas-cli","keys":["{env.FUNCAUTH_TEST_KEY}","{file.%s}"],"tolerance":"0s"}]}`, keyFile)
	c := startCaddy(t, []byte(cfg), serverOptions{})
	for _, key := range []string{"env-secret-value", "file-secret-value"} {
		req := signed(t, "/function/env", "payload", key)
		if resp, reason := c.Do(t, req, "192.0.2.20"); resp.StatusCode != http.StatusOK {
			t.Errorf("key from placeholder: %d %s", resp.StatusCode, reason)
		}
	}
	exported := readAll(t, adminURL+"/config/")
	if strings.Contains(exported, "secret-value") {
		t.Fatalf("Caddy exports the expanded secret: %s", exported)
	}
	if !strings.Contains(exported, "{env.FUNCAUTH_TEST_KEY}") {
		t.Fatalf("the placeholder is missing from the exported configuration: %s", exported)
	}

	for _, tc := range []struct{ key, want string }{
		{"{env.FUNCAUTH_EMPTY_KEY}", "signatures[0].keys[0]"},
		{"{env.FUNCAUTH_UNSET_KEY}", "signatures[0].keys[0]"},
		{"{file." + filepath.Join(dir, "missing") + "}", "signatures[0].keys[0]"},
	} {
		bad := fmt.Sprintf(`{"rules":[{"path":"*","require":"signature"}],"signatures":[{"scheme":"faas-cli","keys":[%q]}]}`, tc.key)
		raw, _ := caddyConfig(t, []byte(bad), serverOptions{})
		msg := loadError(t, raw)
		if !strings.Contains(msg, tc.want) {
			t.Errorf("%s: load error %q, want one naming %s", tc.key, msg, tc.want)
		}
	}
	raw, _ := caddyConfig(t, []byte(`{"preset":"openfaas","client_address":{"trusted_proxies":["10.0.0.0/8"]}}`), serverOptions{})
	if msg := loadError(t, raw); !strings.Contains(msg, "trusted_proxies") {
		t.Errorf("trusted_proxies in the handler: %q", msg)
	}
	raw, _ = caddyConfig(t, []byte(`{"preset":"openfaas","realmm":"x"}`), serverOptions{})
	if msg := loadError(t, raw); !strings.Contains(msg, "realmm") {
		t.Errorf("unknown field: %q", msg)
	}
}

// TestReloadKeepsState: a ban survives a reload of an unchanged funcauth
// configuration, and an edit of its tuning options (an added rate limit,
// the ban's duration); a change of who may pass (the users, the keys)
// starts afresh.
func TestReloadKeepsState(t *testing.T) {
	const cfg = `{"preset":"openfaas","basic_auth":{"users":[{"name":"admin","password_hash":"$pbkdf2-sha256$i=100000$FvsaKqDUjTxkY0LDcLY6LQ$avC3cRwBiE71Wx/YKvObS6LpxMgpuYhieUKArM2/40k"}]},
		"signatures":[{"scheme":"faas-cli","keys":["k"]}],"bans":{"max_failures":2,"duration":"1h"}}`
	c := startCaddy(t, []byte(cfg), serverOptions{})
	for i := 0; i < 2; i++ {
		if resp := get(t, c, "/system/functions", "admin", "wrong", "192.0.2.30"); resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("failure %d: %d", i, resp.StatusCode)
		}
	}
	if resp := get(t, c, "/system/functions", "admin", "correct horse battery staple", "192.0.2.30"); resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("not banned: %d", resp.StatusCode)
	}
	// Reload: the upstream (and so the configuration) changes, funcauth's does not.
	c = startCaddy(t, []byte(cfg), serverOptions{})
	if resp := get(t, c, "/system/functions", "admin", "correct horse battery staple", "192.0.2.30"); resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("the ban did not survive the reload: %d", resp.StatusCode)
	}
	if resp := get(t, c, "/system/functions", "admin", "correct horse battery staple", "192.0.2.31"); resp.StatusCode != http.StatusOK {
		t.Fatalf("another client: %d", resp.StatusCode)
	}
	tuned := strings.Replace(cfg, `"duration":"1h"}`, `"duration":"2h"},"rate_limits":[{"rate":"100/s"}]`, 1)
	c = startCaddy(t, []byte(tuned), serverOptions{})
	if resp := get(t, c, "/system/functions", "admin", "correct horse battery staple", "192.0.2.30"); resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("the ban did not survive an edit of the tuning options: %d", resp.StatusCode)
	}
	rekeyed := strings.Replace(tuned, `"keys":["k"]`, `"keys":["k2"]`, 1)
	c = startCaddy(t, []byte(rekeyed), serverOptions{})
	if resp := get(t, c, "/system/functions", "admin", "correct horse battery staple", "192.0.2.30"); resp.StatusCode != http.StatusOK {
		t.Fatalf("a configuration with other keys starts afresh, but: %d", resp.StatusCode)
	}
}

// TestMetrics: decisions are counted in Caddy's metrics registry, which
// the admin endpoint serves.
func TestMetrics(t *testing.T) {
	c := startCaddy(t, []byte(`{"rules":[{"path":"/healthz","require":"open"},{"path":"*","require":"deny"}]}`), serverOptions{})
	get(t, c, "/healthz", "", "", "192.0.2.40")
	get(t, c, "/nope", "", "", "192.0.2.40")
	metrics := readAll(t, adminURL+"/metrics")
	for _, want := range []string{
		`funcauth_decisions_total{outcome="allowed",reason="open"}`,
		`funcauth_decisions_total{outcome="refused",reason="denied"}`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

// TestCaddyHashes: bcrypt and argon2id hashes in the forms `caddy
// hash-password` prints, inline and in an htpasswd file, next to PBKDF2.
func TestCaddyHashes(t *testing.T) {
	bcryptHash, err := bcrypt.GenerateFromPassword([]byte("bcrypt-pw"), 4)
	if err != nil {
		t.Fatal(err)
	}
	salt := make([]byte, 16)
	rand.Read(salt)
	key := argon2.IDKey([]byte("argon-pw"), salt, 1, 47104, 1, 32)
	argonHash := fmt.Sprintf("$argon2id$v=%d$m=47104,t=1,p=1$%s$%s", argon2.Version,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key))
	htpasswd := filepath.Join(t.TempDir(), "htpasswd")
	htBcrypt, _ := bcrypt.GenerateFromPassword([]byte("ht-pw"), 4)
	os.WriteFile(htpasswd, []byte("# comment\nhtuser:"+string(htBcrypt)+"\n"), 0o600)
	cfg := fmt.Sprintf(`{"rules":[{"path":"*","require":"basic"}],"basic_auth":{"htpasswd_file":%q,"users":[
		{"name":"b","password_hash":%q},{"name":"a","password_hash":%q},
		{"name":"p","password_hash":"$pbkdf2-sha256$i=100000$FvsaKqDUjTxkY0LDcLY6LQ$avC3cRwBiE71Wx/YKvObS6LpxMgpuYhieUKArM2/40k"}]},
		"bans":{"disabled":true}}`, htpasswd, bcryptHash, argonHash)
	c := startCaddy(t, []byte(cfg), serverOptions{})
	for _, tc := range []struct {
		user, password string
		want           int
	}{
		{"b", "bcrypt-pw", 200}, {"b", "wrong", 401},
		{"a", "argon-pw", 200}, {"a", "wrong", 401},
		{"p", "correct horse battery staple", 200},
		{"htuser", "ht-pw", 200}, {"htuser", "wrong", 401},
		{"nobody", "bcrypt-pw", 401},
	} {
		if resp := get(t, c, "/x", tc.user, tc.password, "192.0.2.50"); resp.StatusCode != tc.want {
			t.Errorf("%s/%s: %d, want %d", tc.user, tc.password, resp.StatusCode, tc.want)
		}
	}
}

// TestErrorsAndUserPlaceholder: refusals reach handle_errors with their
// status, the challenge survives, and {http.auth.user.id} names the user.
func TestErrorsAndUserPlaceholder(t *testing.T) {
	cfg := `{"preset":"openfaas","basic_auth":{"users":[{"name":"admin","password_hash":"$pbkdf2-sha256$i=100000$FvsaKqDUjTxkY0LDcLY6LQ$avC3cRwBiE71Wx/YKvObS6LpxMgpuYhieUKArM2/40k"}]},
		"signatures":[{"scheme":"faas-cli","keys":["k"],"tolerance":"0s"}]}`
	c := startCaddy(t, []byte(cfg), serverOptions{
		after: []map[string]interface{}{{"handler": "static_response", "body": "user={http.auth.user.id}"}},
		errorRoutes: []interface{}{map[string]interface{}{"handle": []interface{}{map[string]interface{}{
			"handler": "static_response", "status_code": "{http.error.status_code}", "body": "custom error: {http.error.message}",
		}}}},
	})
	resp := get(t, c, "/system/functions", "", "", "192.0.2.60")
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 401 || string(body) != "custom error: funcauth: missing_credentials" || resp.Header.Get("WWW-Authenticate") != `Basic realm="Restricted"` {
		t.Errorf("handle_errors: %d %q challenge %q", resp.StatusCode, body, resp.Header.Get("WWW-Authenticate"))
	}
	resp = get(t, c, "/system/functions", "admin", "correct horse battery staple", "192.0.2.60")
	body, _ = io.ReadAll(resp.Body)
	if string(body) != "user=admin" {
		t.Errorf("basic user: %q", body)
	}
	resp, _ = c.Do(t, signed(t, "/function/env", "payload", "k"), "192.0.2.60")
	body, _ = io.ReadAll(resp.Body)
	if string(body) != "user=faas-cli/keys[0]" {
		t.Errorf("signed request: %q", body)
	}
}

// TestReplayForgetsOnlyWhatTheUpstreamFailed: through Caddy's reverse
// proxy, a message whose upstream could not be reached (the proxy's 502
// error) is forgotten, so the retry is tried again; one the upstream took
// without an explicit status (it hung up after reading) stays remembered.
func TestReplayForgetsOnlyWhatTheUpstreamFailed(t *testing.T) {
	hangUp := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		if r.URL.Path == "/function/unreachable" {
			// No answer at all: the proxy reports 502.
			conn, _, err := http.NewResponseController(w).Hijack()
			if err == nil {
				conn.Close()
			}
			return
		}
		io.WriteString(w, "taken") // implicit 200
	})
	c := startCaddy(t, []byte(`{"rules":[{"path":"/function/*","require":"signature"}],
		"signatures":[{"scheme":"faas-cli","keys":["k"]}]}`), serverOptions{upstream: hangUp})
	for i := 0; i < 2; i++ {
		resp, reason := c.Do(t, signed(t, "/function/unreachable", "m", "k"), "192.0.2.30")
		if resp.StatusCode != http.StatusBadGateway {
			t.Fatalf("delivery %d to an upstream that hangs up: %d %s (the retry must not be a replay)", i+1, resp.StatusCode, reason)
		}
	}
	if resp, reason := c.Do(t, signed(t, "/function/taken", "m2", "k"), "192.0.2.30"); resp.StatusCode != http.StatusOK {
		t.Fatalf("first delivery: %d %s", resp.StatusCode, reason)
	}
	if resp, reason := c.Do(t, signed(t, "/function/taken", "m2", "k"), "192.0.2.30"); resp.StatusCode != http.StatusUnauthorized || reason != "replayed" {
		t.Fatalf("the replay of a message the upstream took: %d %s", resp.StatusCode, reason)
	}
}

// TestKeyWarningIsRateLimited: a signature for a function without a key is
// logged every time, but at WARN only once a minute for that verifier and
// function (Decision.Warn).
func TestKeyWarningIsRateLimited(t *testing.T) {
	dir := t.TempDir()
	cfg := fmt.Sprintf(`{"rules":[{"path":"/function/*","require":"signature"}],
		"signatures":[{"scheme":"faas-cli","function_key_file":%q,"tolerance":"0s"}],"bans":{"disabled":true}}`,
		filepath.Join(dir, "{function}"))
	c := startCaddy(t, []byte(cfg), serverOptions{})
	for i := 0; i < 3; i++ {
		resp, reason := c.Do(t, signed(t, "/function/nokey", "x", "k"), fmt.Sprintf("192.0.2.%d", 50+i))
		if resp.StatusCode != http.StatusUnauthorized || reason != "key_unavailable" {
			t.Fatalf("request %d: %d %s", i, resp.StatusCode, reason)
		}
	}
	c.Do(t, signed(t, "/function/other", "x", "k"), "192.0.2.60")
	// Do read the log as it went: read the whole file again.
	lines, err := (&conformance.LogTail{Path: c.log.Path}).Lines()
	if err != nil {
		t.Fatal(err)
	}
	levels := map[string]int{}
	for _, l := range lines {
		if l["reason"] == "key_unavailable" {
			levels[fmt.Sprint(l["level"])]++
		}
	}
	if levels["warn"] != 2 || levels["info"] != 2 {
		t.Errorf("key_unavailable log levels %v, want 2 warn (nokey, other) and 2 info", levels)
	}
}
