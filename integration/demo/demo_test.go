// Package demo runs the README's demo command, scripts/demo.sh, as a user
// would on a fresh machine, and checks what it shows.
package demo

import (
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/funcauth/funcauth/integration/internal/e2e"
)

func TestDemoScript(t *testing.T) {
	checkDemo(t)
}

// TestDemoScriptTraefik runs the same demo with the real Traefik v3.6.12
// and funcauth as its local plugin: the same five steps, the same answers.
func TestDemoScriptTraefik(t *testing.T) {
	// The demo builds Traefik through scripts/ensure-traefik.sh in its
	// cache: link the binary already built for the tests there.
	e2e.LinkDemoTraefik(t, demoCache(t))
	checkDemo(t, "--proxy", "traefik")
}

// checkDemo runs scripts/demo.sh with args as the README shows it, on free
// ports, and checks the five steps it prints (see e2e.RunDemo). The script
// itself checks that every answer carries its run's mark, so these are its
// own proxy's answers.
func checkDemo(t *testing.T, args ...string) {
	t.Helper()
	// The ports as the README documents them: flags.
	args = append(args, "--port", strconv.Itoa(e2e.FreePort(t)), "--function-port", strconv.Itoa(e2e.FreePort(t)))
	e2e.RunDemo(t, e2e.RepoRoot(t), demoCache(t), args...)
}

// demoCache is where the demo builds its binaries: one directory for the
// tests of this package, so the second builds nothing new.
func demoCache(t *testing.T) string {
	dir := filepath.Join(os.TempDir(), "funcauth-demo-test-cache")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestDemoRefusesATakenPort: with another server on the demo's port, the
// demo stops with an error naming the port, instead of reporting that
// server's answers as its own.
func TestDemoRefusesATakenPort(t *testing.T) {
	root := e2e.RepoRoot(t)
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusOK) // the 200s a lying demo would print
	}))
	defer other.Close()
	_, port, _ := net.SplitHostPort(other.Listener.Addr().String())
	for _, proxy := range []string{"caddy", "traefik"} {
		cmd := exec.Command("bash", filepath.Join(root, "scripts", "demo.sh"), "--proxy", proxy, "--port", port, "--function-port", strconv.Itoa(e2e.FreePort(t)))
		cmd.Env = append(os.Environ(), "FUNCAUTH_CACHE="+demoCache(t))
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
		out, err := cmd.CombinedOutput()
		if err == nil {
			t.Fatalf("%s: the demo ran on a taken port:\n%s", proxy, out)
		}
		if !strings.Contains(string(out), "port "+port+" on 127.0.0.1 is taken") || strings.Contains(string(out), "-> 200") {
			t.Fatalf("%s: the demo's output does not say the port is taken, or reports answers:\n%s", proxy, out)
		}
	}
}
