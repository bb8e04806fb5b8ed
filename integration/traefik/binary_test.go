package traefik

import (
	"bytes"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
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

	alexellis "github.com/alexellis/hmac/v2"

	"github.com/funcauth/funcauth/integration/internal/e2e"
	"github.com/funcauth/funcauth/internal/conformance"
)

func TestMain(m *testing.M) {
	code := m.Run()
	e2e.StopShared()
	os.Exit(code)
}

// traefikReadTimeout is the entry point's read timeout, which ends stalled
// bodies.
const traefikReadTimeout = 3 * time.Second

// traefikBinary is the real Traefik v3.6.12 (built from the module proxy
// by scripts/ensure-traefik.sh, cached) running funcauth as a local plugin
// with abortOnPluginFailure, reconfigured through its file provider.
type traefikBinary struct {
	port       int
	tlsPort    int            // websecure: the same routes over TLS (HTTP/2 by ALPN)
	tlsRoots   *x509.CertPool // trusts websecure's certificate for gateway.test
	certFile   string
	keyFile    string
	readyURL   string // a server that answers 200, behind the ready router
	dynamicDir string
	logPath    string
	generation int

	logMu  sync.Mutex
	logOff int64
}

var (
	traefikOnce sync.Once
	traefikErr  error
	traefik     *traefikBinary
)

// startTraefik starts the shared Traefik once: the plugin copied into
// plugins-local/src/<module path> of its working directory, as Traefik's
// local plugins documentation says.
func startTraefik(t *testing.T) *traefikBinary {
	t.Helper()
	traefikOnce.Do(func() {
		bin := e2e.Script(t, "ensure-traefik.sh")
		dir, err := os.MkdirTemp("", "funcauth-traefik-")
		if err != nil {
			traefikErr = err
			return
		}
		if traefikErr = e2e.CopyPlugin(e2e.RepoRoot(t), filepath.Join(dir, "plugins-local", "src", "github.com", "funcauth", "funcauth")); traefikErr != nil {
			return
		}
		readyServer := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
		tb := &traefikBinary{port: e2e.FreePort(t), tlsPort: e2e.FreePort(t), readyURL: readyServer.URL, dynamicDir: filepath.Join(dir, "dynamic")}
		os.MkdirAll(tb.dynamicDir, 0o755)
		certPEM, keyPEM, pool := e2e.SelfSigned(t, "gateway.test")
		tb.tlsRoots, tb.certFile, tb.keyFile = pool, filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
		os.WriteFile(tb.certFile, certPEM, 0o600)
		os.WriteFile(tb.keyFile, keyPEM, 0o600)
		p := e2e.StartShared(t, dir, nil, bin,
			fmt.Sprintf("--entryPoints.web.address=127.0.0.1:%d", tb.port),
			// The tests act as many clients through X-Forwarded-For from
			// loopback: Traefik keeps the header only from trusted IPs.
			"--entryPoints.web.forwardedHeaders.trustedIPs=127.0.0.1",
			"--entryPoints.web.transport.respondingTimeouts.readTimeout="+traefikReadTimeout.String(),
			fmt.Sprintf("--entryPoints.websecure.address=127.0.0.1:%d", tb.tlsPort),
			"--entryPoints.websecure.forwardedHeaders.trustedIPs=127.0.0.1",
			"--entryPoints.websecure.transport.respondingTimeouts.readTimeout="+traefikReadTimeout.String(),
			"--providers.file.directory="+tb.dynamicDir,
			"--providers.file.watch=true",
			"--providers.providersThrottleDuration=100ms",
			"--experimental.localPlugins.funcauth.moduleName=github.com/funcauth/funcauth",
			"--experimental.abortOnPluginFailure=true",
			// The plugin's standard output reaches Traefik's own output
			// (the debug log), which StartShared writes to tb.logPath.
			"--log.level=DEBUG",
		)
		tb.logPath = p.Log
		e2e.WaitHTTP(t, fmt.Sprintf("http://127.0.0.1:%d/", tb.port), 60*time.Second, p)
		traefik = tb
	})
	if traefikErr != nil || traefik == nil {
		t.Fatalf("starting Traefik: %v", traefikErr)
	}
	return traefik
}

// apply writes a dynamic configuration whose router sends everything
// through the funcauth middleware with the given options to upstream, and
// waits until Traefik serves it (a second router answers /__ready/<n>).
func (tb *traefikBinary) apply(t *testing.T, options map[string]interface{}, upstream string) {
	t.Helper()
	tb.applyNamed(t, "funcauth", options, upstream)
}

// applyNamed is apply with the middleware named name (the plugin keeps its
// state per middleware name: runs that repeat the suite's configurations
// take names of their own).
func (tb *traefikBinary) applyNamed(t *testing.T, name string, options map[string]interface{}, upstream string) {
	t.Helper()
	middlewares := map[string]interface{}{
		name: map[string]interface{}{"plugin": map[string]interface{}{"funcauth": options}},
	}
	tb.applyChain(t, middlewares, []string{name}, upstream)
}

// applyChain is apply with the router's chain of middlewares given, in
// order, from the middlewares defined. The chain serves both the plain
// and the TLS entry point.
func (tb *traefikBinary) applyChain(t *testing.T, middlewares map[string]interface{}, chain []string, upstream string) {
	t.Helper()
	tb.generation++
	ready := fmt.Sprintf("/__ready/%d", tb.generation)
	// Middleware names per configuration: the plugin keeps a middleware's
	// bans and replay memory by its name, across edits of its options.
	named := make(map[string]interface{}, len(middlewares))
	for name, m := range middlewares {
		named[fmt.Sprintf("%s%d", name, tb.generation)] = m
	}
	var names []string
	for _, name := range chain {
		names = append(names, fmt.Sprintf("%s%d", name, tb.generation))
	}
	cfg := map[string]interface{}{"http": map[string]interface{}{
		"routers": map[string]interface{}{
			"functions": map[string]interface{}{
				"rule": "PathPrefix(`/`)", "entryPoints": []string{"web"}, "middlewares": names, "service": "upstream",
			},
			"functions-tls": map[string]interface{}{
				"rule": "PathPrefix(`/`)", "entryPoints": []string{"websecure"}, "middlewares": names, "service": "upstream",
				"tls": map[string]interface{}{},
			},
			"ready": map[string]interface{}{
				"rule": "Path(`" + ready + "`)", "entryPoints": []string{"web"}, "service": "ready", "priority": 100000,
			},
		},
		"middlewares": named,
		"services": map[string]interface{}{
			"upstream": map[string]interface{}{"loadBalancer": map[string]interface{}{
				"servers": []interface{}{map[string]interface{}{"url": upstream}},
			}},
			"ready": map[string]interface{}{"loadBalancer": map[string]interface{}{
				"servers": []interface{}{map[string]interface{}{"url": tb.readyURL}},
			}},
		},
	}, "tls": map[string]interface{}{
		"certificates": []interface{}{map[string]interface{}{"certFile": tb.certFile, "keyFile": tb.keyFile}},
	}}
	data, _ := json.MarshalIndent(cfg, "", "  ")
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		// Write (again): a change the watcher missed, such as one made
		// while Traefik was still starting its providers, comes round.
		tmp := filepath.Join(tb.dynamicDir, "funcauth.yml.tmp")
		os.WriteFile(tmp, data, 0o644) // JSON is YAML
		if err := os.Rename(tmp, filepath.Join(tb.dynamicDir, "funcauth.yml")); err != nil {
			t.Fatal(err)
		}
		for wait := time.Now().Add(3 * time.Second); time.Now().Before(wait); {
			resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d%s", tb.port, ready))
			if err == nil {
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					tb.takeLog()
					return
				}
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	t.Fatalf("Traefik did not apply the configuration within 30 s; its log:\n%s", tb.takeLog())
}

func (tb *traefikBinary) takeLog() string {
	tb.logMu.Lock()
	defer tb.logMu.Unlock()
	f, err := os.Open(tb.logPath)
	if err != nil {
		return ""
	}
	defer f.Close()
	f.Seek(tb.logOff, io.SeekStart)
	data, _ := io.ReadAll(f)
	tb.logOff += int64(len(data))
	return string(data)
}

// ReportsReasons: every refusal of the plugin is in Traefik's debug log.
func (tb *traefikBinary) ReportsReasons() bool { return true }

func (tb *traefikBinary) Do(t testing.TB, req *http.Request, client string) (*http.Response, string) {
	t.Helper()
	req.Host = req.URL.Host
	req.URL.Host = fmt.Sprintf("127.0.0.1:%d", tb.port)
	conformance.ViaProxy(req, client)
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatalf("request to Traefik: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(body))
	return resp, tb.reason(resp)
}

// reason is the refusal reason the plugin logged for resp, if a refusal.
func (tb *traefikBinary) reason(resp *http.Response) string {
	reason := ""
	if resp.StatusCode >= 400 {
		// The plugin's line reaches Traefik's log as the request ends.
		for i := 0; i < 20 && reason == ""; i++ {
			if m := reasonInLog.FindAllStringSubmatch(tb.takeLog(), -1); m != nil {
				reason = m[len(m)-1][1]
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	return reason
}

// TestTraefikBinaryLocksDownOpenFaaS: the real Traefik in front of the
// demo function: an unsigned call is refused, one signed by faas-cli's own
// library is accepted, and the admin route needs Basic Auth.
func TestTraefikBinaryLocksDownOpenFaaS(t *testing.T) {
	tb := startTraefik(t)
	port := e2e.FreePort(t)
	p := e2e.Start(t, "", nil, e2e.GoBuild(t, "./cmd/demofn"), "-listen", fmt.Sprintf("127.0.0.1:%d", port))
	e2e.WaitHTTP(t, fmt.Sprintf("http://127.0.0.1:%d/healthz", port), 30*time.Second, p)
	options, err := OptionsFromJSON([]byte(`{"preset":"openfaas",
		"basic_auth":{"users":[{"name":"admin","password_hash":"$pbkdf2-sha256$i=100000$FvsaKqDUjTxkY0LDcLY6LQ$avC3cRwBiE71Wx/YKvObS6LpxMgpuYhieUKArM2/40k"}]},
		"signatures":[{"scheme":"faas-cli","keys":["s3cr3t"]}]}`))
	if err != nil {
		t.Fatal(err)
	}
	tb.apply(t, options, fmt.Sprintf("http://127.0.0.1:%d", port))
	base := fmt.Sprintf("http://127.0.0.1:%d", tb.port)

	body := []byte("The message from faas-cli")
	post := func(sig string) (*http.Response, string) {
		req, _ := http.NewRequest("POST", base+"/function/env.openfaas-fn", bytes.NewReader(body))
		req.Header.Set("Content-Type", "text/plain")
		if sig != "" {
			req.Header.Set("Hmac", sig)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		out, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp, string(out)
	}
	if resp, _ := post(""); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("unsigned: %d", resp.StatusCode)
	}
	sig := "sha256=" + hex.EncodeToString(alexellis.Sign(body, []byte("s3cr3t"), sha256.New))
	resp, out := post(sig)
	want := sha256.Sum256(body)
	if resp.StatusCode != http.StatusOK || !strings.Contains(out, hex.EncodeToString(want[:])) || !strings.Contains(out, `"signed_by": "faas-cli/keys[0]"`) {
		t.Errorf("faas-cli-signed: %d %s", resp.StatusCode, out)
	}
	if resp, _ := post(sig); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("the same signed call again (a replay): %d", resp.StatusCode)
	}
	for _, tc := range []struct {
		user, password string
		want           int
	}{{"", "", 401}, {"admin", "wrong", 401}, {"admin", "correct horse battery staple", 200}} {
		req, _ := http.NewRequest("GET", base+"/system/functions", nil)
		if tc.user != "" {
			req.SetBasicAuth(tc.user, tc.password)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Errorf("admin %q: %d, want %d", tc.user, resp.StatusCode, tc.want)
		}
		if tc.want == 401 && resp.Header.Get("WWW-Authenticate") != `Basic realm="Restricted"` {
			t.Errorf("challenge %q", resp.Header.Get("WWW-Authenticate"))
		}
	}
}

// TestConformanceInTraefikBinary runs the shared suite through the real
// Traefik. The client is named in X-Forwarded-For, which the plugin
// believes only because 127.0.0.1 is configured as a trusted proxy.
func TestConformanceInTraefikBinary(t *testing.T) {
	tb := startTraefik(t)
	upstream := httptest.NewServer(conformance.Upstream)
	defer upstream.Close()
	conformance.Run(t, "../../testdata/conformance", "traefik-binary", func(t *testing.T, in *conformance.Instance) conformance.Target {
		options, err := OptionsFromJSON(in.Config)
		if err != nil {
			t.Fatal(err)
		}
		ca, _ := options["clientAddress"].(map[string]interface{})
		if ca == nil {
			ca = map[string]interface{}{}
			options["clientAddress"] = ca
		}
		ca["trustedProxies"] = []interface{}{"127.0.0.1"}
		tb.apply(t, options, upstream.URL)
		return tb
	})
}

// TestRawBadInputInTraefikBinary sends lying, abandoned and slow bodies
// straight down a socket to the real Traefik.
func TestRawBadInputInTraefikBinary(t *testing.T) {
	tb := startTraefik(t)
	tempDir := t.TempDir()
	upstream := &e2e.Counter{}
	srv := httptest.NewServer(upstream)
	defer srv.Close()
	options, err := OptionsFromJSON([]byte(e2e.BadInputConfig(tempDir)))
	if err != nil {
		t.Fatal(err)
	}
	tb.apply(t, options, srv.URL)
	e2e.RawBadInput(t, fmt.Sprintf("127.0.0.1:%d", tb.port), upstream, tempDir, traefikReadTimeout)
}
