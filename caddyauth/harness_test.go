package caddyauth

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2/caddytest"

	"github.com/funcauth/funcauth/internal/conformance"
)

// Caddy runs in this test process through caddytest, its admin API and
// its HTTP server on ports free when the tests start (not caddytest's fixed
// 2999, where another test binary's Caddy could answer in its place). Its
// data and config directories are temporary, so no test touches the
// user's.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "funcauth-caddy-")
	if err != nil {
		panic(err)
	}
	adminPort, caddyHTTPPort = freePorts()
	adminURL = fmt.Sprintf("http://localhost:%d", adminPort)
	os.Setenv("XDG_DATA_HOME", filepath.Join(dir, "data"))
	os.Setenv("XDG_CONFIG_HOME", filepath.Join(dir, "config"))
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// The in-process Caddy's ports, and its admin API's URL.
var (
	adminPort, caddyHTTPPort int
	adminURL                 string
)

// freePorts returns two TCP ports of the loopback interface, free now and
// distinct (both are held until both are known).
func freePorts() (int, int) {
	a, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer a.Close()
	b, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer b.Close()
	return a.Addr().(*net.TCPAddr).Port, b.Addr().(*net.TCPAddr).Port
}

// newTester returns a caddytest Tester of the in-process Caddy.
func newTester(t *testing.T) *caddytest.Tester {
	return caddytest.NewTester(conformance.NoSkip(t)).WithDefaultOverrides(caddytest.Config{AdminPort: adminPort})
}

// caddyServer is Caddy with one site that runs the funcauth handler in
// front of a reverse proxy to an upstream.
type caddyServer struct {
	tester *caddytest.Tester
	log    *conformance.LogTail
}

// serverOptions adjusts the generated Caddy configuration.
type serverOptions struct {
	// after are handlers placed between funcauth and the reverse proxy.
	after []map[string]interface{}
	// upstream replaces the conformance upstream.
	upstream http.Handler
	// errorRoutes are the server's handle_errors routes.
	errorRoutes []interface{}
	// server replaces options of the server, such as trusted_proxies.
	server map[string]interface{}
}

// startCaddy loads a configuration whose route runs funcauth with the given
// handler options (the core's JSON configuration) in front of an upstream.
func startCaddy(t *testing.T, funcauthJSON []byte, opts serverOptions) *caddyServer {
	t.Helper()
	cfg, logPath := caddyConfig(t, funcauthJSON, opts)
	tester := newTester(t)
	tester.InitServer(cfg, "json")
	if t.Failed() {
		t.FailNow()
	}
	return &caddyServer{tester: tester, log: &conformance.LogTail{Path: logPath}}
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
	site := &conformance.CaddySite{
		Funcauth:    funcauthJSON,
		Upstream:    strings.TrimPrefix(upstream.URL, "http://"),
		HTTPPort:    caddyHTTPPort,
		AdminListen: fmt.Sprintf("localhost:%d", adminPort),
		LogPath:     filepath.Join(t.TempDir(), "funcauth.log"),
		After:       opts.after,
		ErrorRoutes: opts.errorRoutes,
		Server:      opts.server,
	}
	data, err := site.JSON()
	if err != nil {
		t.Fatal(err)
	}
	return string(data), site.LogPath
}

// ReportsReasons: funcauth logs every refusal.
func (c *caddyServer) ReportsReasons() bool { return true }

// Do sends a request for client through Caddy and returns the response and
// the reason Caddy logged for a refusal.
func (c *caddyServer) Do(t testing.TB, req *http.Request, client string) (*http.Response, string) {
	t.Helper()
	return conformance.DoVia(t, req, fmt.Sprintf("127.0.0.1:%d", caddyHTTPPort), client, c.log)
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
