package e2e

import (
	"bytes"
	"crypto/tls"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"

	"github.com/funcauth/funcauth/internal/sign"
)

// H2Result is what a raw HTTP/2 exchange got back on its stream: the
// :status of the answer (0 when none came), or the code of the stream's
// (RST_STREAM) or the connection's (GOAWAY) end.
type H2Result struct {
	Status int
	Reset  bool
	Code   http2.ErrCode
}

// h2Conn is one HTTP/2 client connection driven frame by frame, for what
// a well-behaved client never sends. It keeps to the server's flow
// control, so a refusal is the server's choice, not a protocol error of
// the test's.
type h2Conn struct {
	conn net.Conn
	fr   *http2.Framer
	wmu  sync.Mutex

	mu        sync.Mutex
	cond      *sync.Cond
	connWin   int64
	streamWin map[uint32]int64
	initWin   int64
	results   map[uint32]*H2Result
	closed    bool
}

// dialH2 opens an HTTP/2 connection to addr: over TLS with ALPN h2 when
// tlsConf is set, else cleartext with prior knowledge (h2c).
func dialH2(t testing.TB, addr string, tlsConf *tls.Config) *h2Conn {
	t.Helper()
	var conn net.Conn
	var err error
	if tlsConf != nil {
		cfg := tlsConf.Clone()
		cfg.NextProtos = []string{"h2"}
		var tc *tls.Conn
		tc, err = tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", addr, cfg)
		if err == nil && tc.ConnectionState().NegotiatedProtocol != "h2" {
			t.Fatalf("%s did not negotiate h2 by ALPN: %q", addr, tc.ConnectionState().NegotiatedProtocol)
		}
		conn = tc
	} else {
		conn, err = net.DialTimeout("tcp", addr, 5*time.Second)
	}
	if err != nil {
		t.Fatal(err)
	}
	c := &h2Conn{conn: conn, connWin: 65535, initWin: 65535, streamWin: map[uint32]int64{}, results: map[uint32]*H2Result{}}
	c.cond = sync.NewCond(&c.mu)
	c.fr = http2.NewFramer(conn, conn)
	c.fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
	if _, err := conn.Write([]byte(http2.ClientPreface)); err != nil {
		t.Fatal(err)
	}
	c.write(func() error { return c.fr.WriteSettings() })
	go c.readLoop()
	return c
}

func (c *h2Conn) write(f func() error) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return f()
}

func (c *h2Conn) readLoop() {
	defer func() {
		c.mu.Lock()
		c.closed = true
		c.cond.Broadcast()
		c.mu.Unlock()
	}()
	for {
		f, err := c.fr.ReadFrame()
		if err != nil {
			return
		}
		c.mu.Lock()
		switch f := f.(type) {
		case *http2.SettingsFrame:
			if !f.IsAck() {
				if v, ok := f.Value(http2.SettingInitialWindowSize); ok {
					delta := int64(v) - c.initWin
					c.initWin = int64(v)
					for id := range c.streamWin {
						c.streamWin[id] += delta
					}
				}
				c.write(func() error { return c.fr.WriteSettingsAck() })
			}
		case *http2.WindowUpdateFrame:
			if f.StreamID == 0 {
				c.connWin += int64(f.Increment)
			} else {
				c.streamWin[f.StreamID] += int64(f.Increment)
			}
		case *http2.PingFrame:
			if !f.IsAck() {
				data := f.Data
				c.write(func() error { return c.fr.WritePing(true, data) })
			}
		case *http2.MetaHeadersFrame:
			if r := c.results[f.StreamID]; r != nil && r.Status == 0 {
				r.Status, _ = strconv.Atoi(f.PseudoValue("status"))
			}
		case *http2.RSTStreamFrame:
			if r := c.results[f.StreamID]; r != nil {
				r.Reset, r.Code = true, f.ErrCode
			}
		case *http2.GoAwayFrame:
			for id, r := range c.results {
				if id > f.LastStreamID {
					r.Reset, r.Code = true, f.ErrCode
				}
			}
		}
		c.cond.Broadcast()
		c.mu.Unlock()
	}
}

// open sends a request's HEADERS on a new stream.
func (c *h2Conn) open(t testing.TB, id uint32, scheme string, headers [][2]string, endStream bool) {
	t.Helper()
	var buf bytes.Buffer
	enc := hpack.NewEncoder(&buf)
	for _, h := range append([][2]string{{":method", "POST"}, {":scheme", scheme}, {":authority", "gateway.test"}, {":path", "/function/env"}}, headers...) {
		enc.WriteField(hpack.HeaderField{Name: h[0], Value: h[1]})
	}
	c.mu.Lock()
	c.results[id] = &H2Result{}
	c.streamWin[id] = c.initWin
	c.mu.Unlock()
	if err := c.write(func() error {
		return c.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: buf.Bytes(), EndHeaders: true, EndStream: endStream})
	}); err != nil {
		t.Fatal(err)
	}
}

// send writes p in DATA frames within the flow-control windows. It stops
// early, returning false, when the stream or connection ends or the
// server grants no window within five seconds (it stopped reading).
func (c *h2Conn) send(id uint32, p []byte, endStream bool) bool {
	for first := true; first || len(p) > 0; first = false {
		n := len(p)
		if n > 16384 {
			n = 16384
		}
		deadline := time.Now().Add(5 * time.Second)
		c.mu.Lock()
		for n > 0 && (c.connWin < int64(n) || c.streamWin[id] < int64(n)) && !c.closed && !c.results[id].Reset && c.results[id].Status == 0 && time.Now().Before(deadline) {
			c.mu.Unlock()
			time.Sleep(10 * time.Millisecond)
			c.mu.Lock()
		}
		ok := !c.closed && !c.results[id].Reset && c.results[id].Status == 0 && c.connWin >= int64(n) && c.streamWin[id] >= int64(n)
		if ok {
			c.connWin -= int64(n)
			c.streamWin[id] -= int64(n)
		}
		c.mu.Unlock()
		if !ok {
			return false
		}
		chunk := p[:n]
		p = p[n:]
		end := endStream && len(p) == 0
		if err := c.write(func() error { return c.fr.WriteData(id, end, chunk) }); err != nil {
			return false
		}
	}
	return true
}

// reset ends the stream with RST_STREAM(CANCEL), as a client that goes
// away mid-body.
func (c *h2Conn) reset(id uint32) {
	c.write(func() error { return c.fr.WriteRSTStream(id, http2.ErrCodeCancel) })
}

// wait returns the stream's outcome once it has a status or an end, or
// what it has after timeout.
func (c *h2Conn) wait(id uint32, timeout time.Duration) H2Result {
	deadline := time.Now().Add(timeout)
	c.mu.Lock()
	defer c.mu.Unlock()
	for {
		r := c.results[id]
		if r.Status != 0 || r.Reset || c.closed || time.Now().After(deadline) {
			res := *r
			if c.closed && res.Status == 0 {
				res.Reset = true
			}
			return res
		}
		c.mu.Unlock()
		time.Sleep(10 * time.Millisecond)
		c.mu.Lock()
	}
}

func (c *h2Conn) close() { c.conn.Close() }

// RawH2BadInput is RawBadInput over HTTP/2, frame by frame, to a proxy
// running funcauth with BadInputConfig at addr (TLS with ALPN h2 when
// tlsConf is set, else h2c): a body past the limit in DATA frames without
// a length, Content-Lengths that lie, and a stream reset mid-body. Each
// must end in a 4xx or a reset, never reach the upstream, never get a
// 5xx, and leave nothing in tempDir. A complete signed body is served,
// so the refusals are not the test client's doing.
func RawH2BadInput(t *testing.T, addr string, tlsConf *tls.Config, upstream *Counter, tempDir string) {
	scheme := "http"
	if tlsConf != nil {
		scheme = "https"
	}
	signed := func(body []byte, extra ...[2]string) [][2]string {
		h, _ := sign.Headers("faas-cli", "cookie", sign.Options{}, sign.Message{Body: body})
		return append([][2]string{{"hmac", h.Get("Hmac")}, {"content-type", "text/plain"}}, extra...)
	}
	refused := func(name string, res H2Result, before int64) {
		t.Helper()
		t.Logf("%s: status %d, reset %v (%v)", name, res.Status, res.Reset, res.Code)
		if res.Status >= 500 || (res.Status != 0 && res.Status < 400) || (res.Status == 0 && !res.Reset) {
			t.Errorf("%s: %+v, want a 4xx or a reset", name, res)
		}
		time.Sleep(200 * time.Millisecond)
		if upstream.Count() != before {
			t.Errorf("%s reached the upstream", name)
		}
		DirEmpty(t, tempDir)
	}
	body := []byte(strings.Repeat("0123456789abcdef", 256)) // 4 KiB: spooled
	big := bytes.Repeat([]byte("x"), 100<<10)

	c := dialH2(t, addr, tlsConf)
	defer c.close()

	// A complete signed body first: the test's framing is right.
	before := upstream.Count()
	c.open(t, 1, scheme, signed(body, [2]string{"content-length", "4096"}), false)
	c.send(1, body, true)
	if res := c.wait(1, 10*time.Second); res.Status != 200 || upstream.Count() != before+1 {
		t.Fatalf("a complete signed body over HTTP/2: %+v", res)
	}
	DirEmpty(t, tempDir)

	before = upstream.Count()
	c.open(t, 3, scheme, signed(big), false)
	c.send(3, big, true)
	res := c.wait(3, 10*time.Second)
	if res.Status != 413 && !res.Reset {
		t.Errorf("a body past the limit in DATA frames: %+v, want 413 or a reset", res)
	}
	refused("a body past the limit in DATA frames", res, before)

	before = upstream.Count()
	c.open(t, 5, scheme, signed(body, [2]string{"content-length", "8192"}), false)
	c.send(5, body, true)
	refused("Content-Length claims more than is sent", c.wait(5, 10*time.Second), before)

	before = upstream.Count()
	c.open(t, 7, scheme, signed(body, [2]string{"content-length", "100"}), false)
	c.send(7, body, true)
	refused("Content-Length claims less than is sent", c.wait(7, 10*time.Second), before)

	// A stream reset mid-body: nothing to answer; nothing may pass on.
	c = dialH2(t, addr, tlsConf)
	defer c.close()
	before = upstream.Count()
	c.open(t, 1, scheme, signed(body, [2]string{"content-length", "4096"}), false)
	c.send(1, body[:2048], false)
	time.Sleep(100 * time.Millisecond)
	c.reset(1)
	time.Sleep(300 * time.Millisecond)
	if upstream.Count() != before {
		t.Errorf("a stream reset mid-body reached the upstream")
	}
	DirEmpty(t, tempDir)

	// The connection still serves after all that.
	before = upstream.Count()
	c.open(t, 3, scheme, signed(body, [2]string{"content-length", "4096"}), false)
	c.send(3, body, true)
	if res := c.wait(3, 10*time.Second); res.Status != 200 || upstream.Count() != before+1 {
		t.Errorf("a complete signed body after the reset: %+v", res)
	}
}
