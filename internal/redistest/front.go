package redistest

import (
	"io"
	"net"
	"sync"
	"testing"
)

// Front is a stable address in front of redis-servers, as a DNS name, a
// Kubernetes Service or a managed Redis's primary endpoint is: each
// connection made to it goes to the server it leads to at the time (see
// Lead), and stays with that server. It is closed when the test ends.
type Front struct {
	Addr string

	mu    sync.Mutex
	to    string
	conns map[net.Conn]bool // accepted, still open
}

// NewFront returns a Front that leads to to.
func NewFront(t testing.TB, to *Redis) *Front {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &Front{Addr: ln.Addr().String(), to: to.Addr, conns: make(map[net.Conn]bool)}
	t.Cleanup(func() {
		ln.Close()
		f.mu.Lock()
		defer f.mu.Unlock()
		for c := range f.conns {
			c.Close()
		}
	})
	go func() {
		for {
			in, err := ln.Accept()
			if err != nil {
				return
			}
			f.mu.Lock()
			to := f.to
			f.conns[in] = true
			f.mu.Unlock()
			go func() {
				forward(in, to)
				f.mu.Lock()
				delete(f.conns, in)
				f.mu.Unlock()
			}()
		}
	}()
	return f
}

// Lead makes the connections made from now on go to to: a failover.
func (f *Front) Lead(to *Redis) {
	f.mu.Lock()
	f.to = to.Addr
	f.mu.Unlock()
}

// forward copies between in and a connection to addr, both ways, until
// either side closes; in is closed at once when addr does not answer. (The
// cleanup closing in ends it too.)
func forward(in net.Conn, addr string) {
	defer in.Close()
	out, err := net.Dial("tcp", addr)
	if err != nil {
		return
	}
	defer out.Close()
	done := make(chan struct{})
	go func() {
		io.Copy(out, in)
		out.Close()
		close(done)
	}()
	io.Copy(in, out)
	in.Close()
	<-done
}
