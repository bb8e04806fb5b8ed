package caddyauth

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2/caddyconfig"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddytest"
)

var update = flag.Bool("update", false, "rewrite the expected JSON of testdata/caddyfile")

// TestCaddyfileAdapt compares `caddy adapt` of each Caddyfile in
// testdata/caddyfile with the JSON after its "----------" line.
func TestCaddyfileAdapt(t *testing.T) {
	files, _ := filepath.Glob("testdata/caddyfile/*.caddyfiletest")
	if len(files) == 0 {
		t.Fatal("no Caddyfile tests")
	}
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		caddyfileText, expected, ok := strings.Cut(string(data), "----------\n")
		if !ok {
			t.Fatalf("%s: no ---------- line", file)
		}
		if *update {
			adapted, _, err := caddyconfig.GetAdapter("caddyfile").Adapt([]byte(caddyfileText), nil)
			if err != nil {
				t.Fatalf("%s: %v", file, err)
			}
			var pretty bytes.Buffer
			if err := json.Indent(&pretty, adapted, "", "\t"); err != nil {
				t.Fatal(err)
			}
			pretty.WriteString("\n")
			os.WriteFile(file, []byte(caddyfileText+"----------\n"+pretty.String()), 0o644)
			continue
		}
		if !caddytest.CompareAdapt(t, file, caddyfileText, "caddyfile", strings.TrimRight(expected, "\n")) {
			t.Errorf("%s: adapted JSON differs (diff above); go test -run CaddyfileAdapt -update rewrites it", file)
		}
	}
}

func TestCaddyfileErrors(t *testing.T) {
	for _, tc := range []struct{ input, want string }{
		{"funcauth openfaas extra", "wrong argument count"},
		{"funcauth {\n realmm x\n}", `unknown funcauth subdirective "realmm" (did you mean "realm"?)`},
		{"funcauth {\n signature faas-cl k\n}", `unknown signature scheme "faas-cl" (did you mean "faas-cli"?)`},
		{"funcauth {\n signature githubb k\n}", `(did you mean "github"?)`},
		{"funcauth {\n signature faas-cli k {\n key_fil x\n }\n}", `unknown subdirective "key_fil" (did you mean "key_file"?)`},
		{"funcauth {\n user admin $2a$14$ajq8Q7fbtFRQvXpdCq7Jcuy.Rx1h/L4J60Otx.gyNLbAYctGMJ9t\n}", "not a whole bcrypt hash"},
		{"funcauth {\n user admin $argon2id$v=19$m=65536,t=3\n}", "not a whole argon2id hash"},
		{"funcauth {\n user admin $pbkdf2-sha256$i=100000$c2FsdA\n}", "user admin: the password hash"},
		{"funcauth {\n user admin hunter2\n}", "plain-text password"},
		{"funcauth {\n user admin\n}", "wrong argument count"},
		{"funcauth {\n signature\n}", "wrong argument count"},
		{"funcauth {\n signature faas-cli {\n keys x\n }\n}", `unknown subdirective "keys"`},
		{"funcauth {\n rule /x\n}", "wrong argument count"},
		{"funcauth {\n bans maybe\n}", "bans takes a block"},
		{"funcauth {\n cache_size many\n}", "not a whole number"},
		{"funcauth {\n strip_authorization yes\n}", "wrong argument count"},
		{"funcauth {\n signature faas-cli k {\n allow_empty_body yes\n }\n}", "wrong argument count"},
		{"funcauth {\n rate_limit\n}", "wrong argument count"},
		{"funcauth {\n store {\n sentinel m\n }\n}", "sentinel takes the primary's name and the Sentinels' addresses"},
		{"funcauth {\n store {\n sentinel m s:1\n sentinel m s:2\n }\n}", "sentinel is given twice"},
		{"funcauth {\n store a b\n}", "wrong argument count"},
		{"funcauth {\n store r:6379\n store r:6380\n}", "store is given twice"},
		{"funcauth {\n store r:6379 {\n passwd x\n }\n}", `unknown subdirective "passwd"`},
		{"funcauth {\n store r:6379 {\n tls on\n }\n}", "wrong argument count"},
	} {
		var h Handler
		err := h.UnmarshalCaddyfile(caddyfile.NewTestDispenser(tc.input))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: %v, want %q", tc.input, err, tc.want)
		}
	}
}

// TestCaddyfileExample keeps the repository's Caddyfile.example valid.
func TestCaddyfileExample(t *testing.T) {
	data, err := os.ReadFile("../Caddyfile.example")
	if err != nil {
		t.Fatal(err)
	}
	adapted, warnings, err := caddyconfig.GetAdapter("caddyfile").Adapt(data, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range warnings {
		t.Errorf("warning: %s", w.String())
	}
	for _, want := range []string{`"handler":"funcauth"`, `"preset":"openfaas"`, `{env.FUNCAUTH_ADMIN_HASH}`, `"function_key_file":"/var/openfaas/secrets/{function}-hmac"`} {
		if !strings.Contains(string(adapted), want) {
			t.Errorf("adapted Caddyfile.example lacks %s", want)
		}
	}
}

// Every subdirective "did you mean" offers is one the parser knows.
func TestCaddyfileSubdirectivesAreKnown(t *testing.T) {
	for _, name := range subdirectives {
		var h Handler
		err := h.UnmarshalCaddyfile(caddyfile.NewTestDispenser("funcauth {\n " + name + "\n}"))
		if err != nil && strings.Contains(err.Error(), "unknown funcauth subdirective") {
			t.Errorf("%s: %v", name, err)
		}
	}
}
