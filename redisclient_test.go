package funcauth

import (
	"bufio"
	"io"
	"net"
	"reflect"
	"strconv"
	"strings"
	"sync"
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
		// Integers of one digit are read on a short way of their own.
		str("INCRBY", "m", "7"),
		str("INCRBY", "m", "5"),
		str("DECRBY", "z", "3"),
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
	for i, want := range []int64{7, 12, -3} {
		if r := replies[6+i]; r.kind != ':' || r.num != want {
			t.Errorf("integer reply %d: %+v, want :%d", i, r, want)
		}
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
	awaitRecovery(t, c, "thawed")
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
	awaitRecovery(t, c, "restarted")
}

func TestRedisClientPoolIsBounded(t *testing.T) {
	_, c, busy := busyClient(t, 300*time.Millisecond, 1) // the one connection is busy
	start := time.Now()
	_, err := c.do([]string{str("PING")}, testNow)
	if err == nil || !strings.Contains(err.Error(), "pool") {
		t.Fatalf("a full pool gave %v, want an error naming the pool", err)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Fatalf("the call waited %v for its 300ms timeout", took)
	}
	if n := waitingCalls(c); n != 0 {
		t.Fatalf("%d calls still wait after their timeout", n)
	}
	giveBack(c, busy)
	if _, err := c.do([]string{str("PING")}, testNow); err != nil {
		t.Fatal(err)
	}
}

// Calls that find a round trip in flight wait for it, though the pool
// could open more connections, and share the next round trip; each gets
// its own replies.
func TestRedisClientBatchesWaitingCalls(t *testing.T) {
	srv, c, busy := busyClient(t, 5*time.Second, 4)
	const calls = 10
	type result struct {
		i       int
		replies []respValue
		err     error
	}
	results := make(chan result, calls)
	for i := 0; i < calls; i++ {
		i := i
		go func() {
			replies, err := c.do([]string{str("ECHO", "call "+strconv.Itoa(i)), str("INCRBY", "sum", strconv.Itoa(i+1))}, testNow)
			results <- result{i, replies, err}
		}()
	}
	awaitWaiting(c, calls)
	info := newRedisClient("tcp", srv.Addr, "", "", 0, nil, 5*time.Second, 1)
	defer info.close()
	before := readsProcessed(t, info)
	giveBack(c, busy)
	sums := map[int64]bool{}
	for j := 0; j < calls; j++ {
		r := <-results
		if r.err != nil {
			t.Fatal(r.err)
		}
		if len(r.replies) != 2 || r.replies[0].str != "call "+strconv.Itoa(r.i) {
			t.Fatalf("call %d got %+v", r.i, r.replies)
		}
		sums[r.replies[1].num] = true
	}
	if len(sums) != calls {
		t.Errorf("INCRBY replies %v: each call should see its own", sums)
	}
	// The second INFO is one more read event.
	if trips := readsProcessed(t, info) - before - 1; trips != 1 {
		t.Errorf("%d calls took %d round trips, want 1", calls, trips)
	}
	awaitIdle(t, c)
}

// The connection a round trip just used serves the calls waiting,
// however far apart the times of those calls are (each is its check's
// start): only a connection taken from the idle ones is checked for having
// been closed while it idled (see peerClosed).
func TestRedisClientServesWaitingCallsOnTheConnectionJustUsed(t *testing.T) {
	_, c, busy := busyClient(t, 5*time.Second, 1)
	errs := make(chan error, 1)
	go func() {
		_, err := c.do([]string{str("PING")}, testNow.Add(2*time.Minute))
		errs <- err
	}()
	awaitWaiting(c, 1)
	giveBack(c, busy) // idle since testNow, as the waiting call sees it
	if err := <-errs; err != nil {
		t.Fatal(err)
	}
	awaitIdle(t, c)
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.idle) != 1 || c.idle[0] != busy {
		t.Errorf("the waiting call was served on another connection than the one just used")
	}
}

// A call ends within the timeout, its wait for a turn included: one that
// waited most of it behind a round trip in flight, and is then sent to a
// server that does not answer, returns when its own timeout passes, not
// when the round trip's does; so does a call that came a third of the
// timeout later, in a batch of its own (see redisBatch). Their replies,
// if they came, would be dropped; the calls after them are served.
func TestRedisClientCallEndsWithinTheTimeoutItsTurnIncluded(t *testing.T) {
	const timeout = 600 * time.Millisecond
	srv, c, busy := busyClient(t, timeout, 1)
	errs := waitingPings(c, 1)
	start := time.Now()
	time.Sleep(timeout / 3)
	later := waitingPings(c, 1) // in a batch of its own (see joinShare)
	time.Sleep(timeout / 3)
	srv.Freeze(t)
	giveBack(c, busy) // the waiting calls are sent now, to a frozen server
	for i, ch := range []chan error{errs, later} {
		err := <-ch
		took := time.Since(start)
		if err == nil || !strings.Contains(err.Error(), "no answer within the timeout") {
			t.Fatalf("the call gave %v, want no answer within the timeout", err)
		}
		// Each call's timeout passes 600ms after it began; the round
		// trip's would 1s after the first began.
		began := time.Duration(i) * timeout / 3
		if took > began+timeout+timeout/3 {
			t.Fatalf("call %d returned after %v, past its %v timeout", i, took-began, timeout)
		}
		if i == 1 && took < began+timeout-timeout/joinShare {
			t.Fatalf("call %d returned after %v, more than a %d-th before its %v timeout", i, took-began, joinShare, timeout)
		}
	}
	srv.Thaw(t)
	awaitRecovery(t, c, "thawed")
}

// A batch takes calls for an eighth of the timeout at most: a call that
// comes later starts the next batch, under a timeout of its own, and both
// batches ride in the same round trip.
func TestRedisClientLateCallsStartTheNextBatchOfTheSameRoundTrip(t *testing.T) {
	const timeout = 800 * time.Millisecond
	srv, c, busy := busyClient(t, timeout, 1)
	type result struct {
		replies []respValue
		err     error
	}
	results := make([]chan result, 4)
	for i := range results {
		i := i
		results[i] = make(chan result, 1)
		go func() {
			r, err := c.do([]string{str("ECHO", "call "+strconv.Itoa(i)), str("INCR", "n")}, testNow)
			results[i] <- result{r, err}
		}()
		awaitWaiting(c, i+1)
		if i == 1 {
			awaitSealed(c) // the first batch takes no more calls
		}
	}
	c.mu.Lock()
	batches := len(c.waiting)
	c.mu.Unlock()
	if batches != 2 {
		t.Fatalf("%d batches wait, want 2: the calls after the first batch's share of the timeout start another", batches)
	}
	info := newRedisClient("tcp", srv.Addr, "", "", 0, nil, 5*time.Second, 1)
	defer info.close()
	before := readsProcessed(t, info)
	giveBack(c, busy)
	counts := map[int64]bool{}
	for i, ch := range results {
		r := <-ch
		if r.err != nil {
			t.Fatalf("call %d: %v", i, r.err)
		}
		if len(r.replies) != 2 || r.replies[0].str != "call "+strconv.Itoa(i) || cap(r.replies) != 2 {
			t.Fatalf("call %d got %+v", i, r.replies)
		}
		counts[r.replies[1].num] = true
	}
	if len(counts) != len(results) {
		t.Errorf("INCR replies %v: each call should see its own", counts)
	}
	if trips := readsProcessed(t, info) - before - 1; trips != 1 {
		t.Errorf("two batches took %d round trips, want 1", trips)
	}
	awaitIdle(t, c)
}

// Once a batch's worth of calls wait, in one batch or in several (see
// joinShare), the next call opens another connection rather than wait
// too.
func TestRedisClientOpensAnotherConnectionForAFullBatch(t *testing.T) {
	_, c, busy := busyClient(t, 5*time.Second, 2)
	errs := waitingPings(c, maxBatch/2)
	awaitSealed(c) // the next calls start another batch
	more := waitingPings(c, maxBatch/2)
	// The busy connection is still taken: this call's round trip is on
	// another. Its connection then serves the calls waiting.
	if _, err := c.do([]string{str("PING")}, testNow); err != nil {
		t.Fatalf("the call after a full batch: %v", err)
	}
	giveBack(c, busy)
	for i := 0; i < maxBatch/2; i++ {
		for _, ch := range []chan error{errs, more} {
			if err := <-ch; err != nil {
				t.Fatal(err)
			}
		}
	}
}

// A call that cannot dial fails the calls waiting behind it at once,
// rather than leaving each to dial the unreachable server in turn.
func TestRedisClientFailedDialFailsTheWaitingCalls(t *testing.T) {
	srv, c, busy := busyClient(t, 5*time.Second, 1)
	srv.Kill(t)
	errs := waitingPings(c, 3)
	busy.close()
	start := time.Now()
	giveBack(c, nil) // the connection failed: its place to dial goes on
	for i := 0; i < 3; i++ {
		if err := <-errs; err == nil || !strings.Contains(err.Error(), "cannot connect") {
			t.Fatalf("call %d: %v, want cannot connect", i, err)
		}
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Fatalf("the waiting calls failed after %v", took)
	}
	srv.Restart(t)
	awaitRecovery(t, c, "restarted")
}

// busyClient starts a server and a client of it with the given timeout
// and pool size, one of whose connections is taken (busy), as a round
// trip in flight holds it.
func busyClient(t *testing.T, timeout time.Duration, poolSize int) (*redistest.Redis, *redisClient, *redisConn) {
	t.Helper()
	srv := startRedis(t)
	c := newRedisClient("tcp", srv.Addr, "", "", 0, nil, timeout, poolSize)
	t.Cleanup(c.close)
	return srv, c, takeConn(t, c)
}

// takeConn takes a connection from c's pool, as a call does, dialling one
// where the pool has a place for it.
func takeConn(t *testing.T, c *redisClient) *redisConn {
	t.Helper()
	c.mu.Lock()
	if n := len(c.idle); n > 0 {
		rc := c.idle[n-1]
		rc.pooled = false
		c.idle = c.idle[:n-1]
		c.inFlight++
		c.mu.Unlock()
		return rc
	}
	if c.dialable == 0 {
		c.mu.Unlock()
		t.Fatal("the pool has no connection to take")
	}
	c.dialable--
	c.inFlight++
	c.mu.Unlock()
	rc, _, err := dialRoundTrip(c, nil) // a connection, no command
	if err != nil {
		t.Fatal(err)
	}
	return rc
}

// giveBack returns a connection taken by takeConn (nil: its place), as a
// call does at its end.
func giveBack(c *redisClient, rc *redisConn) {
	if rc != nil {
		rc.idleAt = testNow
	}
	releaseConn(c, rc)
}

// waitingPings starts n PINGs and returns once they all wait, with the
// channel their errors come on.
func waitingPings(c *redisClient, n int) chan error {
	before := waitingCalls(c)
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		go func() {
			_, err := c.do([]string{str("PING")}, testNow)
			errs <- err
		}()
	}
	awaitWaiting(c, before+n)
	return errs
}

// awaitSealed returns once the last batch waiting takes no more calls
// (see batchTimer).
func awaitSealed(c *redisClient) {
	for {
		c.mu.Lock()
		sealed := len(c.waiting) > 0 && c.waiting[len(c.waiting)-1].sealed
		c.mu.Unlock()
		if sealed {
			return
		}
		time.Sleep(time.Millisecond)
	}
}

// awaitWaiting returns once n calls wait for a round trip.
func awaitWaiting(c *redisClient, n int) {
	for waitingCalls(c) < n {
		time.Sleep(time.Millisecond)
	}
}

// awaitIdle returns once no connection is taken: the round trips in
// flight are done, and so is the goroutine serving waiting calls (it
// returns a connection as its last step). It fails t after 5 s.
func awaitIdle(t *testing.T, c *redisClient) {
	t.Helper()
	for i := 0; i < 5000; i++ {
		c.mu.Lock()
		n := c.inFlight
		c.mu.Unlock()
		if n == 0 {
			return
		}
		time.Sleep(time.Millisecond)
	}
	t.Fatal("connections are still taken 5 s after the calls ended: the goroutine serving waiting calls did not end")
}

func waitingCalls(c *redisClient) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, b := range c.waiting {
		n += b.calls
	}
	return n
}

// readsProcessed is the server's total_reads_processed: its read events,
// one per round trip of a client however many commands it pipelines (this
// one's included), asked through info, a client of its own.
func readsProcessed(t testing.TB, info *redisClient) int {
	t.Helper()
	r, err := info.do([]string{str("INFO", "stats")}, testNow)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(r[0].str, "\r\n") {
		if v, ok := strings.CutPrefix(line, "total_reads_processed:"); ok {
			n, err := strconv.Atoi(v)
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
	}
	t.Fatalf("no total_reads_processed in INFO stats")
	return 0
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

// A batch's replies are read at once only when every one of them is the
// same usual reply and all have arrived; otherwise none is consumed, and
// each is read on its own, in order.
func TestSameRepliesReadsOnlyARunOfTheUsualReply(t *testing.T) {
	ok, noBan := respValue{kind: '+', str: "OK"}, respValue{kind: ':', num: -2}
	claimed := respValue{kind: ':', num: 1}
	for _, c := range []struct {
		name   string
		chunks []string // what the connection's reads return, one each
		want   []respValue
		atOnce bool
	}{
		{"SET's +OK each", []string{"+OK\r\n+OK\r\n+OK\r\n"}, []respValue{ok, ok, ok}, true},
		{"no ban, then +OK, each", []string{":-2\r\n+OK\r\n:-2\r\n+OK\r\n"}, []respValue{noBan, ok, noBan, ok}, true},
		{"a ban among them", []string{":-2\r\n+OK\r\n:5000\r\n+OK\r\n"}, []respValue{noBan, ok, {kind: ':', num: 5000}, ok}, false},
		{"half a pair", []string{":-2\r\n+OK\r\n:-2\r\n"}, []respValue{noBan, ok, noBan}, false},
		{"other integers", []string{":1\r\n:1\r\n"}, []respValue{claimed, claimed}, false},
		{"a replay among them", []string{"+OK\r\n$-1\r\n+OK\r\n"}, []respValue{ok, {kind: '$', null: true}, ok}, false},
		{"an error among them", []string{"+OK\r\n-READONLY You can't write against a read only replica\r\n"},
			[]respValue{ok, {kind: '-', str: "READONLY You can't write against a read only replica"}}, false},
		{"two usual replies", []string{":1\r\n+OK\r\n"}, []respValue{claimed, ok}, false},
		{"a longer integer", []string{":10\r\n:1\r\n"}, []respValue{{kind: ':', num: 10}, claimed}, false},
		{"a longer status", []string{"+OKAY\r\n+OK\r\n"}, []respValue{{kind: '+', str: "OKAY"}, ok}, false},
		{"not all arrived yet", []string{"+OK\r\n+OK\r\n", "+OK\r\n"}, []respValue{ok, ok, ok}, false},
	} {
		r := bufio.NewReader(&chunkReader{chunks: c.chunks})
		replies := make([]respValue, len(c.want))
		read := sameReplies(r, replies)
		if c.atOnce != (read == len(replies)) || read != 0 && read != len(replies) {
			t.Errorf("%s: read %d of %d replies at once", c.name, read, len(replies))
		}
		for i := read; i < len(replies); i++ {
			v, err := readRESP(r, 0)
			if err != nil {
				t.Fatalf("%s: reply %d: %v", c.name, i, err)
			}
			replies[i] = v
		}
		if !reflect.DeepEqual(replies, c.want) {
			t.Errorf("%s: replies %+v, want %+v", c.name, replies, c.want)
		}
	}
}

// chunkReader returns its chunks one read at a time, as a connection
// returns what has arrived.
type chunkReader struct{ chunks []string }

func (c *chunkReader) Read(p []byte) (int, error) {
	if len(c.chunks) == 0 {
		return 0, io.EOF
	}
	n := copy(p, c.chunks[0])
	if c.chunks[0] = c.chunks[0][n:]; c.chunks[0] == "" {
		c.chunks = c.chunks[1:]
	}
	return n, nil
}

// After a server restart every idle connection is stale: each call that
// takes one (a second or more after it idled, by the calls' clock) finds
// it closed and dials a new one, so no call fails on a stale connection.
func TestRedisClientDropsStaleConnectionsAfterARestart(t *testing.T) {
	srv := startRedis(t)
	c := newRedisClient("tcp", srv.Addr, "", "", 0, nil, time.Second, 4)
	defer c.close()
	var stale []*redisConn
	for i := 0; i < 4; i++ {
		stale = append(stale, takeConn(t, c))
	}
	for _, rc := range stale {
		giveBack(c, rc)
	}
	srv.Kill(t)
	srv.Restart(t)
	for i := 0; i < 4; i++ {
		if _, err := c.do([]string{str("PING")}, testNow.Add(staleAfter)); err != nil {
			t.Fatalf("call %d after a restart: %v", i, err)
		}
		// The connection the call left idle goes to the bottom of the
		// pool, so that the next call takes the next stale one.
		c.mu.Lock()
		n := len(c.idle)
		top := c.idle[n-1]
		c.idle = append([]*redisConn{top}, c.idle[:n-1]...)
		c.mu.Unlock()
		for _, old := range stale {
			if top == old {
				t.Fatalf("call %d left a stale connection in the pool", i)
			}
		}
	}
}

// A pooled connection that the server closed while it idled (its own idle
// timeout, CLIENT KILL, a middlebox) for a second or more is found closed
// before the call is sent on it, and the call dials a new one.
func TestRedisClientRedialsAConnectionClosedWhileIdle(t *testing.T) {
	srv := startRedis(t)
	c := newRedisClient("tcp", srv.Addr, "", "", 0, nil, time.Second, 2)
	defer c.close()
	admin := newRedisClient("tcp", srv.Addr, "", "", 0, nil, time.Second, 1)
	defer admin.close()
	for i := 0; i < 3; i++ {
		if _, err := c.do([]string{str("INCR", "n")}, testNow.Add(time.Duration(i)*staleAfter)); err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
		// Every client but admin's own connection.
		if r, err := admin.do([]string{str("CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes")}, testNow); err != nil || r[0].kind != ':' {
			t.Fatalf("CLIENT KILL: %v %+v", err, r)
		}
	}
	if r, err := admin.do([]string{str("GET", "n")}, testNow); err != nil || r[0].str != "3" {
		t.Errorf("each INCR ran once: n = %+v, %v", r, err)
	}
}

// A call is never sent twice: connections killed while calls are in
// flight fail those calls (their commands may have run), and no INCR runs
// more than once.
func TestRedisClientNeverSendsACallTwice(t *testing.T) {
	srv := startRedis(t)
	c := newRedisClient("tcp", srv.Addr, "", "", 0, nil, 300*time.Millisecond, 4)
	defer c.close()
	admin := newRedisClient("tcp", srv.Addr, "", "", 0, nil, time.Second, 1)
	defer admin.close()
	stop := make(chan struct{})
	killed := make(chan struct{})
	go func() {
		defer close(killed)
		for {
			select {
			case <-stop:
				return
			case <-time.After(time.Millisecond):
				admin.do([]string{str("CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes")}, testNow)
			}
		}
	}()
	const senders, each = 16, 100
	var wg sync.WaitGroup
	for g := 0; g < senders; g++ {
		g := g
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				// The calls' clock moves on: idle connections get checked.
				c.do([]string{str("INCR", "u"+strconv.Itoa(g)+"-"+strconv.Itoa(i))}, testNow.Add(time.Duration(i)*staleAfter))
			}
		}()
	}
	wg.Wait()
	close(stop)
	<-killed
	for g := 0; g < senders; g++ {
		for i := 0; i < each; i++ {
			r, err := admin.do([]string{str("GET", "u"+strconv.Itoa(g)+"-"+strconv.Itoa(i))}, testNow)
			if err != nil {
				t.Fatal(err)
			}
			if !r[0].null && r[0].str != "1" {
				t.Fatalf("INCR u%d-%d ran %s times", g, i, r[0].str)
			}
		}
	}
}

// Dialling (connecting, TLS, AUTH) and the round trip share one timeout:
// a server that answers each command just within the timeout makes a
// new connection's call fail, once the timeout is spent, rather than take
// a timeout for each step.
func TestRedisClientDialAndRoundTripShareTheTimeout(t *testing.T) {
	addr := answeringServer(t, "+OK", 250*time.Millisecond)
	c := newRedisClient("tcp", addr, "", "password", 0, nil, 400*time.Millisecond, 1)
	defer c.close()
	start := time.Now()
	_, err := c.do([]string{str("PING")}, testNow)
	took := time.Since(start)
	if err == nil || !strings.Contains(err.Error(), "timed out") {
		t.Errorf("AUTH and PING answered after 250 ms each, timeout 400 ms: %v", err)
	}
	if took > 2*time.Second {
		t.Errorf("the call took %v", took)
	}
}

// A call that gave up is never sent: one whose timer fires while the
// connection that is to serve it is still being dialled leaves the queue
// with an error that says it was not sent, and its command does not run
// once the dial completes.
func TestRedisClientNeverSendsACallThatGaveUp(t *testing.T) {
	const timeout = 900 * time.Millisecond
	srv := startRedis(t, "--requirepass", "pw")
	c := newRedisClient("tcp", slowDialProxy(t, srv.Addr, timeout*2/3), "", "pw", 0, nil, timeout, 1)
	t.Cleanup(c.close)
	busy := takeConn(t, c)
	errs := make(chan error, 1)
	go func() {
		_, err := c.do([]string{str("SET", "late", "1")}, testNow)
		errs <- err
	}()
	awaitWaiting(c, 1)
	time.Sleep(timeout / 2)
	busy.close()
	giveBack(c, nil) // the busy round trip failed: a new connection is dialled
	if err := <-errs; err == nil || !strings.Contains(err.Error(), "waited the whole timeout") {
		t.Fatalf("the call gave %v, want the error of a call never sent", err)
	}
	awaitIdle(t, c) // the dial is done, and whatever it would send
	c.mu.Lock()
	dialled := len(c.idle)
	c.mu.Unlock()
	if dialled != 1 {
		t.Fatalf("%d idle connections, want the one dialled for the call", dialled)
	}
	check := newRedisClient("tcp", srv.Addr, "", "pw", 0, nil, time.Second, 1)
	defer check.close()
	r, err := check.do([]string{str("EXISTS", "late")}, testNow)
	if err != nil {
		t.Fatal(err)
	}
	if r[0].num != 0 {
		t.Error("the SET of a call that had given up was sent once the dial completed")
	}
}

// slowDialProxy forwards connections to addr, each but the first only
// after delay: a slow dial (a TLS handshake or AUTH over a slow link).
func slowDialProxy(t *testing.T, addr string, delay time.Duration) string {
	t.Helper()
	first := true
	return serveLoopback(t, func(in net.Conn) {
		wait := !first
		first = false
		go func() {
			defer in.Close()
			if wait {
				time.Sleep(delay)
			}
			out, err := net.Dial("tcp", addr)
			if err != nil {
				return
			}
			defer out.Close()
			go func() { io.Copy(out, in); out.Close() }()
			io.Copy(in, out)
		}()
	})
}

// serveLoopback listens on a loopback port until t ends, and hands each
// connection it accepts to handle, on the accepting goroutine (handle
// starts one of its own to serve it). It returns the address.
func serveLoopback(t *testing.T, handle func(net.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			handle(conn)
		}
	}()
	return ln.Addr().String()
}

// awaitRecovery returns once c's calls succeed again, after the server
// came back (what it did: "thawed", "restarted"); it fails t when they do
// not within 5 s.
func awaitRecovery(t *testing.T, c *redisClient, what string) {
	t.Helper()
	var lastErr error
	for i := 0; i < 100; i++ {
		if _, lastErr = c.do([]string{str("PING")}, testNow); lastErr == nil {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("no recovery after the server %s: %v", what, lastErr)
}

// A round trip that fails with no call left waiting leaves its place to
// the pool: the goroutine serving waiting calls dials no connection for
// none.
func TestRedisClientDialsNothingForNoCall(t *testing.T) {
	srv, c, busy := busyClient(t, 300*time.Millisecond, 1)
	errs := waitingPings(c, 1)
	srv.Freeze(t)
	defer srv.Thaw(t)
	giveBack(c, busy) // the waiting call is sent to a frozen server
	if err := <-errs; err == nil {
		t.Fatal("a frozen server answered")
	}
	awaitIdle(t, c)
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.idle) != 0 || c.dialable != 1 {
		t.Errorf("after the failed round trip: %d idle, %d dialable; want 0 and 1 (nothing dialled)", len(c.idle), c.dialable)
	}
}

// A connection that idles in the pool for the idle timeout closes by its
// own timer, with no call to notice it, and leaves its place free: a
// client no longer used (a middleware Traefik replaced, a Caddy
// configuration with other store settings) keeps nothing open. One that a
// call takes before its timer fires stays open through the call.
func TestRedisClientClosesConnectionsThatIdle(t *testing.T) {
	srv, c, rc := busyClient(t, 5*time.Second, 2)
	c.idleTimeout = 100 * time.Millisecond
	giveBack(c, rc)
	// A call takes it back before its timer fires, and holds it past that
	// (BLPOP waits 0.3 s for a list that stays empty).
	if r, err := c.do([]string{str("BLPOP", "nothing", "0.3")}, testNow); err != nil || !r[0].null {
		t.Fatalf("the idle timer closed a connection a call had taken: %+v, %v", r, err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for srv.Info(t, "connected_clients") != "1" { // INFO's own
		if time.Now().After(deadline) {
			t.Fatalf("%s connections open at the server (INFO's own included) 5 s after the pool's last call; want 1", srv.Info(t, "connected_clients"))
		}
		time.Sleep(10 * time.Millisecond)
	}
	c.mu.Lock()
	idle, inFlight, dialable := len(c.idle), c.inFlight, c.dialable
	c.mu.Unlock()
	if idle != 0 || inFlight != 0 || dialable != 2 {
		t.Errorf("pool after its idle connection closed: %d idle, %d in flight, %d dialable; want 0, 0, 2", idle, inFlight, dialable)
	}
	if _, err := c.do([]string{str("PING")}, testNow); err != nil {
		t.Fatalf("a call after the idle connection closed: %v", err)
	}
}

// A server that answers READONLY, as a primary does once a failover made
// it a replica, is left: the connection that got the answer is not used
// again, nor are the pool's idle ones, nor one in use meanwhile once its
// round trip ends, so the next call dials, and reaches the new primary
// where the address now leads (a DNS name, a Kubernetes Service: here a
// redistest.Front).
func TestRedisClientLeavesADemotedPrimary(t *testing.T) {
	old, next := startRedis(t), startRedis(t)
	front := redistest.NewFront(t, old)
	c := newRedisClient("tcp", front.Addr, "", "", 0, nil, 5*time.Second, 3)
	t.Cleanup(c.close)
	idle, answered, busy := takeConn(t, c), takeConn(t, c), takeConn(t, c)
	giveBack(c, idle)
	giveBack(c, answered) // two idle connections to the old primary, and busy in use

	// The failover: the old primary follows the new one, and the address
	// leads to the new one.
	host, port, _ := net.SplitHostPort(next.Addr)
	if r := old.Do(t, "REPLICAOF "+host+" "+port); r != "+OK" {
		t.Fatalf("REPLICAOF: %s", r)
	}
	front.Lead(next)

	// A call takes a connection and is answered READONLY, while busy is
	// still in use (as when many calls wait: two round trips at once).
	if rc := takeConn(t, c); rc != answered {
		t.Fatal("the pool did not give its most recently used connection")
	}
	r, err := redisRoundTrip(answered, []string{str("SET", "k", "v")}, c.timeout)
	if err != nil || r[0].kind != '-' || !strings.HasPrefix(r[0].str, "READONLY") {
		t.Fatalf("the call on a connection to the demoted primary: %+v, %v; want READONLY", r, err)
	}
	releaseConn(c, endRoundTrip(c, answered, err, testNow))
	giveBack(c, busy) // its round trip ends after the demotion showed
	for name, rc := range map[string]*redisConn{"answered READONLY": answered, "idle": idle, "in use meanwhile": busy} {
		if _, err := rc.conn.Write([]byte(str("PING"))); err == nil {
			t.Errorf("the connection %s is still open", name)
		}
	}
	for i := 0; i < 3; i++ {
		if r, err := c.do([]string{str("SET", "k", "v")}, testNow); err != nil || r[0].kind != '+' {
			t.Fatalf("call %d after the failover: %+v, %v; want the new primary's OK", i+1, r, err)
		}
	}
	if v := next.Do(t, "GET k"); v != "v" {
		t.Errorf("the new primary has k = %q; want v", v)
	}
}

// The forms a replica's refusal of a write takes: its own error reply,
// and a script's error, whose reply Redis 7 keeps and Redis 6 wraps; and
// the refusal of a replica that lost its primary. A connection that gets
// one of them is left; one that gets another error reply is kept.
func TestRedisClientKnowsTheFormsOfREADONLY(t *testing.T) {
	for _, tc := range []struct {
		reply string
		left  bool
	}{
		{"-READONLY You can't write against a read only replica.", true},
		{"-READONLY You can't write against a read only replica. script: 4a5b, on @user_script:1.", true},
		{"-ERR Error running script (call to f_4a5b): @user_script:1: @user_script: 1: -READONLY You can't write against a read only replica.", true},
		{"-READONLY You can't write against a read only slave.", true}, // Redis 4
		{"-MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.", true},
		{"-ERR unknown command 'FOO'", false},
		{"-NOSCRIPT No matching script. Please use EVAL.", false},
	} {
		addr := answeringServer(t, tc.reply, 0)
		c := newRedisClient("tcp", addr, "", "", 0, nil, 5*time.Second, 1)
		r, err := c.do([]string{str("SET", "k", "v")}, testNow)
		if err != nil || r[0].kind != '-' || "-"+r[0].str != tc.reply {
			t.Fatalf("%q: got %+v, %v", tc.reply, r, err)
		}
		c.mu.Lock()
		kept := len(c.idle)
		c.mu.Unlock()
		if left := kept == 0; left != tc.left {
			t.Errorf("%q: connection left = %v, want %v", tc.reply, left, tc.left)
		}
		c.close()
	}
}

// answeringServer answers every command (a RESP array of bulk strings) of
// every connection with reply, after delay.
func answeringServer(t *testing.T, reply string, delay time.Duration) string {
	t.Helper()
	return serveLoopback(t, func(conn net.Conn) {
		go func() {
			defer conn.Close()
			r := bufio.NewReader(conn)
			for {
				head, err := r.ReadString('\n')
				if err != nil || !strings.HasPrefix(head, "*") {
					return
				}
				n, _ := strconv.Atoi(strings.TrimSpace(head[1:]))
				for i := 0; i < 2*n; i++ { // each argument's length, then the argument
					if _, err := r.ReadString('\n'); err != nil {
						return
					}
				}
				time.Sleep(delay)
				if _, err := conn.Write([]byte(reply + "\r\n")); err != nil {
					return
				}
			}
		}()
	})
}
