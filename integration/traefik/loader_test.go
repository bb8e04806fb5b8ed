package traefik

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/funcauth/funcauth/integration/internal/pluginsrc"
	"github.com/funcauth/funcauth/integration/internal/traefikload"
	"github.com/funcauth/funcauth/internal/conformance"
)

const moduleRoot = "../.."

// logBuffer collects what the plugin prints (Traefik's debug and error logs).
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) take() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := l.buf.String()
	l.buf.Reset()
	return s
}

var (
	loadOnce sync.Once
	plugin   *traefikload.Plugin
	loadErr  error
	debugLog = &logBuffer{}
	errorLog = &logBuffer{}
	names    atomic.Int64
)

// loaded returns the plugin, loaded once into one interpreter that every
// middleware shares, as in Traefik.
func loaded(t testing.TB) *traefikload.Plugin {
	t.Helper()
	loadOnce.Do(func() {
		dir, err := os.MkdirTemp("", "funcauth-gopath-")
		if err != nil {
			loadErr = err
			return
		}
		plugin, loadErr = traefikload.Load(moduleRoot, dir, debugLog, errorLog)
	})
	if loadErr != nil {
		t.Fatalf("loading the plugin as Traefik does: %v", loadErr)
	}
	return plugin
}

// TestConformanceUnderYaegi runs the shared conformance suite through the
// plugin as Traefik runs it.
func TestConformanceUnderYaegi(t *testing.T) {
	p := loaded(t)
	conformance.Run(t, "../../testdata/conformance", "traefik", func(t *testing.T, in *conformance.Instance) conformance.Target {
		options, err := OptionsFromJSON(in.Config)
		if err != nil {
			t.Fatal(err)
		}
		// Requests with forwarded_for come from the runners' trusted proxy.
		ca, _ := options["clientAddress"].(map[string]interface{})
		if ca == nil {
			ca = map[string]interface{}{}
			options["clientAddress"] = ca
		}
		if ca["trustedProxies"] == nil {
			ca["trustedProxies"] = []interface{}{conformance.TrustedProxy}
		}
		// A name per case: the plugin shares state between instances of
		// one middleware, and cases must not share bans.
		name := "case" + strconv.FormatInt(names.Add(1), 10) + "@file"
		h, err := p.NewMiddleware(context.Background(), conformance.Upstream, options, name)
		if err != nil {
			t.Fatalf("New: %v", err)
		}
		return &yaegiTarget{handler: h}
	})
}

type yaegiTarget struct {
	handler http.Handler
}

var reasonInLog = regexp.MustCompile(`reason=(\w+)`)

// ReportsReasons: the plugin prints every refusal.
func (y *yaegiTarget) ReportsReasons() bool { return true }

func (y *yaegiTarget) Do(t testing.TB, req *http.Request, client string) (*http.Response, string) {
	debugLog.take()
	resp := conformance.ServeDirect(t, y.handler, req, client)
	reason := ""
	if m := reasonInLog.FindStringSubmatch(debugLog.take()); m != nil {
		reason = m[1]
	}
	return resp, reason
}

// TestCatalogRules checks what the plugin catalog requires: a valid
// manifest whose import lies in the module, a root go.mod that requires
// nothing under github.com/traefik, and New succeeding on testData within
// the catalog's 10 s.
func TestCatalogRules(t *testing.T) {
	m, err := pluginsrc.ReadManifest(moduleRoot)
	if err != nil {
		t.Fatal(err)
	}
	modulePath, err := pluginsrc.ModulePath(moduleRoot)
	if err != nil {
		t.Fatal(err)
	}
	if err := traefikload.CheckLocalManifest(m, modulePath); err != nil {
		t.Fatal(err)
	}
	if m.Import != modulePath+"/traefikplugin" {
		t.Errorf("import %q", m.Import)
	}
	gomod, _ := os.ReadFile(moduleRoot + "/go.mod")
	if strings.Contains(string(gomod), "github.com/traefik") {
		t.Error("the root go.mod requires something under github.com/traefik: the catalog rejects that")
	}
	if _, err := os.Stat(moduleRoot + "/README.md"); err != nil {
		t.Error("the catalog needs a README")
	}
	if _, err := os.Stat(moduleRoot + "/vendor"); err == nil {
		t.Error("a vendor directory would be interpreted too")
	}
	start := time.Now()
	p := loaded(t)
	h, err := p.NewMiddleware(context.Background(), conformance.Upstream, m.TestData, "catalog@file")
	if err != nil {
		t.Fatalf("New on testData: %v", err)
	}
	if elapsed := time.Since(start); elapsed > 10*time.Second {
		t.Errorf("loading and New took %v; the catalog allows 10 s", elapsed)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/healthz", nil))
	if rec.Code != http.StatusOK {
		t.Errorf("testData middleware answers /healthz with %d", rec.Code)
	}
}

// TestNewRefusesBadConfigurations checks that New fails closed with an
// error naming the option, as Traefik shows it, for the mistakes Traefik's
// decoder would otherwise let through.
func TestNewRefusesBadConfigurations(t *testing.T) {
	p := loaded(t)
	for _, tc := range []struct {
		name    string
		options map[string]interface{}
		want    string
	}{
		{"misspelt option", map[string]interface{}{"preset": "openfaas", "basicAuth": map[string]interface{}{"realmm": "x"}}, "basicAuth.realmm: unknown option (did you mean \"realm\"?)"},
		{"misspelt top-level option", map[string]interface{}{"presets": "openfaas"}, "presets: unknown option (did you mean \"preset\"?)"},
		{"misspelt signature option", map[string]interface{}{
			"rules":      []interface{}{map[string]interface{}{"path": "*", "require": "signature"}},
			"signatures": []interface{}{map[string]interface{}{"scheme": "faas-cli", "keys": []interface{}{"k"}, "keyFile": "/x"}}}, "signatures[0].keyFile: unknown option (did you mean \"keyFiles\"?)"},
		{"empty secret", map[string]interface{}{
			"rules":      []interface{}{map[string]interface{}{"path": "*", "require": "signature"}},
			"signatures": []interface{}{map[string]interface{}{"scheme": "faas-cli", "keys": []interface{}{""}}}}, "signatures[0].keys[0]: is empty"},
		{"bcrypt hash", map[string]interface{}{
			"rules":     []interface{}{map[string]interface{}{"path": "*", "require": "basic"}},
			"basicAuth": map[string]interface{}{"users": []interface{}{map[string]interface{}{"name": "a", "passwordHash": "$2y$10$abcdefghijklmnopqrstuuJ3p9Zw4m5l5yMgFq0x8y6z4W2m1q3Ke"}}}}, "47 s"},
		{"nothing", map[string]interface{}{}, "no rules and no preset"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := p.NewMiddleware(context.Background(), conformance.Upstream, tc.options, "bad@file")
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

// TestStateSurvivesReloads: Traefik builds a new instance of the
// middleware for every router on every reload; bans (and replay memory
// and caches) carry over, also when the middleware's options are edited.
func TestStateSurvivesReloads(t *testing.T) {
	p := loaded(t)
	options := func(duration string) map[string]interface{} {
		return map[string]interface{}{
			"rules":     []interface{}{map[string]interface{}{"path": "*", "require": "basic"}},
			"basicAuth": map[string]interface{}{"users": []interface{}{map[string]interface{}{"name": "admin", "passwordHash": "$pbkdf2-sha256$i=10000$b3BzLXNhbHQtMTIzNDU2Nw$6hRJUBLyXIcGoFCLxRvLchRjFd7AjtS+7DAQOW3rfSk"}}},
			"bans":      map[string]interface{}{"maxFailures": "2", "duration": duration},
		}
	}
	status := func(h http.Handler, password string) int {
		r := httptest.NewRequest("GET", "/system/functions", nil)
		r.SetBasicAuth("admin", password)
		r.RemoteAddr = "198.51.100.90:1234"
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		return rec.Code
	}
	build := func(o map[string]interface{}) http.Handler {
		h, err := p.NewMiddleware(context.Background(), conformance.Upstream, o, "reload@file")
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	first := build(options("1h"))
	status(first, "guess")
	status(first, "guess")
	if code := status(first, "ops password"); code != http.StatusTooManyRequests {
		t.Fatalf("not banned: %d", code)
	}
	// A reload, and a second router using the same middleware.
	if code := status(build(options("1h")), "ops password"); code != http.StatusTooManyRequests {
		t.Fatalf("the ban did not survive the reload: %d", code)
	}
	if code := status(build(options("2h")), "ops password"); code != http.StatusTooManyRequests {
		t.Fatalf("the ban did not survive an edit of the options: %d", code)
	}
}

// TestStatesOfFortyMiddlewaresSurviveAReload: the plugin keeps the state
// of every middleware, not only of the last 32 built.
func TestStatesOfFortyMiddlewaresSurviveAReload(t *testing.T) {
	p := loaded(t)
	options := map[string]interface{}{
		"rules":     []interface{}{map[string]interface{}{"path": "*", "require": "basic"}},
		"basicAuth": map[string]interface{}{"users": []interface{}{map[string]interface{}{"name": "admin", "passwordHash": "$pbkdf2-sha256$i=10000$b3BzLXNhbHQtMTIzNDU2Nw$6hRJUBLyXIcGoFCLxRvLchRjFd7AjtS+7DAQOW3rfSk"}}},
		"bans":      map[string]interface{}{"maxFailures": "1", "duration": "1h"},
	}
	status := func(h http.Handler) int {
		r := httptest.NewRequest("GET", "/system/functions", nil)
		r.SetBasicAuth("admin", "guess")
		r.RemoteAddr = "198.51.100.91:1234"
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		return rec.Code
	}
	build := func(i int) http.Handler {
		h, err := p.NewMiddleware(context.Background(), conformance.Upstream, options, "many"+strconv.Itoa(i)+"@file")
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	const n = 40
	for i := 0; i < n; i++ {
		if code := status(build(i)); code != http.StatusUnauthorized {
			t.Fatalf("middleware %d: %d, want 401", i, code)
		}
	}
	for i := 0; i < n; i++ {
		if code := status(build(i)); code != http.StatusTooManyRequests {
			t.Errorf("middleware %d after the reload: %d, want 429 (the ban kept)", i, code)
		}
	}
}
