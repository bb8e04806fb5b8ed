package caddy

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net/http"
	"testing"

	"github.com/funcauth/funcauth/integration/internal/e2e"
	"github.com/funcauth/funcauth/internal/conformance"
)

// withNewerHTTP changes a configuration of the xcaddy-built Caddy so that its
// plain server also speaks h2c, and adds a second server on the Caddy's
// tlsPort, the same routes over TLS (a certificate of the test's for
// gateway.test) with HTTP/2 negotiated by ALPN (and HTTP/3).
func withNewerHTTP(certPEM, keyPEM []byte) func(cfg map[string]interface{}, b *binaryCaddy) {
	return func(cfg map[string]interface{}, b *binaryCaddy) {
		apps := cfg["apps"].(map[string]interface{})
		servers := apps["http"].(map[string]interface{})["servers"].(map[string]interface{})
		plain := servers["funcauth"].(map[string]interface{})
		plain["protocols"] = []string{"h1", "h2", "h2c"}
		secure := map[string]interface{}{}
		for k, v := range plain {
			secure[k] = v
		}
		secure["listen"] = []string{fmt.Sprintf("127.0.0.1:%d", b.tlsPort)}
		secure["protocols"] = []string{"h1", "h2", "h3"}
		secure["tls_connection_policies"] = []interface{}{map[string]interface{}{}}
		servers["funcauth-tls"] = secure
		apps["tls"] = map[string]interface{}{"certificates": map[string]interface{}{
			"load_pem": []interface{}{map[string]interface{}{"certificate": string(certPEM), "key": string(keyPEM)}},
		}}
	}
}

// h2Caddy sends the conformance requests to the xcaddy-built Caddy over
// HTTP/2 or HTTP/3.
type h2Caddy struct {
	b      *binaryCaddy
	client *http.Client
	scheme string
	major  int // the HTTP version answers must come in
}

func (h *h2Caddy) ReportsReasons() bool { return true }

func (h *h2Caddy) Do(t testing.TB, req *http.Request, client string) (*http.Response, string) {
	t.Helper()
	resp := e2e.DoOver(t, h.client, h.major, h.scheme, req, client)
	if resp.StatusCode < 400 {
		return resp, ""
	}
	body, _ := io.ReadAll(resp.Body) // DoOver read it whole already
	resp.Body = io.NopCloser(bytes.NewReader(body))
	reason, err := h.b.log.RefusalReason(body)
	if err != nil {
		t.Error(err)
	}
	return resp, reason
}

// h2Modes are the two ways to speak HTTP/2 to a proxy: over TLS with ALPN
// h2, and cleartext with prior knowledge (h2c).
var h2Modes = []string{"h2", "h2c"}

// TestH2ConformanceInXcaddyBinary runs the conformance suite's Basic Auth
// and signature cases (openfaas, schemes) through the xcaddy-built Caddy
// over HTTP/2: TLS with ALPN h2, and h2c.
func TestH2ConformanceInXcaddyBinary(t *testing.T) {
	certPEM, keyPEM, pool := e2e.SelfSigned(t, "gateway.test")
	for _, mode := range h2Modes {
		mode := mode
		t.Run(mode, func(t *testing.T) {
			conformance.Run(t, e2e.H2Suites(t, mode), "caddy-binary", func(t *testing.T, in *conformance.Instance) conformance.Target {
				b := startBinaryWith(t, string(in.Config), conformance.Upstream, withNewerHTTP(certPEM, keyPEM))
				return h2Target(t, b, mode, pool)
			})
		})
	}
}

func h2Target(t *testing.T, b *binaryCaddy, mode string, pool *x509.CertPool) *h2Caddy {
	h := &h2Caddy{b: b, major: 2, scheme: "https", client: e2e.H2Client(fmt.Sprintf("127.0.0.1:%d", b.tlsPort), pool, "gateway.test")}
	if mode == "h2c" {
		h.scheme, h.client = "http", e2e.H2Client(fmt.Sprintf("127.0.0.1:%d", b.httpPort), nil, "")
	}
	t.Cleanup(h.client.CloseIdleConnections)
	return h
}

// TestH2RawBadInputInXcaddyBinary sends bodies past the limit in DATA
// frames, lying Content-Lengths and a stream reset mid-body to the
// xcaddy-built Caddy over HTTP/2 (TLS and h2c), frame by frame.
func TestH2RawBadInputInXcaddyBinary(t *testing.T) {
	certPEM, keyPEM, pool := e2e.SelfSigned(t, "gateway.test")
	tempDir := t.TempDir()
	upstream := &e2e.Counter{}
	c := startBinaryWith(t, e2e.BadInputConfig(tempDir), upstream, withNewerHTTP(certPEM, keyPEM))
	t.Run("h2", func(t *testing.T) {
		e2e.RawH2BadInput(t, fmt.Sprintf("127.0.0.1:%d", c.tlsPort), &tls.Config{RootCAs: pool, ServerName: "gateway.test"}, upstream, tempDir)
	})
	t.Run("h2c", func(t *testing.T) {
		e2e.RawH2BadInput(t, fmt.Sprintf("127.0.0.1:%d", c.httpPort), nil, upstream, tempDir)
	})
}

// Scheme is the scheme requests are signed with (conformance.SchemeTarget).
func (h *h2Caddy) Scheme() string { return h.scheme }
