package funcauth

import (
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/funcauth/funcauth/internal/redistest"
)

// sentinelClient is a client that finds the primary named master through
// the Sentinels at addrs.
func sentinelClient(master string, addrs ...string) *redisClient {
	c := newRedisClient("tcp", "primary "+master+" (Sentinel)", "", "", 0, nil, time.Second, 2)
	c.sentinels = &redisSentinels{master: master, addrs: addrs}
	return c
}

// Through Sentinel the client reaches the primary the Sentinels name,
// asking them in turn (the first here is down); when the primary dies
// and Sentinel promotes its replica, the calls reach the new primary, with
// no restart.
func TestRedisClientFollowsSentinelThroughAFailover(t *testing.T) {
	primary := startRedis(t)
	host, port, _ := net.SplitHostPort(primary.Addr)
	replica := startRedis(t, "--replicaof", host, port)
	sentinel := redistest.StartSentinel(t, "funcauth", primary)
	for deadline := time.Now().Add(10 * time.Second); sentinel.Do(t, "SENTINEL replicas funcauth") == "*0"; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the Sentinel found no replica of the primary within 10 s")
		}
	}
	c := sentinelClient("funcauth", deadAddress(t), sentinel.Addr)
	t.Cleanup(c.close)
	if r, err := c.do([]string{str("SET", "k", "before")}, testNow); err != nil || r[0].kind != '+' {
		t.Fatalf("a call through Sentinel: %+v, %v", r, err)
	}
	if v := primary.Do(t, "GET k"); v != "before" {
		t.Fatalf("the primary has k = %q, want before", v)
	}

	primary.Kill(t)
	start := time.Now()
	for {
		r, err := c.do([]string{str("SET", "k", "after")}, testNow)
		if err == nil && r[0].kind == '+' {
			break
		}
		if time.Since(start) > 20*time.Second {
			t.Fatalf("no call reached a primary within 20 s of the old one's death: %+v, %v", r, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("calls reached the new primary %v after the old one died", time.Since(start).Round(100*time.Millisecond))
	if v := replica.Do(t, "GET k"); v != "after" {
		t.Errorf("the promoted replica has k = %q, want after", v)
	}
}

// A Sentinel's answer is checked: a server that is not the primary (the
// Sentinel's view out of date during a failover) is not used, a name no
// Sentinel watches fails the dial, and so does a Sentinel that is down.
// The errors name what went wrong, never a password.
func TestRedisClientChecksWhatSentinelSays(t *testing.T) {
	primary := startRedis(t)
	host, port, _ := net.SplitHostPort(primary.Addr)
	replica := startRedis(t, "--replicaof", host, port)
	rhost, rport, _ := net.SplitHostPort(replica.Addr)
	sentinel := redistest.StartSentinel(t, "funcauth", primary)
	stale := answeringServer(t, "*2\r\n$"+strconv.Itoa(len(rhost))+"\r\n"+rhost+"\r\n$"+strconv.Itoa(len(rport))+"\r\n"+rport, 0)
	for _, tc := range []struct {
		name   string
		client *redisClient
		says   string
	}{
		{"a replica named as the primary", sentinelClient("funcauth", stale), "is not a primary"},
		{"an unknown name", sentinelClient("other", sentinel.Addr), "watches no primary named other"},
		{"no Sentinel up", sentinelClient("funcauth", deadAddress(t)), "cannot connect"},
	} {
		_, err := tc.client.do([]string{str("PING")}, testNow)
		if err == nil || !strings.Contains(err.Error(), tc.says) {
			t.Errorf("%s: %v, want an error that says %q", tc.name, err, tc.says)
		}
		tc.client.close()
	}
}

// deadAddress is a loopback address where nothing listens.
func deadAddress(t *testing.T) string { return "127.0.0.1:" + freePort(t) }

// A Sentinel that hangs costs a share of the timeout, not all of it: the
// next one is asked in time, and the dials after that ask the one that
// answered first.
func TestRedisClientAsksTheNextSentinelWhenOneHangs(t *testing.T) {
	primary := startRedis(t)
	sentinel := redistest.StartSentinel(t, "funcauth", primary)
	hung := answeringServer(t, "+never", time.Minute)
	c := sentinelClient("funcauth", hung, sentinel.Addr)
	t.Cleanup(c.close)
	if _, err := c.do([]string{str("PING")}, testNow); err != nil {
		t.Fatalf("a call with the first Sentinel hanging: %v", err)
	}
	c.sentinels.mu.Lock()
	first := c.sentinels.first
	c.sentinels.mu.Unlock()
	if first != 1 {
		t.Errorf("the next dial asks Sentinel %d first, want 1, the one that answered", first)
	}
}
