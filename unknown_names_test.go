package funcauth

import (
	"reflect"
	"sort"
	"strings"
	"testing"
)

// TestOptionNamesMatchTheConfig walks every section of the Config: the
// names "did you mean" offers are exactly its fields (case aside, as
// Traefik matches them), so a new option cannot be forgotten there.
func TestOptionNamesMatchTheConfig(t *testing.T) {
	for section, v := range map[string]interface{}{
		"": Config{}, "basicAuth.": BasicAuth{}, "basicAuth.users[]": User{}, "rules[]": Rule{},
		"signatures[]": Signature{}, "rateLimits[]": RateLimit{}, "body.": Body{}, "upstream.": Upstream{},
		"replay.": Replay{}, "bans.": Bans{}, "clientAddress.": ClientAddress{}, "store.": Store{}, "store.tls.": StoreTLS{},
	} {
		ty := reflect.TypeOf(v)
		var fields []string
		for i := 0; i < ty.NumField(); i++ {
			if name := ty.Field(i).Name; name != "UnknownOptions" {
				fields = append(fields, strings.ToLower(name))
			}
		}
		var listed []string
		for _, n := range optionNames[section] {
			listed = append(listed, strings.ToLower(n))
		}
		sort.Strings(fields)
		sort.Strings(listed)
		if strings.Join(fields, ",") != strings.Join(listed, ",") {
			t.Errorf("section %q: optionNames has %v, the Config %v", section, listed, fields)
		}
	}
}

func TestUnknownOptionsSuggest(t *testing.T) {
	for _, tc := range []struct {
		cfg  Config
		want string
	}{
		{Config{UnknownOptions: map[string]interface{}{"presett": "openfaas"}}, `presett: unknown option (did you mean "preset"?)`},
		{Config{BasicAuth: &BasicAuth{Users: []User{{Name: "a", UnknownOptions: map[string]interface{}{"passwrdHash": "x"}}}}},
			`basicAuth.users[0].passwrdHash: unknown option (did you mean "passwordHash"?)`},
		{Config{Rules: []Rule{{}, {UnknownOptions: map[string]interface{}{"requires": "open"}}}}, `rules[1].requires: unknown option (did you mean "require"?)`},
		{Config{Store: &Store{TLS: &StoreTLS{UnknownOptions: map[string]interface{}{"cafile": "x"}}}}, `store.tls.cafile: unknown option (did you mean "caFile"?)`},
		{Config{Body: &Body{UnknownOptions: map[string]interface{}{"whatever": 1}}}, `body.whatever: unknown option: check`},
	} {
		_, err := New(&tc.cfg, Options{})
		if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("%v, want %q", err, tc.want)
		}
	}
}
