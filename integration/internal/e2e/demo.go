package e2e

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// LinkDemoTraefik links the Traefik binary built for the tests (by
// scripts/ensure-traefik.sh, cached) where the demo looks for it, so the
// demo does not build a second one.
func LinkDemoTraefik(t *testing.T, cache string) {
	t.Helper()
	bin := Script(t, "ensure-traefik.sh")
	version := os.Getenv("TRAEFIK_VERSION")
	if version == "" {
		version = "v3.6.12"
	}
	dir := filepath.Join(cache, "traefik-"+version)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "traefik")
	os.Remove(link)
	if err := os.Symlink(bin, link); err != nil {
		t.Fatal(err)
	}
}

// RunDemo starts scripts/demo.sh of the checkout at root with args, its
// builds cached in cache, waits until it says it is running, checks the
// five steps it prints (an unsigned call and a replay refused, a signed
// call accepted, the admin API refused without Basic Auth and served with
// it), and returns what it printed. The demo runs until the test ends.
func RunDemo(t *testing.T, root, cache string, args ...string) []string {
	t.Helper()
	cmd := exec.Command("bash", append([]string{filepath.Join(root, "scripts", "demo.sh")}, args...)...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "FUNCAUTH_CACHE="+cache)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM) // the script and what it started
		cmd.Wait()
	})
	lines := make(chan string)
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
	var output []string
	seen := map[string]bool{}
	deadline := time.After(8 * time.Minute)
	for {
		select {
		case line, ok := <-lines:
			if !ok {
				t.Fatalf("the demo ended before it was ready:\n%s", strings.Join(output, "\n"))
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
				go func() {
					for range lines { // drain, so the demo never blocks on its output
					}
				}()
				return output
			}
		case <-deadline:
			t.Fatalf("the demo did not start within 8 minutes:\n%s", strings.Join(output, "\n"))
		}
	}
}
