package funcauth

import (
	"encoding/base64"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/funcauth/funcauth/internal/redistest"
)

// storeGuard is a Guard whose store is the Redis at addr, with username
// and password when set.
func storeGuard(t *testing.T, addr, username, password string, c *clock) *Guard {
	t.Helper()
	return newTestGuard(t, storeConfig(t, addr, username, password), c)
}

func storeConfig(t *testing.T, addr, username, password string) *Config {
	return &Config{
		Rules:      []Rule{{Path: "/function/*", Require: "signature"}},
		Signatures: []Signature{{Scheme: "faas-cli", Keys: []string{"cookie"}}},
		Store:      &Store{Address: addr, Username: username, PasswordEnv: passwordEnv(t, password), Timeout: "1s"},
	}
}

// passwordEnv puts password in an environment variable for the test and
// returns its name, "" for no password.
func passwordEnv(t *testing.T, password string) string {
	if password == "" {
		return ""
	}
	t.Setenv("FUNCAUTH_TEST_STORE_PASSWORD", password)
	return "FUNCAUTH_TEST_STORE_PASSWORD"
}

// TestCheckStoreSaysWhatTheServerLoses runs Guard.CheckStore against real
// servers set up as operators get them wrong (and right): each warning
// names the setting and what to change, and never the password.
func TestCheckStoreSaysWhatTheServerLoses(t *testing.T) {
	primary := redistest.Start(t)
	for _, c := range []struct {
		name string
		args []string
		want []string // in the warning; none: no warning
	}{
		{name: "a default server", args: nil},
		{name: "maxmemory without eviction", args: []string{"--maxmemory", "64mb", "--maxmemory-policy", "noeviction"}},
		{name: "an eviction policy without maxmemory", args: []string{"--maxmemory-policy", "allkeys-lru"}},
		{name: "evicting every key", args: []string{"--maxmemory", "64mb", "--maxmemory-policy", "allkeys-lru"},
			want: []string{"maxmemory-policy allkeys-lru", "64.00M", "replayed message", "noeviction"}},
		{name: "evicting keys with an expiry (ElastiCache's default)", args: []string{"--maxmemory", "64mb", "--maxmemory-policy", "volatile-lru"},
			want: []string{"maxmemory-policy volatile-lru", "noeviction"}},
		{name: "a replica", args: []string{"--replicaof", "127.0.0.1", primary.Addr[strings.LastIndexByte(primary.Addr, ':')+1:]},
			want: []string{"read-only replica", "primary"}},
		{name: "a cluster node", args: []string{"--cluster-enabled", "yes", "--cluster-config-file", t.TempDir() + "/nodes.conf"},
			want: []string{"cluster mode", "MOVED"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			srv := redistest.Start(t, c.args...)
			warning, err := storeGuard(t, srv.Addr, "", "", nil).CheckStore()
			if err != nil {
				t.Fatal(err)
			}
			if len(c.want) == 0 && warning != "" {
				t.Errorf("warning for a server that keeps what funcauth stores: %s", warning)
			}
			for _, w := range c.want {
				if !strings.Contains(warning, w) {
					t.Errorf("warning %q does not say %q", warning, w)
				}
			}
		})
	}
}

// TestCheckStoreAsksOnce: the check is one INFO per store, kept across
// reloads; a server it cannot reach is asked again a minute later at the
// earliest (by the Guard's clock), and one whose ACL refuses INFO is not
// asked again. Neither error quotes the password.
func TestCheckStoreAsksOnce(t *testing.T) {
	const password = "s3cret-store-password"
	srv := redistest.Start(t, "--requirepass", password, "--maxmemory", "64mb", "--maxmemory-policy", "allkeys-lru")
	c := &clock{t: testNow}
	cfg := storeConfig(t, srv.Addr, "", password)
	g := newTestGuard(t, cfg, c)
	if warning, err := g.CheckStore(); err != nil || !strings.Contains(warning, "allkeys-lru") {
		t.Fatalf("first check: %q, %v", warning, err)
	}
	// A reload with the same store settings keeps the store, checked.
	again, err := New(cfg, Options{Now: c.now, State: g.state})
	if err != nil {
		t.Fatal(err)
	}
	if warning, err := again.CheckStore(); warning != "" || err != nil {
		t.Errorf("the reloaded Guard checked again: %q, %v", warning, err)
	}

	t.Run("unreachable", func(t *testing.T) {
		down := redistest.Start(t, "--requirepass", password, "--maxmemory", "64mb", "--maxmemory-policy", "volatile-lru")
		down.Kill(t)
		g := storeGuard(t, down.Addr, "", password, c)
		_, err := g.CheckStore()
		if err == nil || !strings.Contains(err.Error(), "could not check") || strings.Contains(err.Error(), password) {
			t.Fatalf("unreachable server: %v", err)
		}
		down.Restart(t)
		if warning, err := g.CheckStore(); warning != "" || err != nil {
			t.Errorf("asked again within the minute: %q, %v", warning, err)
		}
		c.advance(storeCheckRetry)
		if warning, err := g.CheckStore(); !strings.Contains(warning, "volatile-lru") || err != nil {
			t.Errorf("a minute later, the server back: %q, %v", warning, err)
		}
	})

	t.Run("INFO refused", func(t *testing.T) {
		admin := newRedisClient("tcp", srv.Addr, "", password, 0, nil, time.Second, 1)
		replies, err := admin.do([]string{respCommand("ACL", "SETUSER", "noinfo", "on", ">"+password, "~*", "&*", "+@all", "-info")}, testNow)
		if err != nil || replies[0].kind != '+' {
			t.Fatalf("ACL SETUSER: %v %+v", err, replies)
		}
		g := storeGuard(t, srv.Addr, "noinfo", password, c)
		_, err = g.CheckStore()
		if err == nil || !strings.Contains(err.Error(), "NOPERM") || !strings.Contains(err.Error(), "+info") || strings.Contains(err.Error(), password) {
			t.Fatalf("INFO refused: %v", err)
		}
		c.advance(2 * storeCheckRetry)
		if warning, err := g.CheckStore(); warning != "" || err != nil {
			t.Errorf("a server that refused INFO was asked again: %q, %v", warning, err)
		}
	})

	if warning, err := newTestGuard(t, &Config{Rules: []Rule{{Path: "/function/*", Require: "signature"}}, Signatures: []Signature{{Scheme: "faas-cli", Keys: []string{"k"}}}}, c).CheckStore(); warning != "" || err != nil {
		t.Errorf("no store: %q, %v", warning, err)
	}
}

// TestStoreWorksWithTheDocumentedACL: the Redis user that
// docs/replicas.md tells operators to create can run every command and
// script funcauth sends (the scripts sent again in full after a SCRIPT
// FLUSH included), and the settings check.
func TestStoreWorksWithTheDocumentedACL(t *testing.T) {
	doc, err := os.ReadFile("docs/replicas.md")
	if err != nil {
		t.Fatal(err)
	}
	var acl []string
	for _, line := range strings.Split(string(doc), "\n") {
		if line = strings.TrimSpace(line); strings.HasPrefix(line, "ACL SETUSER funcauth ") {
			acl = strings.Fields(strings.Replace(line, ">CHANGE-ME", ">s3cret-acl", 1))
		}
	}
	if acl == nil {
		t.Fatal("docs/replicas.md has no ACL SETUSER funcauth line")
	}
	srv := startRedis(t)
	admin := newRedisClient("tcp", srv.Addr, "", "", 0, nil, time.Second, 1)
	if r, err := admin.do([]string{respCommand(acl...)}, testNow); err != nil || r[0].kind != '+' {
		t.Fatalf("%v: %v %+v", acl, err, r)
	}
	s, err := compileStore(&Store{Address: "redis://funcauth:s3cret-acl@" + srv.Addr}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.client.close)
	v := &verifier{windowArg: respBulk("60000")}
	q := &checkedRequest{group: "192.0.2.1"}
	count, ban := s.banKeys("client", q.group)
	for round := 0; round < 2; round++ {
		tag := strconv.Itoa(round)
		// A message's key as fleetClaim makes it (claimHead holds its length).
		claim := func(name string) string {
			var entry replayKey
			copy(entry[:], name)
			return s.prefix + "r:" + base64.RawURLEncoding.EncodeToString(entry[:])
		}
		cmds := []string{
			claimSetCommand(s, v, claim("set "+tag)),
			clientBanCommand(s, q),
			s.failCommand(count, ban, s.heldKey(ban), "check", 10, time.Minute, time.Minute),
			s.takeCommand(s.key("t", "all"), testNow, 10, 10),
			s.admitCommand([]string{count, ban, s.heldKey(ban)}, []int{10}, "check "+tag, testNow),
			s.releaseCommand(s.heldKey(ban), "check "+tag),
			s.forgetCommand(claim("set " + tag)),
		}
		replies, err := s.exec(cmds, testNow)
		if err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		for i, r := range replies {
			if r.kind == '-' {
				t.Errorf("round %d, command %d: %s", round, i, r.str)
			}
		}
		// The second round sends every script in full (EVAL).
		if r, err := admin.do([]string{respCommand("SCRIPT", "FLUSH")}, testNow); err != nil || r[0].kind != '+' {
			t.Fatalf("SCRIPT FLUSH: %v %+v", err, r)
		}
	}
	g := &Guard{store: s, now: func() time.Time { return testNow }}
	if warning, err := g.CheckStore(); warning != "" || err != nil {
		t.Errorf("settings check as the documented user: %q, %v", warning, err)
	}
}
