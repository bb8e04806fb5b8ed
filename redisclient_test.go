package funcauth

import (
	"bufio"
	"strings"
	"testing"
	"time"

	"github.com/funcauth/funcauth/internal/redistest"
)

// startRedis starts a real redis-server for one test (internal/redistest).
func startRedis(t *testing.T, extra ...string) *redistest.Redis {
	t.Helper()
	return redistest.Start(t, extra...)
}

func str(args ...string) string { return respCommand(args...) }

func TestRedisClientPipelineAgainstRealServer(t *testing.T) {
	srv := startRedis(t)
	c := newRedisClient("tcp", srv.Addr, "", "", 0, nil, time.Second, 4)
	defer c.close()
	replies, err := c.do([]string{
		str("SET", "k", "v", "NX", "PX", "60000"),
		str("SET", "k", "v", "NX", "PX", "60000"),
		str("INCR", "n"),
		str("GET", "missing"),
		str("EVAL", "return {1, 'two', redis.call('INCR', KEYS[1])}", "1", "n"),
		str("NOSUCHCOMMAND"),
	}, testNow)
	if err != nil {
		t.Fatal(err)
	}
	if replies[0].kind != '+' || replies[0].str != "OK" {
		t.Errorf("first SET NX: %+v, want OK", replies[0])
	}
	if !replies[1].null {
		t.Errorf("second SET NX: %+v, want null (already set)", replies[1])
	}
	if replies[2].num != 1 {
		t.Errorf("INCR: %+v", replies[2])
	}
	if !replies[3].null {
		t.Errorf("GET missing: %+v", replies[3])
	}
	if e := replies[4].elems; len(e) != 3 || e[0].num != 1 || e[1].str != "two" || e[2].num != 2 {
		t.Errorf("EVAL: %+v", replies[4])
	}
	if replies[5].kind != '-' {
		t.Errorf("unknown command: %+v, want an error reply", replies[5])
	}
}

func TestRedisClientAuthAndDatabase(t *testing.T) {
	const password = "s3cret-redis-password"
	srv := startRedis(t, "--requirepass", password)
	good := newRedisClient("tcp", srv.Addr, "", password, 3, nil, time.Second, 2)
	defer good.close()
	if _, err := good.do([]string{str("SET", "in3", "x")}, testNow); err != nil {
		t.Fatal(err)
	}
	// The key lives in database 3 only.
	zero := newRedisClient("tcp", srv.Addr, "default", password, 0, nil, time.Second, 2)
	defer zero.close()
	r, err := zero.do([]string{str("GET", "in3")}, testNow)
	if err != nil || !r[0].null {
		t.Fatalf("database 0 sees the key of database 3: %+v %v", r, err)
	}
	bad := newRedisClient("tcp", srv.Addr, "", "wrong-"+password, 0, nil, time.Second, 2)
	_, err = bad.do([]string{str("PING")}, testNow)
	if err == nil {
		t.Fatal("a wrong password was accepted")
	}
	if strings.Contains(err.Error(), password) {
		t.Fatalf("the error holds the password: %v", err)
	}
	if !strings.Contains(err.Error(), "AUTH refused") {
		t.Errorf("error %q does not say AUTH was refused", err)
	}
}

func TestRedisClientTimeoutsWhenTheServerHangs(t *testing.T) {
	srv := startRedis(t)
	c := newRedisClient("tcp", srv.Addr, "", "", 0, nil, 200*time.Millisecond, 2)
	defer c.close()
	if _, err := c.do([]string{str("PING")}, testNow); err != nil {
		t.Fatal(err)
	}
	srv.Freeze(t) // frozen: accepts nothing, answers nothing
	start := time.Now()
	_, err := c.do([]string{str("PING")}, testNow)
	took := time.Since(start)
	if err == nil || !strings.Contains(err.Error(), "timed out") {
		t.Fatalf("a frozen server gave %v, want a timeout", err)
	}
	if took > 2*time.Second {
		t.Fatalf("the call hung for %v past its 200ms timeout", took)
	}
	srv.Thaw(t)
	// The broken connection was dropped; the next call dials afresh.
	var lastErr error
	for i := 0; i < 20; i++ {
		if _, lastErr = c.do([]string{str("PING")}, testNow); lastErr == nil {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("no recovery after the server thawed: %v", lastErr)
}

func TestRedisClientStoppedServerAndRestart(t *testing.T) {
	srv := startRedis(t)
	c := newRedisClient("tcp", srv.Addr, "", "", 0, nil, 300*time.Millisecond, 2)
	defer c.close()
	if _, err := c.do([]string{str("PING")}, testNow); err != nil {
		t.Fatal(err)
	}
	srv.Kill(t)
	if _, err := c.do([]string{str("PING")}, testNow); err == nil {
		t.Fatal("a stopped server answered")
	}
	srv.Restart(t)
	var lastErr error
	for i := 0; i < 100; i++ {
		if _, lastErr = c.do([]string{str("PING")}, testNow); lastErr == nil {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("no recovery after the server restarted: %v", lastErr)
}

func TestRedisClientPoolIsBounded(t *testing.T) {
	srv := startRedis(t)
	c := newRedisClient("tcp", srv.Addr, "", "", 0, nil, 300*time.Millisecond, 1)
	defer c.close()
	busy := <-c.conns // the one connection is busy
	_, err := c.do([]string{str("PING")}, testNow)
	c.conns <- busy
	if err == nil || !strings.Contains(err.Error(), "pool") {
		t.Fatalf("a full pool gave %v, want an error naming the pool", err)
	}
	if _, err := c.do([]string{str("PING")}, testNow); err != nil {
		t.Fatal(err)
	}
}

// A server that misbehaves cannot make the client allocate without bound
// or hang: each bad reply is a protocol error.
func TestReadRESPRefusesOversizedAndMalformedReplies(t *testing.T) {
	for _, reply := range []string{
		"$999999999\r\n",
		"*99999\r\n",
		"*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n:1\r\n",
		":notanumber\r\n",
		"?what\r\n",
		"+no carriage return\n",
		"$5\r\nab", // cut short
	} {
		_, err := readRESP(bufio.NewReader(strings.NewReader(reply)), 0)
		if err == nil {
			t.Errorf("reply %q was accepted", reply)
		}
	}
}

// After a server restart every idle connection is stale: the call that
// finds one out drops the others, so the next call dials afresh instead of
// failing on the next stale one (in an outage, one probe a second each).
func TestRedisClientDropsStaleConnectionsAfterARestart(t *testing.T) {
	srv := startRedis(t)
	c := newRedisClient("tcp", srv.Addr, "", "", 0, nil, time.Second, 4)
	defer c.close()
	var conns []*redisConn
	for i := 0; i < 4; i++ {
		rc := <-c.conns
		if rc == nil {
			var err error
			if rc, err = c.dial(); err != nil {
				t.Fatal(err)
			}
		}
		conns = append(conns, rc)
	}
	for _, rc := range conns {
		rc.idleAt = testNow
		c.conns <- rc
	}
	srv.Kill(t)
	srv.Restart(t)
	c.do([]string{str("PING")}, testNow) // finds a stale connection, most likely
	if _, err := c.do([]string{str("PING")}, testNow); err != nil {
		t.Fatalf("the second call after a restart: %v", err)
	}
}
