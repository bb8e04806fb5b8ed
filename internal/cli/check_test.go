package cli_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	_ "github.com/caddyserver/caddy/v2/modules/standard"

	_ "github.com/funcauth/funcauth/caddyauth"
	"github.com/funcauth/funcauth/internal/cli"
)

// TestCheckPassesOnExamples: every example configuration of the
// repository passes `funcauth check`, in the format auto-detection picks.
func TestCheckPassesOnExamples(t *testing.T) {
	for _, tc := range []struct{ file, format string }{
		{"Caddyfile.example", "caddyfile"},
		{"examples/docker/Caddyfile", "caddyfile"},
		{"examples/deploy/faasd/Caddyfile", "caddyfile"},
		{"examples/deploy/kubernetes/caddy.yaml", "kubernetes"},
		{"examples/traefik/file/dynamic.yml", "traefik-yaml"},
		{"examples/traefik/kubernetes/middleware.yaml", "kubernetes"},
		{"examples/traefik/docker/docker-compose.yml", "compose"},
		{"examples/deploy/compose/compose.yaml", "compose"}, // its Caddyfile, from the Dockerfile it builds
	} {
		t.Run(tc.file, func(t *testing.T) {
			out, ok := cli.CheckFile(filepath.Join("..", "..", tc.file), "auto")
			if !ok {
				t.Fatalf("refused:\n%s", out)
			}
			if !strings.Contains(out, "("+tc.format+")") {
				t.Errorf("not read as %s: %s", tc.format, out)
			}
		})
	}
}

// TestCheckRefusesBrokenConfigurations: a broken configuration fails the
// check with the file, the line at fault and the reason.
func TestCheckRefusesBrokenConfigurations(t *testing.T) {
	for _, tc := range []struct {
		name, content string
		line          string // file:line the message names
		want          []string
	}{
		{"misspelt.yml", `http:
  middlewares:
    funcauth:
      plugin:
        funcauth:
          preset: openfaas
          basicAuth:
            gatewaySecretDir: /var/openfaas/secrets
`, ":8:", []string{"basicAuth.gatewaySecretDir", `did you mean "gatewaySecretsDir"`}},
		{"misspelt.toml", `[http.middlewares.funcauth.plugin.funcauth]
preset = "openfaas"

[http.middlewares.funcauth.plugin.funcauth.basicAuth]
gatewaySecretsDir = "/var/openfaas/secrets"
realmm = "x"
`, ":6:", []string{"basicAuth.realmm", `did you mean "realm"`}},
		{"bad-rule.yml", `apiVersion: traefik.io/v1alpha1
kind: Middleware
metadata:
  name: funcauth
spec:
  plugin:
    funcauth:
      rules:
        - path: /healthz
          require: open
        - path: /function/*
          require: sometimes
`, ":12:", []string{"rules[1].require"}},
		{"Caddyfile.scheme", `example.com {
	funcauth openfaas {
		user admin {env.ADMIN_HASH}
		signature fancy-scheme {env.KEY}
	}
	respond ok
}
`, ":4", []string{"unknown signature scheme", "fancy-scheme"}},
		{"Caddyfile.rule", `example.com {
	funcauth openfaas {
		gateway_secrets /var/openfaas/secrets
		signature faas-cli {env.KEY}
		rule /function/* sometimes
	}
	respond ok
}
`, ":5:", []string{"rules[0].require", "sometimes"}},
		{"Caddyfile.bcrypt", `example.com {
	funcauth openfaas {
		gateway_secrets /var/openfaas/secrets

		user admin $2a$14$truncated
	}
	respond ok
}
`, ":5", []string{"not a whole bcrypt hash"}},
		{"Caddyfile.syntax", `example.com {
	funcauth openfaas {
		gateway_secrets /var/openfaas/secrets
		signatur faas-cli
	}
}
`, ":4", []string{"signatur"}},
		{"caddy.json", `{
  "apps": {"http": {"servers": {"s": {"routes": [{"handle": [
    {
      "handler": "funcauth",
      "preset": "openfaas",
      "basic_auth": {"gateway_secrets_dir": "/x"},
      "signatures": [{"scheme": "faas-cli", "keys": ["{env.KEY}"]}],
      "rate_limits": [{"rate": "fast"}]
    }
  ]}]}}}}
}
`, ":8:", []string{"rate_limits[0].rate"}},
		{"compose-labels.yml", `services:
  gateway:
    image: ghcr.io/openfaas/gateway:latest
    labels:
      - traefik.enable=true
      - traefik.http.routers.openfaas.middlewares=funcauth
      - traefik.http.middlewares.funcauth.plugin.funcauth.preset=openfaas
      - traefik.http.middlewares.funcauth.plugin.funcauth.basicAuth.gatewaySecretDir=/var/openfaas/secrets
      - traefik.http.middlewares.funcauth.plugin.funcauth.signatures[0].scheme=faas-cli
`, ":8:", []string{"service gateway: middleware funcauth", "basicAuth.gatewaySecretDir", `did you mean "gatewaySecretsDir"`}},
		{"compose-map.yaml", `services:
  gateway:
    image: ghcr.io/openfaas/gateway:latest
    labels:
      traefik.http.middlewares.lock.plugin.funcauth.preset: openfaas
      traefik.http.middlewares.lock.plugin.funcauth.basicAuth.gatewaySecretsDir: /var/openfaas/secrets
      traefik.http.middlewares.lock.plugin.funcauth.signatures[0].scheme: faas-cli
      traefik.http.middlewares.lock.plugin.funcauth.signatures[0].functionKeyFile: /var/openfaas/secrets/{function}-hmac
      traefik.http.middlewares.lock.plugin.funcauth.rateLimits[0].rate: fast
`, ":9:", []string{"middleware lock", "rate_limits[0].rate"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			name := filepath.Join(t.TempDir(), tc.name)
			if err := os.WriteFile(name, []byte(tc.content), 0o600); err != nil {
				t.Fatal(err)
			}
			out, ok := cli.CheckFile(name, "auto")
			if ok {
				t.Fatalf("passed:\n%s", out)
			}
			if !strings.Contains(out, name+tc.line) {
				t.Errorf("does not name %s%s:\n%s", tc.name, tc.line, out)
			}
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("does not say %q:\n%s", w, out)
				}
			}
		})
	}
}

// TestCheckComposeCaddyfile: a Caddyfile that a Compose service mounts is
// checked, and a broken one is refused with its own file and line.
func TestCheckComposeCaddyfile(t *testing.T) {
	dir := t.TempDir()
	compose := filepath.Join(dir, "compose.yaml")
	if err := os.WriteFile(compose, []byte(`services:
  caddy:
    image: caddy-funcauth
    volumes:
      - ./Caddyfile:/etc/caddy/Caddyfile:ro
`), 0o600); err != nil {
		t.Fatal(err)
	}
	caddyfile := filepath.Join(dir, "Caddyfile")
	if err := os.WriteFile(caddyfile, []byte(`example.com {
	funcauth openfaas {
		gateway_secrets /var/openfaas/secrets
		rule /function/* sometimes
	}
	respond ok
}
`), 0o600); err != nil {
		t.Fatal(err)
	}
	out, ok := cli.CheckFile(compose, "auto")
	if ok || !strings.Contains(out, caddyfile+":4:") || !strings.Contains(out, "sometimes") {
		t.Errorf("a broken mounted Caddyfile: ok %v\n%s", ok, out)
	}
	os.Remove(caddyfile)
	if out, ok := cli.CheckFile(compose, "auto"); ok || !strings.Contains(out, compose+":5:") {
		t.Errorf("a missing mounted Caddyfile: ok %v\n%s", ok, out)
	}
}

// TestCheckCommand runs `funcauth check` through the command line.
func TestCheckCommand(t *testing.T) {
	var stdout, stderr strings.Builder
	status := cli.Run("funcauth", []string{"check", "../../examples/traefik/file/dynamic.yml", "../../Caddyfile.example"}, &cli.Env{Stdin: strings.NewReader(""), Stdout: &stdout, Stderr: &stderr})
	if status != cli.ExitOK {
		t.Fatalf("status %d: %s", status, stderr.String())
	}
	if strings.Count(stdout.String(), "valid") != 2 {
		t.Errorf("output: %s", stdout.String())
	}
	stderr.Reset()
	if status := cli.Run("funcauth", []string{"check", "--format", "nginx", "x"}, &cli.Env{Stdout: &stdout, Stderr: &stderr}); status != cli.ExitUsage {
		t.Errorf("unknown format: status %d", status)
	}
	if status := cli.Run("funcauth", []string{"check"}, &cli.Env{Stdout: &stdout, Stderr: &stderr}); status != cli.ExitUsage {
		t.Errorf("no file: status %d", status)
	}
}

// TestCheckCaddyPlaceholders: secrets given as placeholders pass in the
// form their scheme needs; a placeholder Caddy does not know is refused,
// as Caddy refuses it.
func TestCheckCaddyPlaceholders(t *testing.T) {
	good := `example.com {
	funcauth {
		rule /a signature
		signature discord {env.DISCORD_PUBLIC_KEY}
		signature svix {
			key_file /run/secrets/svix
		}
		signature http-message-signatures {
			key_env HTTPSIG_KEY
		}
	}
	respond ok
}
`
	name := filepath.Join(t.TempDir(), "Caddyfile")
	os.WriteFile(name, []byte(good), 0o600)
	if out, ok := cli.CheckFile(name, "auto"); !ok {
		t.Fatalf("refused:\n%s", out)
	}
	bad := strings.Replace(good, "{env.DISCORD_PUBLIC_KEY}", "{envv.DISCORD_PUBLIC_KEY}", 1)
	os.WriteFile(name, []byte(bad), 0o600)
	out, ok := cli.CheckFile(name, "auto")
	if ok || !strings.Contains(out, "signatures[0].keys[0]") || !strings.Contains(out, name+":4:") {
		t.Errorf("a misspelt placeholder: %v\n%s", ok, out)
	}
}
