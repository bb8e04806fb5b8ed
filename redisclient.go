package funcauth

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"
)

// redisClient speaks RESP2 to one Redis server over a bounded pool of
// connections. It is funcauth's own, over net.Conn and the standard library,
// because the Traefik plugin may import nothing else and Yaegi interprets
// whatever it imports. Connections are dialled on demand, reused, and
// closed when they fail, or by their idle timer once they idled for
// idleTimeout (see closeIdle). The only goroutine it starts serves calls
// that wait (see serveWaiting) and ends when none do. So nothing is left
// running, and no connection left open past the idle timeout, once a
// client is no longer used: after Traefik replaces a middleware, or Caddy
// a configuration with other store settings.
//
// A call that finds a round trip in flight waits, and its commands ride
// in the next round trip with those of every other call waiting meanwhile
// (up to maxBatch calls): under load, one write and one read on each side
// serve many requests, where a round trip each would cost system calls in
// the proxy and in Redis, and Redis runs commands one at a time whatever
// the connections they come on. A second connection opens only when
// maxBatch calls wait, or the one in flight fails; pool_size bounds them.
//
// Every call ends within the timeout, its wait for a turn included: a call
// that leads its own round trip has the timeout for it (a new
// connection's dial, TLS handshake and AUTH included), and calls that
// wait give up in batches, each when the first of its calls has waited
// the timeout, whether their commands were sent yet or not (see
// redisBatch). Its errors name the server's address and never the
// password.
type redisClient struct {
	network, addr string
	username      string
	password      string
	db            int
	tls           *tls.Config
	sentinels     *redisSentinels // when the primary is found through Sentinel (addr then only names it)
	timeout       time.Duration
	idleTimeout   time.Duration // a pooled connection unused for this long closes

	// mu guards the pool. Calls wait only while a round trip is in
	// flight: the connection it used, or its place to dial one if it
	// failed, then serves the calls waiting (see serveWaiting).
	mu       sync.Mutex
	idle     []*redisConn  // idle connections, the most recently used last
	dialable int           // connections the pool may still open
	inFlight int           // connections taken (or places to dial one)
	waiting  []*redisBatch // batches of calls waiting for a round trip, oldest first
	calls    int           // the calls of the batches waiting
	// gen counts the times the pool's connections were dropped (a failed
	// round trip, a demoted server: see close): a connection dialled
	// before the last of them is closed when its round trip ends, not
	// pooled, as it may lead to the server that failed.
	gen int
}

// redisBatch holds calls that found a round trip in flight: their
// commands, sent together in one round trip (see serveWaiting). Its calls
// wait for it together, and end together: when the round trip answers
// them, or when the timeout of the first of them passes (see batchTimer),
// whichever comes first. A batch takes calls for a joinShare-th of the
// timeout at most, so each of its calls ends within its own timeout and
// less than a joinShare-th of it before. One timer, channel and closure a
// batch rather than a call: under Yaegi each costs a call's worth of
// interpreted work, and natively a timer and a wake-up each.
type redisBatch struct {
	cmds    []string      // the calls' commands, in the order the calls joined (then those of the batches along: see takeAlong)
	calls   int           // how many calls joined
	now     time.Time     // the first call's check's start, by the Guard's clock
	replies []respValue   // one per command, once answered
	err     error         // or the round trip's error, or the batch's timeout
	state   int           // batchWaiting, batchSent or batchDone; under the client's mu
	sealed  bool          // it takes no more calls (see batchTimer); under the client's mu
	timer   *time.Timer   // the first call's timeout
	done    chan struct{} // closed once answered or expired
	own     int           // the commands of its own calls, when batches ride along (see takeAlong)
}

// joinShare: a batch takes calls for this share of the timeout at most
// (see batchTimer).
const joinShare = 8

// The states of a redisBatch.
const (
	batchWaiting = iota
	batchSent    // in a round trip under way, on a live connection
	batchDone    // answered (its replies, or the round trip's error, are in) or expired
)

// maxBatch bounds the calls a batch holds, and so one round trip takes
// along.
const maxBatch = 64

// redisConn is one connection with its buffers, and its timer: armed for
// each round trip, it fails the connection's I/O when the round trip
// overruns the timeout (a timer rather than an absolute deadline, so the
// client reads no wall clock: funcauth's time is the Guard's; a dial has a
// timer of its own, see dialBudget). One timer per connection, made once,
// so that a call makes no closure.
type redisConn struct {
	conn    net.Conn
	r       *bufio.Reader
	idleAt  time.Time
	scratch []byte
	timer   *time.Timer
	expired bool // the timer fired: the connection is not reused
	// demoted: the server answered READONLY (or MASTERDOWN), as a
	// primary does once a failover made it a replica. Neither this
	// connection nor the pool's others are reused (see endRoundTrip), so
	// that the next call dials, and reaches the new primary where the
	// address now leads (a DNS name, a Kubernetes Service).
	demoted bool

	// idleTimer closes the connection when it has idled in the pool for
	// the idle timeout (see closeIdle); pooled says it is in the pool.
	// putBack sets pooled and arms the timer; pooled is under the
	// client's mu.
	idleTimer *time.Timer
	pooled    bool
	gen       int // the client's gen when it was dialled
}

// respValue is one RESP2 reply: a simple string ('+'), an error ('-'), an
// integer (':'), a bulk string ('$', nil when null) or an array ('*').
type respValue struct {
	kind  byte
	str   string
	num   int64
	null  bool
	elems []respValue
}

// Limits on what a reply may hold, so a confused or hostile server cannot
// make funcauth allocate without bound.
const (
	maxRESPBulk  = 1 << 20
	maxRESPArray = 1 << 12
	maxRESPDepth = 4
)

// The errors of a call whose timer fired while it waited: before its
// commands were sent (the server never saw them), or after (it may have
// run them).
var (
	errRedisPoolExhausted = errors.New("waited the whole timeout for the round trips in flight (store.timeout, store.pool_size): the store is slow or overloaded")
	errRedisNoAnswer      = errors.New("no answer within the timeout (store.timeout), the wait for a round trip included")
)

func newRedisClient(network, addr, username, password string, db int, tlsConfig *tls.Config, timeout time.Duration, poolSize int) *redisClient {
	return &redisClient{
		network: network, addr: addr, username: username, password: password, db: db,
		tls: tlsConfig, timeout: timeout, idleTimeout: 60 * time.Second,
		dialable: poolSize,
	}
}

// do sends the commands (each RESP-encoded, see respCommand) in one
// pipeline, one round trip, and returns their replies in order. A server
// error reply is a respValue of kind '-', not an error: errors are for the
// connection, the timeout and the protocol.
//
// The hot path is written for Yaegi, where each interpreted call and
// statement costs far more than the compiled work it does: plain functions
// rather than methods (a method call costs about four function calls
// there), no defer, one lock each way for the pool, and one write of
// commands encoded beforehand. Only a call that starts a batch makes a
// closure (its timer's, see newBatch).
func (c *redisClient) do(cmds []string, now time.Time) ([]respValue, error) {
	return redisDo(c, cmds, now)
}

func redisDo(c *redisClient, cmds []string, now time.Time) ([]respValue, error) {
	c.mu.Lock()
	n := len(c.idle)
	var b *redisBatch // the batch this call may join: the last one waiting
	if k := len(c.waiting); k > 0 {
		b = c.waiting[k-1]
	}
	if c.inFlight > 0 && c.calls < maxBatch || n == 0 && c.dialable == 0 {
		// Most calls under load wait here, and are answered by a round
		// trip that serveWaiting runs.
		if b == nil || b.calls == maxBatch || b.sealed {
			b = newBatch(c, now)
		}
		at := len(b.cmds)
		b.cmds = append(b.cmds, cmds...)
		b.calls++
		c.calls++
		c.mu.Unlock()
		// No select: Yaegi v0.16.1 keeps one set of cases per select
		// statement, shared by every goroutine running it, so concurrent
		// waits would take each other's channels and wake-ups. The batch's
		// timer ends the wait through the batch's channel instead.
		<-b.done
		if b.err != nil {
			return nil, c.wrap(b.err)
		}
		end := at + len(cmds)
		return b.replies[at:end:end], nil // (no room: the next call's replies follow)
	}
	var rc *redisConn
	c.inFlight++
	if n > 0 {
		rc = c.idle[n-1]
		rc.pooled = false // its idle timer, if it fires, leaves it alone
		c.idle[n-1] = nil
		c.idle = c.idle[:n-1]
	} else {
		c.dialable--
	}
	c.mu.Unlock()
	return leadRoundTrip(c, rc, cmds, now)
}

// leadRoundTrip runs the round trip of cmds on rc, a connection taken
// from the pool's idle ones, or on one it dials when rc is nil. rc is
// closed instead when it idled a second or more and the server closed it
// (see peerClosed). It then hands the connection on (see releaseConn).
func leadRoundTrip(c *redisClient, rc *redisConn, cmds []string, now time.Time) ([]respValue, error) {
	if rc != nil {
		if now.Sub(rc.idleAt) >= staleAfter && peerClosed(rc) {
			rc.close()
			rc = nil
		}
	}
	var replies []respValue
	var err error
	if rc != nil {
		replies, err = redisRoundTrip(rc, cmds, c.timeout)
	} else if rc, replies, err = dialRoundTrip(c, cmds); rc == nil {
		return nil, dialFailed(c, err)
	}
	rc = endRoundTrip(c, rc, err, now)
	releaseConn(c, rc)
	if err != nil {
		return nil, c.wrap(err)
	}
	return replies, nil
}

// endRoundTrip returns rc after a round trip that ended with err, or nil
// when rc is not to be used again: it failed, its timer fired, or its
// server was demoted (see redisConn.demoted). After a failure or a
// demotion the pool's other connections go too, the idle ones now and
// those in use as their round trips end (see close): the server may have
// restarted, and each would fail one call (one probe each in an outage);
// or the address now leads elsewhere.
func endRoundTrip(c *redisClient, rc *redisConn, err error, now time.Time) *redisConn {
	if err == nil && !rc.expired && !rc.demoted {
		rc.idleAt = now
		return rc
	}
	rc.close()
	if err != nil || rc.demoted {
		c.close()
	}
	return nil
}

// staleAfter is how long a pooled connection idles before the call that
// takes it checks that the server has not closed it (see peerClosed).
const staleAfter = time.Second

// peerClosed reports whether the server closed rc while it idled (its own
// idle timeout, CLIENT KILL, a restart, a load balancer), so that a call
// is not failed by a connection that was gone before it was sent: a read
// that the connection's timer stops after a millisecond finds the end of
// the stream, where a live idle connection has nothing to read. (Only
// before the commands are sent: once they are, a call that loses its
// connection is never sent again, as the server may have run it.) A
// connection with bytes to read counts as closed too: an idle one has
// none. Best effort: a goroutine held up past the timer before its read
// takes the connection for live, and its call may then fail on it.
func peerClosed(rc *redisConn) bool {
	rc.timer.Reset(time.Millisecond)
	_, err := rc.r.Peek(1)
	rc.timer.Stop()
	// A read that timed out returned once the timer had set its deadline:
	// clearing it now leaves the connection as it was.
	rc.conn.SetDeadline(time.Time{})
	return !errors.Is(err, os.ErrDeadlineExceeded)
}

// dialRoundTrip dials a connection and runs the round trip of cmds on
// it, the two within one timeout (see dialBudgeted). It returns a nil
// connection when the dial failed.
func dialRoundTrip(c *redisClient, cmds []string) (*redisConn, []respValue, error) {
	rc, b, err := dialBudgeted(c)
	if err != nil {
		return nil, nil, err
	}
	replies, err := redisRoundTrip(rc, cmds, c.timeout)
	endDial(b, rc)
	return rc, replies, err
}

// dialBudgeted dials a connection under a timer of the dial's own, armed
// at its start, which fails what the connection is doing when it fires:
// its dial, TLS handshake, AUTH, and the first round trip that the caller
// runs before endDial (see dialBudget).
func dialBudgeted(c *redisClient) (*redisConn, *dialBudget, error) {
	c.mu.Lock()
	gen := c.gen
	c.mu.Unlock()
	b := &dialBudget{}
	b.ctx, b.stop = context.WithCancel(context.Background())
	b.timer = time.AfterFunc(c.timeout, func() { expireDial(b) })
	rc, err := c.dial(b)
	if err != nil {
		b.timer.Stop()
		b.stop()
		return nil, nil, err
	}
	rc.gen = gen
	return rc, b, nil
}

// endDial ends a new connection's budget: one whose timer fired is not
// reused, as its deadline may be in the past.
func endDial(b *dialBudget, rc *redisConn) {
	if !b.timer.Stop() {
		rc.expired = true
	}
	b.stop()
}

// dialBudget is the timeout a new connection's dial, TLS handshake, AUTH
// and first round trip share (through Sentinel, the questions to the
// Sentinels too): when its timer fires, the connection's I/O fails,
// whichever of them it is in, and so does a dial under way (ctx).
type dialBudget struct {
	timer *time.Timer
	ctx   context.Context    // the dials'; cancelled when the timer fires (or the dial ends)
	stop  context.CancelFunc // cancels ctx
	mu    sync.Mutex
	conn  net.Conn // once connected
}

// expireDial fails the dial's connection, or the one it is about to have
// (see watch).
func expireDial(b *dialBudget) {
	b.stop()
	b.mu.Lock()
	if b.conn != nil {
		b.conn.SetDeadline(longAgo)
	}
	b.mu.Unlock()
}

// watch puts conn under the budget: at once past it when it is spent.
func (b *dialBudget) watch(conn net.Conn) {
	b.mu.Lock()
	b.conn = conn
	if b.isSpent() {
		conn.SetDeadline(longAgo)
	}
	b.mu.Unlock()
}

// releaseConn ends a round trip on rc: the connection, or its place when
// rc is nil (it failed), serves the calls waiting, if any (see
// serveWaiting), else goes back to the pool.
func releaseConn(c *redisClient, rc *redisConn) {
	c.mu.Lock()
	if len(c.waiting) > 0 {
		c.mu.Unlock()
		go serveWaiting(c, rc)
		return
	}
	stale := putBack(c, rc)
	c.mu.Unlock()
	if stale != nil {
		stale.close()
	}
}

// putBack returns a connection taken from the pool (nil: its place),
// arming its idle timer. One not to be reused, dialled before the pool's
// were last dropped (see redisClient.gen) or whose dial's timer fired
// (see endDial), gives back only its place: putBack returns it, for the
// caller to close once c.mu is released. c.mu is held.
func putBack(c *redisClient, rc *redisConn) *redisConn {
	c.inFlight--
	if rc == nil || rc.gen != c.gen || rc.expired {
		c.dialable++
		return rc
	}
	rc.pooled = true
	rc.idleTimer.Reset(c.idleTimeout)
	c.idle = append(c.idle, rc)
	return nil
}

// serveWaiting runs the round trips of the batches waiting on rc (on a
// connection it dials first when rc is nil), one after another, until
// none wait; the connection (or its place) then goes back to the pool. A
// batch is taken from the queue only once the connection is up, just
// before its commands are written: one whose timer fires before (during a
// dial) leaves the queue unsent. One whose timer fires after has
// returned; its replies are dropped.
func serveWaiting(c *redisClient, rc *redisConn) {
	for {
		c.mu.Lock()
		n := c.calls
		if n == 0 && rc == nil {
			putBack(c, nil) // no dial for no call
			c.mu.Unlock()
			return
		}
		c.mu.Unlock()
		if n < fewWaiting {
			// Let the goroutines ready to run go first: the calls they
			// are about to make ride in this round trip rather than the
			// next one. (Not when many wait: a yield on a saturated host
			// can take a while, which they would wait too.)
			runtime.Gosched()
		}
		var b *dialBudget
		if rc == nil {
			var err error
			if rc, b, err = dialBudgeted(c); err != nil {
				dialFailed(c, err)
				return
			}
		}
		c.mu.Lock()
		batch, along := takeBatch(c)
		if batch == nil {
			if b != nil {
				endDial(b, rc)
			}
			spent := putBack(c, rc)
			c.mu.Unlock()
			if spent != nil {
				spent.close()
			}
			return
		}
		c.mu.Unlock()
		replies, err := redisRoundTrip(rc, batch.cmds, c.timeout)
		if b != nil {
			endDial(b, rc)
		}
		answer(c, batch, along, replies, err)
		rc = endRoundTrip(c, rc, err, batch.now)
	}
}

// fewWaiting: while fewer calls than this wait, serveWaiting lets the
// goroutines ready to run go first before it takes them.
const fewWaiting = 8

// newBatch starts a batch for the calls to come, after those waiting
// already, under the timeout of the call that starts it, whose check
// started at now. c.mu is held.
func newBatch(c *redisClient, now time.Time) *redisBatch {
	b := &redisBatch{now: now, done: make(chan struct{})}
	b.timer = time.AfterFunc(c.timeout/joinShare, func() { batchTimer(c, b) })
	c.waiting = append(c.waiting, b)
	return b
}

// batchTimer fires when b has taken calls for a joinShare-th of the
// timeout: b takes no more, later calls starting the next batch, and the
// timer is armed again for the rest of the timeout of b's first call,
// when it expires b (see expireBatch). Under a healthy store a batch is
// answered before either.
func batchTimer(c *redisClient, b *redisBatch) {
	c.mu.Lock()
	if !b.sealed && b.state != batchDone {
		b.sealed = true
		c.mu.Unlock()
		b.timer.Reset(c.timeout - c.timeout/joinShare)
		return
	}
	c.mu.Unlock()
	expireBatch(c, b)
}

// expireBatch ends the wait of b's calls if no round trip answered them
// yet: the first one's timeout has passed. A batch still waiting leaves
// the queue, unsent; one sent in a round trip under way returns without
// its replies.
func expireBatch(c *redisClient, b *redisBatch) {
	c.mu.Lock()
	switch b.state {
	case batchWaiting:
		for i, w := range c.waiting {
			if w == b {
				dropWaiting(c, i, 1)
				break
			}
		}
		c.calls -= b.calls
		finishBatch(b, nil, errRedisPoolExhausted)
	case batchSent:
		finishBatch(b, nil, errRedisNoAnswer)
	}
	c.mu.Unlock()
}

// takeBatch takes the oldest batch waiting into a round trip about to be
// written, with those behind it that fit (along, see takeAlong), or
// returns nil when none waits. c.mu is held.
func takeBatch(c *redisClient) (*redisBatch, []*redisBatch) {
	if len(c.waiting) == 0 {
		return nil, nil
	}
	b := c.waiting[0]
	b.state = batchSent
	c.calls -= b.calls
	var along []*redisBatch
	if len(c.waiting) > 1 {
		along = takeAlong(c, b)
	}
	dropWaiting(c, 0, 1+len(along))
	return b, along
}

// takeAlong puts in b's round trip the batches waiting behind it (all
// sealed but perhaps the last: see batchTimer) while the calls stay
// within maxBatch, their commands after b's, and returns them. c.mu is
// held.
func takeAlong(c *redisClient, b *redisBatch) []*redisBatch {
	b.own = len(b.cmds)
	calls := b.calls
	var along []*redisBatch
	for n := 1; n < len(c.waiting) && calls+c.waiting[n].calls <= maxBatch; n++ {
		w := c.waiting[n]
		w.state = batchSent
		calls += w.calls
		c.calls -= w.calls
		b.cmds = append(b.cmds, w.cmds...) // b's calls read only their own replies
		along = append(along, w)
	}
	return along
}

// dropWaiting removes n batches from the waiting ones, from index i on,
// keeping the others in order and no reference to those removed. c.mu is
// held.
func dropWaiting(c *redisClient, i, n int) {
	left := i + copy(c.waiting[i:], c.waiting[i+n:])
	copy(c.waiting[left:], noBatches[:]) // (a compiled copy: no loop under Yaegi)
	c.waiting = c.waiting[:left]
}

// noBatches clears the references dropWaiting leaves behind: at most a
// round trip's worth of batches, each of one call or more.
var noBatches [maxBatch]*redisBatch

// answer gives the calls of batch (and of the batches along with it) the
// round trip's replies, or its error, and wakes them, unless a batch
// expired meanwhile. The batches along get their replies after batch's
// own.
func answer(c *redisClient, batch *redisBatch, along []*redisBatch, replies []respValue, err error) {
	c.mu.Lock()
	if batch.state == batchSent {
		finishBatch(batch, replies, err)
	}
	at := batch.own
	for _, w := range along {
		if w.state == batchSent {
			var own []respValue
			if err == nil {
				own = replies[at : at+len(w.cmds)]
			}
			finishBatch(w, own, err)
		}
		at += len(w.cmds)
	}
	c.mu.Unlock()
}

// finishBatch ends the wait of b's calls: with replies, or with err. c.mu
// is held.
func finishBatch(b *redisBatch, replies []respValue, err error) {
	b.replies = replies
	b.err = err
	b.state = batchDone
	b.timer.Stop()
	close(b.done)
}

// dialFailed answers the calls waiting when a dial failed: each gets the
// same error at once (they would dial the same unreachable server one
// after the other), and the place to dial goes back to the pool. It
// returns the error, wrapped.
func dialFailed(c *redisClient, err error) error {
	c.mu.Lock()
	for _, b := range c.waiting {
		finishBatch(b, nil, err)
	}
	c.waiting = nil
	c.calls = 0
	putBack(c, nil)
	c.mu.Unlock()
	return c.wrap(err)
}

// close closes the idle connections, leaving their places free to dial
// new ones. Calls in flight finish on their own, and their connections
// then close too (see gen).
func (c *redisClient) close() {
	c.mu.Lock()
	c.gen++
	idle := c.idle
	c.idle = nil
	c.dialable += len(idle)
	for _, rc := range idle {
		rc.pooled = false
	}
	c.mu.Unlock()
	for _, rc := range idle {
		rc.close()
	}
}

// closeIdle is rc's idle timer: rc, still in the pool since the timer was
// armed, has idled for the idle timeout, and closes, leaving its place
// free. (A timer that fires as a call takes rc finds it out of the pool
// and leaves it alone; one that fires late, rc having come back since,
// closes an idle connection a little early, which costs a dial.)
func closeIdle(c *redisClient, rc *redisConn) {
	c.mu.Lock()
	if !rc.pooled {
		c.mu.Unlock()
		return
	}
	rc.pooled = false
	for i, p := range c.idle {
		if p == rc {
			copy(c.idle[i:], c.idle[i+1:])
			c.idle[len(c.idle)-1] = nil
			c.idle = c.idle[:len(c.idle)-1]
			c.dialable++
			break
		}
	}
	c.mu.Unlock()
	rc.close()
}

// dial connects, authenticates and selects the database, within budget.
// Through Sentinel, it asks for the primary's address first, and checks
// that the server it reaches is the primary.
func (c *redisClient) dial(budget *dialBudget) (*redisConn, error) {
	addr := c.addr
	if c.sentinels != nil {
		var err error
		if addr, err = c.sentinels.primary(c, budget); err != nil {
			return nil, err
		}
	}
	d := net.Dialer{Timeout: c.timeout}
	conn, err := d.DialContext(budget.ctx, c.network, addr)
	if err != nil {
		if c.sentinels != nil {
			return nil, errors.New("cannot connect to the primary at " + addr)
		}
		return nil, errors.New("cannot connect")
	}
	budget.watch(conn)
	if c.tls != nil {
		if conn, err = startTLS(conn, c.tls, addr); err != nil {
			return nil, err
		}
	}
	rc := &redisConn{conn: conn, r: bufio.NewReaderSize(conn, 4096), scratch: make([]byte, 0, 512)}
	rc.timer = time.AfterFunc(time.Hour, func() { conn.SetDeadline(longAgo) })
	rc.timer.Stop()
	rc.idleTimer = time.AfterFunc(time.Hour, func() { closeIdle(c, rc) })
	rc.idleTimer.Stop()
	var setup []string
	var names []string
	if c.password != "" {
		setup = append(setup, authCommand(c.username, c.password))
		names = append(names, "AUTH")
	}
	if c.db != 0 {
		setup = append(setup, respCommand("SELECT", strconv.Itoa(c.db)))
		names = append(names, "SELECT")
	}
	if c.sentinels != nil {
		setup = append(setup, respCommand("ROLE"))
		names = append(names, "ROLE")
	}
	if len(setup) == 0 {
		return rc, nil
	}
	replies, err := redisRoundTrip(rc, setup, c.timeout)
	if err != nil || rc.expired {
		rc.close()
		if err == nil {
			err = errTimedOut
		}
		return nil, err
	}
	for i, v := range replies {
		if v.kind == '-' {
			rc.close()
			// The server's message, never the command: AUTH's holds the password.
			return nil, errors.New(names[i] + " refused: " + v.str)
		}
	}
	if c.sentinels != nil {
		if role := replies[len(replies)-1]; role.kind != '*' || len(role.elems) == 0 || role.elems[0].str != "master" {
			rc.close()
			// Sentinel's answer was out of date: a failover is under way.
			return nil, errors.New("the primary that Sentinel gave, " + addr + ", is not a primary (a failover is under way)")
		}
	}
	return rc, nil
}

// isSpent reports whether the budget's timer fired. (Its context is
// also cancelled when the dial ends, after which nothing asks.)
func (b *dialBudget) isSpent() bool { return b.ctx.Err() != nil }

// authCommand is the AUTH of a password, with the ACL user name if any.
func authCommand(username, password string) string {
	if username != "" {
		return respCommand("AUTH", username, password)
	}
	return respCommand("AUTH", password)
}

// startTLS runs the TLS handshake on conn, a connection to addr, and
// returns the TLS connection; conn is closed when it fails.
func startTLS(conn net.Conn, cfg *tls.Config, addr string) (net.Conn, error) {
	tc := tls.Client(conn, tlsFor(cfg, addr))
	if err := tc.Handshake(); err != nil {
		conn.Close()
		return nil, errors.New("TLS handshake failed: " + err.Error())
	}
	return tc, nil
}

// wrap names the server in an error.
func (c *redisClient) wrap(err error) error {
	return errors.New("redis " + c.addr + ": " + err.Error())
}

// redisRoundTrip writes the commands and reads one reply for each, in
// order, within the timeout. A round trip that ends as the timer fires
// may have its replies but marks the connection expired; one answered
// READONLY or MASTERDOWN marks it demoted.
func redisRoundTrip(rc *redisConn, cmds []string, timeout time.Duration) ([]respValue, error) {
	b := append(rc.scratch[:0], strings.Join(cmds, "")...) // (no loop under Yaegi)
	total := len(cmds)
	rc.scratch = b
	rc.timer.Reset(timeout)
	_, err := rc.conn.Write(b)
	var replies []respValue
	if err == nil {
		replies = make([]respValue, total)
		at := 0 // the replies read
		if total > 1 {
			at = sameReplies(rc.r, replies)
		}
		for i := at; i < total; i++ {
			// readRESP, with its short ways inline (a status reply such as
			// SET's +OK, an error): a call less per reply under Yaegi.
			line, e := rc.r.ReadSlice('\n')
			if e == nil && len(line) >= 3 && line[len(line)-2] == '\r' {
				if line[0] == '+' {
					replies[i] = respValue{kind: '+', str: string(line[1 : len(line)-2])}
					continue
				}
				if line[0] == '-' {
					replies[i] = respValue{kind: '-', str: string(line[1 : len(line)-2])}
					if bytes.Contains(line, readOnlyReply) || bytes.HasPrefix(line, masterDownReply) {
						rc.demoted = true
					}
					continue
				}
			}
			v, e := readRESPLine(rc.r, line, e, 0)
			if e != nil {
				err = e
				break
			}
			replies[i] = v
		}
	} else {
		err = ioProblem(err)
	}
	rc.expired = !rc.timer.Stop()
	if err != nil {
		return nil, err
	}
	return replies, nil
}

// sameReplies reads the replies of a batch in a few compiled calls when
// they are all the usual ones of claims, and have all arrived (Redis
// writes the answers to a pipeline together): +OK (SET claimed the
// message) each, or -2 and +OK each (no ban, then SET claimed it; see
// fleetClaim). Under Yaegi that is a loop step per reply less. It returns
// how many replies it read: all of them, or none. There are two replies
// or more, so at least six bytes are to come.
func sameReplies(r *bufio.Reader, replies []respValue) int {
	head, err := r.Peek(4)
	if err != nil {
		return 0
	}
	line, same, per := setLine, setReplies, 1
	if bytes.HasPrefix(banAndSetLine, head) {
		line, same, per = banAndSetLine, banAndSetReplies, 2
	} else if !bytes.HasPrefix(setLine, head) {
		return 0
	}
	lines := len(replies) / per
	n := len(line) * lines
	if lines*per != len(replies) || len(replies) > len(same) || r.Buffered() < n {
		return 0
	}
	all, _ := r.Peek(n)
	// As many lines as fit in n bytes, none overlapping: all are line.
	if bytes.Count(all, line) != lines {
		return 0
	}
	r.Discard(n)
	copy(replies, same)
	return len(replies)
}

// The usual replies sameReplies reads at once, and their values, as many
// as a batch of claims has.
var (
	setLine          = []byte("+OK\r\n")
	banAndSetLine    = []byte(":-2\r\n+OK\r\n")
	setReplies       = repeatedValues(respValue{kind: '+', str: "OK"})
	banAndSetReplies = repeatedValues(respValue{kind: ':', num: -2}, respValue{kind: '+', str: "OK"})
)

// repeatedValues is values, repeated for as many calls as a batch holds.
func repeatedValues(values ...respValue) []respValue {
	all := make([]respValue, len(values)*maxBatch)
	for i := range all {
		all[i] = values[i%len(values)]
	}
	return all
}

// readOnlyReply is in the error reply of a replica to a write: the reply
// itself (-READONLY You can't write against a read only replica), or the
// error of a script that wrote (Redis 7 keeps that code; Redis 6 puts the
// reply after "-ERR Error running script ...: "). masterDownReply starts
// the reply of a replica that lost its primary and serves nothing
// (replica-serve-stale-data no). Either says the address no longer leads
// to the primary (see redisConn.demoted).
var readOnlyReply, masterDownReply = []byte("READONLY You can't write"), []byte("-MASTERDOWN ")

// close closes the connection and stops its timers.
func (rc *redisConn) close() {
	rc.timer.Stop()
	rc.idleTimer.Stop()
	rc.conn.Close()
}

// What went wrong on a connection, in a few words.
var (
	errTimedOut   = errors.New("timed out")
	errConnClosed = errors.New("connection closed by the server")
	errConnFailed = errors.New("connection failed")
)

// ioProblem says what went wrong on the connection.
func ioProblem(err error) error {
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return errTimedOut
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return errConnClosed
	}
	return errConnFailed
}

// respCommand encodes args as a RESP array of bulk strings, the form in
// which commands reach do.
func respCommand(args ...string) string {
	s := "*" + strconv.Itoa(len(args)) + "\r\n"
	for _, a := range args {
		s += respBulk(a)
	}
	return s
}

// respBulk encodes one argument as a RESP bulk string. Commands on the
// hot path are concatenations of a constant head and respBulk of their
// variable arguments: under Yaegi, a loop over the arguments costs
// several times as much.
func respBulk(a string) string {
	if len(a) < len(respBulkHeads) {
		return respBulkHeads[len(a)] + a + "\r\n"
	}
	return "$" + strconv.Itoa(len(a)) + "\r\n" + a + "\r\n"
}

// respBulkHeads are the heads of bulk strings of up to 255 bytes.
var respBulkHeads = makeRESPBulkHeads()

func makeRESPBulkHeads() []string {
	heads := make([]string, 256)
	for i := range heads {
		heads[i] = "$" + strconv.Itoa(i) + "\r\n"
	}
	return heads
}

// readRESP reads one reply. (redisRoundTrip reads the short replies, such
// as SET's +OK, itself.)
func readRESP(r *bufio.Reader, depth int) (respValue, error) {
	line, err := r.ReadSlice('\n')
	return readRESPLine(r, line, err, depth)
}

// readRESPLine is readRESP for a reply whose first line is line, as
// ReadSlice returned it with err.
func readRESPLine(r *bufio.Reader, line []byte, err error, depth int) (respValue, error) {
	if err != nil {
		if errors.Is(err, bufio.ErrBufferFull) {
			return respValue{}, errors.New("protocol error: reply line too long")
		}
		return respValue{}, ioProblem(err)
	}
	if len(line) < 3 || line[len(line)-2] != '\r' {
		return respValue{}, errors.New("protocol error: malformed reply")
	}
	kind, body := line[0], string(line[1:len(line)-2])
	switch kind {
	case '+', '-':
		return respValue{kind: kind, str: body}, nil
	case ':':
		n, err := strconv.ParseInt(body, 10, 64)
		if err != nil {
			return respValue{}, errors.New("protocol error: malformed integer")
		}
		return respValue{kind: kind, num: n}, nil
	case '$':
		n, err := strconv.Atoi(body)
		if err != nil || n < -1 || n > maxRESPBulk {
			return respValue{}, errors.New("protocol error: bad bulk length")
		}
		if n == -1 {
			return respValue{kind: kind, null: true}, nil
		}
		buf := make([]byte, n+2)
		if _, err := io.ReadFull(r, buf); err != nil {
			return respValue{}, ioProblem(err)
		}
		return respValue{kind: kind, str: string(buf[:n])}, nil
	case '*':
		n, err := strconv.Atoi(body)
		if err != nil || n < -1 || n > maxRESPArray || depth >= maxRESPDepth {
			return respValue{}, errors.New("protocol error: bad array")
		}
		if n == -1 {
			return respValue{kind: kind, null: true}, nil
		}
		v := respValue{kind: kind, elems: make([]respValue, n)}
		for i := 0; i < n; i++ {
			e, err := readRESP(r, depth+1)
			if err != nil {
				return respValue{}, err
			}
			v.elems[i] = e
		}
		return v, nil
	}
	return respValue{}, errors.New("protocol error: unknown reply type")
}

// longAgo is a deadline in the past: set on a connection, it makes every
// read and write on it fail at once with os.ErrDeadlineExceeded.
var longAgo = time.Unix(1, 0)
