package traefikplugin

import (
	"log"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// Traefik removes X-Forwarded-For from peers its entry point does not
// trust (forwardedHeaders.trustedIPs) before any middleware runs. A peer
// in the plugin's clientAddress.trustedProxies that sends none is then
// most likely a load balancer Traefik does not trust: every client behind
// it gets its address, and one attacker's failures ban them all. The
// plugin says so in Traefik's error log, once per peer every warnEvery.
const (
	warnEvery      = 10 * time.Minute
	maxWarnedPeers = 256
)

var proxyWarnings = &warnings{last: make(map[string]time.Time)}

// warnings remembers when it last warned about a peer, for at most
// maxWarnedPeers peers.
type warnings struct {
	mu   sync.Mutex
	last map[string]time.Time
}

// due reports whether peer is to be warned about now, and notes it.
func (w *warnings) due(peer string, now time.Time) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if t, ok := w.last[peer]; ok && now.Sub(t) < warnEvery && !now.Before(t) {
		return false
	}
	if len(w.last) >= maxWarnedPeers {
		for p, t := range w.last {
			if now.Sub(t) >= warnEvery || now.Before(t) {
				delete(w.last, p)
			}
		}
		if len(w.last) >= maxWarnedPeers {
			return false // as many warnings in the last minutes: enough said
		}
	}
	w.last[peer] = now
	return true
}

// warnMissingForwardedFor warns when a trusted proxy sends no
// X-Forwarded-For.
func (m *middleware) warnMissingForwardedFor(r *http.Request, now time.Time) {
	if len(r.Header["X-Forwarded-For"]) > 0 || !m.guard.PeerIsTrustedProxy(r) {
		return
	}
	peer, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		peer = r.RemoteAddr
	}
	if !proxyWarnings.due(peer, now) {
		return
	}
	log.Print("funcauth: middleware " + strconv.Quote(m.name) + ": the trusted proxy " + strconv.Quote(peer) +
		" sent no X-Forwarded-For, so every client behind it shares its address and its bans." +
		" Traefik drops the header from peers its entry point does not trust:" +
		" add the proxy to the entry point's forwardedHeaders.trustedIPs as well as to clientAddress.trustedProxies\n")
}
