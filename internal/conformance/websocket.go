package conformance

import (
	"bufio"
	"bytes"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// wsKey is the Sec-WebSocket-Key of every upgrade (RFC 6455's example):
// a client picks it at random, a server only hashes it.
const wsKey = "dGhlIHNhbXBsZSBub25jZQ=="

// wsAccept is the Sec-WebSocket-Accept a server answers key with.
func wsAccept(key string) string {
	h := sha1.New()
	io.WriteString(h, key+"258EAFA5-E914-47DA-95CA-C5AB0DC11B85")
	return base64.StdEncoding.EncodeToString(h.Sum(nil))
}

// isWebSocketUpgrade reports whether r asks to switch to WebSocket.
func isWebSocketUpgrade(r *http.Request) bool {
	return strings.EqualFold(r.Header.Get("Upgrade"), "websocket") &&
		strings.Contains(strings.ToLower(strings.Join(r.Header.Values("Connection"), ",")), "upgrade")
}

// setUpgradeHeaders makes req a WebSocket handshake.
func setUpgradeHeaders(req *http.Request, protocol string) error {
	if protocol != "websocket" {
		return fmt.Errorf("upgrade %q: only websocket is supported", protocol)
	}
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Upgrade", "websocket")
	req.Header.Set("Sec-WebSocket-Key", wsKey)
	req.Header.Set("Sec-WebSocket-Version", "13")
	return nil
}

// serveWebSocket takes the connection as a WebSocket server would: it
// answers 101 with the accept key, sends one text message (the JSON
// description of the request) and closes. It hijacks through
// http.ResponseController, as reverse proxies do, so it fails where a
// writer in between hides the host's Hijacker.
func serveWebSocket(w http.ResponseWriter, r *http.Request, message []byte) {
	conn, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		http.Error(w, "cannot take the connection: "+err.Error(), http.StatusInternalServerError)
		return
	}
	defer conn.Close()
	fmt.Fprintf(brw, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n%s: reached\r\n\r\n",
		wsAccept(r.Header.Get("Sec-WebSocket-Key")), UpstreamHeader)
	brw.Write(wsTextFrame(message))
	brw.Flush()
}

// wsTextFrame is an unmasked (server to client) final text frame.
func wsTextFrame(payload []byte) []byte {
	frame := []byte{0x81}
	switch n := len(payload); {
	case n < 126:
		frame = append(frame, byte(n))
	case n <= 0xffff:
		frame = append(frame, 126, byte(n>>8), byte(n))
	default:
		frame = append(frame, 127)
		frame = binary.BigEndian.AppendUint64(frame, uint64(n))
	}
	return append(frame, payload...)
}

// readWSText reads one unmasked text frame and returns its payload.
func readWSText(data []byte) ([]byte, error) {
	r := bytes.NewReader(data)
	var head [2]byte
	if _, err := io.ReadFull(r, head[:]); err != nil {
		return nil, errors.New("no WebSocket frame after the 101")
	}
	if head[0] != 0x81 || head[1]&0x80 != 0 {
		return nil, fmt.Errorf("not an unmasked final text frame: % x", head)
	}
	n := uint64(head[1] & 0x7f)
	switch n {
	case 126:
		var l [2]byte
		if _, err := io.ReadFull(r, l[:]); err != nil {
			return nil, err
		}
		n = uint64(binary.BigEndian.Uint16(l[:]))
	case 127:
		var l [8]byte
		if _, err := io.ReadFull(r, l[:]); err != nil {
			return nil, err
		}
		n = binary.BigEndian.Uint64(l[:])
	}
	if n > uint64(r.Len()) {
		return nil, fmt.Errorf("a %d-byte frame with %d bytes sent", n, r.Len())
	}
	payload := make([]byte, n)
	io.ReadFull(r, payload)
	return payload, nil
}

// checkUpgrade checks a 101: the handshake's accept key, and the one
// message, which is returned as the upstream's description of the request.
func checkUpgrade(t testing.TB, what string, resp *http.Response, body []byte) ([]byte, bool) {
	t.Helper()
	if got := resp.Header.Get("Sec-WebSocket-Accept"); got != wsAccept(wsKey) {
		t.Errorf("%s: Sec-WebSocket-Accept %q, want %q", what, got, wsAccept(wsKey))
	}
	if !strings.EqualFold(resp.Header.Get("Upgrade"), "websocket") {
		t.Errorf("%s: 101 with Upgrade %q", what, resp.Header.Get("Upgrade"))
	}
	msg, err := readWSText(body)
	if err != nil {
		t.Errorf("%s: %v", what, err)
		return nil, false
	}
	return msg, true
}

// ServeDirect hands req to h as a server would, for runners that call a
// handler directly: through a response recorder, or, for an upgrade,
// which needs a connection to take, through a real HTTP/1.1 server whose
// handler sees client as the remote address. The response's body is read.
func ServeDirect(t testing.TB, h http.Handler, req *http.Request, client string) *http.Response {
	t.Helper()
	if req.Header.Get("Upgrade") == "" {
		ServerRequest(req, client)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec.Result()
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.RemoteAddr = net.JoinHostPort(client, "40000")
		h.ServeHTTP(w, r)
	}))
	defer srv.Close()
	req.Host = req.URL.Host
	req.URL.Host = strings.TrimPrefix(srv.URL, "http://")
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatalf("upgrade request: %v", err)
	}
	body, _ := io.ReadAll(bufio.NewReader(resp.Body))
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(body))
	return resp
}
