package funcauth

import (
	"bufio"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"os"
	"strconv"
	"sync"
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

	slots chan struct{} // one token per connection in use or being dialled

	mu   sync.Mutex
	idle []*redisConn
}

// redisConn is one connection with its buffers.
type redisConn struct {
	conn    net.Conn
	r       *bufio.Reader
	w       *bufio.Writer
	idleAt  time.Time
	scratch []byte
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
	return &redisClient{
		network: network, addr: addr, username: username, password: password, db: db,
		tls: tlsConfig, timeout: timeout, idleTimeout: 60 * time.Second,
		slots: make(chan struct{}, poolSize),
	}
}

// do sends the commands in one pipeline (one round trip) and returns their
// replies in order. A server error reply is a respValue of kind '-', not an
// error: errors are for the connection, the timeout and the protocol.
func (c *redisClient) do(cmds [][]string, now time.Time) ([]respValue, error) {
	timer := time.NewTimer(c.timeout)
	select {
	case c.slots <- struct{}{}:
		timer.Stop()
	case <-timer.C:
		return nil, c.wrap(errRedisPoolExhausted)
	}
	rc, err := c.conn(now)
	if err != nil {
		<-c.slots
		return nil, c.wrap(err)
	}
	replies, err := rc.roundTrip(cmds, c.timeout)
	if err != nil {
		rc.conn.Close()
		<-c.slots
		return nil, c.wrap(err)
	}
	c.put(rc, now)
	<-c.slots
	return replies, nil
}

// conn returns an idle connection or dials a new one.
func (c *redisClient) conn(now time.Time) (*redisConn, error) {
	c.mu.Lock()
	for len(c.idle) > 0 {
		rc := c.idle[len(c.idle)-1]
		c.idle[len(c.idle)-1] = nil
		c.idle = c.idle[:len(c.idle)-1]
		if now.Sub(rc.idleAt) < c.idleTimeout {
			c.mu.Unlock()
			return rc, nil
		}
		rc.conn.Close()
	}
	c.mu.Unlock()
	return c.dial()
}

// put returns a healthy connection to the idle list.
func (c *redisClient) put(rc *redisConn, now time.Time) {
	rc.idleAt = now
	c.mu.Lock()
	c.idle = append(c.idle, rc)
	c.mu.Unlock()
}

// close closes the idle connections. Calls in flight finish on their own.
func (c *redisClient) close() {
	c.mu.Lock()
	idle := c.idle
	c.idle = nil
	c.mu.Unlock()
	for _, rc := range idle {
		rc.conn.Close()
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
	rc := &redisConn{conn: conn, r: bufio.NewReaderSize(conn, 4096), w: bufio.NewWriterSize(conn, 4096)}
	var setup [][]string
	if c.password != "" {
		if c.username != "" {
			setup = append(setup, []string{"AUTH", c.username, c.password})
		} else {
			setup = append(setup, []string{"AUTH", c.password})
		}
	}
	if c.db != 0 {
		setup = append(setup, []string{"SELECT", strconv.Itoa(c.db)})
	}
	if len(setup) == 0 {
		return rc, nil
	}
	replies, err := rc.roundTrip(setup, c.timeout)
	if err != nil {
		conn.Close()
		return nil, err
	}
	for i, v := range replies {
		if v.kind == '-' {
			conn.Close()
			// The server's message, never the command: AUTH's holds the password.
			return nil, errors.New(setup[i][0] + " refused: " + v.str)
		}
	}
	return rc, nil
}

// wrap names the server in an error.
func (c *redisClient) wrap(err error) error {
	return errors.New("redis " + c.addr + ": " + err.Error())
}

// roundTrip writes the commands and reads one reply for each.
func (rc *redisConn) roundTrip(cmds [][]string, timeout time.Duration) ([]respValue, error) {
	stop := abortAfter(rc.conn, timeout)
	defer stop()
	for _, args := range cmds {
		rc.scratch = appendRESPCommand(rc.scratch[:0], args)
		if _, err := rc.w.Write(rc.scratch); err != nil {
			return nil, ioProblem(err)
		}
	}
	if err := rc.w.Flush(); err != nil {
		return nil, ioProblem(err)
	}
	replies := make([]respValue, len(cmds))
	for i := range cmds {
		v, err := readRESP(rc.r, 0)
		if err != nil {
			return nil, err
		}
		replies[i] = v
	}
	return replies, nil
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

// appendRESPCommand appends args as a RESP array of bulk strings.
func appendRESPCommand(b []byte, args []string) []byte {
	b = append(b, '*')
	b = strconv.AppendInt(b, int64(len(args)), 10)
	b = append(b, '\r', '\n')
	for _, a := range args {
		b = append(b, '$')
		b = strconv.AppendInt(b, int64(len(a)), 10)
		b = append(b, '\r', '\n')
		b = append(b, a...)
		b = append(b, '\r', '\n')
	}
	return b
}

// readRESP reads one reply.
func readRESP(r *bufio.Reader, depth int) (respValue, error) {
	line, err := r.ReadSlice('\n')
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

// abortAfter fails the connection's I/O once timeout has passed, by a
// timer rather than an absolute deadline, so the client reads no wall
// clock (funcauth's time is the Guard's). The returned func stops the
// timer and clears the deadline, for the connection's reuse.
func abortAfter(conn net.Conn, timeout time.Duration) func() {
	t := time.AfterFunc(timeout, func() { conn.SetDeadline(longAgo) })
	return func() {
		t.Stop()
		conn.SetDeadline(time.Time{})
	}
}
