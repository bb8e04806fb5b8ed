// Package conformance runs the data-driven conformance suite in
// testdata/conformance against any host of funcauth: the core middleware,
// the Caddy module, the Traefik plugin under Yaegi, and the real Caddy and
// Traefik binaries. Each suite file holds a configuration (the core's JSON
// form) and cases of requests with what must come of them.
package conformance

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/funcauth/funcauth/internal/redistest"
)

// Suite is one file of testdata/conformance.
type Suite struct {
	Name        string            `json:"-"`
	Description string            `json:"description"`
	Config      json.RawMessage   `json:"config"`
	Files       map[string]string `json:"files,omitempty"`
	// Redis starts a real redis-server for each case, on loopback, whose
	// address "{redis}" in the configuration names (the shared store).
	Redis bool   `json:"redis,omitempty"`
	Cases []Case `json:"cases"`
}

// Case is a sequence of requests against one fresh instance.
type Case struct {
	Name string `json:"name"`
	// Config replaces the suite's configuration for this case.
	Config json.RawMessage `json:"config,omitempty"`
	// Hosts limits the case to some runners: "core", "caddy" (in-process),
	// "caddy-binary", "traefik" (Yaegi, as Traefik loads plugins) and
	// "traefik-binary"; empty means all. Only for behaviour a host owns,
	// such as Traefik cleaning paths before any middleware sees them.
	Hosts []string `json:"hosts,omitempty"`
	Steps []Step   `json:"steps"`
}

// Step is a request, sent Repeat times (default once), and what every one
// of those must give; or, with Concurrent, sent that many times at once,
// and how many of the answers may have each status.
type Step struct {
	Request Request `json:"request"`
	Repeat  int     `json:"repeat,omitempty"`
	// Concurrent sends the request this many times at once. ExpectCounts
	// then replaces Expect: every status answered must be listed there.
	Concurrent   int              `json:"concurrent,omitempty"`
	ExpectCounts map[string]Count `json:"expect_counts,omitempty"`
	// Sleep is waited before the request, as a Go duration.
	Sleep  string `json:"sleep,omitempty"`
	Expect Expect `json:"expect"`
	// Do changes the instance's files before the request ("write" or
	// "remove" a file of the suite).
	Do *FileChange `json:"do,omitempty"`
}

// FileChange writes or removes a file (or a directory and what it holds)
// of the suite's directory.
type FileChange struct {
	Write   string `json:"write,omitempty"`
	Remove  string `json:"remove,omitempty"`
	Content string `json:"content,omitempty"`
	// Redis freezes ("freeze": SIGSTOP, a hang) or thaws ("thaw") the
	// case's redis-server.
	Redis string `json:"redis,omitempty"`
}

// Request describes a request. Signature headers can be computed by Sign.
type Request struct {
	Method  string              `json:"method,omitempty"`
	Target  string              `json:"target"` // path and query as sent, e.g. /function/env?x=1
	Host    string              `json:"host,omitempty"`
	Headers map[string][]string `json:"headers,omitempty"`
	// HeadersBase64 are headers whose values are given in base64, for
	// bytes JSON strings cannot hold (invalid UTF-8).
	HeadersBase64 map[string]string `json:"headers_base64,omitempty"`
	Body          string            `json:"body,omitempty"`
	// BodyRepeat repeats Body this many times (large bodies).
	BodyRepeat int `json:"body_repeat,omitempty"`
	// Chunked sends the body without Content-Length.
	Chunked bool `json:"chunked,omitempty"`
	// AbortAfter makes the body fail after this many bytes, as a client
	// that goes away mid-body. Only for runners that hand the request to
	// the handler directly (hosts "core" and "traefik").
	AbortAfter int `json:"abort_after,omitempty"`
	// Client is the client's address.
	Client string     `json:"client,omitempty"`
	Basic  *BasicAuth `json:"basic,omitempty"`
	Sign   *Sign      `json:"sign,omitempty"`
	// Again sends the previous request of the case once more, byte for
	// byte: a replay.
	Again bool `json:"again,omitempty"`
	// ForwardedFor, instead of Client, sends the request through a
	// trusted proxy on loopback that writes this X-Forwarded-For, such as
	// a hop with a port ("203.0.113.7:51234"). Every runner trusts that
	// proxy: the Caddy runners through Caddy's trusted_proxies, the others
	// through client_address.trusted_proxies.
	ForwardedFor string `json:"forwarded_for,omitempty"`
	// Upgrade asks to switch protocols ("websocket": a WebSocket
	// handshake with Connection: Upgrade, Upgrade, Sec-WebSocket-Key and
	// -Version). The conformance upstream takes the connection, answers
	// 101 and sends one WebSocket text message describing the request;
	// expect status 101.
	Upgrade string `json:"upgrade,omitempty"`
}

// BasicAuth adds an Authorization header.
type BasicAuth struct {
	User     string `json:"user"`
	Password string `json:"password"`
}

// Count bounds how many answers of a concurrent step have one status.
type Count struct {
	Min int  `json:"min,omitempty"`
	Max *int `json:"max,omitempty"`
	// RetryAfter requires a Retry-After header on each of them.
	RetryAfter bool `json:"retry_after,omitempty"`
}

// Expect is what a request must give.
type Expect struct {
	Status int `json:"status"`
	// Reason is the decision's reason code, checked where the runner can
	// see it.
	Reason string `json:"reason,omitempty"`
	// Challenge is the WWW-Authenticate value a 401 must carry.
	Challenge string `json:"challenge,omitempty"`
	// RetryAfter requires a Retry-After header.
	RetryAfter bool `json:"retry_after,omitempty"`
	// FromUpstream says the status is the upstream's own (it was asked to
	// fail through FailHeader).
	FromUpstream bool `json:"from_upstream,omitempty"`
	// ByHost says the host refuses the request before funcauth sees it
	// (a header too large for its server): no reason is logged.
	ByHost bool `json:"by_host,omitempty"`
	// UpstreamHeaders must be what the upstream received ("" for absent).
	UpstreamHeaders map[string]string `json:"upstream_headers,omitempty"`
	// UpstreamBodySame requires the upstream to receive the very body
	// sent, with a matching Content-Length.
	UpstreamBodySame bool `json:"upstream_body_same,omitempty"`
	// Body is the exact body of a refusal. Without it, a refusal with a
	// Reason must carry the JSON body naming that reason (in its public
	// form) on every runner.
	Body *string `json:"body,omitempty"`
}

// BodyBytes returns the request's body.
func (r *Request) BodyBytes() []byte {
	n := r.BodyRepeat
	if n <= 0 {
		n = 1
	}
	return []byte(strings.Repeat(r.Body, n))
}

// Load reads every suite in dir.
func Load(dir string) ([]*Suite, error) {
	names, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	var suites []*Suite
	for _, name := range names {
		data, err := os.ReadFile(name)
		if err != nil {
			return nil, err
		}
		s := &Suite{Name: strings.TrimSuffix(filepath.Base(name), ".json")}
		dec := json.NewDecoder(strings.NewReader(string(data)))
		dec.DisallowUnknownFields()
		if err := dec.Decode(s); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		suites = append(suites, s)
	}
	if len(suites) == 0 {
		return nil, fmt.Errorf("no suites in %s", dir)
	}
	return suites, nil
}

// Instance is the configuration of one case with its files in place.
type Instance struct {
	// Dir holds the suite's files; "{dir}" in the configuration names it.
	Dir string
	// Config is the core's JSON configuration with "{dir}" (and
	// "{redis}") expanded.
	Config []byte

	redis *redistest.Redis // the case's redis-server, for suites with Redis
	t     testing.TB
}

// Prepare writes the suite's files into dir and returns the case's
// configuration.
func (s *Suite) Prepare(c *Case, dir string) (*Instance, error) {
	for name, content := range s.Files {
		path := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return nil, err
		}
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			return nil, err
		}
	}
	cfg := s.Config
	if len(c.Config) > 0 {
		cfg = c.Config
	}
	expanded := strings.ReplaceAll(string(cfg), "{dir}", filepath.ToSlash(dir))
	return &Instance{Dir: dir, Config: []byte(expanded)}, nil
}

// Apply performs a step's file change.
func (in *Instance) Apply(change *FileChange) error {
	if change == nil {
		return nil
	}
	if change.Redis != "" {
		if in.redis == nil {
			return fmt.Errorf("redis %q: the suite has no redis-server (set \"redis\": true)", change.Redis)
		}
		switch change.Redis {
		case "freeze":
			in.redis.Freeze(in.t)
		case "thaw":
			in.redis.Thaw(in.t)
		default:
			return fmt.Errorf("redis %q: use freeze or thaw", change.Redis)
		}
		return nil
	}
	if change.Remove != "" {
		return os.RemoveAll(filepath.Join(in.Dir, filepath.FromSlash(change.Remove)))
	}
	if change.Write != "" {
		path := filepath.Join(in.Dir, filepath.FromSlash(change.Write))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return err
		}
		return os.WriteFile(path, []byte(change.Content), 0o600)
	}
	return nil
}

// RunsOn reports whether the case applies to the named host.
func (c *Case) RunsOn(host string) bool {
	if len(c.Hosts) == 0 {
		return true
	}
	for _, h := range c.Hosts {
		if h == host {
			return true
		}
	}
	return false
}
