// Package demo runs the README's demo command, scripts/demo.sh, as a user
// would on a fresh machine, and checks what it shows.
package demo

import (
	"bufio"
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
	"time"

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
	bin := e2e.Script(t, "ensure-traefik.sh")
	version := os.Getenv("TRAEFIK_VERSION")
	if version == "" {
		version = "v3.6.12"
	}
	dir := filepath.Join(demoCache(t), "traefik-"+version)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "traefik")
	os.Remove(link)
	if err := os.Symlink(bin, link); err != nil {
		t.Fatal(err)
	}
	checkDemo(t, "--proxy", "traefik")
}

// checkDemo runs scripts/demo.sh with args as the README shows it, on free
// ports, and checks the five steps it prints: an unsigned call and a replay
// refused, a signed call accepted, the admin API refused without Basic
// Auth and served with it. The script itself checks that every answer
// carries its run's mark, so these are its own proxy's answers.
func checkDemo(t *testing.T, args ...string) {
	t.Helper()
	root := e2e.RepoRoot(t)
	// The ports as the README documents them: flags.
	args = append([]string{filepath.Join(root, "scripts", "demo.sh")}, args...)
	args = append(args, "--port", strconv.Itoa(e2e.FreePort(t)), "--function-port", strconv.Itoa(e2e.FreePort(t)))
	cmd := exec.Command("bash", args...)
	cmd.Env = append(os.Environ(), "FUNCAUTH_CACHE="+demoCache(t))
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM) // the script and what it started
		cmd.Wait()
	}()
	lines := make(chan string)
	var output []string
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	want := map[string]string{
		"unsigned call:":             "-> 401",
		"signed call:":               "-> 200",
		"same call again (a replay)": "-> 401",
		"admin, no auth:":            "-> 401",
		"admin, auth:":               "-> 200",
	}
	seen := map[string]bool{}
	deadline := time.After(5 * time.Minute)
	for {
		select {
		case line, ok := <-lines:
			if !ok {
				t.Fatalf("the demo ended before it was ready; saw %v:\n%s", seen, strings.Join(output, "\n"))
			}
			output = append(output, line)
			for prefix, status := range want {
				if strings.HasPrefix(strings.TrimSpace(line), prefix) {
					seen[prefix] = true
					if !strings.HasSuffix(strings.TrimSpace(line), status) {
						t.Errorf("%q: want %s", line, status)
					}
				}
			}
			if strings.Contains(line, "Press Ctrl-C to stop") {
				if len(seen) != len(want) {
					t.Errorf("the demo showed %d of %d checks: %v", len(seen), len(want), seen)
				}
				return
			}
		case <-deadline:
			t.Fatal("the demo did not start within 5 minutes")
		}
	}
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
