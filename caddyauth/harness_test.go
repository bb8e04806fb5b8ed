package caddyauth

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2/caddytest"

	"github.com/funcauth/funcauth/internal/conformance"
)

// Caddy runs in this test process through caddytest: admin on
// localhost:2999, HTTP on 9080. Its data and config directories are
// temporary, so no test touches the user's.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "funcauth-caddy-")
	if err != nil {
		panic(err)
	}
	os.Setenv("XDG_DATA_HOME", filepath.Join(dir, "data"))
	os.Setenv("XDG_CONFIG_HOME", filepath.Join(dir, "config"))
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

const caddyHTTPPort = 9080

// strictT turns caddytest's skips (it skips when Caddy cannot start) into
// failures: an end-to-end test must not pass by not running.
type strictT struct {
	*testing.T
}

func (s strictT) Skip(args ...interface{}) {
	s.T.Helper()
	s.T.Fatal(append([]interface{}{"caddytest wanted to skip:"}, args...)...)
}
func (s strictT) Skipf(format string, args ...interface{}) {
	s.T.Helper()
	s.T.Fatalf("caddytest wanted to skip: "+format, args...)
}
func (s strictT) SkipNow() { s.T.Helper(); s.T.Fatal("caddytest wanted to skip") }

// caddyServer is Caddy with one site that runs the funcauth handler in
// front of a reverse proxy to the conformance upstream.
type caddyServer struct {
	tester  *caddytest.Tester
	logPath string
	logMu   sync.Mutex
	logOff  int64
}

// serverOptions adjusts the generated Caddy configuration.
type serverOptions struct {
	// after are handlers placed between funcauth and the reverse proxy.
	after []map[string]interface{}
	// upstream replaces the conformance upstream.
	upstream http.Handler
	// errorRoutes are the server's handle_errors routes.
	errorRoutes []interface{}
}

// startCaddy loads a configuration whose route runs funcauth with the given
// handler options (the core's JSON configuration) in front of an upstream.
// Requests from 127.0.0.1 may name the client in X-Forwarded-For, as from
// a trusted proxy, so tests can act as many clients.
func startCaddy(t *testing.T, funcauthJSON []byte, opts serverOptions) *caddyServer {
	t.Helper()
	cfg, logPath := caddyConfig(t, funcauthJSON, opts)
	tester := caddytest.NewTester(strictT{t})
	tester.InitServer(cfg, "json")
	if t.Failed() {
		t.FailNow()
	}
	return &caddyServer{tester: tester, logPath: logPath}
}

// caddyConfig builds the JSON configuration startCaddy loads and the path
// of the log funcauth writes to.
func caddyConfig(t *testing.T, funcauthJSON []byte, opts serverOptions) (string, string) {
	t.Helper()
	up := opts.upstream
	if up == nil {
		up = conformance.Upstream
	}
	upstream := httptest.NewServer(up)
	t.Cleanup(upstream.Close)

	var handler map[string]interface{}
	if err := json.Unmarshal(funcauthJSON, &handler); err != nil {
		t.Fatal(err)
	}
	handler["handler"] = "funcauth"
	handlers := []interface{}{handler}
	for _, h := range opts.after {
		handlers = append(handlers, h)
	}
	handlers = append(handlers, map[string]interface{}{
		"handler":   "reverse_proxy",
		"upstreams": []interface{}{map[string]interface{}{"dial": strings.TrimPrefix(upstream.URL, "http://")}},
	})
	logPath := filepath.Join(t.TempDir(), "funcauth.log")
	server := map[string]interface{}{
		"listen":            []string{fmt.Sprintf(":%d", caddyHTTPPort)},
		"automatic_https":   map[string]interface{}{"disable": true},
		"trusted_proxies":   map[string]interface{}{"source": "static", "ranges": []string{"127.0.0.1/32", "::1/128"}},
		"client_ip_headers": []string{"X-Forwarded-For"},
		"routes":            []interface{}{map[string]interface{}{"handle": handlers}},
	}
	if opts.errorRoutes != nil {
		server["errors"] = map[string]interface{}{"routes": opts.errorRoutes}
	}
	cfg := map[string]interface{}{
		"admin": map[string]interface{}{"listen": "localhost:2999"},
		"logging": map[string]interface{}{"logs": map[string]interface{}{
			"default": map[string]interface{}{"level": "ERROR", "exclude": []string{"http.handlers.funcauth"}},
			"funcauth": map[string]interface{}{
				"writer":  map[string]interface{}{"output": "file", "filename": logPath},
				"encoder": map[string]interface{}{"format": "json"},
				"level":   "INFO",
				"include": []string{"http.handlers.funcauth"},
			},
		}},
		"apps": map[string]interface{}{"http": map[string]interface{}{
			"http_port":    caddyHTTPPort,
			"https_port":   9443,
			"grace_period": 1,
			"servers":      map[string]interface{}{"funcauth": server},
		}},
	}
	data, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return string(data), logPath
}

// Do sends a request for client through Caddy and returns the response and
// the reason Caddy logged for a refusal.
func (c *caddyServer) Do(t testing.TB, req *http.Request, client string) (*http.Response, string) {
	t.Helper()
	req.Host = req.URL.Host
	req.URL.Host = fmt.Sprintf("127.0.0.1:%d", caddyHTTPPort)
	req.Header.Set("X-Forwarded-For", client)
	resp, err := noRedirects.Do(req)
	if err != nil {
		t.Fatalf("request to Caddy: %v", err)
	}
	// Buffer the body so that the connection is done with before the log
	// is read.
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	resp.Body = io.NopCloser(strings.NewReader(string(body)))
	reason := ""
	if resp.StatusCode >= 400 {
		for _, line := range c.newLogLines(t) {
			if r, ok := line["reason"].(string); ok {
				reason = r
			}
		}
	}
	return resp, reason
}

var noRedirects = &http.Client{
	Timeout:       30 * time.Second,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

// newLogLines returns the log entries written since the last call.
func (c *caddyServer) newLogLines(t testing.TB) []map[string]interface{} {
	c.logMu.Lock()
	defer c.logMu.Unlock()
	f, err := os.Open(c.logPath)
	if err != nil {
		return nil
	}
	defer f.Close()
	f.Seek(c.logOff, io.SeekStart)
	var lines []map[string]interface{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		c.logOff += int64(len(sc.Bytes()) + 1)
		var m map[string]interface{}
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Errorf("log line %q: %v", sc.Text(), err)
			continue
		}
		lines = append(lines, m)
	}
	return lines
}

// signed returns a faas-cli-signed POST of body to path.
func signed(t testing.TB, path, body, key string) *http.Request {
	t.Helper()
	req, err := conformance.BuildRequest(&conformance.Request{
		Method: "POST", Target: path, Body: body,
		Sign: &conformance.Sign{Scheme: "faas-cli", Key: key},
	}, "http://gateway.test")
	if err != nil {
		t.Fatal(err)
	}
	return req
}
