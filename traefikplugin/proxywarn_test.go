package traefikplugin

import (
	"bytes"
	"log"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/funcauth/funcauth"
)

// TestWarnsWhenATrustedProxySendsNoForwardedFor: Traefik strips
// X-Forwarded-For from peers its entry point does not trust, so a trusted
// proxy without one means a configuration where every client shares the
// proxy's address. The error log says so, once per peer every 10 minutes.
func TestWarnsWhenATrustedProxySendsNoForwardedFor(t *testing.T) {
	now := fakeClock(t)
	freshRegistry(t)
	proxyWarnings = &warnings{last: make(map[string]time.Time)}
	var buf bytes.Buffer
	saved := log.Writer()
	log.SetOutput(&buf)
	defer log.SetOutput(saved)
	h := build(t, "lb@file", &Config{
		Rules:         []funcauth.Rule{{Path: "*", Require: "open"}},
		ClientAddress: &funcauth.ClientAddress{TrustedProxies: []string{"10.0.0.0/8"}},
	})
	send := func(peer, xff string) {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = peer + ":5000"
		if xff != "" {
			r.Header.Set("X-Forwarded-For", xff)
		}
		h.ServeHTTP(httptest.NewRecorder(), r)
	}
	warnings := func() int { n := strings.Count(buf.String(), "sent no X-Forwarded-For"); buf.Reset(); return n }

	send("10.0.0.2", "")
	if n := warnings(); n != 1 {
		t.Fatalf("%d warnings for a trusted proxy without X-Forwarded-For, want 1:\n%s", n, buf.String())
	}
	send("10.0.0.2", "")
	send("10.0.0.2", "203.0.113.7")
	send("198.51.100.1", "")
	if n := warnings(); n != 0 {
		t.Errorf("%d more warnings within 10 minutes, with the header, or from an untrusted peer", n)
	}
	send("10.0.0.3", "")
	if n := warnings(); n != 1 {
		t.Errorf("another proxy: %d warnings, want 1", n)
	}
	*now = now.Add(11 * time.Minute)
	send("10.0.0.2", "")
	if n := warnings(); n != 1 {
		t.Errorf("after 11 minutes: %d warnings, want 1", n)
	}
	// Bounded: a flood of peers is remembered up to maxWarnedPeers.
	for i := 0; i < 3*maxWarnedPeers; i++ {
		send("10.1."+strconv.Itoa(i/250)+"."+strconv.Itoa(i%250), "")
	}
	if n := len(proxyWarnings.last); n > maxWarnedPeers {
		t.Errorf("%d peers remembered, bound %d", n, maxWarnedPeers)
	}
	// 10.0.0.2 was warned about within 10 minutes and holds its place;
	// 10.0.0.3's has expired and makes room.
	if n := warnings(); n != maxWarnedPeers-1 {
		t.Errorf("%d warnings for a flood of peers, want %d", n, maxWarnedPeers-1)
	}
}
