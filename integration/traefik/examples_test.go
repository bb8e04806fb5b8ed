package traefik

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/traefik/paerser/file"
	"github.com/traefik/paerser/parser"
	"gopkg.in/yaml.v3"

	"github.com/funcauth/funcauth/integration/internal/e2e"
	"github.com/funcauth/funcauth/internal/conformance"
)

// dynamicConfig is the part of Traefik's dynamic configuration that holds
// middleware plugins, shaped like Traefik's own types (dynamic.Middleware's
// Plugin is a map of PluginConf, a map[string]any).
type dynamicConfig struct {
	HTTP *struct {
		Routers map[string]*struct {
			Rule        string
			EntryPoints []string
			Middlewares []string
			Service     string
			TLS         *struct{ CertResolver string }
		}
		Middlewares map[string]*struct {
			Plugin map[string]map[string]interface{}
		}
		Services map[string]*struct {
			LoadBalancer *struct{ Servers []struct{ URL string } }
		}
	}
}

// secretsDir stands in for /var/openfaas/secrets: the gateway's
// credentials and function keys the examples read.
func secretsDir(t *testing.T) string {
	dir := t.TempDir()
	for name, content := range map[string]string{
		"basic-auth-user":     "admin\n",
		"basic-auth-password": "gateway password\n",
		"env-hmac":            "env function key\n",
		"github-webhook":      "github secret\n",
	} {
		os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600)
	}
	return dir
}

// checkExample runs the example's funcauth options in the plugin, loaded
// as Traefik loads it: signed, unsigned and admin requests.
func checkExample(t *testing.T, options map[string]interface{}) {
	t.Helper()
	p := loaded(t)
	h, err := p.NewMiddleware(context.Background(), conformance.Upstream, options, "example"+t.Name()+"@file")
	if err != nil {
		t.Fatalf("New with the example's options: %v", err)
	}
	do := func(r *http.Request) int {
		r.RemoteAddr = "192.0.2.99:4000"
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		return rec.Code
	}
	body := "payload"
	mac := hmac.New(sha256.New, []byte("env function key"))
	mac.Write([]byte(body))
	signed := httptest.NewRequest("POST", "/function/env", strings.NewReader(body))
	signed.Header.Set("Hmac", "sha256="+hex.EncodeToString(mac.Sum(nil)))
	if code := do(signed); code != http.StatusOK {
		t.Errorf("signed call: %d", code)
	}
	if code := do(httptest.NewRequest("POST", "/function/env", strings.NewReader(body))); code != http.StatusUnauthorized {
		t.Errorf("unsigned call: %d", code)
	}
	admin := httptest.NewRequest("GET", "/system/functions", nil)
	admin.SetBasicAuth("admin", "gateway password")
	if code := do(admin); code != http.StatusOK {
		t.Errorf("admin: %d", code)
	}
}

func pluginOptions(t *testing.T, cfg *dynamicConfig) map[string]interface{} {
	t.Helper()
	if cfg.HTTP == nil || cfg.HTTP.Middlewares["funcauth"] == nil {
		t.Fatal("no funcauth middleware in the example")
	}
	options := cfg.HTTP.Middlewares["funcauth"].Plugin["funcauth"]
	if options == nil {
		t.Fatal("the funcauth middleware does not use the funcauth plugin")
	}
	return options
}

// examplePath is the path of a Traefik example, name being relative to
// examples/traefik (the configurations users copy).
func examplePath(t testing.TB, name string) string {
	t.Helper()
	return filepath.Join(e2e.RepoRoot(t), "examples", "traefik", name)
}

func readExample(t *testing.T, name, secrets string) []byte {
	t.Helper()
	data, err := os.ReadFile(examplePath(t, name))
	if err != nil {
		t.Fatal(err)
	}
	return bytes.ReplaceAll(data, []byte("/var/openfaas/secrets"), []byte(secrets))
}

// TestFileProviderExample decodes file/dynamic.yml with Traefik's own
// decoder (paerser, which hands plugins string scalars).
func TestFileProviderExample(t *testing.T) {
	data := readExample(t, "file/dynamic.yml", secretsDir(t))
	cfg := &dynamicConfig{}
	if err := file.DecodeContent(string(data), ".yml", cfg); err != nil {
		t.Fatal(err)
	}
	checkExample(t, pluginOptions(t, cfg))
}

// TestDockerLabelsExample decodes the labels of docker/docker-compose.yml
// as Traefik's Docker provider does (paerser's label parser).
func TestDockerLabelsExample(t *testing.T) {
	data := readExample(t, "docker/docker-compose.yml", secretsDir(t))
	var compose struct {
		Services map[string]struct {
			Labels []string `yaml:"labels"`
		} `yaml:"services"`
	}
	if err := yaml.Unmarshal(data, &compose); err != nil {
		t.Fatal(err)
	}
	labels := map[string]string{}
	for _, l := range compose.Services["gateway"].Labels {
		k, v, _ := strings.Cut(l, "=")
		labels[k] = v
	}
	cfg := &dynamicConfig{}
	if err := parser.Decode(labels, cfg, parser.DefaultRootName, "traefik.http.middlewares"); err != nil {
		t.Fatal(err)
	}
	checkExample(t, pluginOptions(t, cfg))
}

// TestKubernetesExample takes the Middleware resource's spec.plugin as the
// Kubernetes API server hands it to Traefik: typed JSON values.
func TestKubernetesExample(t *testing.T) {
	data := readExample(t, "kubernetes/middleware.yaml", secretsDir(t))
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var doc struct {
			Kind string `yaml:"kind"`
			Spec struct {
				Plugin map[string]map[string]interface{} `yaml:"plugin"`
			} `yaml:"spec"`
		}
		if err := dec.Decode(&doc); err != nil {
			t.Fatal("no Middleware resource with the funcauth plugin")
		}
		if doc.Kind == "Middleware" {
			checkExample(t, doc.Spec.Plugin["funcauth"])
			return
		}
	}
}

// TestExamplesPairTrustedProxies: every Traefik example that can trust a
// load balancer says that Traefik's entry point must trust it too
// (forwardedHeaders.trustedIPs), or Traefik removes X-Forwarded-For before
// funcauth sees it and every client shares the load balancer's address.
func TestExamplesPairTrustedProxies(t *testing.T) {
	for _, name := range []string{"file/traefik.yml", "file/dynamic.yml", "docker/docker-compose.yml", "kubernetes/middleware.yaml", "../../README.md", "../../docs/configuration.md"} {
		data, err := os.ReadFile(examplePath(t, name))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(data), "forwardedHeaders.trustedIPs") && !strings.Contains(string(data), "trustedIPs:") {
			t.Errorf("%s does not tell to trust the load balancer in the entry point's forwardedHeaders.trustedIPs", name)
		}
	}
}
