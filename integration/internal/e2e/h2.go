package e2e

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// SelfSigned returns a self-signed certificate for names (PEM) with its
// key (PEM), and a pool that trusts it.
func SelfSigned(t testing.TB, names ...string) (certPEM, keyPEM []byte, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: names[0]},
		DNSNames:              names,
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), pool
}

// H2Client is a client that speaks HTTP/2 only and dials addr whatever a
// URL names: over TLS, negotiated by ALPN h2, trusting roots for the
// server name sni; or, with roots nil, cleartext h2c with prior
// knowledge. It follows no redirects.
func H2Client(addr string, roots *x509.CertPool, sni string) *http.Client {
	var protocols http.Protocols
	tr := &http.Transport{
		Protocols: &protocols,
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, addr)
		},
	}
	if roots == nil {
		protocols.SetUnencryptedHTTP2(true)
	} else {
		protocols.SetHTTP2(true)
		tr.TLSClientConfig = &tls.Config{RootCAs: roots, ServerName: sni}
	}
	return &http.Client{
		Timeout:       60 * time.Second,
		Transport:     tr,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// DoOver sends a conformance request (URL http://<host>/...) over
// client, an H2Client or an HTTP/3 client, with scheme ("http" for h2c,
// "https"), keeping its Host and naming the client in X-Forwarded-For. It
// fails the test unless the answer came over HTTP/major, and returns the
// response with its body read.
func DoOver(t testing.TB, client *http.Client, major int, scheme string, req *http.Request, clientAddr string) *http.Response {
	t.Helper()
	req.Host = req.URL.Host
	req.URL.Scheme = scheme
	req.Header.Set("X-Forwarded-For", clientAddr)
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("request over HTTP/%d (%s): %v", major, scheme, err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(body))
	if resp.ProtoMajor != major {
		t.Fatalf("answered over %s, not HTTP/%d", resp.Proto, major)
	}
	return resp
}

// H2Suites returns a directory for conformance.Run with the suite's
// Basic Auth and signature cases (openfaas, schemes) for a run over mode:
// "h2c", or "h2" and "h3", which are over TLS (their targets sign https://
// URLs: conformance.SchemeTarget).
func H2Suites(t testing.TB, mode string) string {
	t.Helper()
	return SuiteSubset(t, []string{"openfaas", "schemes"}, nil)
}

// SuiteSubset copies the named suites of testdata/conformance (without
// .json) into a directory for conformance.Run, without the cases named in
// drop, and returns it.
func SuiteSubset(t testing.TB, suites, drop []string) string {
	t.Helper()
	dir := t.TempDir()
	dropped := 0
	for _, name := range suites {
		data, err := os.ReadFile(filepath.Join(RepoRoot(t), "testdata", "conformance", name+".json"))
		if err != nil {
			t.Fatal(err)
		}
		var suite map[string]json.RawMessage
		var cases []map[string]json.RawMessage
		if err := json.Unmarshal(data, &suite); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(suite["cases"], &cases); err != nil {
			t.Fatal(err)
		}
		kept := cases[:0]
		for _, c := range cases {
			var caseName string
			json.Unmarshal(c["name"], &caseName)
			if slices.Contains(drop, caseName) {
				dropped++
				continue
			}
			kept = append(kept, c)
		}
		suite["cases"], _ = json.Marshal(kept)
		data, _ = json.Marshal(suite)
		if err := os.WriteFile(filepath.Join(dir, name+".json"), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if dropped != len(drop) {
		t.Fatalf("dropped %d of the cases %q: the suites changed", dropped, drop)
	}
	return dir
}
