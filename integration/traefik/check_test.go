package traefik

import (
	"bytes"
	"reflect"
	"testing"

	"github.com/mitchellh/mapstructure"
	"github.com/traefik/paerser/file"
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
