// Package deploy checks the deployment guides' configurations
// (docs/deploy.md): each is decoded as its host decodes it, and funcauth's
// part is compiled by funcauth.New against secret files laid out as the
// guide says.
package deploy

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2/caddyconfig"
	_ "github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
	_ "github.com/caddyserver/caddy/v2/modules/standard"
	"gopkg.in/yaml.v3"

	"github.com/funcauth/funcauth"
	_ "github.com/funcauth/funcauth/caddyauth"
	"github.com/funcauth/funcauth/integration/internal/e2e"
)

// example is the path of a deployment guide's file, name being relative
// to examples/deploy (the configurations users copy).
func example(t *testing.T, name string) string {
	t.Helper()
	return filepath.Join(e2e.RepoRoot(t), "examples", "deploy", name)
}

// funcauthConfigs adapts a Caddyfile as `caddy adapt` does and returns the
// configuration of each funcauth handler in it.
func funcauthConfigs(t *testing.T, caddyfile []byte) []json.RawMessage {
	t.Helper()
	adapted, warnings, err := caddyconfig.GetAdapter("caddyfile").Adapt(caddyfile, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range warnings {
		t.Errorf("caddy adapt warns: %s", w.String())
	}
	var found []json.RawMessage
	var walk func(v interface{})
	walk = func(v interface{}) {
		switch v := v.(type) {
		case map[string]interface{}:
			if v["handler"] == "funcauth" {
				data, _ := json.Marshal(v)
				found = append(found, data)
			}
			for _, x := range v {
				walk(x)
			}
		case []interface{}:
			for _, x := range v {
				walk(x)
			}
		}
	}
	var doc interface{}
	json.Unmarshal(adapted, &doc)
	walk(doc)
	if len(found) == 0 {
		t.Fatal("the Caddyfile has no funcauth handler")
	}
	return found
}

// compile builds a Guard from a handler's configuration, with each path
// prefix of moves replaced by a directory of the test, laid out as the
// guide says: the gateway's basic-auth-user and basic-auth-password, and
// an env-hmac key.
func compile(t *testing.T, handler json.RawMessage, moves ...string) *funcauth.Guard {
	t.Helper()
	text := string(handler)
	for _, from := range moves {
		dir := t.TempDir()
		os.WriteFile(filepath.Join(dir, "basic-auth-user"), []byte("admin\n"), 0o600)
		os.WriteFile(filepath.Join(dir, "basic-auth-password"), []byte("gateway password\n"), 0o600)
		os.WriteFile(filepath.Join(dir, "env-hmac"), []byte("env key\n"), 0o600)
		text = strings.ReplaceAll(text, from, dir)
	}
	var cfg struct {
		funcauth.Config
		Handler string `json:"handler"`
	}
	dec := json.NewDecoder(strings.NewReader(text))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&cfg); err != nil {
		t.Fatal(err)
	}
	g, err := funcauth.New(&cfg.Config, funcauth.Options{})
	if err != nil {
		t.Fatalf("funcauth refuses the guide's configuration: %v", err)
	}
	return g
}

// TestFaasdGuide: faasd's own secret directory serves the gateway's
// credentials and the function keys.
func TestFaasdGuide(t *testing.T) {
	data, err := os.ReadFile(example(t, "faasd/Caddyfile"))
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range funcauthConfigs(t, data) {
		if !strings.Contains(string(h), `"gateway_secrets_dir":"/var/lib/faasd/secrets"`) {
			t.Errorf("the faasd guide does not read faasd's secrets: %s", h)
		}
		compile(t, h, "/var/lib/faasd/secrets")
	}
	unit, err := os.ReadFile(example(t, "faasd/caddy.service"))
	if err != nil || !bytes.Contains(unit, []byte("ExecStart=/usr/local/bin/caddy run")) || !bytes.Contains(unit, []byte("After=network-online.target faasd.service")) {
		t.Errorf("the systemd unit does not run Caddy after faasd: %v", err)
	}
}

// TestKubernetesCaddyGuide: the ConfigMap's Caddyfile compiles, and every
// directory it reads is a volume of the Deployment mounted from a Secret of
// the same namespace.
func TestKubernetesCaddyGuide(t *testing.T) {
	data, err := os.ReadFile(example(t, "kubernetes/caddy.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var caddyfile string
	mounts := map[string]string{} // mount path -> secret name
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var doc struct {
			Kind     string `yaml:"kind"`
			Metadata struct {
				Namespace string `yaml:"namespace"`
			} `yaml:"metadata"`
			Data map[string]string `yaml:"data"`
			Spec struct {
				Template struct {
					Spec struct {
						Containers []struct {
							VolumeMounts []struct {
								Name      string `yaml:"name"`
								MountPath string `yaml:"mountPath"`
							} `yaml:"volumeMounts"`
						} `yaml:"containers"`
						Volumes []struct {
							Name   string `yaml:"name"`
							Secret *struct {
								SecretName string `yaml:"secretName"`
							} `yaml:"secret"`
						} `yaml:"volumes"`
					} `yaml:"spec"`
				} `yaml:"template"`
			} `yaml:"spec"`
		}
		if err := dec.Decode(&doc); err != nil {
			break
		}
		if doc.Metadata.Namespace != "openfaas" {
			t.Errorf("%s in namespace %q: the gateway's secrets are in openfaas", doc.Kind, doc.Metadata.Namespace)
		}
		switch doc.Kind {
		case "ConfigMap":
			caddyfile = doc.Data["Caddyfile"]
		case "Deployment":
			secrets := map[string]string{}
			for _, v := range doc.Spec.Template.Spec.Volumes {
				if v.Secret != nil {
					secrets[v.Name] = v.Secret.SecretName
				}
			}
			for _, c := range doc.Spec.Template.Spec.Containers {
				for _, m := range c.VolumeMounts {
					if s, ok := secrets[m.Name]; ok {
						mounts[m.MountPath] = s
					}
				}
			}
		}
	}
	if caddyfile == "" || mounts["/var/openfaas/secrets/gateway"] != "basic-auth" || mounts["/var/openfaas/secrets/functions"] != "funcauth-keys" {
		t.Fatalf("Caddyfile %d bytes, secret mounts %v", len(caddyfile), mounts)
	}
	for _, h := range funcauthConfigs(t, []byte(caddyfile)) {
		compile(t, h, "/var/openfaas/secrets/gateway", "/var/openfaas/secrets/functions")
	}
}

// TestComposeGuide: the Compose file builds the Dockerfile of
// examples/docker, mounts the function keys where SECRETS_DIR says, and
// requires the admin hash.
func TestComposeGuide(t *testing.T) {
	data, err := os.ReadFile(example(t, "compose/compose.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var compose struct {
		Services map[string]struct {
			Build struct {
				Context    string `yaml:"context"`
				Dockerfile string `yaml:"dockerfile"`
			} `yaml:"build"`
			Environment map[string]string `yaml:"environment"`
			Volumes     []string          `yaml:"volumes"`
		} `yaml:"services"`
	}
	if err := yaml.Unmarshal(data, &compose); err != nil {
		t.Fatal(err)
	}
	caddy, ok := compose.Services["caddy"]
	if !ok {
		t.Fatal("no caddy service")
	}
	if _, err := os.Stat(filepath.Join(example(t, "compose"), caddy.Build.Context, caddy.Build.Dockerfile)); err != nil {
		t.Errorf("the caddy service builds a Dockerfile that is not there: %v", err)
	}
	mounted := false
	for _, v := range caddy.Volumes {
		mounted = mounted || strings.HasSuffix(strings.TrimSuffix(v, ":ro"), ":"+caddy.Environment["SECRETS_DIR"])
	}
	if !mounted || !strings.Contains(caddy.Environment["FUNCAUTH_ADMIN_HASH"], ":?") {
		t.Errorf("SECRETS_DIR %q is not a volume (%v), or the admin hash is not required", caddy.Environment["SECRETS_DIR"], caddy.Volumes)
	}
	dockerCaddyfile, err := os.ReadFile(example(t, "../docker/Caddyfile"))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"SITE", "GATEWAY", "SECRETS_DIR", "FUNCAUTH_ADMIN_HASH"} {
		if !bytes.Contains(dockerCaddyfile, []byte(name)) {
			t.Errorf("examples/docker/Caddyfile does not read %s, which the Compose file sets", name)
		}
	}
}
