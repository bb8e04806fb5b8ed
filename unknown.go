package funcauth

import (
	"sort"
	"strconv"
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
