package funcauth

import (
	"bufio"
	"crypto/tls"
	"errors"
	"net"
	"sync"
	"time"
)

// redisSentinels finds the primary through Redis Sentinel: each new
// connection asks the Sentinels for the address of the primary they watch
// under master (SENTINEL get-master-addr-by-name), dials it, and checks
// with ROLE that it is the primary indeed. A failover is followed at the
// next dial: one that a connection's failure, or a READONLY answer from
// the old primary, brings about (see redisConn.demoted). No connection to
// the Sentinels is kept, and no goroutine watches them.
type redisSentinels struct {
	master             string
	addrs              []string
	username, password string

	mu    sync.Mutex
	first int // the Sentinel to ask first: the last one that answered (or, after none did, the next)
}

// primary returns the primary's address as a Sentinel gives it, asking
// them in turn, from the one that answered last, within budget. Each has
// a share of the timeout, so that one that hangs leaves time to ask the
// others and to dial the primary; when none answers, the next dial starts
// with the one after the first asked. Its errors never hold a password.
func (s *redisSentinels) primary(c *redisClient, budget *dialBudget) (string, error) {
	s.mu.Lock()
	first := s.first
	s.mu.Unlock()
	share := c.timeout / time.Duration(len(s.addrs)+1)
	var problems string
	for i := range s.addrs {
		k := (first + i) % len(s.addrs)
		addr, err := s.ask(c, budget, s.addrs[k], share)
		if err == nil {
			s.mu.Lock()
			s.first = k
			s.mu.Unlock()
			return addr, nil
		}
		if problems != "" {
			problems += "; "
		}
		problems += "Sentinel " + s.addrs[k] + ": " + err.Error()
		if budget.isSpent() {
			break
		}
	}
	s.mu.Lock()
	s.first = (first + 1) % len(s.addrs)
	s.mu.Unlock()
	return "", errors.New("no Sentinel gave the primary " + s.master + " (" + problems + ")")
}

// ask asks the Sentinel at addr for the primary's address, within share
// and the budget.
func (s *redisSentinels) ask(c *redisClient, budget *dialBudget, addr string, share time.Duration) (string, error) {
	d := net.Dialer{Timeout: share}
	conn, err := d.DialContext(budget.ctx, "tcp", addr)
	if err != nil {
		return "", errors.New("cannot connect")
	}
	budget.watch(conn)
	defer conn.Close()
	raw := conn
	rc := &redisConn{timer: time.AfterFunc(share, func() { raw.SetDeadline(longAgo) })}
	defer rc.timer.Stop()
	if c.tls != nil {
		if conn, err = startTLS(conn, c.tls, addr); err != nil {
			return "", err
		}
	}
	rc.conn = conn
	rc.r = bufio.NewReaderSize(conn, 512)
	var cmds []string
	if s.password != "" {
		cmds = append(cmds, authCommand(s.username, s.password))
	}
	cmds = append(cmds, respCommand("SENTINEL", "get-master-addr-by-name", s.master))
	replies, err := redisRoundTrip(rc, cmds, share)
	if err != nil {
		return "", err
	}
	if len(cmds) == 2 && replies[0].kind == '-' {
		// The server's message, never the command: AUTH's holds the password.
		return "", errors.New("AUTH refused: " + replies[0].str)
	}
	r := replies[len(replies)-1]
	switch {
	case r.kind == '-':
		return "", errors.New("answered " + r.str)
	case r.kind == '*' && r.null:
		return "", errors.New("watches no primary named " + s.master)
	case r.kind != '*' || len(r.elems) != 2 || r.elems[0].str == "" || r.elems[1].str == "":
		return "", errors.New("gave no address")
	}
	return net.JoinHostPort(r.elems[0].str, r.elems[1].str), nil
}

// tlsFor is the TLS configuration for a connection to addr: cfg, with
// addr's host as the server name when cfg names none (the primary and the
// Sentinels are found at dial time).
func tlsFor(cfg *tls.Config, addr string) *tls.Config {
	if cfg.ServerName != "" || cfg.InsecureSkipVerify {
		return cfg
	}
	host, _, _ := net.SplitHostPort(addr)
	cfg = cfg.Clone()
	cfg.ServerName = host
	return cfg
}
