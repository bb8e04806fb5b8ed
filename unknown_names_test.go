package funcauth

import (
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/funcauth/funcauth/internal/configwalk"
)

// TestOptionNamesMatchTheConfig walks every section of the Config: the
// names "did you mean" offers are exactly its fields (case aside, as
// Traefik matches them), so a new option cannot be forgotten there.
func TestOptionNamesMatchTheConfig(t *testing.T) {
	options, sections := configwalk.Walk(reflect.TypeOf(Config{}))
	fields := map[string][]string{} // by key of optionNames, lower case
	add := func(goPath string) {
		parent, name := "", goPath
		if dot := strings.LastIndexByte(goPath, '.'); dot >= 0 {
			parent, name = goPath[:dot], goPath[dot+1:]
		}
		section := optionSection(parent)
		fields[section] = append(fields[section], strings.ToLower(strings.TrimSuffix(name, "[]")))
	}
	for _, s := range sections {
		if s.Go != "" {
			add(s.Go) // a section is an option of the section above it
		}
	}
	for _, o := range options {
		add(o.Go)
	}
	listed := map[string][]string{}
	for section, names := range optionNames {
		for _, n := range names {
			listed[strings.ToLower(section)] = append(listed[strings.ToLower(section)], strings.ToLower(n))
		}
	}
	for _, s := range sections {
		section := optionSection(s.Go)
		want, got := fields[section], listed[section]
		sort.Strings(want)
		sort.Strings(got)
		if strings.Join(want, ",") != strings.Join(got, ",") {
			t.Errorf("section %q: optionNames has %v, the Config %v", section, got, want)
		}
		delete(listed, section)
	}
	for section := range listed {
		t.Errorf("optionNames has section %q, which the Config has not", section)
	}
}

// optionSection is the key of optionNames for a section's Go path, in
// lower case: "" for the Config, "basicauth.users[]", "store.tls.".
func optionSection(goPath string) string {
	goPath = strings.ToLower(goPath)
	if goPath == "" || strings.HasSuffix(goPath, "[]") {
		return goPath
	}
	return goPath + "."
}

// TestUnknownOptionSeesEverySection sets an unknown option in each section
// of the Config in turn: UnknownOption must name it, so that New refuses
// it, whichever section it is in.
func TestUnknownOptionSeesEverySection(t *testing.T) {
	_, sections := configwalk.Walk(reflect.TypeOf(Config{}))
	for _, s := range sections {
		var cfg Config
		s.Set(&cfg).FieldByName("UnknownOptions").Set(reflect.ValueOf(map[string]interface{}{"zz": 1}))
		want := strings.ReplaceAll(s.Go, "[]", "[0]") + ".zz"
		if s.Go == "" {
			want = "zz"
		}
		if got := UnknownOption(&cfg); !strings.EqualFold(got, want) {
			t.Errorf("unknown option in section %q: UnknownOption says %q, want %q", s.JSON, got, want)
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
