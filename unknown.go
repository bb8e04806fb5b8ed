package funcauth

import (
	"sort"
	"strconv"
	"strings"
)

// UnknownOption names the first option of cfg that no field matched, as
// the host spelled it ("basicAuth.realmm"), or returns "" when there is
// none. Traefik's decoder collects such options in the UnknownOptions
// fields instead of refusing them; New refuses them through this check.
func UnknownOption(cfg *Config) string {
	cfg = cfg.withSections()
	if s := firstKey("", cfg.UnknownOptions); s != "" {
		return s
	}
	ba := cfg.BasicAuth
	if s := firstKey("basicAuth.", ba.UnknownOptions); s != "" {
		return s
	}
	for i := range ba.Users {
		if s := firstKey("basicAuth.users["+strconv.Itoa(i)+"].", ba.Users[i].UnknownOptions); s != "" {
			return s
		}
	}
	for i := range cfg.Rules {
		if s := firstKey("rules["+strconv.Itoa(i)+"].", cfg.Rules[i].UnknownOptions); s != "" {
			return s
		}
	}
	for i := range cfg.Signatures {
		if s := firstKey("signatures["+strconv.Itoa(i)+"].", cfg.Signatures[i].UnknownOptions); s != "" {
			return s
		}
	}
	for i := range cfg.RateLimits {
		if s := firstKey("rateLimits["+strconv.Itoa(i)+"].", cfg.RateLimits[i].UnknownOptions); s != "" {
			return s
		}
	}
	sections := []struct {
		prefix  string
		options map[string]interface{}
	}{
		{"body.", cfg.Body.UnknownOptions},
		{"upstream.", cfg.Upstream.UnknownOptions},
		{"replay.", cfg.Replay.UnknownOptions},
		{"bans.", cfg.Bans.UnknownOptions},
		{"clientAddress.", cfg.ClientAddress.UnknownOptions},
	}
	if st := cfg.Store; st != nil {
		sections = append(sections, struct {
			prefix  string
			options map[string]interface{}
		}{"store.", st.UnknownOptions})
		if st.TLS != nil {
			sections = append(sections, struct {
				prefix  string
				options map[string]interface{}
			}{"store.tls.", st.TLS.UnknownOptions})
		}
		if st.Sentinel != nil {
			sections = append(sections, struct {
				prefix  string
				options map[string]interface{}
			}{"store.sentinel.", st.Sentinel.UnknownOptions})
		}
	}
	for _, sec := range sections {
		if s := firstKey(sec.prefix, sec.options); s != "" {
			return s
		}
	}
	return ""
}

// firstKey returns prefix and the alphabetically first key of options.
func firstKey(prefix string, options map[string]interface{}) string {
	if len(options) == 0 {
		return ""
	}
	keys := make([]string, 0, len(options))
	for k := range options {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return prefix + keys[0]
}

// optionNames are the options of each section, as Traefik users write them
// (Traefik matches them to the Config's field names case-insensitively),
// for "did you mean". TestOptionNamesMatchTheConfig keeps them in step with
// the Config's fields.
var optionNames = map[string][]string{
	"":                  {"preset", "rules", "basicAuth", "signatures", "body", "upstream", "refusalBody", "replay", "bans", "rateLimits", "clientAddress", "store"},
	"basicAuth.":        {"realm", "users", "htpasswdFile", "gatewaySecretsDir", "cacheSize"},
	"basicAuth.users[]": {"name", "passwordHash"},
	"rules[]":           {"path", "methods", "hosts", "require", "signatures"},
	"signatures[]": {"name", "scheme", "header", "algorithms", "encoding", "prefix", "keys", "keyFiles", "keyEnv",
		"functionKeyFile", "defaultNamespace", "tolerance", "baseURL", "allowEmptyBody", "components"},
	"rateLimits[]":   {"name", "key", "path", "rate", "burst", "maxEntries"},
	"body.":          {"maxSize", "memorySize", "memoryBudget", "tempDir"},
	"upstream.":      {"userHeader", "signatureHeader", "stripAuthorization"},
	"replay.":        {"maxEntries"},
	"bans.":          {"disabled", "maxFailures", "window", "duration", "userMaxFailures", "allowList", "maxEntries"},
	"clientAddress.": {"trustedProxies", "ipv6Prefix"},
	"store.": {"address", "sentinel", "username", "password", "passwordFile", "passwordEnv", "database", "keyPrefix", "timeout",
		"poolSize", "tls", "replayOnError", "bansOnError"},
	"store.tls.":      {"enabled", "caFile", "certFile", "keyFile", "serverName", "insecureSkipVerify"},
	"store.sentinel.": {"master", "addresses", "username", "password", "passwordFile", "passwordEnv"},
}

// optionSuggestion returns ` (did you mean "x"?)` for an unknown option
// as UnknownOption names it ("basicAuth.users[0].passwrdHash"), or "".
func optionSuggestion(unknown string) string {
	section, key := "", unknown
	if dot := strings.LastIndexByte(unknown, '.'); dot >= 0 {
		section, key = unknown[:dot+1], unknown[dot+1:]
	}
	// rules[3]. and rules[3] name the same list: "rules[]".
	if open := strings.IndexByte(section, '['); open >= 0 {
		if end := strings.IndexByte(section[open:], ']'); end >= 0 {
			section = section[:open+1] + section[open+end:]
		}
		section = strings.TrimSuffix(section, ".")
	}
	return suggestion(key, optionNames[section])
}
