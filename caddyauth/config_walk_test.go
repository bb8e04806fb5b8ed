package caddyauth

import (
	"reflect"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"

	"github.com/funcauth/funcauth"
	"github.com/funcauth/funcauth/internal/configwalk"
)

// Why a text option is not expanded from {env.*} and {file.*}
// placeholders: it holds no secret, file or address.
const (
	keyword   = "a keyword from a fixed list"
	matched   = "matched against requests or sent in responses, where a brace is meant literally"
	reference = "a name that rules, logs or the upstream refer to"
	quantity  = "a size, duration, rate or count, parsed as such"
	variable  = "names an environment variable, which funcauth reads itself"
	refused   = "refused in Caddy, which decides the client address itself"
)

// notExpanded are the text options expandPlaceholders leaves as written,
// with the reason. TestPlaceholdersInEveryOption fails for a text option
// that is neither expanded nor listed here, and for one listed that is.
var notExpanded = map[string]string{
	"preset":                         keyword,
	"refusal_body":                   keyword,
	"rules[].path":                   matched,
	"rules[].methods":                matched,
	"rules[].hosts":                  matched,
	"rules[].require":                keyword,
	"rules[].signatures":             reference,
	"basic_auth.realm":               matched,
	"signatures[].name":              reference,
	"signatures[].scheme":            keyword,
	"signatures[].header":            matched,
	"signatures[].algorithms":        keyword,
	"signatures[].encoding":          keyword,
	"signatures[].prefix":            matched,
	"signatures[].key_env":           variable,
	"signatures[].default_namespace": matched,
	"signatures[].tolerance":         quantity,
	"signatures[].components":        matched,
	"body.max_size":                  quantity,
	"body.memory_size":               quantity,
	"body.memory_budget":             quantity,
	"upstream.user_header":           matched,
	"upstream.signature_header":      matched,
	"bans.window":                    quantity,
	"bans.duration":                  quantity,
	"bans.allow_list":                matched,
	"rate_limits[].name":             reference,
	"rate_limits[].key":              keyword,
	"rate_limits[].path":             matched,
	"rate_limits[].rate":             quantity,
	"client_address.trusted_proxies": refused,
	"store.password_env":             variable,
	"store.timeout":                  quantity,
	"store.replay_on_error":          keyword,
	"store.bans_on_error":            keyword,
	"store.tls.server_name":          matched,
	"store.sentinel.master":          reference,
	"store.sentinel.password_env":    variable,
}

// TestPlaceholdersInEveryOption walks the Config and gives each text
// option in turn an {env.*} placeholder: expandPlaceholders must expand
// it, unless notExpanded says why not.
func TestPlaceholdersInEveryOption(t *testing.T) {
	t.Setenv("FUNCAUTH_WALK", "walked")
	options, _ := configwalk.Walk(reflect.TypeOf(funcauth.Config{}))
	seen := map[string]bool{}
	for _, o := range options {
		seen[o.JSON] = true
		var cfg funcauth.Config
		switch v := o.Set(&cfg); v.Interface().(type) {
		case string:
			v.SetString("{env.FUNCAUTH_WALK}")
		case []string:
			v.Set(reflect.ValueOf([]string{"{env.FUNCAUTH_WALK}"}))
		case int, bool:
			continue // JSON gives them no placeholder
		default:
			t.Errorf("%s: a %s; decide whether it takes placeholders", o.JSON, o.Type)
			continue
		}
		out, err := expandPlaceholders(&cfg, caddy.NewReplacer())
		if err != nil {
			t.Errorf("%s: %v", o.JSON, err)
			continue
		}
		v, _ := o.Get(out)
		expanded := strings.Contains(v.String(), "walked") || (v.Kind() == reflect.Slice && v.Index(0).String() == "walked")
		why, listed := notExpanded[o.JSON]
		switch {
		case !expanded && !listed:
			t.Errorf("%s: {env.*} is not expanded; expand it in expandPlaceholders, or say why not in notExpanded", o.JSON)
		case expanded && listed:
			t.Errorf("%s: expanded, yet notExpanded says %q", o.JSON, why)
		}
	}
	for name := range notExpanded {
		if !seen[name] {
			t.Errorf("notExpanded lists %s, which the Config has not", name)
		}
	}
}

// caddyfileSpelling sets each option of the Config from the Caddyfile: a
// funcauth directive's block, or the whole directive. The JSON-only
// options are in notInCaddyfile.
var caddyfileSpelling = map[string]string{
	"preset":                           "funcauth openfaas",
	"refusal_body":                     "refusal_body status",
	"rules[].path":                     "rule /x open",
	"rules[].methods":                  "rule /x open {\n methods GET\n}",
	"rules[].hosts":                    "rule /x open {\n hosts a.example\n}",
	"rules[].require":                  "rule /x open",
	"rules[].signatures":               "rule /x signature gh",
	"basic_auth.realm":                 "realm R",
	"basic_auth.users[].name":          "user admin {env.HASH}",
	"basic_auth.users[].password_hash": "user admin {env.HASH}",
	"basic_auth.htpasswd_file":         "htpasswd /h",
	"basic_auth.gateway_secrets_dir":   "gateway_secrets /s",
	"basic_auth.cache_size":            "cache_size 5",
	"signatures[].name":                "signature github {\n name gh\n}",
	"signatures[].scheme":              "signature github k",
	"signatures[].header":              "signature generic k {\n header X-Sig\n}",
	"signatures[].algorithms":          "signature github k {\n algorithms sha256\n}",
	"signatures[].encoding":            "signature generic k {\n encoding base64\n}",
	"signatures[].prefix":              "signature generic k {\n prefix sha256=\n}",
	"signatures[].keys":                "signature github k",
	"signatures[].key_files":           "signature github {\n key_file /k\n}",
	"signatures[].key_env":             "signature github {\n key_env K\n}",
	"signatures[].function_key_file":   "signature faas-cli {\n function_key_file /s/{function}\n}",
	"signatures[].default_namespace":   "signature faas-cli k {\n default_namespace fn\n}",
	"signatures[].tolerance":           "signature github k {\n tolerance 1m\n}",
	"signatures[].base_url":            "signature twilio k {\n base_url https://a.example\n}",
	"signatures[].allow_empty_body":    "signature github k {\n allow_empty_body\n}",
	"signatures[].components":          "signature http-message-signatures k {\n components @method\n}",
	"body.max_size":                    "max_body_size 1MiB",
	"body.memory_size":                 "body {\n memory_size 1KiB\n}",
	"body.memory_budget":               "body {\n memory_budget 1MiB\n}",
	"body.temp_dir":                    "body {\n temp_dir /t\n}",
	"upstream.user_header":             "upstream {\n user_header X-U\n}",
	"upstream.signature_header":        "upstream {\n signature_header X-S\n}",
	"upstream.strip_authorization":     "strip_authorization",
	"replay.max_entries":               "replay {\n max_entries 5\n}",
	"bans.disabled":                    "bans off",
	"bans.max_failures":                "bans {\n max_failures 5\n}",
	"bans.window":                      "bans {\n window 1m\n}",
	"bans.duration":                    "bans {\n duration 1m\n}",
	"bans.user_max_failures":           "bans {\n user_max_failures 5\n}",
	"bans.allow_list":                  "bans {\n allow 10.0.0.0/8\n}",
	"bans.max_entries":                 "bans {\n max_entries 5\n}",
	"rate_limits[].name":               "rate_limit 1/s {\n name n\n}",
	"rate_limits[].key":                "rate_limit 1/s {\n key global\n}",
	"rate_limits[].path":               "rate_limit 1/s {\n path /x\n}",
	"rate_limits[].rate":               "rate_limit 1/s",
	"rate_limits[].burst":              "rate_limit 1/s {\n burst 5\n}",
	"rate_limits[].max_entries":        "rate_limit 1/s {\n max_entries 5\n}",
	"client_address.ipv6_prefix":       "ipv6_prefix 56",
	"store.address":                    "store r:6379",
	"store.username":                   "store r:6379 {\n username u\n}",
	"store.password":                   "store r:6379 {\n password {env.P}\n}",
	"store.password_file":              "store r:6379 {\n password_file /p\n}",
	"store.password_env":               "store r:6379 {\n password_env P\n}",
	"store.database":                   "store r:6379 {\n database 2\n}",
	"store.key_prefix":                 "store r:6379 {\n key_prefix p:\n}",
	"store.timeout":                    "store r:6379 {\n timeout 1s\n}",
	"store.pool_size":                  "store r:6379 {\n pool_size 2\n}",
	"store.replay_on_error":            "store r:6379 {\n replay_on_error local\n}",
	"store.bans_on_error":              "store r:6379 {\n bans_on_error deny\n}",
	"store.tls.enabled":                "store r:6379 {\n tls\n}",
	"store.tls.ca_file":                "store r:6379 {\n tls {\n ca_file /c\n }\n}",
	"store.tls.cert_file":              "store r:6379 {\n tls {\n cert_file /c\n }\n}",
	"store.tls.key_file":               "store r:6379 {\n tls {\n key_file /k\n }\n}",
	"store.tls.server_name":            "store r:6379 {\n tls {\n server_name s\n }\n}",
	"store.tls.insecure_skip_verify":   "store r:6379 {\n tls {\n insecure_skip_verify\n }\n}",
	"store.sentinel.master":            "store {\n sentinel m s:26379\n}",
	"store.sentinel.addresses":         "store {\n sentinel m s:26379\n}",
	"store.sentinel.username":          "store {\n sentinel m s:26379 {\n username u\n }\n}",
	"store.sentinel.password":          "store {\n sentinel m s:26379 {\n password {env.P}\n }\n}",
	"store.sentinel.password_file":     "store {\n sentinel m s:26379 {\n password_file /p\n }\n}",
	"store.sentinel.password_env":      "store {\n sentinel m s:26379 {\n password_env P\n }\n}",
}

// notInCaddyfile are the options the Caddyfile has no spelling for, with
// the reason.
var notInCaddyfile = map[string]string{
	"client_address.trusted_proxies": refused + ": the Caddyfile's own trusted_proxies (servers block)",
}

// TestCaddyfileSetsEveryOption walks the Config: each option has a
// Caddyfile spelling in caddyfileSpelling (or a reason in
// notInCaddyfile), and parsing that spelling sets the option.
func TestCaddyfileSetsEveryOption(t *testing.T) {
	options, _ := configwalk.Walk(reflect.TypeOf(funcauth.Config{}))
	seen := map[string]bool{}
	for _, o := range options {
		seen[o.JSON] = true
		text, ok := caddyfileSpelling[o.JSON]
		if !ok {
			if _, why := notInCaddyfile[o.JSON]; !why {
				t.Errorf("%s: no Caddyfile spelling; add a subdirective (caddyfile.go) and its line in caddyfileSpelling, or say why not in notInCaddyfile", o.JSON)
			}
			continue
		}
		if !strings.HasPrefix(text, "funcauth") {
			text = "funcauth {\n" + text + "\n}"
		}
		var h Handler
		if err := h.UnmarshalCaddyfile(caddyfile.NewTestDispenser(text)); err != nil {
			t.Errorf("%s: %q: %v", o.JSON, text, err)
			continue
		}
		if v, ok := o.Get(&h.Config); !ok || v.IsZero() {
			t.Errorf("%s: %q does not set it", o.JSON, text)
		}
	}
	for _, table := range []map[string]string{caddyfileSpelling, notInCaddyfile} {
		for name := range table {
			if !seen[name] {
				t.Errorf("%s is no option of the Config", name)
			}
		}
	}
}
