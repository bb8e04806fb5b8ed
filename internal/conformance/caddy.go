package conformance

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"sync"
	"testing"
	"time"
)

// CaddySite describes a Caddy configuration with one plain-HTTP server
// whose single route runs funcauth, then After, then a reverse proxy to
// Upstream. Requests from loopback may name their client in
// X-Forwarded-For, as a trusted proxy's would, so one test client can act
// as many clients. funcauth logs as JSON to LogPath.
type CaddySite struct {
	Funcauth    []byte // the handler's options: the core's JSON configuration
	Upstream    string // host:port
	HTTPPort    int
	AdminListen string
	LogPath     string
	After       []map[string]interface{}
	ErrorRoutes []interface{}
	// Server adds options to the server, such as timeouts.
	Server map[string]interface{}
}

// JSON returns the Caddy configuration.
func (s *CaddySite) JSON() ([]byte, error) {
	var handler map[string]interface{}
	if err := json.Unmarshal(s.Funcauth, &handler); err != nil {
		return nil, err
	}
	handler["handler"] = "funcauth"
	handlers := []interface{}{handler}
	for _, h := range s.After {
		handlers = append(handlers, h)
	}
	handlers = append(handlers, map[string]interface{}{
		"handler":   "reverse_proxy",
		"upstreams": []interface{}{map[string]interface{}{"dial": s.Upstream}},
	})
	server := map[string]interface{}{
		"listen":            []string{fmt.Sprintf(":%d", s.HTTPPort)},
		"automatic_https":   map[string]interface{}{"disable": true},
		"trusted_proxies":   map[string]interface{}{"source": "static", "ranges": []string{"127.0.0.1/32", "::1/128"}},
		"client_ip_headers": []string{"X-Forwarded-For"},
		"routes":            []interface{}{map[string]interface{}{"handle": handlers}},
	}
	if s.ErrorRoutes != nil {
		server["errors"] = map[string]interface{}{"routes": s.ErrorRoutes}
	}
	for k, v := range s.Server {
		server[k] = v
	}
	cfg := map[string]interface{}{
		"admin": map[string]interface{}{"listen": s.AdminListen},
		"logging": map[string]interface{}{"logs": map[string]interface{}{
			"default": map[string]interface{}{"level": "ERROR", "exclude": []string{"http.handlers.funcauth"}},
			"funcauth": map[string]interface{}{
				"writer":  map[string]interface{}{"output": "file", "filename": s.LogPath},
				"encoder": map[string]interface{}{"format": "json"},
				"level":   "INFO",
				"include": []string{"http.handlers.funcauth"},
			},
		}},
		"apps": map[string]interface{}{"http": map[string]interface{}{
			"http_port":    s.HTTPPort,
			"grace_period": 1,
			"servers":      map[string]interface{}{"funcauth": server},
		}},
	}
	return json.Marshal(cfg)
}

// LogTail reads the JSON lines a log file gains.
type LogTail struct {
	Path string

	mu  sync.Mutex
	off int64
}

// Lines returns the entries written since the last call: whole lines
// only, so that a line the server is still writing is read next time.
func (l *LogTail) Lines() ([]map[string]interface{}, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	f, err := os.Open(l.Path)
	if err != nil {
		if os.IsNotExist(err) {
			return nil, nil
		}
		return nil, err
	}
	defer f.Close()
	if _, err := f.Seek(l.off, io.SeekStart); err != nil {
		return nil, err
	}
	data, err := io.ReadAll(f)
	if err != nil {
		return nil, err
	}
	whole := bytes.LastIndexByte(data, '\n') + 1
	var lines []map[string]interface{}
	for _, line := range bytes.Split(data[:whole], []byte("\n")) {
		if len(line) == 0 {
			continue
		}
		var m map[string]interface{}
		if err := json.Unmarshal(line, &m); err != nil {
			return lines, fmt.Errorf("log line %q: %w", line, err)
		}
		lines = append(lines, m)
	}
	l.off += int64(whole)
	return lines, nil
}

// LastReason returns the reason of the last new entry that has one.
func (l *LogTail) LastReason() (string, error) {
	lines, err := l.Lines()
	reason := ""
	for _, line := range lines {
		if r, ok := line["reason"].(string); ok {
			reason = r
		}
	}
	return reason, err
}

// RefusalReason is LastReason for a response with body. A server answers
// before its log line reaches the file, so for a funcauth refusal (its
// JSON body links the troubleshooting page) it waits up to logWait for
// the line.
func (l *LogTail) RefusalReason(body []byte) (string, error) {
	reason, err := l.LastReason()
	if reason != "" || err != nil || !bytes.Contains(body, []byte("troubleshooting.md#")) {
		return reason, err
	}
	for deadline := time.Now().Add(logWait); time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
		if reason, err = l.LastReason(); reason != "" || err != nil {
			return reason, err
		}
	}
	return "", nil
}

// logWait is how long RefusalReason waits for a refusal's log line. (A
// request among concurrent ones may find its line taken by another's
// read, and waits it out for nothing.)
const logWait = 2 * time.Second

// DoVia sends req to a server listening at addr, keeping req's Host, with
// client in X-Forwarded-For, and returns the response (its body read, so
// the log is written) and the reason the log gained for a refusal.
func DoVia(t testing.TB, req *http.Request, addr, client string, log *LogTail) (*http.Response, string) {
	t.Helper()
	req.Host = req.URL.Host
	req.URL.Host = addr
	ViaProxy(req, client)
	// A connection of its own for each request, still kept alive from the
	// server's side (so a refusal that comes before the body was sent
	// reaches the client): a connection left idle by an earlier request,
	// whose body the server may still be draining, or by a case whose
	// configuration was since reloaded, is never reused.
	noRedirects.CloseIdleConnections()
	resp, err := noRedirects.Do(req)
	if err != nil {
		t.Fatalf("request to %s: %v", addr, err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(body))
	if resp.StatusCode < 400 || log == nil {
		return resp, ""
	}
	reason, err := log.RefusalReason(body)
	if err != nil {
		t.Error(err)
	}
	return resp, reason
}

var noRedirects = &http.Client{
	Timeout:       60 * time.Second,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}
