package caddy

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2/caddytest"

	_ "github.com/funcauth/funcauth/caddyauth"
	"github.com/funcauth/funcauth/integration/internal/acmetest"
	"github.com/funcauth/funcauth/integration/internal/e2e"
	"github.com/funcauth/funcauth/internal/conformance"
)

// siteName is the name Caddy gets a certificate for. It is not one of the
// names Caddy gives its internal CA (localhost, *.internal, IPs), so Caddy
// goes to the ACME server for it.
const siteName = "funcauth.test"

// TestAutomaticHTTPS runs Pebble, the ACME test server, in this process
// with real challenge validation (a DNS server here answers 127.0.0.1 for
// funcauth.test), has Caddy (in-process, with funcauth) obtain a
// certificate for funcauth.test from it, and then talks HTTPS to Caddy,
// verifying the certificate against Pebble's root: a signed request
// reaches the function, an unsigned one is refused.
func TestAutomaticHTTPS(t *testing.T) {
	checkHTTPSSite(t, startAutomaticHTTPS(t, siteName, 0, ""))
}

// TestXcaddyBinaryHTTPS is TestAutomaticHTTPS with the xcaddy-built
// Caddy binary started cold on the same Caddyfile: it measures the time
// from the start of the process to the first HTTPS call served.
func TestXcaddyBinaryHTTPS(t *testing.T) {
	bin := xcaddy(t)
	dir := t.TempDir()
	c := &httpsCaddy{httpPort: e2e.FreePort(t), httpsPort: e2e.FreePort(t)}
	c.pebble = acmetest.Start(t, dir, acmetest.Options{Names: []string{siteName}, HTTPPort: c.httpPort, TLSPort: c.httpsPort})
	function := httptest.NewServer(conformance.Upstream)
	t.Cleanup(function.Close)
	caddyfile := filepath.Join(dir, "Caddyfile")
	admin := fmt.Sprintf("127.0.0.1:%d", e2e.FreePort(t))
	os.WriteFile(caddyfile, []byte(httpsCaddyfile(admin, siteName, dir, c, "", function.URL)), 0o600)
	start := time.Now()
	e2e.Start(t, dir, []string{"XDG_DATA_HOME=" + dir, "XDG_CONFIG_HOME=" + dir}, bin, "run", "--config", caddyfile, "--adapter", "caddyfile")
	c.client = c.pebble.Client(fmt.Sprintf("127.0.0.1:%d", c.httpsPort))
	c.base = fmt.Sprintf("https://%s:%d", siteName, c.httpsPort)
	leaf := acmetest.WaitCertificate(t, c.client, c.base+"/healthz", siteName, 90*time.Second)
	t.Logf("Caddy (xcaddy binary): cold start to a served HTTPS call in %v; certificate for %v issued by %q",
		time.Since(start).Round(10*time.Millisecond), leaf.DNSNames, leaf.Issuer.CommonName)
	checkHTTPSSite(t, c)
}

// checkHTTPSSite checks a Caddy site of httpsCaddyfile over HTTPS: a
// signed request reaches the function, an unsigned one is refused, the
// admin API takes Basic Auth, and plain HTTP is redirected.
func checkHTTPSSite(t *testing.T, c *httpsCaddy) {
	t.Helper()
	client, base := c.client, c.base
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
	plain, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Get(fmt.Sprintf("http://127.0.0.1:%d/function/env", c.httpPort))
	if err != nil {
		t.Fatal(err)
	}
	plain.Body.Close()
	if plain.StatusCode != http.StatusPermanentRedirect {
		t.Errorf("plain HTTP: %d, want a redirect to HTTPS", plain.StatusCode)
	}
}

// inProcessAdminPort is the admin port of the in-process Caddy: free when
// first asked for (not caddytest's fixed 2999, where another process's
// Caddy could answer), and the same for the whole test process, in which
// caddytest starts Caddy once.
func inProcessAdminPort(t *testing.T) int {
	adminOnce.Do(func() { adminPort = e2e.FreePort(t) })
	if adminPort == 0 {
		t.Fatal("no free port was found for the in-process Caddy's admin API")
	}
	return adminPort
}

var (
	adminOnce sync.Once
	adminPort int
)

// startAutomaticHTTPS starts Pebble and Caddy in-process with funcauth in
// front of the conformance upstream, extra in Caddy's global options, and
// waits until Caddy serves name over HTTPS with a certificate from Pebble
// valid for validity (Pebble's default when zero). Each test takes its
// own name: Caddy's certificate cache outlives a configuration, and keeps
// the renew_interval of the first (so every configuration here sets the
// short one the renewal test needs).
func startAutomaticHTTPS(t *testing.T, name string, validity time.Duration, extra string) *httpsCaddy {
	t.Helper()
	// The ports Caddy listens on, which Pebble's validation authority
	// also uses for the http-01 and tls-alpn-01 challenges.
	httpPort, httpsPort := e2e.FreePort(t), e2e.FreePort(t)
	dir := t.TempDir()
	t.Setenv("XDG_DATA_HOME", filepath.Join(dir, "data"))
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(dir, "config"))
	pebble := acmetest.Start(t, dir, acmetest.Options{Names: []string{name}, HTTPPort: httpPort, TLSPort: httpsPort, Validity: validity})

	function := httptest.NewServer(conformance.Upstream)
	t.Cleanup(function.Close)

	c := &httpsCaddy{pebble: pebble, httpPort: httpPort, httpsPort: httpsPort}
	admin := inProcessAdminPort(t)
	caddyfile := httpsCaddyfile(fmt.Sprintf("localhost:%d", admin), name, dir, c, extra, function.URL)
	start := time.Now()
	tester := caddytest.NewTester(conformance.NoSkip(t)).WithDefaultOverrides(caddytest.Config{AdminPort: admin})
	tester.InitServer(caddyfile, "caddyfile")
	if t.Failed() {
		t.FailNow()
	}

	client := pebble.Client(fmt.Sprintf("127.0.0.1:%d", httpsPort))
	base := fmt.Sprintf("https://%s:%d", name, httpsPort)
	// Caddy obtains the certificate in the background: wait for it.
	leaf := acmetest.WaitCertificate(t, client, base+"/healthz", name, 90*time.Second)
	t.Logf("Caddy (in-process): start to a served HTTPS call in %v; certificate for %v issued by %q, valid until %v",
		time.Since(start).Round(10*time.Millisecond), leaf.DNSNames, leaf.Issuer.CommonName, leaf.NotAfter.Format(time.RFC3339))
	c.client, c.base = client, base
	return c
}

// httpsCaddyfile is the Caddyfile of the HTTPS tests: funcauth's openfaas
// preset on name in front of upstream, certificates from c's Pebble,
// storage under dir, extra in the global options.
func httpsCaddyfile(admin, name, dir string, c *httpsCaddy, extra, upstream string) string {
	return fmt.Sprintf(`{
	admin %s
	http_port %d
	https_port %d
	grace_period 1ns
	skip_install_trust
	storage file_system %s
	acme_ca %s
	acme_ca_root %s
	email ops@%s
	renew_interval 2s
	%s
}

%s {
	funcauth openfaas {
		user admin $pbkdf2-sha256$i=100000$FvsaKqDUjTxkY0LDcLY6LQ$avC3cRwBiE71Wx/YKvObS6LpxMgpuYhieUKArM2/40k
		signature faas-cli cookie
	}
	reverse_proxy %s
}
`, admin, c.httpPort, c.httpsPort, filepath.Join(dir, "storage"), c.pebble.Directory, c.pebble.ServerCAFile, siteName, extra, name, strings.TrimPrefix(upstream, "http://"))
}

// httpsCaddy is Caddy in-process serving a site over HTTPS with
// certificates from a Pebble of the test.
type httpsCaddy struct {
	pebble              *acmetest.Pebble
	client              *http.Client // trusts Pebble's root only
	base                string       // the site's URL
	httpPort, httpsPort int
}
