package conformance

import (
	"fmt"
	"net"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// redisServer is a real redis-server on a free loopback port, without
// persistence, stopped with the test. scripts/test.sh installs Debian's
// package (scripts/ensure-redis.sh); a missing binary fails the test.
type redisServer struct {
	addr string
	cmd  *exec.Cmd
}

func startRedis(t *testing.T) *redisServer {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Fatal("redis-server is not installed: run scripts/ensure-redis.sh (scripts/test.sh does)")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	dir := t.TempDir()
	cmd := exec.Command(bin, "--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
		"--dir", dir, "--logfile", filepath.Join(dir, "redis.log"))
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	r := &redisServer{addr: "127.0.0.1:" + strconv.Itoa(port), cmd: cmd}
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGCONT)
		cmd.Process.Kill()
		cmd.Wait()
	})
	for i := 0; i < 200; i++ {
		if c, err := net.Dial("tcp", r.addr); err == nil {
			c.Close()
			return r
		}
		time.Sleep(25 * time.Millisecond)
	}
	t.Fatal("redis-server did not start on " + r.addr)
	return nil
}

// change freezes or thaws the server.
func (r *redisServer) change(what string) error {
	if r == nil {
		return fmt.Errorf("redis %q: the suite has no redis-server (set \"redis\": true)", what)
	}
	switch what {
	case "freeze":
		return r.cmd.Process.Signal(syscall.SIGSTOP)
	case "thaw":
		return r.cmd.Process.Signal(syscall.SIGCONT)
	}
	return fmt.Errorf("redis %q: use freeze or thaw", what)
}
