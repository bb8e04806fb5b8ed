// Package acmetest runs Pebble, the ACME test server, inside a test, with
// real challenge validation: a DNS server of the test answers 127.0.0.1
// for the site's names, so Pebble's validation authority connects to the
// proxy under test on the ports it is given. Nothing leaves the machine.
package acmetest

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
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

	"github.com/letsencrypt/pebble/v2/ca"
	"github.com/letsencrypt/pebble/v2/db"
	"github.com/letsencrypt/pebble/v2/va"
	"github.com/letsencrypt/pebble/v2/wfe"
	"github.com/miekg/dns"
)

// Options says what the test's Pebble validates and issues.
type Options struct {
	// Names resolve to 127.0.0.1 for Pebble's validation authority.
	Names []string
	// HTTPPort and TLSPort are where the validation authority connects
	// for http-01 and tls-alpn-01: the proxy's entry points.
	HTTPPort, TLSPort int
	// Validity is the lifetime of the certificates issued (Pebble's
	// default, 90 days, when zero).
	Validity time.Duration
}

// Pebble is a running ACME server.
type Pebble struct {
	// Directory is the ACME directory URL (acme_ca, caServer).
	Directory string
	// ServerCAFile is a PEM file with the certificate of the ACME
	// server's own HTTPS listener, which the proxy must trust to talk to
	// it (acme_ca_root, LEGO_CA_CERTIFICATES).
	ServerCAFile string
	// Roots holds Pebble's issuing root, as fetched from its management
	// endpoint: what a client of the proxy trusts.
	Roots *x509.CertPool
}

// Start runs Pebble (and its DNS server) until the test ends. It sets
// PEBBLE_* variables of the process for the test's duration, so tests
// using it cannot run in parallel.
func Start(t *testing.T, dir string, o Options) *Pebble {
	t.Helper()
	t.Setenv("PEBBLE_VA_NOSLEEP", "1")
	t.Setenv("PEBBLE_WFE_NONCEREJECT", "0")

	resolver := startDNS(t, o.Names, "127.0.0.1")
	pebbleLog := log.New(io.Discard, "pebble ", 0)
	if testing.Verbose() {
		pebbleLog.SetOutput(os.Stderr)
	}
	store := db.NewMemoryStore()
	profile := ca.Profile{Description: "default", ValidityPeriod: uint64(o.Validity / time.Second)}
	authority := ca.New(pebbleLog, store, "", "ecdsa", 0, 1, map[string]ca.Profile{"default": profile})
	validator := va.New(pebbleLog, o.HTTPPort, o.TLSPort, false, resolver, store)
	frontend := wfe.New(pebbleLog, store, validator, authority, nil, false, false, 0, 0)

	acme := httptest.NewUnstartedServer(frontend.Handler())
	acme.StartTLS()
	t.Cleanup(acme.Close)
	serverCA := filepath.Join(dir, "pebble-listener.pem")
	if err := os.WriteFile(serverCA, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: acme.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}

	// The issuing root, from the management endpoint as an operator
	// would fetch it (pebble's -mgmt listener: GET /roots/0).
	mgmt := httptest.NewUnstartedServer(frontend.ManagementHandler())
	mgmt.StartTLS()
	t.Cleanup(mgmt.Close)
	resp, err := mgmt.Client().Get(mgmt.URL + wfe.RootCertPath + "0")
	if err != nil {
		t.Fatalf("fetching Pebble's root: %v", err)
	}
	rootPEM, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	roots := x509.NewCertPool()
	if resp.StatusCode != http.StatusOK || !roots.AppendCertsFromPEM(rootPEM) {
		t.Fatalf("Pebble's root: %s %q", resp.Status, rootPEM)
	}
	return &Pebble{Directory: acme.URL + "/dir", ServerCAFile: serverCA, Roots: roots}
}

// Client is an HTTPS client that trusts only Pebble's root, as a client
// of a public site trusts its CA, and dials addr whatever the URL's host.
func (p *Pebble) Client(addr string) *http.Client {
	return &http.Client{
		Timeout: 10 * time.Second,
		Transport: &http.Transport{
			TLSClientConfig: &tls.Config{RootCAs: p.Roots},
			Dial: func(network, _ string) (net.Conn, error) {
				return net.Dial(network, addr)
			},
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// WaitCertificate polls url with client until the proxy answers over
// HTTPS with a certificate for name that Pebble issued and client
// verified, and returns that certificate.
func WaitCertificate(t testing.TB, client *http.Client, url, name string, timeout time.Duration) *x509.Certificate {
	t.Helper()
	var lastErr error
	for deadline := time.Now().Add(timeout); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		resp, err := client.Get(url)
		if err != nil {
			lastErr = err
			continue
		}
		resp.Body.Close()
		if resp.TLS == nil || len(resp.TLS.PeerCertificates) == 0 {
			t.Fatal("no certificate")
		}
		leaf := resp.TLS.PeerCertificates[0]
		if leaf.VerifyHostname(name) != nil || !strings.Contains(leaf.Issuer.CommonName, "Pebble") {
			t.Fatalf("certificate for %v issued by %q", leaf.DNSNames, leaf.Issuer.CommonName)
		}
		return leaf
	}
	t.Fatalf("no verified HTTPS from %s within %v: %v", url, timeout, lastErr)
	return nil
}

// startDNS answers A queries for names with addr (and nothing else) over
// TCP, as Pebble's validation authority asks its custom resolver.
func startDNS(t *testing.T, names []string, addr string) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &dns.Server{Listener: l, Handler: dns.HandlerFunc(func(w dns.ResponseWriter, q *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(q)
		for _, question := range q.Question {
			if question.Qtype != dns.TypeA {
				continue
			}
			for _, name := range names {
				if strings.EqualFold(question.Name, dns.Fqdn(name)) {
					m.Answer = append(m.Answer, &dns.A{
						Hdr: dns.RR_Header{Name: question.Name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 60},
						A:   net.ParseIP(addr),
					})
				}
			}
		}
		w.WriteMsg(m)
	})}
	go srv.ActivateAndServe()
	t.Cleanup(func() { srv.Shutdown() })
	return l.Addr().String()
}

// Served returns the certificate a TLS server at addr presents for name,
// verified against Pebble's root, from a new connection.
func (p *Pebble) Served(t testing.TB, addr, name string) *x509.Certificate {
	t.Helper()
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", addr, &tls.Config{RootCAs: p.Roots, ServerName: name})
	if err != nil {
		t.Fatalf("TLS to %s: %v", addr, err)
	}
	defer conn.Close()
	return conn.ConnectionState().PeerCertificates[0]
}

// WaitRenewal waits until the server at addr presents a certificate for
// name other than old, issued by Pebble, and returns it.
func (p *Pebble) WaitRenewal(t testing.TB, addr, name string, old *x509.Certificate, timeout time.Duration) *x509.Certificate {
	t.Helper()
	for deadline := time.Now().Add(timeout); time.Now().Before(deadline); time.Sleep(time.Second) {
		if leaf := p.Served(t, addr, name); !leaf.Equal(old) {
			return leaf
		}
	}
	t.Fatalf("%s still presents the certificate valid until %v after %v", addr, old.NotAfter, timeout)
	return nil
}
