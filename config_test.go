package funcauth

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/funcauth/funcauth/internal/configwalk"
)

func TestConfigErrorsNameTheField(t *testing.T) {
	user := []User{{Name: "admin", PasswordHash: testHash}}
	faas := []Signature{{Scheme: "faas-cli", Keys: []string{"top-secret-key"}}}
	missing := filepath.Join(t.TempDir(), "missing")
	for _, tc := range []struct {
		name string
		cfg  Config
		want string
	}{
		{"nothing", Config{}, "rules: no rules and no preset"},
		{"unknown preset", Config{Preset: "kong"}, "preset: unknown preset"},
		{"preset without users", Config{Preset: "openfaas", Signatures: faas}, "needs Basic Auth, but basic_auth configures no users"},
		{"preset without signatures", Config{Preset: "openfaas", BasicAuth: &BasicAuth{Users: user}}, "needs a signature, but no signatures are configured"},
		{"empty path", Config{Rules: []Rule{{Require: "open"}}}, "rules[0].path: path is empty"},
		{"relative path", Config{Rules: []Rule{{Path: "x", Require: "open"}}}, "rules[0].path"},
		{"no requirement", Config{Rules: []Rule{{Path: "*"}}}, "rules[0].require: is empty"},
		{"unknown requirement", Config{Rules: []Rule{{Path: "*", Require: "maybe"}}}, "rules[0].require: unknown requirement"},
		{"bad method", Config{Rules: []Rule{{Path: "*", Require: "open", Methods: []string{"GE T"}}}}, "rules[0].methods[0]"},
		{"bad host", Config{Rules: []Rule{{Path: "*", Require: "open", Hosts: []string{"a.com:80"}}}}, "rules[0].hosts[0]"},
		{"unknown verifier", Config{Rules: []Rule{{Path: "*", Require: "signature", Signatures: []string{"stripe"}}}, Signatures: faas}, "rules[0].signatures[0]: no signature verifier is named \"stripe\""},
		{"signatures on a basic rule", Config{Rules: []Rule{{Path: "*", Require: "basic", Signatures: []string{"faas-cli"}}}, BasicAuth: &BasicAuth{Users: user}, Signatures: faas}, "rules[0].signatures: is only used"},
		{"IAM realm", Config{Rules: []Rule{{Path: "*", Require: "basic"}}, BasicAuth: &BasicAuth{Realm: "IAM function invoke", Users: user}}, "basic_auth.realm: \"IAM function invoke\""},
		{"quote in realm", Config{Rules: []Rule{{Path: "*", Require: "basic"}}, BasicAuth: &BasicAuth{Realm: `a"b`, Users: user}}, "basic_auth.realm"},
		{"user without name", Config{Rules: []Rule{{Path: "*", Require: "basic"}}, BasicAuth: &BasicAuth{Users: []User{{PasswordHash: testHash}}}}, "basic_auth.users[0].name: is empty"},
		{"user without hash", Config{Rules: []Rule{{Path: "*", Require: "basic"}}, BasicAuth: &BasicAuth{Users: []User{{Name: "a"}}}}, "basic_auth.users[0].password_hash: is empty"},
		{"plain-text password", Config{Rules: []Rule{{Path: "*", Require: "basic"}}, BasicAuth: &BasicAuth{Users: []User{{Name: "a", PasswordHash: "hunter2"}}}}, "basic_auth.users[0].password_hash: looks like a plain-text password"},
		{"duplicate user", Config{Rules: []Rule{{Path: "*", Require: "basic"}}, BasicAuth: &BasicAuth{Users: []User{user[0], user[0]}}}, "basic_auth.users[1].name: user \"admin\" is configured twice"},
		{"missing htpasswd", Config{Rules: []Rule{{Path: "*", Require: "basic"}}, BasicAuth: &BasicAuth{HtpasswdFile: missing}}, "basic_auth.htpasswd_file: file " + missing + " does not exist"},
		{"missing gateway secrets", Config{Rules: []Rule{{Path: "*", Require: "basic"}}, BasicAuth: &BasicAuth{GatewaySecretsDir: missing}}, "basic_auth.gateway_secrets_dir: file " + missing},
		{"realm without users", Config{Rules: []Rule{{Path: "*", Require: "open"}}, BasicAuth: &BasicAuth{Realm: "x"}}, "basic_auth.realm: is set, but basic_auth configures no users"},
		{"no scheme", Config{Rules: []Rule{{Path: "*", Require: "signature"}}, Signatures: []Signature{{Keys: []string{"k"}}}}, "signatures[0].scheme: is empty"},
		{"unknown scheme", Config{Rules: []Rule{{Path: "*", Require: "signature"}}, Signatures: []Signature{{Scheme: "rot13", Keys: []string{"k"}}}}, "signatures[0].scheme: unknown scheme \"rot13\""},
		{"no keys", Config{Rules: []Rule{{Path: "*", Require: "signature"}}, Signatures: []Signature{{Scheme: "faas-cli"}}}, "signatures[0]: has no keys"},
		{"empty key", Config{Rules: []Rule{{Path: "*", Require: "signature"}}, Signatures: []Signature{{Scheme: "faas-cli", Keys: []string{"a", " "}}}}, "signatures[0].keys[1]: is empty"},
		{"missing key file", Config{Rules: []Rule{{Path: "*", Require: "signature"}}, Signatures: []Signature{{Scheme: "faas-cli", KeyFiles: []string{missing}}}}, "signatures[0].key_files[0]: file " + missing + " does not exist"},
		{"function key pattern without function", Config{Rules: []Rule{{Path: "*", Require: "signature"}}, Signatures: []Signature{{Scheme: "faas-cli", FunctionKeyFile: "/tmp/key"}}}, "signatures[0].function_key_file: must contain {function}"},
		{"function key directory missing", Config{Rules: []Rule{{Path: "*", Require: "signature"}}, Signatures: []Signature{{Scheme: "faas-cli", FunctionKeyFile: missing + "/{function}"}}}, "signatures[0].function_key_file: directory " + missing + " does not exist"},
		{"faas-cli sha512", Config{Rules: []Rule{{Path: "*", Require: "signature"}}, Signatures: []Signature{{Scheme: "faas-cli", Keys: []string{"k"}, Algorithms: []string{"sha512"}}}}, "signatures[0].algorithms: faas-cli signs with sha256"},
		{"field another scheme uses", Config{Rules: []Rule{{Path: "*", Require: "signature"}}, Signatures: []Signature{{Scheme: "github", Keys: []string{"k"}, Prefix: "x"}}}, "signatures[0].prefix: is not used by scheme github"},
		{"allow_empty_body on a timestamped scheme", Config{Rules: []Rule{{Path: "*", Require: "signature"}}, Signatures: []Signature{{Scheme: "stripe", Keys: []string{"k"}, AllowEmptyBody: true}}}, "signatures[0].allow_empty_body: is not used by scheme stripe"},
		{"function segment that names no function", Config{Rules: []Rule{{Path: "/function/a.b.c", Require: "deny"}}}, "rules[0].path: path \"/function/a.b.c\": the segment after the route must be a function"},
		{"memory budget too small", Config{Rules: []Rule{{Path: "*", Require: "deny"}}, Body: &Body{MemoryBudget: "1KiB"}}, "body.memory_budget: must be at least 32KiB"},
		{"generic without header", Config{Rules: []Rule{{Path: "*", Require: "signature"}}, Signatures: []Signature{{Scheme: "generic", Keys: []string{"k"}, Algorithms: []string{"sha256"}}}}, "signatures[0].header"},
		{"duplicate verifier names", Config{Rules: []Rule{{Path: "*", Require: "signature"}}, Signatures: append(faas, faas...)}, "signatures[1].name: another verifier is already named \"faas-cli\""},
		{"bad tolerance", Config{Rules: []Rule{{Path: "*", Require: "signature"}}, Signatures: []Signature{{Scheme: "faas-cli", Keys: []string{"k"}, Tolerance: "5"}}}, "signatures[0].tolerance"},
		{"bad max size", Config{Rules: []Rule{{Path: "*", Require: "open"}}, Body: &Body{MaxSize: "lots"}}, "body.max_size"},
		{"missing temp dir", Config{Rules: []Rule{{Path: "*", Require: "open"}}, Body: &Body{TempDir: missing}}, "body.temp_dir"},
		{"bad header name", Config{Rules: []Rule{{Path: "*", Require: "open"}}, Upstream: &Upstream{UserHeader: "X User"}}, "upstream.user_header"},
		{"bad trusted proxy", Config{Rules: []Rule{{Path: "*", Require: "open"}}, ClientAddress: &ClientAddress{TrustedProxies: []string{"10.0.0.0/33"}}}, "client_address.trusted_proxies[0]"},
		{"bad ipv6 prefix", Config{Rules: []Rule{{Path: "*", Require: "open"}}, ClientAddress: &ClientAddress{IPv6Prefix: 8}}, "client_address.ipv6_prefix"},
		{"bad ban window", Config{Rules: []Rule{{Path: "*", Require: "open"}}, Bans: &Bans{Window: "0s"}}, "bans.window"},
		{"bad allow list", Config{Rules: []Rule{{Path: "*", Require: "open"}}, Bans: &Bans{AllowList: []string{"localhost"}}}, "bans.allow_list[0]"},
		{"rate without count", Config{Rules: []Rule{{Path: "*", Require: "open"}}, RateLimits: []RateLimit{{Rate: "/s"}}}, "rate_limits[0].rate"},
		{"unknown rate key", Config{Rules: []Rule{{Path: "*", Require: "open"}}, RateLimits: []RateLimit{{Rate: "1/s", Key: "moon"}}}, "rate_limits[0].key"},
		{"unknown option", Config{Rules: []Rule{{Path: "*", Require: "open"}}, Bans: &Bans{UnknownOptions: map[string]interface{}{"maxFailure": "3"}}}, "bans.maxFailure: unknown option"},
		{"unknown nested option", Config{Rules: []Rule{{Path: "*", Require: "signature"}}, Signatures: []Signature{{Scheme: "faas-cli", Keys: []string{"k"}, UnknownOptions: map[string]interface{}{"keyFile": "/x"}}}}, "signatures[0].keyFile: unknown option"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(&tc.cfg, Options{})
			if err == nil {
				t.Fatalf("accepted; want an error with %q", tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q, want it to contain %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "top-secret-key") || strings.Contains(err.Error(), "hunter2") {
				t.Fatalf("the error reveals a secret: %q", err)
			}
			if msg := err.Error(); strings.HasSuffix(msg, ": ") || strings.HasSuffix(msg, ":") {
				t.Fatalf("the error ends in a dangling colon: %q", msg)
			}
		})
	}
}

func TestConfigJSONUsesSnakeCaseAndHidesNothing(t *testing.T) {
	// The JSON form is Caddy's; every field has a json tag, UnknownOptions
	// none that Caddy would render.
	data, err := json.Marshal(Config{Preset: "openfaas", BasicAuth: &BasicAuth{GatewaySecretsDir: "/var/openfaas/secrets"}})
	if err != nil {
		t.Fatal(err)
	}
	if string(data) != `{"preset":"openfaas","basic_auth":{"gateway_secrets_dir":"/var/openfaas/secrets"}}` {
		t.Fatalf("got %s", data)
	}
}

func TestValidConfigFromExampleFiles(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "basic-auth-user"), []byte("admin"), 0o600)
	os.WriteFile(filepath.Join(dir, "basic-auth-password"), []byte("pw"), 0o600)
	cfg := &Config{Preset: "openfaas", BasicAuth: &BasicAuth{GatewaySecretsDir: dir},
		Signatures: []Signature{{Scheme: "faas-cli", FunctionKeyFile: filepath.Join(dir, "{function}")}}}
	if _, err := New(cfg, Options{}); err != nil {
		t.Fatal(err)
	}
}

// TestEveryOptionIsDocumented walks the Config: docs/configuration.md
// names every option by its JSON path ("rules[].methods"), or on a line
// that names its section ("store.tls") by its own name ("`ca_file`", or
// "`.burst`" after "`rate_limits[].rate`").
func TestEveryOptionIsDocumented(t *testing.T) {
	data, err := os.ReadFile("docs/configuration.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(data)
	options, _ := configwalk.Walk(reflect.TypeOf(Config{}))
	for _, o := range options {
		if strings.Contains(doc, "`"+o.JSON+"`") {
			continue
		}
		found := false
		for _, line := range strings.Split(doc, "\n") {
			if o.Section != "" && strings.Contains(line, "`"+o.Section) &&
				(strings.Contains(line, "`"+o.Name+"`") || strings.Contains(line, "`."+o.Name+"`")) {
				found = true
				break
			}
		}
		if !found {
			t.Errorf("docs/configuration.md does not name %s", o.JSON)
		}
	}
}
