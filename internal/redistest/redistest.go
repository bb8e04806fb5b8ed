// Package redistest runs a real redis-server for tests: on a free loopback
// port, without persistence, stopped, frozen and brought back on the same
// port at will, killed when the test ends. Debian's package is installed by
// scripts/ensure-redis.sh when it is missing (scripts/test.sh runs it; so
// does Start).
package redistest

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Redis is a redis-server on a loopback port, without persistence, that
// the test can stop, freeze and bring back on the same port. It is killed
// when the test ends.
type Redis struct {
	Addr string // 127.0.0.1:port
	// TLSAddr is the TLS listener's address when the extra arguments
	// hold --tls-port.
	TLSAddr string

	bin, dir string
	port     int
	extra    []string
	conf     string // a Sentinel's configuration file

	mu  sync.Mutex
	cmd *exec.Cmd
}

// Start starts redis-server on a free port, with extra arguments
// (--requirepass, --tls-port and the like) after the defaults.
func Start(t testing.TB, extra ...string) *Redis {
	t.Helper()
	r := newRedis(t)
	r.extra = extra
	for i, a := range extra {
		if a == "--tls-port" && i+1 < len(extra) {
			r.TLSAddr = "127.0.0.1:" + extra[i+1]
		}
	}
	r.Restart(t)
	return r
}

// newRedis is a server on a free port, not started yet, that is stopped
// when the test ends.
func newRedis(t testing.TB) *Redis {
	r := &Redis{bin: ensureRedis(t), dir: t.TempDir(), port: freePort(t)}
	r.Addr = "127.0.0.1:" + strconv.Itoa(r.port)
	t.Cleanup(r.stop)
	return r
}

// stop kills the server, if it runs, when the test ends.
func (r *Redis) stop() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cmd != nil {
		r.cmd.Process.Signal(syscall.SIGCONT)
		r.cmd.Process.Kill()
		r.cmd.Wait()
		r.cmd = nil
	}
}

// StartSentinel starts a Redis Sentinel on a free port that watches
// primary under the name master, alone (quorum 1): it finds the primary's
// replicas by itself, and fails over to one of them a second after the
// primary stops answering, or at once on SENTINEL FAILOVER.
func StartSentinel(t testing.TB, master string, primary *Redis) *Redis {
	t.Helper()
	r := newRedis(t)
	host, port, _ := net.SplitHostPort(primary.Addr)
	r.conf = filepath.Join(r.dir, "sentinel.conf")
	conf := "sentinel monitor " + master + " " + host + " " + port + " 1\n" +
		"sentinel down-after-milliseconds " + master + " 1000\n" +
		"sentinel failover-timeout " + master + " 5000\n"
	if err := os.WriteFile(r.conf, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	r.Restart(t)
	return r
}

// Restart starts the server again on the same port (after Kill) and waits
// until it answers PING.
func (r *Redis) Restart(t testing.TB) {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cmd != nil {
		t.Fatal("redis-server is still running")
	}
	logFile := filepath.Join(r.dir, "redis.log")
	var args []string
	if r.conf != "" {
		args = []string{r.conf, "--sentinel"}
	}
	args = append(args, "--port", strconv.Itoa(r.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
		"--daemonize", "no", "--dir", r.dir, "--logfile", logFile)
	args = append(args, r.extra...)
	cmd := exec.Command(r.bin, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting redis-server: %v", err)
	}
	r.cmd = cmd
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if r.answers() {
			return
		}
		time.Sleep(25 * time.Millisecond)
	}
	data, _ := os.ReadFile(logFile)
	if len(data) > 2000 {
		data = data[len(data)-2000:]
	}
	t.Fatalf("redis-server did not answer on %s within 10 s\n%s", r.Addr, data)
}

// Kill stops the server at once (SIGKILL): connections are reset and the
// port refuses new ones until Restart.
func (r *Redis) Kill(t testing.TB) {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cmd == nil {
		t.Fatal("redis-server is not running")
	}
	r.cmd.Process.Signal(syscall.SIGCONT)
	r.cmd.Process.Kill()
	r.cmd.Wait()
	r.cmd = nil
}

// Freeze stops the server with SIGSTOP: connections stay open and the
// kernel still accepts new ones, but nothing answers until Thaw.
func (r *Redis) Freeze(t testing.TB) { r.signal(t, syscall.SIGSTOP) }

// Thaw resumes a frozen server (SIGCONT).
func (r *Redis) Thaw(t testing.TB) { r.signal(t, syscall.SIGCONT) }

func (r *Redis) signal(t testing.TB, sig syscall.Signal) {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cmd == nil {
		t.Fatal("redis-server is not running")
	}
	if err := r.cmd.Process.Signal(sig); err != nil {
		t.Fatalf("signal %v to redis-server: %v", sig, err)
	}
}

// Info returns a field of INFO (such as total_commands_processed).
func (r *Redis) Info(t testing.TB, field string) string {
	t.Helper()
	reply, err := r.command("INFO")
	if err != nil {
		t.Fatalf("INFO: %v", err)
	}
	for _, line := range strings.Split(reply, "\r\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			return v
		}
	}
	t.Fatalf("INFO has no field %s", field)
	return ""
}

// AwaitCopyOf waits (up to 10 s) until r, a replica of primary, has
// copied everything primary has written so far.
func (r *Redis) AwaitCopyOf(t testing.TB, primary *Redis) {
	t.Helper()
	written, _ := strconv.ParseInt(primary.Info(t, "master_repl_offset"), 10, 64)
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		copied, _ := strconv.ParseInt(r.Info(t, "master_repl_offset"), 10, 64)
		if r.Info(t, "master_link_status") == "up" && copied >= written {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the replica %s did not catch up with %s within 10 s", r.Addr, primary.Addr)
		}
	}
}

// Do sends one inline command (such as "REPLICAOF NO ONE") and returns its
// reply as command does; it fails t when the server cannot be reached.
func (r *Redis) Do(t testing.TB, cmd string) string {
	t.Helper()
	reply, err := r.command(cmd)
	if err != nil {
		t.Fatalf("%s: %v", cmd, err)
	}
	return reply
}

// command sends one inline command and returns the reply: a simple reply
// or error as is ("+PONG"), a bulk reply's content.
func (r *Redis) command(cmd string) (string, error) {
	conn, err := net.DialTimeout("tcp", r.Addr, time.Second)
	if err != nil {
		return "", err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := conn.Write([]byte(cmd + "\r\n")); err != nil {
		return "", err
	}
	br := bufio.NewReader(conn)
	line, err := br.ReadString('\n')
	if err != nil {
		return "", err
	}
	line = strings.TrimRight(line, "\r\n")
	if !strings.HasPrefix(line, "$") {
		return line, nil
	}
	n, err := strconv.Atoi(line[1:])
	if err != nil || n < 0 {
		return "", fmt.Errorf("reply %q", line)
	}
	buf := make([]byte, n+2)
	if _, err := io.ReadFull(br, buf); err != nil {
		return "", err
	}
	return string(buf[:n]), nil
}

// answers reports whether the server answers: PING on the plain port (any
// reply, NOAUTH included), or a connection to the TLS port.
func (r *Redis) answers() bool {
	if r.TLSAddr != "" {
		c, err := net.DialTimeout("tcp", r.TLSAddr, time.Second)
		if err == nil {
			c.Close()
		}
		return err == nil
	}
	reply, err := r.command("PING")
	return err == nil && reply != ""
}

// ensureRedis returns redis-server's path, installing Debian's package
// through scripts/ensure-redis.sh when it is missing.
func ensureRedis(t testing.TB) string {
	if bin, err := exec.LookPath("redis-server"); err == nil {
		return bin
	}
	_, file, _, _ := runtime.Caller(0)
	script := filepath.Join(filepath.Dir(file), "..", "..", "scripts", "ensure-redis.sh")
	out, err := exec.Command("bash", script).Output()
	if err != nil {
		t.Fatalf("redis-server is missing and %s failed: %v", script, err)
	}
	return strings.TrimSpace(string(out))
}

func freePort(t testing.TB) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}
