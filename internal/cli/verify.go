package cli

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/funcauth/funcauth"
)

// maxRequestFile bounds the saved request verify reads.
const maxRequestFile = 64 << 20

func runVerify(prog string, args []string, env *Env) int {
	fs := newFlags(prog, "--config <file.json> [--request <file>] [--client addr] [--now time] [--tls]", `
Checks a saved HTTP request against a funcauth configuration, as the proxy
would, and prints the decision: allowed or refused, the status, the reason
code, the rule that matched and the detail the proxy logs (never a
secret). The exit status is 0 when the request is allowed, 1 when it is
refused and 2 when the configuration or the request cannot be read.

The configuration is the core's JSON form (Caddy's handler JSON, with or
without "handler": "funcauth"); key and htpasswd files it names are read
as the proxy reads them, relative paths from the current directory.
{env.*} and {file.*} placeholders are not expanded.

The request is HTTP/1.1 as sent on the wire: request line, headers, a
blank line, the body. Capture one by pointing the sender at a listener:

  nc -l 127.0.0.1 8099 > request.http   # then: faas-cli invoke env --gateway http://127.0.0.1:8099 ...

A body without Content-Length (a hand-written file) is taken as the rest
of the file, except for GET and HEAD.`, env)
	configPath := fs.String("config", "", "the configuration, JSON (required)")
	requestPath := fs.String("request", "-", "the saved request; - for standard input")
	client := fs.String("client", "127.0.0.1", "the client's address, as the proxy sees the peer")
	nowFlag := fs.String("now", "", "check at this time, RFC 3339 or unix seconds (default now): for a saved request with a signed timestamp")
	useTLS := fs.Bool("tls", false, "the request came over HTTPS (twilio and http-message-signatures sign the scheme)")
	rest, status, ok := parse(fs, args)
	if !ok {
		return status
	}
	if s := noArgs(env, prog, rest); s != ExitOK {
		return s
	}
	if *configPath == "" {
		return fail(env, prog, ExitUsage, errors.New("--config: give the configuration file (JSON)"))
	}
	now := env.Now()
	if *nowFlag != "" {
		t, err := parseTime(*nowFlag)
		if err != nil {
			return fail(env, prog, ExitUsage, err)
		}
		now = t
	}
	cfg, err := readConfig(*configPath)
	if err != nil {
		return fail(env, prog, ExitUsage, err)
	}
	if j := string(mustJSON(cfg)); strings.Contains(j, "{env.") || strings.Contains(j, "{file.") {
		fmt.Fprintf(env.Stderr, "%s: note: {env.*} and {file.*} placeholders are taken literally here\n", prog)
	}
	ip := net.ParseIP(strings.Trim(*client, "[]"))
	if ip == nil {
		return fail(env, prog, ExitUsage, fmt.Errorf("--client: %q is not an IP address", *client))
	}
	r, note, err := readRequest(*requestPath, env.Stdin)
	if err != nil {
		return fail(env, prog, ExitUsage, err)
	}
	if note != "" {
		fmt.Fprintf(env.Stderr, "%s: note: %s\n", prog, note)
	}
	r.RemoteAddr = net.JoinHostPort(ip.String(), "40000")
	if *useTLS {
		r.TLS = &tls.ConnectionState{HandshakeComplete: true}
	}
	g, err := funcauth.New(cfg, funcauth.Options{
		Now:           func() time.Time { return now },
		HashComparers: map[string]funcauth.HashComparer{"$2a$": bcryptComparer{}, "$2b$": bcryptComparer{}, "$2y$": bcryptComparer{}},
	})
	if err != nil {
		return fail(env, prog, ExitUsage, fmt.Errorf("%s: %v", *configPath, err))
	}
	d := g.Check(r, g.ClientAddress(r))
	d.Close()
	report(env.Stdout, d, cfg.RefusalBody == "status")
	if d.Allowed {
		return ExitOK
	}
	return exitRefused
}

// report prints a decision, one "name: value" per line.
func report(w io.Writer, d *funcauth.Decision, statusOnly bool) {
	line := func(name, value string) {
		if value != "" {
			fmt.Fprintf(w, "%-11s%s\n", name+":", value)
		}
	}
	if d.Allowed {
		line("decision", "allowed")
	} else {
		line("decision", "refused")
		line("status", strconv.Itoa(d.Status)+" "+http.StatusText(d.Status))
	}
	line("reason", string(d.Reason))
	rule := "none matched"
	if d.Rule >= 0 {
		rule = d.RulePath + " (index " + strconv.Itoa(d.Rule) + ", counting the preset's rules after yours)"
	}
	line("rule", rule)
	line("detail", d.Detail)
	line("client", d.Client)
	line("user", d.User)
	if d.Verifier != "" {
		line("key", d.Verifier+"/"+d.KeyID)
	}
	if d.Allowed {
		return
	}
	line("challenge", d.Challenge)
	if d.RetryAfter > 0 {
		line("retry", d.RetryAfter.String())
	}
	if statusOnly {
		line("body", strconv.Quote(http.StatusText(d.Status)+"\n"))
	} else {
		line("body", strings.TrimSpace(string(funcauth.RefusalJSON(d.Reason, d.Status))))
	}
	line("docs", funcauth.TroubleshootingURL+"#"+string(d.Reason))
}

// readConfig reads the core's JSON configuration, strictly: an unknown
// field is an error. A Caddy handler's "handler": "funcauth" is allowed.
func readConfig(path string) (*funcauth.Config, error) {
	data, err := readBounded(path, 16<<20)
	if err != nil {
		return nil, err
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(data, &fields); err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	if h, ok := fields["handler"]; ok {
		if string(h) != `"funcauth"` {
			return nil, fmt.Errorf("%s: the handler is %s, not funcauth", path, h)
		}
		delete(fields, "handler")
		data, _ = json.Marshal(fields)
	}
	var cfg funcauth.Config
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&cfg); err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	return &cfg, nil
}

func mustJSON(v interface{}) []byte {
	data, _ := json.Marshal(v)
	return data
}

// readRequest reads a request in HTTP/1.1 wire format from path ("-" for
// stdin).
func readRequest(path string, stdin io.Reader) (*http.Request, string, error) {
	var data []byte
	var err error
	if path == "-" {
		data, err = io.ReadAll(io.LimitReader(stdin, maxRequestFile+1))
		if err == nil && len(data) > maxRequestFile {
			err = errors.New("the request on standard input is larger than 64 MiB")
		}
	} else {
		data, err = readBounded(path, maxRequestFile)
	}
	if err != nil {
		return nil, "", err
	}
	br := bufio.NewReader(bytes.NewReader(data))
	r, err := http.ReadRequest(br)
	if err != nil {
		return nil, "", fmt.Errorf("the request: %v (it must be HTTP/1.1 as sent: \"POST /function/env HTTP/1.1\", headers, a blank line, the body)", err)
	}
	note := ""
	if r.ContentLength == 0 && len(r.TransferEncoding) == 0 && r.Header.Get("Content-Length") == "" &&
		r.Method != http.MethodGet && r.Method != http.MethodHead {
		rest, _ := io.ReadAll(br)
		if len(rest) > 0 {
			r.Body = io.NopCloser(bytes.NewReader(rest))
			r.ContentLength = int64(len(rest))
			r.Header.Set("Content-Length", strconv.Itoa(len(rest)))
			note = "no Content-Length: the " + strconv.Itoa(len(rest)) + " bytes after the headers are the body"
		}
	}
	return r, note, nil
}

// parseTime reads RFC 3339 or unix seconds.
func parseTime(s string) (time.Time, error) {
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return time.Unix(n, 0), nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, errors.New("--now: RFC 3339 (2026-11-30T10:00:00Z) or unix seconds")
	}
	return t, nil
}

// bcryptComparer checks bcrypt hashes, as the Caddy module does.
type bcryptComparer struct{}

func (bcryptComparer) Compare(hashed, plaintext []byte) (bool, error) {
	err := bcrypt.CompareHashAndPassword(hashed, plaintext)
	if errors.Is(err, bcrypt.ErrMismatchedHashAndPassword) {
		return false, nil
	}
	return err == nil, err
}
