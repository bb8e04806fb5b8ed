package caddyauth

import (
	"bufio"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2/caddyconfig"
	_ "github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"

	"github.com/funcauth/funcauth"
)

const adminHash = "$pbkdf2-sha256$i=100000$FvsaKqDUjTxkY0LDcLY6LQ$avC3cRwBiE71Wx/YKvObS6LpxMgpuYhieUKArM2/40k"

// TestMisspeltPlaceholdersFailTheLoad: a secret or path that still holds a
// {…} Caddy does not know, or a stray brace, fails the load naming the
// field, and the error does not show the secret's text; an escaped brace
// and a file whose content has braces are taken literally.
func TestMisspeltPlaceholdersFailTheLoad(t *testing.T) {
	dir := t.TempDir()
	braced := filepath.Join(dir, "braced")
	os.WriteFile(braced, []byte("from{file}\n"), 0o600)
	t.Setenv("FUNCAUTH_TEST_KEY", "env-secret-value")
	good := fmt.Sprintf(`{"rules":[{"path":"/function/*","require":"signature"}],
		"signatures":[{"scheme":"faas-cli","keys":[%q,%q],"tolerance":"0s"}]}`, `lit\{eral\}`, "{file."+braced+"}")
	c := startCaddy(t, []byte(good), serverOptions{})
	for _, key := range []string{"lit{eral}", "from{file}"} {
		if resp, reason := c.Do(t, signed(t, "/function/env", "payload", key), "192.0.2.21"); resp.StatusCode != http.StatusOK {
			t.Errorf("key %q: %d %s", key, resp.StatusCode, reason)
		}
	}
	for _, tc := range []struct {
		funcauth, field, secret string
	}{
		{`{"preset":"openfaas","signatures":[{"scheme":"faas-cli","keys":["{envv.FUNCAUTH_TEST_KEY}"]}]}`, "signatures[0].keys[0]", "envv"},
		{`{"preset":"openfaas","signatures":[{"scheme":"faas-cli","keys":["{ENV.FUNCAUTH_TEST_KEY}"]}]}`, "signatures[0].keys[0]", "ENV"},
		{`{"preset":"openfaas","signatures":[{"scheme":"faas-cli","keys":["{file/run/x}"]}]}`, "signatures[0].keys[0]", "run/x"},
		{`{"preset":"openfaas","signatures":[{"scheme":"faas-cli","keys":["k1","pre{secretpart}post"]}]}`, "signatures[0].keys[1]", "secretpart"},
		{`{"preset":"openfaas","signatures":[{"scheme":"faas-cli","keys":["{env.FUNCAUTH_TEST_KEY"]}]}`, "signatures[0].keys[0]", "FUNCAUTH_TEST_KEY"},
		{`{"preset":"openfaas","signatures":[{"scheme":"faas-cli","keys":["k"]}],"basic_auth":{"users":[{"name":"admin","password_hash":"{envv.HASH}"}]}}`, "basic_auth.users[0].password_hash", "envv"},
		{`{"preset":"openfaas","signatures":[{"scheme":"faas-cli","key_files":["{envv.DIR}/key"]}]}`, "signatures[0].key_files[0]", ""},
		{`{"preset":"openfaas","signatures":[{"scheme":"faas-cli","function_key_file":"/run/{function}-{namepsace}"}]}`, "signatures[0].function_key_file", ""},
		{`{"preset":"openfaas","signatures":[{"scheme":"faas-cli","keys":["k"]}],"basic_auth":{"htpasswd_file":"{ENV.HTPASSWD}"}}`, "basic_auth.htpasswd_file", ""},
	} {
		raw, _ := caddyConfig(t, []byte(tc.funcauth), serverOptions{})
		msg := loadError(t, raw)
		if !strings.Contains(msg, tc.field) {
			t.Errorf("%s: load error %q, want one naming %s", tc.funcauth, msg, tc.field)
		}
		if tc.secret != "" && strings.Contains(msg, tc.secret) {
			t.Errorf("%s: the error shows the secret's text: %q", tc.funcauth, msg)
		}
	}
	// The function key pattern keeps {function} and {namespace}.
	raw, _ := caddyConfig(t, []byte(`{"rules":[{"path":"*","require":"signature"}],"signatures":[{"scheme":"faas-cli","function_key_file":"`+dir+`/{function}.{namespace}"}]}`), serverOptions{})
	if msg := loadError(t, raw); msg != "" {
		t.Errorf("function_key_file with {function} and {namespace}: %s", msg)
	}
}

// recorder is an upstream that notes what it received.
type recorder struct {
	mu   sync.Mutex
	got  []recorded
	resp string
}

type recorded struct {
	header  http.Header
	body    string
	trailer http.Header
}

func (u *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	u.mu.Lock()
	u.got = append(u.got, recorded{r.Header.Clone(), string(body), r.Trailer.Clone()})
	u.mu.Unlock()
	io.WriteString(w, u.resp)
}

func (u *recorder) last(t *testing.T) recorded {
	t.Helper()
	u.mu.Lock()
	defer u.mu.Unlock()
	if len(u.got) == 0 {
		t.Fatal("the upstream received nothing")
	}
	r := u.got[len(u.got)-1]
	u.got = nil
	return r
}

// TestErrorRoutesThatProxyGetNoBody: a handle_errors route that proxies
// sends a refused request on without its body, its credentials or its
// signature.
func TestErrorRoutesThatProxyGetNoBody(t *testing.T) {
	errUp := &recorder{resp: "error page"}
	errServer := httptest.NewServer(errUp)
	defer errServer.Close()
	cfg := `{"preset":"openfaas","basic_auth":{"users":[{"name":"admin","password_hash":"` + adminHash + `"}]},
		"signatures":[{"scheme":"faas-cli","keys":["k"],"tolerance":"0s"}],"bans":{"disabled":true}}`
	c := startCaddy(t, []byte(cfg), serverOptions{
		errorRoutes: []interface{}{map[string]interface{}{"handle": []interface{}{map[string]interface{}{
			"handler": "reverse_proxy", "upstreams": []interface{}{map[string]interface{}{"dial": strings.TrimPrefix(errServer.URL, "http://")}},
		}}}},
	})
	const payload = "payload-that-must-not-leave"
	// An unsigned function call, one with a wrong signature, and an admin
	// call with a wrong password.
	unsigned, _ := http.NewRequest("POST", "http://gateway.test/function/env", strings.NewReader(payload))
	badSig := signed(t, "/function/env", payload, "wrong-key")
	admin, _ := http.NewRequest("POST", "http://gateway.test/system/functions", strings.NewReader(payload))
	admin.SetBasicAuth("admin", "wrong-password")
	for name, req := range map[string]*http.Request{"unsigned": unsigned, "bad signature": badSig, "wrong password": admin} {
		resp, _ := c.Do(t, req, "192.0.2.70")
		body, _ := io.ReadAll(resp.Body)
		if string(body) != "error page" {
			t.Fatalf("%s: the error route did not answer: %d %q", name, resp.StatusCode, body)
		}
		got := errUp.last(t)
		if got.body != "" {
			t.Errorf("%s: the error route's upstream received the body %q", name, got.body)
		}
		for _, h := range []string{"Authorization", "Hmac"} {
			if v := got.header.Get(h); v != "" {
				t.Errorf("%s: the error route's upstream received %s: %s", name, h, v)
			}
		}
	}
}

// TestTrailersThroughCaddy: a chunked request whose trailers carry the
// identity headers reaches a real upstream through Caddy's reverse proxy
// without them, on an open and on a signed route; another trailer arrives.
func TestTrailersThroughCaddy(t *testing.T) {
	up := &recorder{resp: "ok"}
	cfg := `{"rules":[{"path":"/open/*","require":"open"},{"path":"/function/*","require":"signature"}],
		"signatures":[{"scheme":"faas-cli","keys":["k"],"tolerance":"0s"}]}`
	startCaddy(t, []byte(cfg), serverOptions{upstream: up})
	const body = "hello"
	for _, tc := range []struct{ name, target, extra string }{
		{"open", "/open/x", ""},
		{"signed", "/function/env", "Hmac: sha256=" + hexHMAC("k", body) + "\r\n"},
	} {
		for _, declared := range []string{"X-Funcauth-User, X-Funcauth-Signature, X-Other", "X-Other"} {
			conn, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", caddyHTTPPort))
			if err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: gateway.test\r\nTransfer-Encoding: chunked\r\nTrailer: %s\r\n%sConnection: close\r\n\r\n"+
				"%x\r\n%s\r\n0\r\nX-Funcauth-User: admin\r\nX-Funcauth-Signature: faas-cli/keys[0]\r\nX-Other: kept\r\n\r\n",
				tc.target, declared, tc.extra, len(body), body)
			resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			conn.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("%s (%s): %d", tc.name, declared, resp.StatusCode)
			}
			got := up.last(t)
			if got.body != body {
				t.Errorf("%s (%s): body %q", tc.name, declared, got.body)
			}
			if got.trailer.Get("X-Other") != "kept" {
				t.Errorf("%s (%s): the control trailer did not arrive, trailers are not forwarded: %v", tc.name, declared, got.trailer)
			}
			for _, h := range []string{"X-Funcauth-User", "X-Funcauth-Signature"} {
				if v := got.trailer.Values(h); len(v) > 0 {
					t.Errorf("%s (%s): the upstream received trailer %s: %q", tc.name, declared, h, v)
				}
			}
		}
	}
}

// TestAccessLogFilter: with the log filter funcauth prints (and the docs
// give), Caddy's access log holds neither a token nor a signature; without
// it, it holds both, so the filter is what keeps them out.
func TestAccessLogFilter(t *testing.T) {
	const token = "gitlab-token-value-1234"
	const wrongToken = "guessed-token-value-5678"
	const body = "payload"
	signature := "sha256=" + hexHMAC("faas-key", body)
	core := &funcauth.Config{
		Rules: []funcauth.Rule{{Path: "/gitlab", Require: "signature", Signatures: []string{"gitlab"}}, {Path: "/function/*", Require: "signature", Signatures: []string{"faas-cli"}}},
		Signatures: []funcauth.Signature{
			{Scheme: "faas-cli", Keys: []string{"faas-key"}, Tolerance: "0s"},
			{Scheme: "gitlab", Keys: []string{token}, Tolerance: "0s"},
		},
	}
	g, err := funcauth.New(core, funcauth.Options{})
	if err != nil {
		t.Fatal(err)
	}
	filter := AccessLogFilter(g.SensitiveHeaders())
	for _, want := range []string{"request>headers>Hmac delete", "request>headers>X-Gitlab-Token delete"} {
		if !strings.Contains(filter, want) {
			t.Fatalf("the filter lacks %q:\n%s", want, filter)
		}
	}
	for _, filtered := range []bool{false, true} {
		logPath := filepath.Join(t.TempDir(), "access.log")
		logBlock := "log {\n\toutput file " + logPath + "\n\tformat json\n}\n"
		if filtered {
			logBlock = strings.Replace(filter, "log {\n", "log {\n\toutput file "+logPath+"\n", 1)
		}
		caddyfile := fmt.Sprintf(`{
	admin localhost:%d
	http_port %d
	grace_period 1ns
	skip_install_trust
}

:%d {
%s
	funcauth {
		rule /gitlab signature gitlab
		rule /function/* signature faas-cli
		signature faas-cli faas-key {
			tolerance 0s
		}
		signature gitlab %s {
			tolerance 0s
		}
	}
	respond "ok"
}
`, adminPort, caddyHTTPPort, caddyHTTPPort, logBlock, token)
		tester := newTester(t)
		tester.InitServer(caddyfile, "caddyfile")
		if t.Failed() {
			t.FailNow()
		}
		send := func(path, header, value string, want int) {
			req, _ := http.NewRequest("POST", fmt.Sprintf("http://127.0.0.1:%d%s", caddyHTTPPort, path), strings.NewReader(body))
			req.Header.Set(header, value)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != want {
				t.Fatalf("%s %s: %d, want %d", path, header, resp.StatusCode, want)
			}
		}
		send("/gitlab", "X-Gitlab-Token", token, 200)
		send("/gitlab", "X-Gitlab-Token", wrongToken, 401)
		send("/function/env", "Hmac", signature, 200)
		log := waitForLines(t, logPath, 3)
		for _, secret := range []string{token, wrongToken, strings.TrimPrefix(signature, "sha256=")} {
			if strings.Contains(log, secret) != !filtered {
				t.Errorf("filtered=%v: the access log holds %s: %v\n%s", filtered, secret, !filtered, log)
			}
		}
	}
}

// waitForLines waits until the file holds n lines (Caddy writes the
// access log line after the response) and returns it.
func waitForLines(t *testing.T, path string, n int) string {
	t.Helper()
	var data []byte
	for i := 0; i < 200; i++ {
		data, _ = os.ReadFile(path)
		if strings.Count(string(data), "\n") >= n {
			return string(data)
		}
		time.Sleep(25 * time.Millisecond)
	}
	t.Fatalf("the access log has fewer than %d lines:\n%s", n, data)
	return ""
}

func hexHMAC(key, body string) string {
	m := hmac.New(sha256.New, []byte(key))
	m.Write([]byte(body))
	return hex.EncodeToString(m.Sum(nil))
}

// TestCaddyfileExampleFiltersSignatures: the example's access log deletes
// every signature header its funcauth configuration reads.
func TestCaddyfileExampleFiltersSignatures(t *testing.T) {
	data, err := os.ReadFile("../Caddyfile.example")
	if err != nil {
		t.Fatal(err)
	}
	adapted, _, err := caddyconfig.GetAdapter("caddyfile").Adapt(data, nil)
	if err != nil {
		t.Fatal(err)
	}
	var cfg struct {
		Logging struct {
			Logs map[string]struct {
				Encoder struct {
					Format string                            `json:"format"`
					Fields map[string]map[string]interface{} `json:"fields"`
				} `json:"encoder"`
			} `json:"logs"`
		} `json:"logging"`
	}
	if err := json.Unmarshal(adapted, &cfg); err != nil {
		t.Fatal(err)
	}
	// The handler's configuration, with its placeholders given values.
	var tree interface{}
	json.Unmarshal(adapted, &tree)
	raw := findHandler(tree, "funcauth")
	if raw == nil {
		t.Fatal("no funcauth handler")
	}
	delete(raw, "handler")
	data, _ = json.Marshal(raw)
	var handler Handler
	if err := json.Unmarshal(data, &handler.Config); err != nil {
		t.Fatal(err)
	}
	handler.BasicAuth.Users[0].PasswordHash = adminHash
	for i := range handler.Signatures {
		if handler.Signatures[i].FunctionKeyFile != "" {
			handler.Signatures[i].FunctionKeyFile = t.TempDir() + "/{function}"
		}
		for j := range handler.Signatures[i].Keys {
			handler.Signatures[i].Keys[j] = "k"
		}
	}
	g, err := funcauth.New(&handler.Config, funcauth.Options{})
	if err != nil {
		t.Fatal(err)
	}
	deleted := map[string]bool{}
	for _, l := range cfg.Logging.Logs {
		if l.Encoder.Format != "filter" {
			continue
		}
		for field, filter := range l.Encoder.Fields {
			if filter["filter"] == "delete" {
				deleted[field] = true
			}
		}
	}
	headers := g.SensitiveHeaders()
	if len(headers) < 2 {
		t.Fatalf("SensitiveHeaders = %v", headers)
	}
	for _, h := range headers {
		if h != "Authorization" && !deleted["request>headers>"+h] {
			t.Errorf("Caddyfile.example's log does not delete %s; the filter for its configuration is:\n%s", h, AccessLogFilter(headers))
		}
	}
}

// findHandler returns the first JSON object in tree whose "handler" is name.
func findHandler(tree interface{}, name string) map[string]interface{} {
	switch v := tree.(type) {
	case map[string]interface{}:
		if v["handler"] == name {
			return v
		}
		for _, child := range v {
			if found := findHandler(child, name); found != nil {
				return found
			}
		}
	case []interface{}:
		for _, child := range v {
			if found := findHandler(child, name); found != nil {
				return found
			}
		}
	}
	return nil
}

// TestProvisionPrintsTheLogFilter: the handler warns with the filter for
// its own signature headers when it starts.
// provisionRuns counts the runs of TestProvisionPrintsTheLogFilter.
var provisionRuns atomic.Int64

func TestProvisionPrintsTheLogFilter(t *testing.T) {
	// A header of its own at each run: the warning is printed once per
	// process for each set of headers (go test -count).
	header := fmt.Sprintf("X-Provision-Test-Sig-%d", provisionRuns.Add(1))
	c := startCaddy(t, []byte(`{"rules":[{"path":"*","require":"signature"}],
		"signatures":[{"scheme":"generic","header":"`+header+`","algorithms":["sha256"],"keys":["k"]}]}`), serverOptions{})
	lines, err := c.log.Lines()
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range lines {
		if l["level"] == "warn" && strings.Contains(fmt.Sprint(l["caddyfile"]), "request>headers>"+header+" delete") {
			return
		}
	}
	t.Errorf("no warning with the log filter in %v", lines)
}
