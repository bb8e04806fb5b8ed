// Package demo runs the README's demo command, scripts/demo.sh, as a user
// would on a fresh machine, and checks what it shows.
package demo

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/funcauth/funcauth/examples/internal/e2e"
)

func TestDemoScript(t *testing.T) {
	root := e2e.RepoRoot(t)
	cmd := exec.Command("bash", filepath.Join(root, "scripts", "demo.sh"))
	cmd.Env = append(os.Environ(),
		"DEMO_PORT="+strconv.Itoa(e2e.FreePort(t)),
		"DEMO_FUNCTION_PORT="+strconv.Itoa(e2e.FreePort(t)),
		"FUNCAUTH_CACHE="+t.TempDir(),
	)
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
				t.Fatalf("the demo ended before it was ready; saw %v", seen)
			}
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
