package traefik

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	alexellis "github.com/alexellis/hmac/v2"
	"gopkg.in/yaml.v3"

	"github.com/funcauth/funcauth/integration/internal/acmetest"
	"github.com/funcauth/funcauth/integration/internal/e2e"
	"github.com/funcauth/funcauth/internal/conformance"
)

// exampleSite is the public name of file/dynamic.yml's router.
const exampleSite = "gateway.example.com"

// httpsTraefik is the real Traefik running the file/ example as a user
// deploys it, with Pebble in place of Let's Encrypt.
type httpsTraefik struct {
	pebble    *acmetest.Pebble
	httpPort  int
	httpsPort int
	process   *e2e.Process
	started   time.Time
}

// base is the example's public URL on the test's HTTPS port.
func (h *httpsTraefik) base() string {
	return fmt.Sprintf("https://%s:%d", exampleSite, h.httpsPort)
}

// client trusts Pebble's root only and dials Traefik's HTTPS entry point.
func (h *httpsTraefik) client() *http.Client {
	return h.pebble.Client(fmt.Sprintf("127.0.0.1:%d", h.httpsPort))
}

// yamlPath walks a YAML document decoded into maps, failing the test when
// the example lacks a key the test changes.
func yamlPath(t *testing.T, doc map[string]interface{}, keys ...string) map[string]interface{} {
	t.Helper()
	m := doc
	for _, k := range keys {
		next, ok := m[k].(map[string]interface{})
		if !ok {
			t.Fatalf("the example has no %s", strings.Join(keys, "."))
		}
		m = next
	}
	return m
}

// exampleStatic is file/traefik.yml changed only where a test must: the
// ACME server (Pebble, not Let's Encrypt), the entry points' ports, the
// paths of the certificate storage and of the dynamic configuration, and
// the plugin from a checkout (localPlugins, the example's commented
// alternative) rather than from the plugin catalog.
func exampleStatic(t *testing.T, dir, caServer string, httpPort, httpsPort int, o httpsOptions) []byte {
	t.Helper()
	data, err := os.ReadFile(examplePath(t, "file/traefik.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var static map[string]interface{}
	if err := yaml.Unmarshal(data, &static); err != nil {
		t.Fatal(err)
	}
	yamlPath(t, static, "entryPoints", "web")["address"] = fmt.Sprintf("127.0.0.1:%d", httpPort)
	websecure := yamlPath(t, static, "entryPoints", "websecure")
	websecure["address"] = fmt.Sprintf("127.0.0.1:%d", httpsPort)
	if o.TrustLoopback {
		websecure["forwardedHeaders"] = map[string]interface{}{"trustedIPs": []string{"127.0.0.1"}}
	}
	acme := yamlPath(t, static, "certificatesResolvers", "letsencrypt", "acme")
	acme["caServer"] = caServer
	acme["storage"] = filepath.Join(dir, "acme.json")
	if o.CertificatesDuration > 0 {
		acme["certificatesDuration"] = o.CertificatesDuration
	}
	file := yamlPath(t, static, "providers", "file")
	if file["filename"] == nil {
		t.Fatal("the example has no providers.file.filename")
	}
	file["filename"] = filepath.Join(dir, "dynamic.yml")
	experimental := yamlPath(t, static, "experimental")
	module := yamlPath(t, experimental, "plugins", "funcauth")["moduleName"]
	delete(experimental, "plugins")
	experimental["localPlugins"] = map[string]interface{}{"funcauth": map[string]interface{}{"moduleName": module}}
	out, err := yaml.Marshal(static)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// exampleDynamic is file/dynamic.yml with the test's secrets directory in
// place of /var/openfaas/secrets and its function in place of the gateway.
func exampleDynamic(t *testing.T, secrets, function string, o httpsOptions) []byte {
	t.Helper()
	data := readExample(t, "file/dynamic.yml", secrets)
	replace := func(old, new string) {
		if !bytes.Contains(data, []byte(old)) {
			t.Fatalf("file/dynamic.yml no longer holds %q", old)
		}
		data = bytes.ReplaceAll(data, []byte(old), []byte(new))
	}
	replace("http://gateway.openfaas:8080", function)
	if o.TrustLoopback {
		replace("trustedProxies: []", "trustedProxies: [127.0.0.1]")
	}
	return data
}

// httpsOptions are what a test changes in the file/ example beyond the
// ACME server, ports and paths.
type httpsOptions struct {
	// Validity is the lifetime of Pebble's certificates (90 days when 0).
	Validity time.Duration
	// CertificatesDuration is the resolver's certificatesDuration (hours),
	// which sets when Traefik renews: under a day, from 20 minutes before
	// expiry, checked every minute.
	CertificatesDuration int
	// TrustLoopback has Traefik and funcauth believe X-Forwarded-For from
	// 127.0.0.1, so that the test can act as several clients.
	TrustLoopback bool
}

// startHTTPSTraefik starts the real Traefik with the file/ example, an
// ACME resolver pointed at a Pebble of the test, and waits until it
// serves the example's site over HTTPS with a certificate from Pebble.
func startHTTPSTraefik(t *testing.T, o httpsOptions) *httpsTraefik {
	t.Helper()
	bin := e2e.Script(t, "ensure-traefik.sh")
	dir := t.TempDir()
	if err := e2e.CopyPlugin(e2e.RepoRoot(t), filepath.Join(dir, "plugins-local", "src", "github.com", "funcauth", "funcauth")); err != nil {
		t.Fatal(err)
	}
	h := &httpsTraefik{httpPort: e2e.FreePort(t), httpsPort: e2e.FreePort(t)}
	h.pebble = acmetest.Start(t, dir, acmetest.Options{Names: []string{exampleSite}, HTTPPort: h.httpPort, TLSPort: h.httpsPort, Validity: o.Validity})

	function := httptest.NewServer(conformance.Upstream)
	t.Cleanup(function.Close)
	if err := os.WriteFile(filepath.Join(dir, "dynamic.yml"), exampleDynamic(t, secretsDir(t), function.URL, o), 0o644); err != nil {
		t.Fatal(err)
	}
	static := filepath.Join(dir, "traefik.yml")
	if err := os.WriteFile(static, exampleStatic(t, dir, h.pebble.Directory, h.httpPort, h.httpsPort, o), 0o644); err != nil {
		t.Fatal(err)
	}

	h.started = time.Now()
	// Lego, Traefik's ACME client, trusts the CA certificates named by
	// LEGO_CA_CERTIFICATES for the ACME server's own HTTPS.
	h.process = e2e.Start(t, dir, []string{"LEGO_CA_CERTIFICATES=" + h.pebble.ServerCAFile}, bin, "--configFile="+static)
	leaf := acmetest.WaitCertificate(t, h.client(), h.base()+"/healthz", exampleSite, 90*time.Second)
	t.Logf("Traefik: cold start to a served HTTPS call in %v; certificate for %v issued by %q, valid until %v",
		time.Since(h.started).Round(10*time.Millisecond), leaf.DNSNames, leaf.Issuer.CommonName, leaf.NotAfter.Format(time.RFC3339))
	return h
}

// signedCall is `faas-cli invoke env --sign hmac --key <key>`: the body
// signed by faas-cli's own library.
func signedCall(t *testing.T, base string, body []byte, key string) *http.Request {
	t.Helper()
	req, err := http.NewRequest("POST", base+"/function/env.openfaas-fn", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "text/plain")
	if key != "" {
		req.Header.Set("Hmac", "sha256="+hex.EncodeToString(alexellis.Sign(body, []byte(key), sha256.New)))
	}
	return req
}

func do(t *testing.T, c *http.Client, req *http.Request) (*http.Response, string) {
	t.Helper()
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(body)
}

// TestTraefikBinaryHTTPS runs the real Traefik v3.6.12 with the file/
// example (its ACME resolver pointed at Pebble, which validates
// tls-alpn-01 against Traefik's HTTPS entry point) and funcauth as a
// local plugin. Over HTTPS verified against Pebble's root, a faas-cli
// signed call reaches the function, an unsigned one gets 401, and the
// admin API needs the gateway's Basic Auth credentials.
func TestTraefikBinaryHTTPS(t *testing.T) {
	h := startHTTPSTraefik(t, httpsOptions{})
	client := h.client()

	body := []byte("over HTTPS through Traefik")
	if resp, out := do(t, client, signedCall(t, h.base(), body, "")); resp.StatusCode != http.StatusUnauthorized || resp.Header.Get(conformance.UpstreamHeader) != "" {
		t.Errorf("unsigned call: %d %s", resp.StatusCode, out)
	}
	if resp, out := do(t, client, signedCall(t, h.base(), body, "wrong key")); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("call signed with another key: %d %s", resp.StatusCode, out)
	}
	resp, out := do(t, client, signedCall(t, h.base(), body, "env function key"))
	if resp.StatusCode != http.StatusOK || resp.Header.Get(conformance.UpstreamHeader) != "reached" || !strings.Contains(out, `"body":"over HTTPS through Traefik"`) {
		t.Errorf("signed call: %d %s", resp.StatusCode, out)
	}
	if resp.ProtoMajor != 1 && resp.ProtoMajor != 2 {
		t.Errorf("protocol %s", resp.Proto)
	}
	for _, tc := range []struct {
		user, password string
		want           int
	}{{"", "", 401}, {"admin", "wrong", 401}, {"admin", "gateway password", 200}} {
		req, _ := http.NewRequest("GET", h.base()+"/system/functions", nil)
		if tc.user != "" {
			req.SetBasicAuth(tc.user, tc.password)
		}
		resp, out := do(t, client, req)
		if resp.StatusCode != tc.want {
			t.Errorf("admin %q: %d, want %d: %s", tc.user, resp.StatusCode, tc.want, out)
		}
		if tc.want == 401 && !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Basic ") {
			t.Errorf("admin %q: challenge %q", tc.user, resp.Header.Get("WWW-Authenticate"))
		}
	}
	// Plain HTTP is redirected to HTTPS by the example's web entry point,
	// before any middleware.
	plain, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).
		Get(fmt.Sprintf("http://127.0.0.1:%d/function/env", h.httpPort))
	if err != nil {
		t.Fatal(err)
	}
	plain.Body.Close()
	if plain.StatusCode < 300 || plain.StatusCode > 308 || !strings.HasPrefix(plain.Header.Get("Location"), "https://") {
		t.Errorf("plain HTTP: %d to %q, want a redirect to HTTPS", plain.StatusCode, plain.Header.Get("Location"))
	}
}

// TestTraefikBinaryHTTPSRenewalKeepsBansAndReplays has the real Traefik
// renew a short-lived certificate from Pebble while funcauth holds a ban
// and a remembered signed call. Traefik rebuilds its routers and so the
// plugin's instances when the renewed certificate arrives: the replay
// must still be refused and the banned client still banned.
func TestTraefikBinaryHTTPSRenewalKeepsBansAndReplays(t *testing.T) {
	h := startHTTPSTraefik(t, httpsOptions{Validity: 10 * time.Minute, CertificatesDuration: 1, TrustLoopback: true})
	addr := fmt.Sprintf("127.0.0.1:%d", h.httpsPort)
	first := h.pebble.Served(t, addr, exampleSite)
	client := h.client()
	site := &e2e.StateSite{Client: client, Base: h.base(), Key: "env function key", User: "admin", Password: "gateway password"}
	site.MakeState(t)
	// Traefik checks renewals once a minute.
	renewed := h.pebble.WaitRenewal(t, addr, exampleSite, first, 150*time.Second)
	t.Logf("renewed after %v: %s until %v, then %s until %v", time.Since(h.started).Round(time.Second),
		first.SerialNumber, first.NotAfter.Format(time.TimeOnly), renewed.SerialNumber, renewed.NotAfter.Format(time.TimeOnly))
	client.CloseIdleConnections() // what follows comes over connections with the new certificate
	site.CheckState(t)
}
