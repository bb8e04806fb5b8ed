// Package e2e runs the real programs of the end-to-end tests: builds them
// with the project's scripts, starts them on free loopback ports and stops
// them when the test ends. Nothing here skips: a program that cannot be
// built or started fails the test.
package e2e

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// RepoRoot is the funcauth checkout.
func RepoRoot(t testing.TB) string {
	t.Helper()
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("cannot locate the repository")
	}
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", "..", ".."))
}

// FreePort returns a loopback port nobody listens on.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

var scriptMu sync.Mutex

// Script runs one of the repository's scripts/ and returns the last line of
// its output (the scripts print the path they built).
func Script(t testing.TB, name string, env ...string) string {
	t.Helper()
	scriptMu.Lock()
	defer scriptMu.Unlock()
	cmd := exec.Command("bash", filepath.Join(RepoRoot(t), "scripts", name))
	cmd.Env = append(os.Environ(), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	if err := cmd.Run(); err != nil {
		t.Fatalf("scripts/%s: %v\n%s\n%s", name, err, stdout.String(), tail(stderr.String(), 4000))
	}
	t.Logf("scripts/%s took %v", name, time.Since(start).Round(time.Second))
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	return lines[len(lines)-1]
}

var buildMu sync.Mutex
var built = map[string]string{}

// GoBuild builds a package of the examples module (examples/, what users
// copy, such as ./cmd/demofn) once per test binary.
func GoBuild(t testing.TB, pkg string) string {
	t.Helper()
	buildMu.Lock()
	defer buildMu.Unlock()
	if path, ok := built[pkg]; ok {
		return path
	}
	dir, err := os.MkdirTemp("", "funcauth-bin-")
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, filepath.Base(pkg))
	cmd := exec.Command("go", "build", "-o", out, pkg)
	cmd.Dir = filepath.Join(RepoRoot(t), "examples")
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", pkg, err, msg)
	}
	built[pkg] = out
	return out
}

// Process is a running program whose output goes to a log file.
type Process struct {
	Cmd *exec.Cmd
	Log string
}

// Start starts a program in dir and stops it when the test ends.
func Start(t testing.TB, dir string, env []string, name string, args ...string) *Process {
	t.Helper()
	logPath := filepath.Join(t.TempDir(), filepath.Base(name)+".log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	dieWithParent(cmd)
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatalf("starting %s: %v", name, err)
	}
	p := &Process{Cmd: cmd, Log: logPath}
	t.Cleanup(func() {
		cancel()
		cmd.Wait()
		logFile.Close()
		if t.Failed() {
			data, _ := os.ReadFile(logPath)
			t.Logf("output of %s:\n%s", filepath.Base(name), tail(string(data), 6000))
		}
	})
	return p
}

// Output returns what the process printed so far.
func (p *Process) Output() string {
	data, _ := os.ReadFile(p.Log)
	return string(data)
}

// WaitHTTP waits until url answers with any status, failing after timeout.
func WaitHTTP(t testing.TB, url string, timeout time.Duration, p *Process) {
	t.Helper()
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		resp, err := client.Get(url)
		if err == nil {
			resp.Body.Close()
			return
		}
		if p != nil && p.Cmd.ProcessState != nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	out := ""
	if p != nil {
		out = tail(p.Output(), 4000)
	}
	t.Fatalf("%s did not answer within %v\n%s", url, timeout, out)
}

// Run runs a command with stdin and returns its standard output.
func Run(t testing.TB, stdin string, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Stdin = strings.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\n%s", filepath.Base(name), strings.Join(args, " "), err, stderr.String())
	}
	return stdout.String()
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return fmt.Sprintf("...%s", s[len(s)-n:])
}

var (
	detachedMu sync.Mutex
	detached   []*exec.Cmd
)

// StartShared starts a program that outlives the test starting it, to be
// shared by the tests of a package; StopShared (from TestMain) stops it.
func StartShared(t testing.TB, dir string, env []string, name string, args ...string) *Process {
	t.Helper()
	logPath := filepath.Join(dir, filepath.Base(name)+".log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	dieWithParent(cmd)
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", name, err)
	}
	go func() { cmd.Wait(); logFile.Close() }()
	detachedMu.Lock()
	detached = append(detached, cmd)
	detachedMu.Unlock()
	return &Process{Cmd: cmd, Log: logPath}
}

// StopShared stops every program StartShared started.
func StopShared() {
	detachedMu.Lock()
	defer detachedMu.Unlock()
	for _, cmd := range detached {
		cmd.Process.Signal(os.Interrupt)
	}
	deadline := time.Now().Add(5 * time.Second)
	for _, cmd := range detached {
		for cmd.ProcessState == nil && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
		}
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
		}
	}
	detached = nil
}

// RawResult is what a raw exchange got back: the status line's code (0
// when the server closed the connection without answering) and whether
// the connection was closed.
type RawResult struct {
	Status int
	Closed bool
	Raw    string
}

// Raw sends head (request line and headers, CRLF-terminated, with the
// blank line) and then the body parts, pausing between parts; with
// hangUp it closes the connection after the last part instead of waiting
// for an answer. It reads the first response, if any, within wait.
func Raw(t testing.TB, addr, head string, parts [][]byte, pause time.Duration, hangUp bool, wait time.Duration) RawResult {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.Write([]byte(head)); err != nil {
		return RawResult{Closed: true}
	}
	for _, p := range parts {
		if pause > 0 {
			time.Sleep(pause)
		}
		if _, err := conn.Write(p); err != nil {
			return RawResult{Closed: true}
		}
	}
	if hangUp {
		return RawResult{Closed: true}
	}
	conn.SetReadDeadline(time.Now().Add(wait))
	buf := make([]byte, 4096)
	n, err := conn.Read(buf)
	res := RawResult{Raw: string(buf[:n])}
	if n == 0 {
		res.Closed = err != nil
		return res
	}
	fields := strings.Fields(res.Raw)
	if len(fields) >= 2 {
		fmt.Sscanf(fields[1], "%d", &res.Status)
	}
	return res
}

// Counter is an upstream that counts the requests it gets.
type Counter struct {
	n atomic.Int64
}

// ServeHTTP counts and answers 200 after reading the body.
func (c *Counter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c.n.Add(1)
	io.Copy(io.Discard, r.Body)
}

// Count is how many requests reached the upstream.
func (c *Counter) Count() int64 { return c.n.Load() }

// DirEmpty fails the test when dir holds files.
func DirEmpty(t testing.TB, dir string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		t.Errorf("%s was left in the temp directory", e.Name())
	}
}
