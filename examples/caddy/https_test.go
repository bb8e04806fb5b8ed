package caddy

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2/caddytest"
	"github.com/letsencrypt/pebble/v2/ca"
	"github.com/letsencrypt/pebble/v2/db"
	"github.com/letsencrypt/pebble/v2/va"
	"github.com/letsencrypt/pebble/v2/wfe"
	"github.com/miekg/dns"

	_ "github.com/funcauth/funcauth/caddyauth"
	"github.com/funcauth/funcauth/internal/conformance"
)

// siteName is the name Caddy gets a certificate for. It is not one of the
// names Caddy gives its internal CA (localhost, *.internal, IPs), so Caddy
// goes to the ACME server for it.
const siteName = "funcauth.test"

// Ports Caddy listens on in-process (caddytest's), which Pebble's
// validation authority also uses for the http-01 and tls-alpn-01
// challenges.
const (
	httpPort  = 9080
	httpsPort = 9443
)

// TestAutomaticHTTPS runs Pebble, the ACME test server, in this process
// with real challenge validation (a DNS server here answers 127.0.0.1 for
// funcauth.test), has Caddy (in-process, with funcauth) obtain a
// certificate for funcauth.test from it, and then talks HTTPS to Caddy,
// verifying the certificate against Pebble's root: a signed request
// reaches the function, an unsigned one is refused.
func TestAutomaticHTTPS(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("XDG_DATA_HOME", filepath.Join(dir, "data"))
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(dir, "config"))
	t.Setenv("PEBBLE_VA_NOSLEEP", "1")
	t.Setenv("PEBBLE_WFE_NONCEREJECT", "0")

	resolver := startDNS(t, siteName, "127.0.0.1")
	pebbleLog := log.New(io.Discard, "pebble ", 0)
	if testing.Verbose() {
		pebbleLog.SetOutput(os.Stderr)
	}
	store := db.NewMemoryStore()
	authority := ca.New(pebbleLog, store, "", "ecdsa", 0, 1, map[string]ca.Profile{"default": {Description: "default"}})
	validator := va.New(pebbleLog, httpPort, httpsPort, false, resolver, store)
	frontend := wfe.New(pebbleLog, store, validator, authority, nil, false, false, 0, 0)
	acme := httptest.NewUnstartedServer(frontend.Handler())
	acme.StartTLS()
	t.Cleanup(acme.Close)
	acmeRoot := filepath.Join(dir, "pebble-listener.pem")
	os.WriteFile(acmeRoot, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: acme.Certificate().Raw}), 0o600)

	function := httptest.NewServer(conformance.Upstream)
	t.Cleanup(function.Close)

	caddyfile := fmt.Sprintf(`{
	admin localhost:2999
	http_port %d
	https_port %d
	grace_period 1ns
	skip_install_trust
	storage file_system %s
	acme_ca %s/dir
	acme_ca_root %s
	email ops@%s
}

%s {
	funcauth openfaas {
		user admin $pbkdf2-sha256$i=100000$FvsaKqDUjTxkY0LDcLY6LQ$avC3cRwBiE71Wx/YKvObS6LpxMgpuYhieUKArM2/40k
		signature faas-cli cookie
	}
	reverse_proxy %s
}
`, httpPort, httpsPort, filepath.Join(dir, "storage"), acme.URL, acmeRoot, siteName, siteName, strings.TrimPrefix(function.URL, "http://"))
	tester := caddytest.NewTester(conformance.NoSkip(t))
	tester.InitServer(caddyfile, "caddyfile")
	if t.Failed() {
		t.FailNow()
	}

	// Trust Pebble's root only, as a client of a public site trusts its CA.
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(authority.GetRootCert(0).PEM())
	client := &http.Client{
		Timeout: 10 * time.Second,
		Transport: &http.Transport{
			TLSClientConfig: &tls.Config{RootCAs: roots, ServerName: siteName},
			DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
				return net.Dial(network, fmt.Sprintf("127.0.0.1:%d", httpsPort))
			},
		},
	}
	base := fmt.Sprintf("https://%s:%d", siteName, httpsPort)

	// Caddy obtains the certificate in the background: wait for it.
	var lastErr error
	deadline := time.Now().Add(90 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := client.Get(base + "/healthz")
		if err == nil {
			resp.Body.Close()
			lastErr = nil
			if resp.TLS == nil || len(resp.TLS.PeerCertificates) == 0 {
				t.Fatal("no certificate")
			}
			leaf := resp.TLS.PeerCertificates[0]
			if leaf.VerifyHostname(siteName) != nil || !strings.Contains(leaf.Issuer.CommonName, "Pebble") {
				t.Fatalf("certificate for %v issued by %q", leaf.DNSNames, leaf.Issuer.CommonName)
			}
			t.Logf("certificate for %v issued by %q", leaf.DNSNames, leaf.Issuer.CommonName)
			break
		}
		lastErr = err
		time.Sleep(500 * time.Millisecond)
	}
	if lastErr != nil {
		t.Fatalf("no verified HTTPS from Caddy within 90 s: %v", lastErr)
	}

	post := func(req *conformance.Request) *http.Response {
		r, err := conformance.BuildRequest(req, base)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := client.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	unsigned := post(&conformance.Request{Method: "POST", Target: "/function/env", Body: "over HTTPS"})
	unsigned.Body.Close()
	if unsigned.StatusCode != http.StatusUnauthorized || unsigned.Header.Get(conformance.UpstreamHeader) != "" {
		t.Errorf("unsigned call over HTTPS: %d", unsigned.StatusCode)
	}
	signed := post(&conformance.Request{Method: "POST", Target: "/function/env", Body: "over HTTPS", Sign: &conformance.Sign{Scheme: "faas-cli", Key: "cookie"}})
	body, _ := io.ReadAll(signed.Body)
	signed.Body.Close()
	if signed.StatusCode != http.StatusOK || signed.Header.Get(conformance.UpstreamHeader) != "reached" || !strings.Contains(string(body), `"body":"over HTTPS"`) {
		t.Errorf("signed call over HTTPS: %d %s", signed.StatusCode, body)
	}
	admin := post(&conformance.Request{Target: "/system/functions", Basic: &conformance.BasicAuth{User: "admin", Password: "correct horse battery staple"}})
	admin.Body.Close()
	if admin.StatusCode != http.StatusOK {
		t.Errorf("admin over HTTPS: %d", admin.StatusCode)
	}
	// Plain HTTP is redirected to HTTPS, by Caddy, before funcauth.
	plain, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Get(fmt.Sprintf("http://127.0.0.1:%d/function/env", httpPort))
	if err != nil {
		t.Fatal(err)
	}
	plain.Body.Close()
	if plain.StatusCode != http.StatusPermanentRedirect {
		t.Errorf("plain HTTP: %d, want a redirect to HTTPS", plain.StatusCode)
	}
}

// startDNS answers A queries for name with addr (and nothing else) over
// TCP, as Pebble's validation authority asks its custom resolver.
func startDNS(t *testing.T, name, addr string) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &dns.Server{Listener: l, Handler: dns.HandlerFunc(func(w dns.ResponseWriter, q *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(q)
		for _, question := range q.Question {
			if question.Qtype == dns.TypeA && strings.EqualFold(question.Name, dns.Fqdn(name)) {
				m.Answer = append(m.Answer, &dns.A{
					Hdr: dns.RR_Header{Name: question.Name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 60},
					A:   net.ParseIP(addr),
				})
			}
		}
		w.WriteMsg(m)
	})}
	go srv.ActivateAndServe()
	t.Cleanup(func() { srv.Shutdown() })
	return l.Addr().String()
}
