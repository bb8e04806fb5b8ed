package traefik

import (
	"crypto/tls"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/funcauth/funcauth/integration/internal/e2e"
	"github.com/funcauth/funcauth/internal/conformance"
)

// h2Traefik sends the conformance requests to the real Traefik over
// HTTP/2: over TLS to websecure (ALPN h2), or h2c to web, which Traefik
// offers on every cleartext entry point.
type h2Traefik struct {
	tb     *traefikBinary
	client *http.Client
	scheme string
	major  int // the HTTP version answers must come in
}

func (h *h2Traefik) ReportsReasons() bool { return true }

func (h *h2Traefik) Do(t testing.TB, req *http.Request, client string) (*http.Response, string) {
	t.Helper()
	resp := e2e.DoOver(t, h.client, h.major, h.scheme, req, client)
	return resp, h.tb.reason(resp)
}

func (tb *traefikBinary) h2Target(t *testing.T, mode string) *h2Traefik {
	h := &h2Traefik{tb: tb, major: 2, scheme: "https", client: e2e.H2Client(fmt.Sprintf("127.0.0.1:%d", tb.tlsPort), tb.tlsRoots, "gateway.test")}
	if mode == "h2c" {
		h.scheme, h.client = "http", e2e.H2Client(fmt.Sprintf("127.0.0.1:%d", tb.port), nil, "")
	}
	t.Cleanup(h.client.CloseIdleConnections)
	return h
}

// TestH2ConformanceInTraefikBinary runs the conformance suite's Basic
// Auth and signature cases (openfaas, schemes) through the real Traefik
// over HTTP/2: TLS with ALPN h2, and h2c.
func TestH2ConformanceInTraefikBinary(t *testing.T) {
	tb := startTraefik(t)
	upstream := httptest.NewServer(conformance.Upstream)
	defer upstream.Close()
	for _, mode := range []string{"h2", "h2c"} {
		mode := mode
		t.Run(mode, func(t *testing.T) {
			conformance.Run(t, e2e.H2Suites(t, mode), "traefik-binary", func(t *testing.T, in *conformance.Instance) conformance.Target {
				options, err := OptionsFromJSON(in.Config)
				if err != nil {
					t.Fatal(err)
				}
				ca, _ := options["clientAddress"].(map[string]interface{})
				if ca == nil {
					ca = map[string]interface{}{}
					options["clientAddress"] = ca
				}
				ca["trustedProxies"] = []interface{}{"127.0.0.1"}
				tb.applyNamed(t, "funcauth-"+mode, options, upstream.URL)
				return tb.h2Target(t, mode)
			})
		})
	}
}

// TestH2RawBadInputInTraefikBinary sends bodies past the limit in DATA
// frames, lying Content-Lengths and a stream reset mid-body to the real
// Traefik over HTTP/2 (TLS and h2c), frame by frame.
func TestH2RawBadInputInTraefikBinary(t *testing.T) {
	tb := startTraefik(t)
	tempDir := t.TempDir()
	upstream := &e2e.Counter{}
	srv := httptest.NewServer(upstream)
	defer srv.Close()
	options, err := OptionsFromJSON([]byte(e2e.BadInputConfig(tempDir)))
	if err != nil {
		t.Fatal(err)
	}
	tb.applyNamed(t, "funcauth-h2-bad-input", options, srv.URL)
	t.Run("h2", func(t *testing.T) {
		e2e.RawH2BadInput(t, fmt.Sprintf("127.0.0.1:%d", tb.tlsPort), &tls.Config{RootCAs: tb.tlsRoots, ServerName: "gateway.test"}, upstream, tempDir)
	})
	t.Run("h2c", func(t *testing.T) {
		e2e.RawH2BadInput(t, fmt.Sprintf("127.0.0.1:%d", tb.port), nil, upstream, tempDir)
	})
}

// Scheme is the scheme requests are signed with (conformance.SchemeTarget).
func (h *h2Traefik) Scheme() string { return h.scheme }
