package caddy

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/http3"

	"github.com/funcauth/funcauth/integration/internal/e2e"
	"github.com/funcauth/funcauth/internal/conformance"
)

// http3Client speaks HTTP/3 only (quic-go's client) to 127.0.0.1:port
// over UDP, whatever a URL names, trusting pool for gateway.test.
func http3Client(t *testing.T, port int, pool *x509.CertPool) *http.Client {
	tr := &http3.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool, ServerName: "gateway.test"},
		Dial: func(ctx context.Context, _ string, tlsCfg *tls.Config, cfg *quic.Config) (*quic.Conn, error) {
			return quic.DialAddrEarly(ctx, fmt.Sprintf("127.0.0.1:%d", port), tlsCfg, cfg)
		},
	}
	t.Cleanup(func() { tr.Close() })
	return &http.Client{
		Timeout:       60 * time.Second,
		Transport:     tr,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// TestHTTP3ConformanceInXcaddyBinary runs the conformance suite's Basic
// Auth and signature cases (openfaas, schemes) through the xcaddy-built
// Caddy over HTTP/3 (QUIC), with quic-go's client.
func TestHTTP3ConformanceInXcaddyBinary(t *testing.T) {
	certPEM, keyPEM, pool := e2e.SelfSigned(t, "gateway.test")
	conformance.Run(t, e2e.H2Suites(t, "h3"), "caddy-binary", func(t *testing.T, in *conformance.Instance) conformance.Target {
		b := startBinaryWith(t, string(in.Config), conformance.Upstream, withNewerHTTP(certPEM, keyPEM))
		return &h2Caddy{b: b, major: 3, scheme: "https", client: http3Client(t, b.tlsPort, pool)}
	})
}
