package funcauth

import (
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/funcauth/funcauth/internal/sign"
)

// quota is a replay quota with the whole cache for one key.
func quota(verifier string, max int) *replayQuota {
	return &replayQuota{verifier: verifier, verifierMax: max, keyMax: max}
}

func TestReplayCacheRefusesWhenFullAndExpires(t *testing.T) {
	c := newReplayCache(3)
	now := testNow
	for i, id := range []string{"a", "b", "c"} {
		if r, _, _, _ := checkReplay(c, quota("v", 3), "k", id, time.Minute, now.Add(time.Duration(i)*time.Second)); r != "" {
			t.Fatalf("%s: %s", id, r)
		}
	}
	if r, _, _, _ := checkReplay(c, quota("v", 3), "k", "a", time.Minute, now.Add(10*time.Second)); r != ReasonReplayed {
		t.Fatalf("replay of a: %s", r)
	}
	if r, _, _, _ := checkReplay(c, quota("w", 3), "k", "a", time.Minute, now.Add(10*time.Second)); r != ReasonReplayCacheFull {
		t.Fatalf("the same id for another verifier, cache full: %s", r)
	}
	r, retry, _, _ := checkReplay(c, quota("v", 3), "k", "d", time.Minute, now.Add(30*time.Second))
	if r != ReasonReplayCacheFull || retry != 30*time.Second {
		t.Fatalf("full: %s, retry %v (the oldest expires at 60 s)", r, retry)
	}
	if r, _, _, _ := checkReplay(c, quota("v", 3), "k", "d", time.Minute, now.Add(time.Minute)); r != "" {
		t.Fatalf("after the oldest expired: %s", r)
	}
	if r, _, _, _ := checkReplay(c, quota("v", 3), "k", "a", time.Minute, now.Add(time.Minute+time.Second)); r != "" {
		t.Fatalf("a, once its window passed, is new again: %s", r)
	}
	// Windows of different lengths expire independently.
	c = newReplayCache(2)
	checkReplay(c, quota("long", 2), "k", "x", time.Hour, now)
	checkReplay(c, quota("short", 2), "k", "y", time.Second, now)
	if r, _, _, _ := checkReplay(c, quota("short", 2), "k", "z", time.Second, now.Add(2*time.Second)); r != "" {
		t.Fatalf("the short window's entry should have made room: %s", r)
	}
	if c.len() != 2 {
		t.Fatalf("%d entries", c.len())
	}
}

// TestReplayCacheKeepsExpiringAfterAQueueEmpties: a partition whose queue
// emptied and was dropped (by making room in a full cache) gets a new one,
// whose entries expire in turn: none is left counted for ever.
func TestReplayCacheKeepsExpiringAfterAQueueEmpties(t *testing.T) {
	c := newReplayCache(2)
	now := testNow
	for round := 0; round < 4; round++ {
		at := now.Add(time.Duration(round) * time.Hour)
		for i, id := range []string{"a", "b"} {
			if r, _, _, _ := checkReplay(c, quota("v", 2), "k", id+strconv.Itoa(round), time.Minute, at.Add(time.Duration(i)*time.Second)); r != "" {
				t.Fatalf("round %d, %s: %s", round, id, r)
			}
		}
		// The cache is full: a third message makes room only once the
		// first two expired, which empties and drops their queue.
		if r, _, _, _ := checkReplay(c, quota("v", 2), "k", "c"+strconv.Itoa(round), time.Minute, at.Add(30*time.Second)); r != ReasonReplayCacheFull {
			t.Fatalf("round %d: a third message while full: %s", round, r)
		}
	}
	if n := c.len(); n > 2 {
		t.Fatalf("%d entries held", n)
	}
	if n := *c.partitions[0].counted; n != c.len() {
		t.Fatalf("the verifier counts %d entries, the cache holds %d", n, c.len())
	}
}

// Filling one key's share refuses that key only; a verifier's keys
// together never exceed the verifier's share; forgetting gives room back.
func TestReplayCachePartitions(t *testing.T) {
	c := newReplayCache(100)
	a1 := &replayQuota{verifier: "a", verifierMax: 50, keyMax: 25}
	a2 := &replayQuota{verifier: "a", verifierMax: 50, keyMax: 25}
	a3 := &replayQuota{verifier: "a", verifierMax: 50, keyMax: 25}
	b := &replayQuota{verifier: "b", verifierMax: 50, keyMax: 50}
	fill := func(q *replayQuota, key string, n int) (int, replayKey) {
		var last replayKey
		var part int
		for i := 0; i < n; i++ {
			r, _, p, d := checkReplay(c, q, key, key+"-"+strconv.Itoa(i), time.Minute, testNow)
			if r != "" {
				t.Fatalf("%s/%s #%d: %s", q.verifier, key, i, r)
			}
			part, last = p, d
		}
		return part, last
	}
	part, last := fill(a1, "1", 25)
	if r, retry, _, _ := checkReplay(c, a1, "1", "one more", time.Minute, testNow); r != ReasonReplayCacheFull || retry != time.Minute {
		t.Fatalf("key 1 past its share: %s, retry %v", r, retry)
	}
	fill(a2, "2", 25)
	if r, _, _, _ := checkReplay(c, a3, "3", "x", time.Minute, testNow); r != ReasonReplayCacheFull {
		t.Fatalf("verifier a past its share through a third key: %s", r)
	}
	fill(b, "1", 50)
	if c.len() != 100 {
		t.Fatalf("%d entries", c.len())
	}
	c.forget(part, last)
	if r, _, _, _ := checkReplay(c, a1, "1", "after forget", time.Minute, testNow); r != "" {
		t.Fatalf("a forgotten message gives its room back: %s", r)
	}
	if r, _, _, _ := checkReplay(c, b, "1", "1-0", time.Minute, testNow); r != ReasonReplayed {
		t.Fatalf("a full share still recognises replays: %s", r)
	}
}

// One holder of one key fills that key's share of the replay memory; a
// genuine message under another verifier or another key still gets in.
func TestReplayShareStarvation(t *testing.T) {
	g := newTestGuard(t, &Config{
		Rules: []Rule{{Path: "*", Require: "signature"}},
		Signatures: []Signature{
			{Scheme: "faas-cli", Keys: []string{"leaked", "other"}},
			{Scheme: "stripe", Keys: []string{"whsec_stripe"}},
		},
		Replay: &Replay{MaxEntries: 40},
		Bans:   &Bans{Disabled: true},
	}, nil)
	// 40 entries: 20 per verifier, 10 per faas-cli key.
	accepted := 0
	for i := 0; i < 100; i++ {
		d := g.Check(signedRequest("/function/env", "flood "+strconv.Itoa(i), "leaked"), "192.0.2.66")
		if d.Allowed {
			accepted++
			continue
		}
		if d.Reason != ReasonReplayCacheFull || d.RetryAfter <= 0 {
			t.Fatalf("flood #%d: %s", i, d.Reason)
		}
	}
	if accepted != 10 {
		t.Fatalf("the leaked key got %d messages in, want its share of 10", accepted)
	}
	if d := g.Check(signedRequest("/function/env", "genuine", "other"), "192.0.2.1"); !d.Allowed {
		t.Fatalf("another key of the same verifier: %s (%s)", d.Reason, d.Detail)
	}
	body := []byte(`{"id":"evt_1"}`)
	h, _ := sign.Headers("stripe", "whsec_stripe", sign.Options{}, sign.Message{Body: body, Timestamp: testNow})
	if d := g.Check(request("POST", "/function/payments", string(body), h), "192.0.2.2"); !d.Allowed {
		t.Fatalf("a genuine Stripe delivery to another function: %s (%s)", d.Reason, d.Detail)
	}
}

// A message carrying two genuine signatures is one message: dropping one
// of them does not make it new.
func TestReplayIdentityIsWhatWasSigned(t *testing.T) {
	body := `{"action":"opened"}`
	gh := func(alg, key string) string {
		h, _ := sign.Headers("github", key, sign.Options{Algorithm: alg}, sign.Message{Body: []byte(body)})
		if alg == "sha1" {
			return h.Get("X-Hub-Signature")
		}
		return h.Get("X-Hub-Signature-256")
	}
	t.Run("GitHub sha256 and sha1", func(t *testing.T) {
		both := http.Header{"X-Hub-Signature-256": {gh("sha256", "k")}, "X-Hub-Signature": {gh("sha1", "k")}}
		runSchemeCases(t, Signature{Scheme: "github", Keys: []string{"k"}, Algorithms: []string{"sha256", "sha1"}}, []schemeCase{
			{name: "both", body: body, header: both, at: testNow, want: ReasonSigned},
			{name: "sha1 alone", body: body, header: http.Header{"X-Hub-Signature": {gh("sha1", "k")}}, at: testNow, want: ReasonReplayed},
			{name: "sha256 alone", body: body, header: http.Header{"X-Hub-Signature-256": {gh("sha256", "k")}}, at: testNow, want: ReasonReplayed},
		})
	})
	t.Run("GitHub under two keys", func(t *testing.T) {
		runSchemeCases(t, Signature{Scheme: "github", Keys: []string{"old", "new"}}, []schemeCase{
			{name: "old key", body: body, header: http.Header{"X-Hub-Signature-256": {gh("sha256", "old")}}, at: testNow, want: ReasonSigned},
			{name: "new key", body: body, header: http.Header{"X-Hub-Signature-256": {gh("sha256", "new")}}, at: testNow, want: ReasonReplayed},
		})
	})
	t.Run("Stripe during a rotation", func(t *testing.T) {
		stripe := func(key string) (string, string) {
			h, _ := sign.Headers("stripe", key, sign.Options{}, sign.Message{Body: []byte(body), Timestamp: testNow})
			ts, v1, _ := strings.Cut(h.Get("Stripe-Signature"), ",")
			return ts, v1
		}
		ts, oldSig := stripe("whsec_old")
		_, newSig := stripe("whsec_new")
		sig := Signature{Scheme: "stripe", Keys: []string{"whsec_old", "whsec_new"}}
		runSchemeCases(t, sig, []schemeCase{
			{name: "two v1 values", body: body, header: http.Header{"Stripe-Signature": {ts + "," + oldSig + "," + newSig}}, at: testNow, want: ReasonSigned},
			{name: "the new one alone", body: body, header: http.Header{"Stripe-Signature": {ts + "," + newSig}}, at: testNow, want: ReasonReplayed},
			{name: "the old one alone", body: body, header: http.Header{"Stripe-Signature": {ts + "," + oldSig}}, at: testNow, want: ReasonReplayed},
		})
		// The other order: the new secret's signature first.
		runSchemeCases(t, sig, []schemeCase{
			{name: "the new one alone", body: body, header: http.Header{"Stripe-Signature": {ts + "," + newSig}}, at: testNow, want: ReasonSigned},
			{name: "two v1 values", body: body, header: http.Header{"Stripe-Signature": {ts + "," + oldSig + "," + newSig}}, at: testNow, want: ReasonReplayed},
		})
	})
	t.Run("RFC 9421 appendix B.2.5 and B.2.6: two labels, two keys", func(t *testing.T) {
		const (
			secret  = "uzvJfB4u3N0Jy4T7NZ75MDVcr8zSTInedJtkgcu46YW4XByzNJjxBdtjUkdJPBtbmHhIDi6pcl8jsasjlTMtDQ=="
			edPub   = "JrQLj5P_89iXES9-vFgrIy29clF9CC_oPPsw3c5D0bs"
			body    = `{"hello": "world"}`
			target  = "/foo?param=Value&Pet=dog"
			input25 = `sig-b25=("date" "@authority" "content-type");created=1618884473;keyid="test-shared-secret"`
			sig25   = `sig-b25=:pxcQw6G3AjtMBQjwo8XzkZf/bws5LelbaMk5rGIGtE8=:`
			input26 = `sig-b26=("date" "@method" "@path" "@authority" "content-type" "content-length");created=1618884473;keyid="test-key-ed25519"`
			sig26   = `sig-b26=:wqcAqbmYJ2ji2glfAMaRy4gruYYnx2nEFN2HN6jrnDnQCK1u02Gb04v9EDgwUPiu4A0w6vuQv5lIp5WPpBKRCw==:`
		)
		at := time.Unix(1618884473, 0)
		hdr := func(input, sig string) http.Header {
			return http.Header{
				"Date":            {"Tue, 20 Apr 2021 02:07:55 GMT"},
				"Content-Type":    {"application/json"},
				"Content-Length":  {"18"},
				"Signature-Input": {input},
				"Signature":       {sig},
			}
		}
		sig := Signature{Scheme: "http-message-signatures", Components: []string{"@authority"},
			Keys: []string{"hmac-sha256:test-shared-secret:" + secret, "ed25519:test-key-ed25519:" + edPub}}
		runSchemeCases(t, sig, []schemeCase{
			{name: "both labels", target: target, host: "example.com", body: body, header: hdr(input25+", "+input26, sig25+", "+sig26), at: at, want: ReasonSigned},
			{name: "the ed25519 label alone", target: target, host: "example.com", body: body, header: hdr(input26, sig26), at: at, want: ReasonReplayed},
			{name: "the hmac label alone", target: target, host: "example.com", body: body, header: hdr(input25, sig25), at: at, want: ReasonReplayed},
		})
	})
	t.Run("Standard Webhooks with two secrets", func(t *testing.T) {
		const k1, k2 = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "whsec_c2Vjb25kIHNlY3JldCBmb3IgdGVzdHM="
		msg := sign.Message{Body: []byte(body), Timestamp: testNow, ID: "msg_1"}
		h1, _ := sign.Headers("standard-webhooks", k1, sign.Options{}, msg)
		h2, _ := sign.Headers("standard-webhooks", k2, sign.Options{}, msg)
		both := h1.Clone()
		both.Set("Webhook-Signature", h1.Get("Webhook-Signature")+" "+h2.Get("Webhook-Signature"))
		runSchemeCases(t, Signature{Scheme: "standard-webhooks", Keys: []string{k1, k2}}, []schemeCase{
			{name: "both", body: body, header: both, at: testNow, want: ReasonSigned},
			{name: "the second alone", body: body, header: h2, at: testNow, want: ReasonReplayed},
			{name: "the first alone", body: body, header: h1, at: testNow, want: ReasonReplayed},
		})
	})
	t.Run("faas-cli sha256 then sha1", func(t *testing.T) {
		sha1Sig, _ := sign.Headers("faas-cli", "k", sign.Options{Algorithm: "sha1"}, sign.Message{Body: []byte(body)})
		runSchemeCases(t, Signature{Scheme: "faas-cli", Keys: []string{"k"}}, []schemeCase{
			{name: "sha256", body: body, header: http.Header{"Hmac": {"sha256=" + hexMAC("k", body)}}, at: testNow, want: ReasonSigned},
			{name: "sha1", body: body, header: sha1Sig, at: testNow, want: ReasonReplayed},
			{name: "another body", body: body + " ", header: http.Header{"Hmac": {"sha256=" + hexMAC("k", body+" ")}}, at: testNow, want: ReasonSigned},
		})
	})
}

// The same body signed for two functions under their own per-function
// keys is two messages.
func TestPerFunctionKeysRememberPerFunction(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(dir+"/a-hmac", []byte("key a"), 0o600)
	os.WriteFile(dir+"/b-hmac", []byte("key b"), 0o600)
	g := newTestGuard(t, &Config{
		Rules:      []Rule{{Path: "/function/*", Require: "signature"}},
		Signatures: []Signature{{Scheme: "faas-cli", FunctionKeyFile: dir + "/{function}-hmac"}},
	}, nil)
	for _, tc := range []struct {
		fn, key string
		want    Reason
	}{{"a", "key a", ReasonSigned}, {"b", "key b", ReasonSigned}, {"a", "key a", ReasonReplayed}} {
		if d := g.Check(signedRequest("/function/"+tc.fn, "same body", tc.key), "192.0.2.1"); d.Reason != tc.want {
			t.Errorf("%s: %s, want %s", tc.fn, d.Reason, tc.want)
		}
	}
}

// Finish forgets a message only when the upstream explicitly failed or
// could not be reached; every other ending may have reached the function,
// so the message stays remembered.
func TestFinishForgetsOnlyExplicitFailures(t *testing.T) {
	for _, tc := range []struct {
		name   string
		up     http.HandlerFunc
		forget bool
	}{
		{"explicit 200", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusOK) }, false},
		{"implicit 200 (returns without writing)", func(w http.ResponseWriter, r *http.Request) {}, false},
		{"a body without a status", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }, false},
		{"flushes first", func(w http.ResponseWriter, r *http.Request) {
			http.NewResponseController(w).Flush()
			w.WriteHeader(http.StatusInternalServerError) // too late: 200 went out
		}, false},
		{"an informational answer, then nothing", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusEarlyHints) }, false},
		{"hijacks (a WebSocket upgrade)", func(w http.ResponseWriter, r *http.Request) {
			conn, brw, err := http.NewResponseController(w).Hijack()
			if err != nil {
				t.Errorf("hijack through the recorder: %v", err)
				return
			}
			brw.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
			brw.Flush()
			conn.Close()
		}, false},
		{"writes 101", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusSwitchingProtocols) }, false},
		{"the client went away (499)", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(499) }, false},
		{"panics", func(w http.ResponseWriter, r *http.Request) { panic(http.ErrAbortHandler) }, false},
		{"explicit 500", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusInternalServerError) }, true},
		{"proxy's 502: upstream unreachable", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusBadGateway) }, true},
		{"proxy's 504", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusGatewayTimeout) }, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := newTestGuard(t, &Config{
				Rules:      []Rule{{Path: "*", Require: "signature"}},
				Signatures: []Signature{{Scheme: "faas-cli", Keys: []string{"k"}}},
			}, nil)
			srv := httptest.NewUnstartedServer(g.Handler(tc.up, nil))
			srv.Config.ErrorLog = log.New(io.Discard, "", 0) // "superfluous WriteHeader" is the point
			srv.Start()
			defer srv.Close()
			req := signedRequest("/function/env", "the message", "k")
			req.RequestURI = ""
			req.URL.Scheme, req.URL.Host = "http", strings.TrimPrefix(srv.URL, "http://")
			req.Header.Set("Connection", "Upgrade")
			req.Header.Set("Upgrade", "websocket")
			if resp, err := http.DefaultTransport.RoundTrip(req); err == nil {
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
			srv.Close() // the handler has finished
			d := g.Check(signedRequest("/function/env", "the message", "k"), "192.0.2.1")
			if forgotten := d.Allowed; forgotten != tc.forget {
				t.Fatalf("the same message again: %s; forgotten = %v, want %v", d.Reason, forgotten, tc.forget)
			}
		})
	}
}

// Caddy reports an upstream it could not reach as an error with no
// status written: the host passes the error's status to Finish.
func TestFinishWithoutAStatus(t *testing.T) {
	for _, tc := range []struct {
		status int
		forget bool
	}{{0, false}, {http.StatusOK, false}, {http.StatusBadGateway, true}, {http.StatusServiceUnavailable, true}} {
		g := newTestGuard(t, &Config{
			Rules:      []Rule{{Path: "*", Require: "signature"}},
			Signatures: []Signature{{Scheme: "faas-cli", Keys: []string{"k"}}},
		}, nil)
		d := g.Check(signedRequest("/function/env", "m", "k"), "192.0.2.1")
		if !d.RemembersMessage() {
			t.Fatal("a signed message is not remembered")
		}
		d.Finish(tc.status)
		if again := g.Check(signedRequest("/function/env", "m", "k"), "192.0.2.1"); again.Allowed != tc.forget {
			t.Errorf("Finish(%d), then the same message: %s", tc.status, again.Reason)
		}
	}
}

// The recorder keeps what the host's writer can do, and says so when it
// cannot.
func TestStatusRecorderPassesInterfacesOn(t *testing.T) {
	rec := NewStatusRecorder(httptest.NewRecorder())
	if _, _, err := rec.Hijack(); !errors.Is(err, http.ErrNotSupported) {
		t.Errorf("hijacking a writer that cannot: %v", err)
	}
	if rec.Status() != 0 {
		t.Errorf("a failed hijack recorded %d", rec.Status())
	}
	if err := rec.Push("/x", nil); !errors.Is(err, http.ErrNotSupported) {
		t.Errorf("push: %v", err)
	}
	var w http.ResponseWriter = rec
	if _, ok := w.(http.Hijacker); !ok {
		t.Error("not a Hijacker")
	}
	if _, ok := w.(http.Flusher); !ok {
		t.Error("not a Flusher")
	}
	if _, ok := w.(io.ReaderFrom); !ok {
		t.Error("not a ReaderFrom")
	}
	if n, err := rec.ReadFrom(strings.NewReader("body")); n != 4 || err != nil || rec.Status() != http.StatusOK {
		t.Errorf("ReadFrom: %d %v, status %d", n, err, rec.Status())
	}
}

// Junk candidates beside a captured Stripe signature must not make the
// replay look new.
func TestStripeReplayWithJunkCandidates(t *testing.T) {
	body := []byte(`{"id":"evt_1"}`)
	h, _ := sign.Headers("stripe", "whsec_x", sign.Options{}, sign.Message{Body: body, Timestamp: testNow})
	captured := h.Get("Stripe-Signature")
	ts, good, _ := strings.Cut(captured, ",")
	runSchemeCases(t, Signature{Scheme: "stripe", Keys: []string{"whsec_x"}}, []schemeCase{
		{name: "original", body: string(body), header: http.Header{"Stripe-Signature": {captured}}, at: testNow, want: ReasonSigned},
		{name: "junk first", body: string(body), header: http.Header{"Stripe-Signature": {ts + ",v1=" + strings.Repeat("ab", 32) + "," + good}}, at: testNow, want: ReasonReplayed},
		{name: "other junk first", body: string(body), header: http.Header{"Stripe-Signature": {ts + ",v1=" + strings.Repeat("cd", 32) + "," + good}}, at: testNow, want: ReasonReplayed},
	})
}

// A message stamped ahead of the clock stays valid until its stamp plus
// the tolerance: it must be remembered that long.
func TestFutureStampedMessageCannotBeReplayedLater(t *testing.T) {
	at := testNow
	ts := at.Add(4 * time.Minute)
	h, _ := sign.Headers("slack", "k", sign.Options{}, sign.Message{Body: []byte("x"), Timestamp: ts})
	runSchemeCases(t, Signature{Scheme: "slack", Keys: []string{"k"}}, []schemeCase{
		{name: "stamped 4 minutes ahead", body: "x", header: h, at: at, want: ReasonSigned},
		{name: "replayed 5m01s later", body: "x", header: h, at: at.Add(5*time.Minute + time.Second), want: ReasonReplayed},
		{name: "replayed 8m59s later", body: "x", header: h, at: at.Add(8*time.Minute + 59*time.Second), want: ReasonReplayed},
	})
}

// Replays are refused but do not count towards a ban (a provider's honest
// retries look like them), and a message the upstream failed on is
// forgotten, so the retry gets through.
func TestRetriesAfterUpstreamFailure(t *testing.T) {
	g := newTestGuard(t, &Config{
		Rules:      []Rule{{Path: "*", Require: "signature"}},
		Signatures: []Signature{{Scheme: "faas-cli", Keys: []string{"k"}}},
		Bans:       &Bans{MaxFailures: 2},
	}, nil)
	status := http.StatusBadGateway
	up := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(status) })
	send := func() int {
		rec := httptest.NewRecorder()
		g.Handler(up, nil).ServeHTTP(rec, signedRequest("/function/env", "the same body", "k"))
		return rec.Code
	}
	if code := send(); code != http.StatusBadGateway {
		t.Fatalf("first delivery: %d", code)
	}
	status = http.StatusOK
	if code := send(); code != http.StatusOK {
		t.Fatalf("the retry after the upstream failed: %d", code)
	}
	for i := 0; i < 5; i++ {
		if code := send(); code != http.StatusUnauthorized {
			t.Fatalf("replay %d after success: %d", i, code)
		}
	}
	if d := g.Check(signedRequest("/function/env", "another body", "k"), "192.0.2.1"); !d.Allowed {
		t.Fatalf("five replays got the sender banned: %s", d.Reason)
	}
}

func TestReplayQueueDoesNotGrowWithReusedIDs(t *testing.T) {
	c := newReplayCache(100)
	now := testNow
	for i := 0; i < 200000; i++ {
		checkReplay(c, quota("v", 100), "k", "same", time.Second, now)
		now = now.Add(2 * time.Second)
	}
	n := 0
	for _, q := range c.queues {
		n += len(q.entries) - q.head
	}
	if n > 2 || c.len() > 1 {
		t.Fatalf("%d queued, %d seen after re-adding one expired id 200,000 times", n, c.len())
	}
}

// Two Guards sharing one State (in Caddy, two sites that protect the same
// things) each keep the replay room their own configuration gives them:
// the one provisioned last, with a smaller max_entries, does not shrink
// the other's (a benchmark's site sized for 2,000,000 messages got
// replay_cache_full at 100,000 when a default-sized site shared its State).
func TestSharedStateKeepsEachGuardsReplayRoom(t *testing.T) {
	c := &clock{t: testNow}
	cfg := func(max int) *Config {
		return &Config{
			Rules:      []Rule{{Path: "/function/*", Require: "signature"}},
			Signatures: []Signature{{Scheme: "faas-cli", Keys: []string{"k"}}},
			Replay:     &Replay{MaxEntries: max},
		}
	}
	state := NewState(cfg(20))
	large, err := New(cfg(20), Options{State: state, Now: c.now})
	if err != nil {
		t.Fatal(err)
	}
	small, err := New(cfg(5), Options{State: state, Now: c.now})
	if err != nil {
		t.Fatal(err)
	}
	accepted := func(g *Guard, n int, prefix string) int {
		ok := 0
		for i := 0; i < n; i++ {
			body := prefix + strconv.Itoa(i)
			d := g.Check(signedRequest("/function/env", body, "k"), "192.0.2.9")
			if d.Allowed {
				ok++
			} else if d.Reason != ReasonReplayCacheFull {
				t.Fatalf("%s: %s %s", body, d.Reason, d.Detail)
			}
			d.Close()
		}
		return ok
	}
	if got := accepted(large, 20, "large "); got != 20 {
		t.Errorf("the Guard sized for 20 accepted %d of 20 new messages", got)
	}
	if got := accepted(small, 10, "small "); got != 0 {
		t.Errorf("the Guard sized for 5, with 20 remembered: accepted %d new messages, want 0", got)
	}
}
