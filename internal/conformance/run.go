package conformance

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/funcauth/funcauth/internal/redistest"
	"github.com/funcauth/funcauth/internal/sign"
)

// Sign computes signature headers for the request's body.
type Sign struct {
	Scheme    string `json:"scheme"`
	Key       string `json:"key"`
	Algorithm string `json:"algorithm,omitempty"`
	Header    string `json:"header,omitempty"`
	Encoding  string `json:"encoding,omitempty"`
	Prefix    string `json:"prefix,omitempty"`
	// Timestamp is "now", "now-400s", "now+1h" (default now).
	Timestamp string `json:"timestamp,omitempty"`
	ID        string `json:"id,omitempty"`
	// Body, when set, is signed instead of the body sent (tampering).
	Body *string `json:"body,omitempty"`
	// URL, when set, is the URL signed instead of the one requested.
	URL string `json:"url,omitempty"`
	// Components are what an HTTP message signature covers.
	Components []string `json:"components,omitempty"`
}

// Target is a host of funcauth under test.
type Target interface {
	// Do sends the request and returns the response and, where the host
	// lets the runner see it, the decision's reason code ("" otherwise).
	// client is the client's IP address; TrustedProxy for a request that
	// comes from that proxy, with its X-Forwarded-For already set
	// (Request.ForwardedFor).
	Do(t testing.TB, req *http.Request, client string) (*http.Response, string)
}

// SchemeTarget is a Target reached over another scheme than http (TLS:
// "https"): requests are built, and signed, with URLs of that scheme, as a
// client that signs the URL it requests does.
type SchemeTarget interface {
	Scheme() string
}

// ReasonReporter is a Target that always sees the reason of a refusal
// (from funcauth's log): a refusal without one did not come from funcauth.
type ReasonReporter interface {
	ReportsReasons() bool
}

// TrustedProxy is the proxy every runner trusts: requests with
// Request.ForwardedFor come from it.
const TrustedProxy = "127.0.0.1"

// ViaProxy names the client in X-Forwarded-For, for runners that send
// every request through the trusted proxy on loopback; a request of the
// proxy itself (Request.ForwardedFor) keeps the header it carries.
func ViaProxy(req *http.Request, client string) {
	if client != TrustedProxy {
		req.Header.Set("X-Forwarded-For", client)
	}
}

// UpstreamHeader marks responses that come from the conformance upstream.
const UpstreamHeader = "X-Conformance-Upstream"

// FailHeader asks the conformance upstream to answer with this status, as
// a function that fails would.
const FailHeader = "X-Conformance-Fail"

// Upstream is the upstream behind every host under test. It answers 200
// and describes the request it received as JSON, so that every runner,
// the binaries included, can tell what passed through. A WebSocket
// upgrade it answers with 101, taking the connection, and sends the
// description as a WebSocket message.
var Upstream = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	seen := upstreamSeen{Headers: map[string]string{}, Body: string(body), ContentLength: r.ContentLength}
	if err != nil {
		seen.ReadError = err.Error()
	}
	for k := range r.Header {
		seen.Headers[k] = strings.Join(r.Header.Values(k), ", ")
	}
	if isWebSocketUpgrade(r) {
		msg, _ := json.Marshal(seen)
		serveWebSocket(w, r, msg)
		return
	}
	w.Header().Set(UpstreamHeader, "reached")
	w.Header().Set("Content-Type", "application/json")
	if code, err := strconv.Atoi(r.Header.Get(FailHeader)); err == nil {
		w.WriteHeader(code) // a function that fails
	}
	json.NewEncoder(w).Encode(seen)
})

type upstreamSeen struct {
	Headers       map[string]string `json:"headers"`
	Body          string            `json:"body"`
	ContentLength int64             `json:"content_length"`
	ReadError     string            `json:"read_error,omitempty"`
}

// Run runs every case of every suite in dir that applies to host against
// a fresh target per case.
func Run(t *testing.T, dir, host string, start func(t *testing.T, in *Instance) Target) {
	suites, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range suites {
		s := s
		t.Run(s.Name, func(t *testing.T) {
			for i := range s.Cases {
				c := &s.Cases[i]
				if !c.RunsOn(host) {
					continue
				}
				t.Run(c.Name, func(t *testing.T) {
					in, err := s.Prepare(c, t.TempDir())
					if err != nil {
						t.Fatal(err)
					}
					if s.Redis {
						in.redis, in.t = redistest.Start(t), t
						in.Config = []byte(strings.ReplaceAll(string(in.Config), "{redis}", in.redis.Addr))
					}
					target := start(t, in)
					var previous *Request
					var previousHeader http.Header
					for j := range c.Steps {
						step := &c.Steps[j]
						if err := in.Apply(step.Do); err != nil {
							t.Fatal(err)
						}
						if step.Sleep != "" {
							d, err := time.ParseDuration(step.Sleep)
							if err != nil {
								t.Fatal(err)
							}
							time.Sleep(d)
						}
						if step.Concurrent > 0 {
							runConcurrent(t, fmt.Sprintf("step %d (%s %s)", j, or(step.Request.Method, "GET"), step.Request.Target), step, target)
							continue
						}
						n := step.Repeat
						if n <= 0 {
							n = 1
						}
						for k := 0; k < n; k++ {
							spec := &step.Request
							if spec.Again {
								if previous == nil {
									t.Fatalf("step %d: again, but no request before it", j)
								}
								spec = previous
							}
							scheme := "http"
							if st, ok := target.(SchemeTarget); ok {
								scheme = st.Scheme()
							}
							req, err := BuildRequest(spec, scheme+"://"+or(spec.Host, "gateway.test"))
							if err != nil {
								t.Fatalf("step %d: %v", j, err)
							}
							if step.Request.Again {
								req.Header = previousHeader.Clone()
							}
							previous, previousHeader = spec, req.Header.Clone()
							client := or(step.Request.Client, "192.0.2.10")
							if spec.ForwardedFor != "" {
								client = TrustedProxy
								req.Header.Set("X-Forwarded-For", spec.ForwardedFor)
							}
							resp, reason := target.Do(t, req, client)
							if rr, ok := target.(ReasonReporter); ok && rr.ReportsReasons() && resp.StatusCode >= 400 && reason == "" && !step.Expect.ByHost && !step.Expect.FromUpstream {
								t.Errorf("step %d (%s %s): a %d without a refusal in funcauth's log", j, req.Method, spec.Target, resp.StatusCode)
							}
							Check(t, fmt.Sprintf("step %d (%s %s) #%d", j, req.Method, spec.Target, k+1), &step.Expect, spec.BodyBytes(), resp, reason)
						}
					}
				})
			}
		})
	}
}

// runConcurrent sends a step's request Concurrent times at once and
// checks how many answers have each status. Reasons are not checked: the
// runners that read them from a log cannot tell whose line is whose.
func runConcurrent(t *testing.T, what string, step *Step, target Target) {
	if step.Request.Again {
		t.Fatalf("%s: again cannot be concurrent", what)
	}
	if len(step.ExpectCounts) == 0 {
		t.Fatalf("%s: a concurrent step needs expect_counts", what)
	}
	reqs := make([]*http.Request, step.Concurrent)
	for i := range reqs {
		req, err := BuildRequest(&step.Request, "http://"+or(step.Request.Host, "gateway.test"))
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		reqs[i] = req
	}
	client := or(step.Request.Client, "192.0.2.10")
	statuses := make([]int, len(reqs))
	retryAfter := make([]bool, len(reqs))
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range reqs {
		i := i
		wg.Add(1)
		go func() {
			defer wg.Done() // also when Do gives up on the request
			<-start
			resp, _ := target.Do(t, reqs[i], client)
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			statuses[i] = resp.StatusCode
			retryAfter[i] = resp.Header.Get("Retry-After") != ""
		}()
	}
	close(start)
	wg.Wait()
	counts := map[string]int{}
	for i, status := range statuses {
		code := strconv.Itoa(status)
		counts[code]++
		want, ok := step.ExpectCounts[code]
		switch {
		case status == 0:
			t.Errorf("%s #%d: no answer", what, i+1)
		case !ok:
			t.Errorf("%s #%d: status %d, not one of expect_counts", what, i+1, status)
		case want.RetryAfter && !retryAfter[i]:
			t.Errorf("%s #%d: a %d without Retry-After", what, i+1, status)
		}
	}
	for code, want := range step.ExpectCounts {
		n := counts[code]
		if n < want.Min || (want.Max != nil && n > *want.Max) {
			t.Errorf("%s: %d answers of status %s (all: %v), want at least %d and at most %s", what, n, code, counts, want.Min, maxText(want.Max))
		}
	}
}

func maxText(max *int) string {
	if max == nil {
		return "any"
	}
	return strconv.Itoa(*max)
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// BuildRequest makes the client request a step describes, signing it
// where asked.
func BuildRequest(r *Request, base string) (*http.Request, error) {
	body := r.BodyBytes()
	method := or(r.Method, http.MethodGet)
	var rd io.Reader
	if len(body) > 0 {
		rd = bytes.NewReader(body)
	}
	if r.Chunked {
		rd = io.MultiReader(bytes.NewReader(body)) // hides the length
	}
	if r.AbortAfter > 0 {
		rd = &abortingReader{data: body[:r.AbortAfter]}
	}
	req, err := http.NewRequest(method, base+r.Target, rd)
	if err != nil {
		return nil, err
	}
	if r.Chunked {
		req.ContentLength = -1
	}
	if r.AbortAfter > 0 {
		req.ContentLength = int64(len(body))
	}
	for k, vs := range r.Headers {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	for k, v := range r.HeadersBase64 {
		raw, err := base64.StdEncoding.DecodeString(v)
		if err != nil {
			return nil, fmt.Errorf("headers_base64 %s: %w", k, err)
		}
		req.Header.Add(k, string(raw))
	}
	if r.Basic != nil {
		req.SetBasicAuth(r.Basic.User, r.Basic.Password)
	}
	if r.Upgrade != "" {
		if err := setUpgradeHeaders(req, r.Upgrade); err != nil {
			return nil, err
		}
	}
	if r.Sign != nil {
		signed := body
		if r.Sign.Body != nil {
			signed = []byte(*r.Sign.Body)
		}
		ts, err := parseTime(r.Sign.Timestamp)
		if err != nil {
			return nil, err
		}
		h, err := sign.Headers(r.Sign.Scheme, r.Sign.Key, sign.Options{
			Header: r.Sign.Header, Algorithm: r.Sign.Algorithm, Encoding: r.Sign.Encoding, Prefix: r.Sign.Prefix,
			Components: r.Sign.Components,
		}, sign.Message{Method: method, URL: or(r.Sign.URL, base+r.Target), Body: signed, Timestamp: ts, ID: r.Sign.ID})
		if err != nil {
			return nil, err
		}
		for k, vs := range h {
			req.Header[k] = vs
		}
	}
	return req, nil
}

// parseTime reads "now", "now-400s" or "now+1h".
func parseTime(s string) (time.Time, error) {
	now := time.Now()
	if s == "" || s == "now" {
		return now, nil
	}
	if !strings.HasPrefix(s, "now") {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return time.Time{}, fmt.Errorf("timestamp %q: use now, now-400s or a unix time", s)
		}
		return time.Unix(n, 0), nil
	}
	d, err := time.ParseDuration(strings.TrimPrefix(s[3:], "+"))
	if err != nil {
		return time.Time{}, fmt.Errorf("timestamp %q: %w", s, err)
	}
	return now.Add(d), nil
}

// Check compares a response with what a step expects.
func Check(t testing.TB, what string, want *Expect, sent []byte, resp *http.Response, reason string) {
	t.Helper()
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != want.Status {
		t.Errorf("%s: status %d (reason %q), want %d; body %.200q", what, resp.StatusCode, reason, want.Status, body)
	}
	if want.Reason != "" && reason != "" && reason != want.Reason {
		t.Errorf("%s: reason %q, want %q", what, reason, want.Reason)
	}
	if resp.StatusCode >= 500 && want.Status < 500 && !want.FromUpstream {
		t.Errorf("%s: a 5xx answer (%d) is never right for a request", what, resp.StatusCode)
	}
	if got := resp.Header.Get("WWW-Authenticate"); want.Challenge != "" && got != want.Challenge {
		t.Errorf("%s: WWW-Authenticate %q, want %q", what, got, want.Challenge)
	}
	if want.Status == http.StatusUnauthorized && resp.Header.Get("WWW-Authenticate") == "" {
		t.Errorf("%s: a 401 without WWW-Authenticate", what)
	}
	if want.RetryAfter && resp.Header.Get("Retry-After") == "" {
		t.Errorf("%s: no Retry-After", what)
	}
	if resp.StatusCode >= 400 && !want.FromUpstream && !want.ByHost {
		checkRefusalBody(t, what, want, resp, body)
	}
	reached := resp.Header.Get(UpstreamHeader) == "reached"
	upgraded := want.Status == http.StatusSwitchingProtocols
	if reached != (want.Status == http.StatusOK || upgraded || want.FromUpstream) {
		t.Errorf("%s: upstream reached = %v with status %d", what, reached, resp.StatusCode)
	}
	if !reached {
		if bytes.Contains(body, []byte("content_length")) {
			t.Errorf("%s: the refusal carries the upstream's answer", what)
		}
		return
	}
	if upgraded {
		msg, ok := checkUpgrade(t, what, resp, body)
		if !ok {
			return
		}
		body = msg
	}
	var seen upstreamSeen
	if err := json.Unmarshal(body, &seen); err != nil {
		t.Errorf("%s: upstream answer %q: %v", what, body, err)
		return
	}
	if seen.ReadError != "" {
		t.Errorf("%s: the upstream could not read the body: %s", what, seen.ReadError)
	}
	for k, v := range want.UpstreamHeaders {
		if got := seen.Headers[http.CanonicalHeaderKey(k)]; got != v {
			t.Errorf("%s: upstream header %s = %q, want %q", what, k, got, v)
		}
	}
	if want.UpstreamBodySame {
		if seen.Body != string(sent) {
			t.Errorf("%s: upstream body of %d bytes %.80q, want the %d bytes sent", what, len(seen.Body), seen.Body, len(sent))
		}
		if seen.ContentLength != int64(len(seen.Body)) {
			t.Errorf("%s: upstream Content-Length %d for a %d-byte body", what, seen.ContentLength, len(seen.Body))
		}
	}
}

// checkRefusalBody compares a refusal's body with Expect.Body or, for an
// expected reason, with the JSON body every host sends: exactly the public
// reason, the status and the link to the reason's troubleshooting section.
func checkRefusalBody(t testing.TB, what string, want *Expect, resp *http.Response, body []byte) {
	t.Helper()
	if want.Body != nil {
		if string(body) != *want.Body {
			t.Errorf("%s: body %q, want %q", what, body, *want.Body)
		}
		return
	}
	if want.Reason == "" {
		return
	}
	code := want.Reason
	if code == "key_unavailable" {
		code = "bad_signature" // which functions have keys is not told
	}
	wantBody := `{"error":"` + code + `","status":` + strconv.Itoa(resp.StatusCode) +
		`,"docs":"https://github.com/funcauth/funcauth/blob/main/docs/troubleshooting.md#` + code + `"}` + "\n"
	if string(body) != wantBody || resp.Header.Get("Content-Type") != "application/json" {
		t.Errorf("%s: refusal body %.300q (%s), want %q", what, body, resp.Header.Get("Content-Type"), wantBody)
	}
}

// ServerRequest turns a client request into what a server hands its
// handlers (remote address, request URI, chunked encoding, a body), for
// runners that call a handler directly.
func ServerRequest(req *http.Request, client string) *http.Request {
	req.RemoteAddr = net.JoinHostPort(client, "40000")
	req.RequestURI = req.URL.RequestURI()
	if req.ContentLength < 0 {
		req.TransferEncoding = []string{"chunked"}
	}
	if req.Body == nil {
		req.Body = http.NoBody
	}
	return req
}

// NoSkip wraps t so that skipping fails the test instead: caddytest skips
// when Caddy cannot start, and an end-to-end test must not pass by not
// running.
func NoSkip(t *testing.T) testing.TB { return noSkip{t} }

type noSkip struct{ *testing.T }

func (s noSkip) Skip(args ...interface{}) {
	s.T.Helper()
	s.T.Fatal(append([]interface{}{"wanted to skip:"}, args...)...)
}

func (s noSkip) Skipf(format string, args ...interface{}) {
	s.T.Helper()
	s.T.Fatalf("wanted to skip: "+format, args...)
}

func (s noSkip) SkipNow() {
	s.T.Helper()
	s.T.Fatal("wanted to skip")
}

// abortingReader gives its data, then fails as a connection that broke.
type abortingReader struct {
	data []byte
}

func (a *abortingReader) Read(p []byte) (int, error) {
	if len(a.data) == 0 {
		return 0, io.ErrUnexpectedEOF
	}
	n := copy(p, a.data)
	a.data = a.data[n:]
	return n, nil
}
