// Package caddy holds the end-to-end tests of funcauth in real Caddy
// binaries: one built by xcaddy from this checkout, and Caddy in-process
// obtaining certificates from Pebble.
package caddy

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/funcauth/funcauth/integration/internal/e2e"
	"github.com/funcauth/funcauth/internal/conformance"
)

var (
	xcaddyOnce sync.Once
	xcaddyBin  string
)

// xcaddy returns Caddy v2.11.9 built by xcaddy with this checkout's
// module (scripts/xcaddy-build.sh, cached by source hash).
func xcaddy(t *testing.T) string {
	t.Helper()
	xcaddyOnce.Do(func() { xcaddyBin = e2e.Script(t, "xcaddy-build.sh") })
	if xcaddyBin == "" {
		t.Fatal("the xcaddy build failed earlier")
	}
	return xcaddyBin
}

func TestXcaddyBuildListsTheModule(t *testing.T) {
	bin := xcaddy(t)
	if out := e2e.Run(t, "", bin, "list-modules"); !strings.Contains(out, "http.handlers.funcauth\n") {
		t.Fatalf("caddy list-modules does not list http.handlers.funcauth:\n%s", out)
	}
	if out := e2e.Run(t, "", bin, "version"); !strings.HasPrefix(out, "v2.11.9") {
		t.Errorf("caddy version: %s", out)
	}
}

func TestSubcommands(t *testing.T) {
	bin := xcaddy(t)
	// The faas-cli vector of ../shared/FACTS.md.
	if out := e2e.Run(t, "The message", bin, "funcauth", "sign", "--key", "cookie"); out != "Hmac: sha256=8e53524e6c9a789ea2df51e34297940866d0b15a061f6c21a4870dfa5ded19cb\n" {
		t.Errorf("caddy funcauth sign: %q", out)
	}
	if out := e2e.Run(t, "The message", bin, "funcauth", "sign", "--key", "cookie", "--algorithm", "sha1"); out != "Hmac: sha1=9239edfe20185eafd7a5513c303b03d207d22f64\n" {
		t.Errorf("caddy funcauth sign sha1: %q", out)
	}
	keyFile := filepath.Join(t.TempDir(), "k")
	os.WriteFile(keyFile, []byte("It's a Secret to Everybody\n"), 0o600)
	if out := e2e.Run(t, "Hello, World!", bin, "funcauth", "sign", "--scheme", "github", "--key-file", keyFile); out != "X-Hub-Signature-256: sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17\n" {
		t.Errorf("caddy funcauth sign github: %q", out)
	}
	// A hash from `caddy funcauth hash` logs the user in (through the same binary).
	for _, alg := range []string{"pbkdf2", "bcrypt"} {
		hash := strings.TrimSpace(e2e.Run(t, "pass phrase\n", bin, "funcauth", "hash", "--algorithm", alg, "--bcrypt-cost", "4"))
		c := startBinary(t, fmt.Sprintf(`{"rules":[{"path":"*","require":"basic"}],"basic_auth":{"users":[{"name":"admin","password_hash":%q}]}}`, hash))
		for _, tc := range []struct {
			password string
			want     int
		}{{"pass phrase", 200}, {"pass phrase\n", 401}, {"wrong", 401}} {
			req, _ := http.NewRequest("GET", "http://gateway.test/x", nil)
			req.SetBasicAuth("admin", tc.password)
			if resp, reason := c.Do(t, req, "192.0.2.1"); resp.StatusCode != tc.want {
				t.Errorf("%s hash, password %q: %d %s", alg, tc.password, resp.StatusCode, reason)
			}
		}
	}
	// keys, sign and verify through the binary, with verify's exit status:
	// 0 allowed, 1 refused, 2 unreadable.
	dir := t.TempDir()
	e2e.Run(t, "", bin, "funcauth", "keys", "--quiet", "--dir", dir, "env")
	sig := strings.TrimSpace(e2e.Run(t, "hello", bin, "funcauth", "sign", "--key-file", filepath.Join(dir, "env-hmac")))
	cfg := filepath.Join(dir, "funcauth.json")
	os.WriteFile(cfg, []byte(fmt.Sprintf(`{"handler":"funcauth","rules":[{"path":"/function/*","require":"signature"}],"signatures":[{"scheme":"faas-cli","function_key_file":%q}]}`, filepath.Join(dir, "{function}-hmac"))), 0o600)
	for _, tc := range []struct {
		body   string
		status int
		out    string
	}{{"hello", 0, "decision:  allowed"}, {"hellx", 1, "reason:    bad_signature"}} {
		cmd := exec.Command(bin, "funcauth", "verify", "--config", cfg)
		cmd.Stdin = strings.NewReader("POST /function/env HTTP/1.1\r\nHost: gw.test\r\nContent-Length: 5\r\n" + sig + "\r\n\r\n" + tc.body)
		out, _ := cmd.Output()
		if cmd.ProcessState.ExitCode() != tc.status || !strings.Contains(string(out), tc.out) {
			t.Errorf("caddy funcauth verify, body %q: exit %d, want %d\n%s", tc.body, cmd.ProcessState.ExitCode(), tc.status, out)
		}
	}
	if err := exec.Command(bin, "funcauth", "frobnicate").Run(); err == nil || err.(*exec.ExitError).ExitCode() != 2 {
		t.Errorf("caddy funcauth frobnicate: %v, want exit status 2", err)
	}
}

// binaryCaddy is the xcaddy-built Caddy running one configuration at a time.
type binaryCaddy struct {
	adminURL string
	// httpPort and tlsPort are the ports of the configuration loaded
	// last (tlsPort for edits that add a TLS server: withNewerHTTP).
	httpPort, tlsPort int
	log               *conformance.LogTail
}

var (
	runningMu sync.Mutex
	running   *binaryCaddy
)

// startBinary loads a funcauth configuration into the xcaddy-built Caddy
// (started once, configured through its admin API like an operator's
// reload) in front of the conformance upstream.
func startBinary(t *testing.T, funcauthJSON string) *binaryCaddy {
	t.Helper()
	return startBinaryWith(t, funcauthJSON, conformance.Upstream)
}

// binaryReadTimeout is the server's read timeout, which ends stalled bodies.
const binaryReadTimeout = 3 * time.Second

// startBinaryWith is startBinary with another upstream; edits change the
// Caddy configuration (decoded JSON) before it is loaded.
//
// Each configuration gets ports of its own: /load returns once the old
// servers are told to stop, which they may not have done yet (Caddy's
// app.Stop: "the scheduler might still pause them"), and on a shared port
// a request could reach an old server and get its answer, or a reset as it
// shuts down. A port found free can be taken before Caddy binds it (by a
// client's connection of a test running beside this one): the load is
// then tried again on other ports.
func startBinaryWith(t *testing.T, funcauthJSON string, up http.Handler, edits ...func(cfg map[string]interface{}, b *binaryCaddy)) *binaryCaddy {
	t.Helper()
	runningMu.Lock()
	defer runningMu.Unlock()
	if running == nil {
		bin := xcaddy(t)
		admin := fmt.Sprintf("127.0.0.1:%d", e2e.FreePort(t))
		dir, _ := os.MkdirTemp("", "funcauth-caddy-bin-")
		cfg := filepath.Join(dir, "caddy.json")
		os.WriteFile(cfg, []byte(fmt.Sprintf(`{"admin":{"listen":%q}}`, admin)), 0o600)
		// One Caddy serves every test of the package, reconfigured through
		// its admin API; TestMain stops it.
		p := e2e.StartShared(t, dir, []string{"XDG_DATA_HOME=" + dir, "XDG_CONFIG_HOME=" + dir}, bin, "run", "--config", cfg)
		e2e.WaitHTTP(t, "http://"+admin+"/config/", 30*time.Second, p)
		running = &binaryCaddy{adminURL: "http://" + admin}
	}
	upstream := httptest.NewServer(up)
	t.Cleanup(upstream.Close)
	logPath := filepath.Join(t.TempDir(), "funcauth.log")
	for attempt := 1; ; attempt++ {
		running.httpPort, running.tlsPort = e2e.FreePort(t), e2e.FreePort(t)
		status, msg := loadBinaryConfig(t, binaryConfig(t, funcauthJSON, upstream.URL, logPath, edits))
		if status == http.StatusOK {
			break
		}
		if attempt == 5 || !strings.Contains(msg, "address already in use") {
			t.Fatalf("loading the configuration: %d %s", status, msg)
		}
		t.Logf("loading the configuration, attempt %d: %s; again on other ports", attempt, msg)
	}
	running.log = &conformance.LogTail{Path: logPath}
	return running
}

// binaryConfig is the JSON configuration startBinaryWith loads, on the
// running Caddy's ports.
func binaryConfig(t *testing.T, funcauthJSON, upstreamURL, logPath string, edits []func(cfg map[string]interface{}, b *binaryCaddy)) []byte {
	t.Helper()
	site := &conformance.CaddySite{
		Server:      map[string]interface{}{"read_timeout": binaryReadTimeout.String()},
		Funcauth:    []byte(funcauthJSON),
		Upstream:    strings.TrimPrefix(upstreamURL, "http://"),
		HTTPPort:    running.httpPort,
		AdminListen: strings.TrimPrefix(running.adminURL, "http://"),
		LogPath:     logPath,
	}
	data, err := site.JSON()
	if err != nil {
		t.Fatal(err)
	}
	if len(edits) == 0 {
		return data
	}
	var cfg map[string]interface{}
	if err := json.Unmarshal(data, &cfg); err != nil {
		t.Fatal(err)
	}
	for _, edit := range edits {
		edit(cfg, running)
	}
	if data, err = json.Marshal(cfg); err != nil {
		t.Fatal(err)
	}
	return data
}

// loadBinaryConfig posts a configuration to the running Caddy's /load and
// returns its status and message.
func loadBinaryConfig(t *testing.T, data []byte) (int, string) {
	t.Helper()
	resp, err := http.Post(running.adminURL+"/load", "application/json", strings.NewReader(string(data)))
	if err != nil {
		t.Fatal(err)
	}
	msg, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp.StatusCode, string(msg)
}

// ReportsReasons: funcauth logs every refusal.
func (b *binaryCaddy) ReportsReasons() bool { return true }

func (b *binaryCaddy) Do(t testing.TB, req *http.Request, client string) (*http.Response, string) {
	t.Helper()
	return conformance.DoVia(t, req, fmt.Sprintf("127.0.0.1:%d", b.httpPort), client, b.log)
}

func TestMain(m *testing.M) {
	code := m.Run()
	e2e.StopShared()
	os.Exit(code)
}

// TestConformanceInXcaddyBinary runs the shared suite through the
// xcaddy-built Caddy binary.
func TestConformanceInXcaddyBinary(t *testing.T) {
	conformance.Run(t, "../../testdata/conformance", "caddy-binary", func(t *testing.T, in *conformance.Instance) conformance.Target {
		return startBinary(t, string(in.Config))
	})
}

// TestRawBadInputInXcaddyBinary sends lying, abandoned and slow bodies
// straight down a socket to the xcaddy-built Caddy.
func TestRawBadInputInXcaddyBinary(t *testing.T) {
	tempDir := t.TempDir()
	upstream := &e2e.Counter{}
	c := startBinaryWith(t, e2e.BadInputConfig(tempDir), upstream)
	e2e.RawBadInput(t, fmt.Sprintf("127.0.0.1:%d", c.httpPort), upstream, tempDir, binaryReadTimeout)
}
