package funcauth

import (
	"bufio"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"os"
	"strconv"
	"time"
)

// redisClient speaks RESP2 to one Redis server over a bounded pool of
// connections. It is funcauth's own, over net.Conn and the standard library,
// because the Traefik plugin may import nothing else and Yaegi interprets
// whatever it imports. It starts no goroutine: connections are dialled on
// demand, reused, and closed when they fail or idle too long, so nothing
// is left running after Traefik replaces a middleware.
//
// Every call is bounded by the timeout: waiting for a pool slot, dialling,
// writing and reading all count against one deadline. Its errors name the
// server's address and never the password.
type redisClient struct {
	network, addr string
	username      string
	password      string
	db            int
	tls           *tls.Config
	timeout       time.Duration
	idleTimeout   time.Duration

	// conns holds one entry per connection the pool may have: an idle
	// connection, or nil for a place free to dial one. A call takes an
	// entry and puts one back; a busy pool is an empty channel.
	conns chan *redisConn
}

// redisConn is one connection with its buffers, and its timer: armed for
// each round trip, it fails the connection's I/O when the round trip
// overruns the timeout (a timer rather than an absolute deadline, so the
// client reads no wall clock: funcauth's time is the Guard's). One timer
// per connection, made once, so that a call makes no closure.
type redisConn struct {
	conn    net.Conn
	r       *bufio.Reader
	idleAt  time.Time
	scratch []byte
	timer   *time.Timer
	expired bool // the timer fired: the connection is not reused
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

var errRedisPoolExhausted = errors.New("every connection of the pool is busy (store.pool_size): the store is slow or the pool too small")

func newRedisClient(network, addr, username, password string, db int, tlsConfig *tls.Config, timeout time.Duration, poolSize int) *redisClient {
	c := &redisClient{
		network: network, addr: addr, username: username, password: password, db: db,
		tls: tlsConfig, timeout: timeout, idleTimeout: 60 * time.Second,
		conns: make(chan *redisConn, poolSize),
	}
	for i := 0; i < poolSize; i++ {
		c.conns <- nil
	}
	return c
}

// do sends the commands (each RESP-encoded, see respCommand) in one
// pipeline, one round trip, and returns their replies in order. A server
// error reply is a respValue of kind '-', not an error: errors are for the
// connection, the timeout and the protocol.
//
// The hot path is written for Yaegi, where each interpreted call and
// statement costs far more than the compiled work it does: plain functions
// rather than methods (a method call costs about four function calls
// there), no closure, no defer, one channel operation each way for the
// pool, and one write of commands encoded beforehand.
func (c *redisClient) do(cmds []string, now time.Time) ([]respValue, error) {
	return redisDo(c, cmds, now)
}

func redisDo(c *redisClient, cmds []string, now time.Time) ([]respValue, error) {
	var rc *redisConn
	select {
	case got := <-c.conns: // not "case rc = <-": Yaegi panics on it
		rc = got
	default:
		var ok bool
		if rc, ok = waitConn(c); !ok {
			return nil, c.wrap(errRedisPoolExhausted)
		}
	}
	if rc != nil && now.Sub(rc.idleAt) >= c.idleTimeout {
		rc.close()
		rc = nil
	}
	if rc == nil {
		var err error
		if rc, err = c.dial(); err != nil {
			c.conns <- nil
			return nil, c.wrap(err)
		}
	}
	replies, err := redisRoundTrip(rc, cmds, c.timeout)
	if err != nil || rc.expired {
		rc.close()
		c.conns <- nil
		if err != nil {
			// The server may have restarted: its other idle connections
			// would fail one call each (one probe each in an outage).
			c.close()
		}
	} else {
		rc.idleAt = now
		c.conns <- rc
	}
	if err != nil {
		return nil, c.wrap(err)
	}
	return replies, nil
}

// waitConn waits up to the timeout for an entry of the pool.
func waitConn(c *redisClient) (*redisConn, bool) {
	timer := time.NewTimer(c.timeout)
	select {
	case rc := <-c.conns:
		timer.Stop()
		return rc, true
	case <-timer.C:
		return nil, false
	}
}

// close closes the idle connections, leaving their places free to dial
// new ones. Calls in flight finish on their own.
func (c *redisClient) close() {
	taken := 0
	for i := 0; i < cap(c.conns); i++ {
		select {
		case rc := <-c.conns:
			if rc != nil {
				rc.close()
			}
			taken++
		default:
		}
	}
	for i := 0; i < taken; i++ {
		c.conns <- nil
	}
}

// dial connects, authenticates and selects the database.
func (c *redisClient) dial() (*redisConn, error) {
	d := net.Dialer{Timeout: c.timeout}
	conn, err := d.Dial(c.network, c.addr)
	if err != nil {
		return nil, errors.New("cannot connect")
	}
	if c.tls != nil {
		tc := tls.Client(conn, c.tls)
		stop := abortAfter(tc, c.timeout)
		err := tc.Handshake()
		stop()
		if err != nil {
			conn.Close()
			return nil, errors.New("TLS handshake failed: " + err.Error())
		}
		conn = tc
	}
	rc := &redisConn{conn: conn, r: bufio.NewReaderSize(conn, 4096), scratch: make([]byte, 0, 512)}
	rc.timer = time.AfterFunc(time.Hour, func() { conn.SetDeadline(longAgo) })
	rc.timer.Stop()
	var setup []string
	var names []string
	if c.password != "" {
		if c.username != "" {
			setup = append(setup, respCommand("AUTH", c.username, c.password))
		} else {
			setup = append(setup, respCommand("AUTH", c.password))
		}
		names = append(names, "AUTH")
	}
	if c.db != 0 {
		setup = append(setup, respCommand("SELECT", strconv.Itoa(c.db)))
		names = append(names, "SELECT")
	}
	if len(setup) == 0 {
		return rc, nil
	}
	replies, err := redisRoundTrip(rc, setup, c.timeout)
	if err != nil || rc.expired {
		rc.close()
		if err == nil {
			err = errors.New("timed out")
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
	return rc, nil
}

// wrap names the server in an error.
func (c *redisClient) wrap(err error) error {
	return errors.New("redis " + c.addr + ": " + err.Error())
}

// redisRoundTrip writes the commands and reads one reply for each, within
// the timeout. A round trip that ends as the timer fires may have its
// replies but marks the connection expired.
func redisRoundTrip(rc *redisConn, cmds []string, timeout time.Duration) ([]respValue, error) {
	b := rc.scratch[:0]
	for _, cmd := range cmds {
		b = append(b, cmd...)
	}
	rc.scratch = b
	rc.timer.Reset(timeout)
	_, err := rc.conn.Write(b)
	var replies []respValue
	if err == nil {
		replies = make([]respValue, len(cmds))
		for i := range replies {
			v, e := readRESP(rc.r, 0)
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

// close closes the connection and stops its timer.
func (rc *redisConn) close() {
	rc.timer.Stop()
	rc.conn.Close()
}

// ioProblem says what went wrong on the connection in a few words.
func ioProblem(err error) error {
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return errors.New("timed out")
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return errors.New("connection closed by the server")
	}
	return errors.New("connection failed")
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

// readRESP reads one reply.
func readRESP(r *bufio.Reader, depth int) (respValue, error) {
	// A status or error reply (SET's +OK) takes the short way: under
	// Yaegi every temporary of a function costs at each call (see the
	// core's calls.go), and the other kinds hold many.
	line, err := r.ReadSlice('\n')
	if err == nil && len(line) >= 3 && line[len(line)-2] == '\r' && (line[0] == '+' || line[0] == '-') {
		return respValue{kind: line[0], str: string(line[1 : len(line)-2])}, nil
	}
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

// abortAfter fails the connection's I/O once timeout has passed, for the
// TLS handshake of a new connection (round trips use the connection's own
// timer). The returned func stops the timer and clears the deadline.
func abortAfter(conn net.Conn, timeout time.Duration) func() {
	t := time.AfterFunc(timeout, func() { conn.SetDeadline(longAgo) })
	return func() {
		t.Stop()
		conn.SetDeadline(time.Time{})
	}
}
