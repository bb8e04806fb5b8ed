package caddyauth

import (
	"encoding/json"
	"errors"
	"strconv"
	"strings"

	"github.com/caddyserver/caddy/v2"

	"github.com/funcauth/funcauth"
)

// expandPlaceholders returns a copy of cfg with {env.NAME} and
// {file./path} placeholders expanded in the fields that hold secrets or
// paths. The original keeps its placeholders, which is what Caddy exports.
// A placeholder that expands to nothing is an error naming the field; the
// error never holds the expanded value. Placeholders Caddy does not know,
// such as {function} in function_key_file, are left as they are.
func expandPlaceholders(cfg *funcauth.Config, repl *caddy.Replacer) (*funcauth.Config, error) {
	data, err := json.Marshal(cfg)
	if err != nil {
		return nil, err
	}
	cp := &funcauth.Config{}
	if err := json.Unmarshal(data, cp); err != nil {
		return nil, err
	}
	expand := func(field string, s *string) error {
		if !strings.Contains(*s, "{") {
			return nil
		}
		out, err := repl.ReplaceOrErr(*s, true, false)
		if err != nil {
			return errors.New(field + ": " + err.Error() + ": set the environment variable or fix the file")
		}
		*s = out
		return nil
	}
	var errs []error
	add := func(err error) {
		if err != nil {
			errs = append(errs, err)
		}
	}
	if ba := cp.BasicAuth; ba != nil {
		for i := range ba.Users {
			f := "basic_auth.users[" + strconv.Itoa(i) + "]"
			add(expand(f+".name", &ba.Users[i].Name))
			add(expand(f+".password_hash", &ba.Users[i].PasswordHash))
		}
		add(expand("basic_auth.htpasswd_file", &ba.HtpasswdFile))
		add(expand("basic_auth.gateway_secrets_dir", &ba.GatewaySecretsDir))
	}
	for i := range cp.Signatures {
		s := &cp.Signatures[i]
		f := "signatures[" + strconv.Itoa(i) + "]"
		for j := range s.Keys {
			add(expand(f+".keys["+strconv.Itoa(j)+"]", &s.Keys[j]))
		}
		for j := range s.KeyFiles {
			add(expand(f+".key_files["+strconv.Itoa(j)+"]", &s.KeyFiles[j]))
		}
		if s.FunctionKeyFile != "" {
			out := repl.ReplaceKnown(s.FunctionKeyFile, "")
			s.FunctionKeyFile = out
		}
		add(expand(f+".base_url", &s.BaseURL))
	}
	if cp.Body != nil {
		add(expand("body.temp_dir", &cp.Body.TempDir))
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return cp, nil
}
