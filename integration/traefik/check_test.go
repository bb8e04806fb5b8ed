package traefik

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/mitchellh/mapstructure"
	"github.com/traefik/paerser/file"
	"github.com/traefik/paerser/parser"
	"gopkg.in/yaml.v3"

	"github.com/funcauth/funcauth"
	"github.com/funcauth/funcauth/internal/cli"
)

// traefikDecode decodes a plugin's options into a Config as Traefik does
// (internal/traefikload: mapstructure, weakly typed, "a,b" lists).
func traefikDecode(t *testing.T, options map[string]interface{}) *funcauth.Config {
	t.Helper()
	cfg := &funcauth.Config{}
	dec, err := mapstructure.NewDecoder(&mapstructure.DecoderConfig{
		DecodeHook:       mapstructure.StringToSliceHookFunc(","),
		WeaklyTypedInput: true,
		Result:           cfg,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := dec.Decode(options); err != nil {
		t.Fatal(err)
	}
	return cfg
}

// labelOptions decodes the labels of a Compose file's service as
// Traefik's Docker provider does (paerser's label parser) and returns the
// options of middleware mw's funcauth plugin.
func labelOptions(t *testing.T, compose []byte, service, mw string) map[string]interface{} {
	t.Helper()
	var doc struct {
		Services map[string]struct {
			Labels yaml.Node `yaml:"labels"`
		} `yaml:"services"`
	}
	if err := yaml.Unmarshal(compose, &doc); err != nil {
		t.Fatal(err)
	}
	node := doc.Services[service].Labels
	labels := map[string]string{}
	var list []string
	if err := node.Decode(&list); err == nil {
		for _, l := range list {
			k, v, _ := strings.Cut(l, "=")
			labels[k] = v
		}
	} else if err := node.Decode(&labels); err != nil {
		t.Fatal(err)
	}
	cfg := &dynamicConfig{}
	if err := parser.Decode(labels, cfg, parser.DefaultRootName, "traefik.http.middlewares"); err != nil {
		t.Fatal(err)
	}
	if cfg.HTTP == nil || cfg.HTTP.Middlewares[mw] == nil || cfg.HTTP.Middlewares[mw].Plugin["funcauth"] == nil {
		t.Fatalf("no funcauth plugin in middleware %s", mw)
	}
	return cfg.HTTP.Middlewares[mw].Plugin["funcauth"]
}

// sameConfig compares two Configs field by field, UnknownOptions included.
func sameConfig(t *testing.T, what string, got, want *funcauth.Config) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s: funcauth check decodes\n%#v\nTraefik decodes\n%#v", what, got, want)
	}
}

// TestCheckDecodesAsTraefik: `funcauth check` reads each Traefik example
// into the same Config as Traefik does (the file provider through
// paerser, the Kubernetes CRD as typed JSON), so what check passes is what
// Traefik loads.
func TestCheckDecodesAsTraefik(t *testing.T) {
	t.Run("file/dynamic.yml", func(t *testing.T) {
		data := readExample(t, "file/dynamic.yml", "/var/openfaas/secrets")
		cfg := &dynamicConfig{}
		if err := file.DecodeContent(string(data), ".yml", cfg); err != nil {
			t.Fatal(err)
		}
		got, err := cli.Configs(examplePath(t, "file/dynamic.yml"), "auto")
		if err != nil || len(got) != 1 {
			t.Fatalf("check: %d configurations, %v", len(got), err)
		}
		sameConfig(t, "file/dynamic.yml", got[0], traefikDecode(t, pluginOptions(t, cfg)))
	})
	t.Run("kubernetes/middleware.yaml", func(t *testing.T) {
		data := readExample(t, "kubernetes/middleware.yaml", "/var/openfaas/secrets")
		var doc struct {
			Spec struct {
				Plugin map[string]map[string]interface{} `yaml:"plugin"`
			} `yaml:"spec"`
		}
		if err := yaml.NewDecoder(bytes.NewReader(data)).Decode(&doc); err != nil {
			t.Fatal(err)
		}
		got, err := cli.Configs(examplePath(t, "kubernetes/middleware.yaml"), "auto")
		if err != nil || len(got) != 1 {
			t.Fatalf("check: %d configurations, %v", len(got), err)
		}
		sameConfig(t, "kubernetes/middleware.yaml", got[0], traefikDecode(t, doc.Spec.Plugin["funcauth"]))
	})
	// Docker labels, through paerser's label parser as Traefik's Docker
	// provider decodes them.
	t.Run("docker/docker-compose.yml", func(t *testing.T) {
		got, err := cli.Configs(examplePath(t, "docker/docker-compose.yml"), "auto")
		if err != nil || len(got) != 1 {
			t.Fatalf("check: %d configurations, %v", len(got), err)
		}
		sameConfig(t, "docker/docker-compose.yml", got[0], traefikDecode(t, labelOptions(t, readExample(t, "docker/docker-compose.yml", "/var/openfaas/secrets"), "gateway", "funcauth")))
	})
	// Labels that exercise the label parser's corners: a map of labels,
	// keys differing in case, list indexes sorted as strings ([10] before
	// [2]) and not contiguous, a comma-separated list.
	t.Run("labels corners", func(t *testing.T) {
		compose := []byte(`services:
  gateway:
    labels:
      traefik.http.middlewares.lock.plugin.funcauth.preset: openfaas
      traefik.http.middlewares.lock.plugin.funcauth.basicAuth.gatewaySecretsDir: /s
      traefik.http.middlewares.lock.plugin.funcauth.BasicAuth.cacheSize: "20"
      traefik.http.middlewares.lock.plugin.funcauth.signatures[0].scheme: faas-cli
      traefik.http.middlewares.lock.plugin.funcauth.signatures[0].keys: a,b
      traefik.http.middlewares.lock.plugin.funcauth.signatures[2].scheme: github
      traefik.http.middlewares.lock.plugin.funcauth.signatures[2].keys: c
      traefik.http.middlewares.lock.plugin.funcauth.signatures[10].scheme: stripe
      traefik.http.middlewares.lock.plugin.funcauth.signatures[10].keys: d
      traefik.http.middlewares.lock.plugin.funcauth.bans.allowList: 10.0.0.0/8,192.0.2.1
      traefik.http.middlewares.lock.plugin.funcauth.typo: x
      traefik.http.routers.r.middlewares: lock
`)
		name := filepath.Join(t.TempDir(), "compose.yaml")
		if err := os.WriteFile(name, compose, 0o600); err != nil {
			t.Fatal(err)
		}
		got, err := cli.Configs(name, "auto")
		if err != nil || len(got) != 1 {
			t.Fatalf("check: %d configurations, %v", len(got), err)
		}
		want := traefikDecode(t, labelOptions(t, compose, "gateway", "lock"))
		if len(want.Signatures) != 3 || want.Signatures[1].Scheme != "stripe" {
			t.Fatalf("paerser no longer orders list labels as strings: %+v", want.Signatures)
		}
		sameConfig(t, "labels corners", got[0], want)
	})
	// Options that exercise the decoder's corners: string scalars, a
	// comma-separated list, case-insensitive keys, unknown options kept.
	t.Run("corners", func(t *testing.T) {
		options := map[string]interface{}{
			"PRESET":    "openfaas",
			"basicauth": map[string]interface{}{"gatewaySecretsDir": "/s", "cacheSize": "20", "realmm": "x"},
			"signatures": []interface{}{
				map[string]interface{}{"scheme": "github", "keys": "a,b", "allowEmptyBody": "true", "extra": 1},
			},
			"bans":       map[string]interface{}{"maxFailures": 5, "disabled": false, "allowList": []interface{}{"10.0.0.0/8"}},
			"rateLimits": []interface{}{map[string]interface{}{"rate": "20/s", "burst": "40"}},
			"store":      map[string]interface{}{"address": "redis://r:6379", "database": "2", "tls": map[string]interface{}{"enabled": "true"}},
			"typo":       "x",
		}
		got, err := cli.DecodeTraefik(options)
		if err != nil {
			t.Fatal(err)
		}
		sameConfig(t, "corners", got, traefikDecode(t, options))
	})
}
