package caddyauth

import (
	"errors"
	"strconv"
	"strings"

	"github.com/caddyserver/caddy/v2"

	"github.com/funcauth/funcauth"
	"github.com/funcauth/funcauth/internal/cfgcopy"
)

// expandPlaceholders returns a copy of cfg with {env.NAME} and
// {file./path} placeholders expanded in the fields that hold secrets or
// paths. The original keeps its placeholders, which is what Caddy exports.
// A placeholder that expands to nothing is an error naming the field; the
// error never holds the expanded value.
//
// A placeholder Caddy does not know ({envv.X}, {ENV.X}, {file/run/x}), or a
// brace that opens or closes none, is an error too: left as it is, the
// misspelt placeholder would become the key, in plain text in the
// Caddyfile and at the admin API. A literal brace is written \{ or \} (or
// the secret is put in a file and given as {file./path}, whose content is
// taken as it is). function_key_file keeps its {function} and {namespace}.
func expandPlaceholders(cfg *funcauth.Config, repl *caddy.Replacer) (*funcauth.Config, error) {
	cp, err := cfgcopy.Copy(cfg)
	if err != nil {
		return nil, err
	}
	// secret says whether the field's text must not appear in an error.
	expandField := func(field string, s *string, secret bool) error {
		if !strings.ContainsAny(*s, "{}") {
			return nil
		}
		if strayBrace(*s) {
			return errors.New(field + ": " + strayBraceHelp)
		}
		if _, err := repl.ReplaceOrErr(*s, false, true); err != nil {
			if secret {
				return errors.New(field + ": holds a {...} that is no placeholder Caddy knows (a misspelt {env.NAME} or {file./path}?); " + literalBraceHelp)
			}
			return errors.New(field + ": " + err.Error() + ": use {env.NAME} or {file./path}; " + literalBraceHelp)
		}
		out, err := repl.ReplaceOrErr(*s, true, true)
		if err != nil {
			return errors.New(field + ": " + err.Error() + ": set the environment variable or fix the file")
		}
		*s = out
		return nil
	}
	expand := func(field string, s *string) error { return expandField(field, s, false) }
	expandSecret := func(field string, s *string) error { return expandField(field, s, true) }
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
			add(expandSecret(f+".password_hash", &ba.Users[i].PasswordHash))
		}
		add(expand("basic_auth.htpasswd_file", &ba.HtpasswdFile))
		add(expand("basic_auth.gateway_secrets_dir", &ba.GatewaySecretsDir))
	}
	for i := range cp.Signatures {
		s := &cp.Signatures[i]
		f := "signatures[" + strconv.Itoa(i) + "]"
		for j := range s.Keys {
			add(expandSecret(f+".keys["+strconv.Itoa(j)+"]", &s.Keys[j]))
		}
		for j := range s.KeyFiles {
			add(expand(f+".key_files["+strconv.Itoa(j)+"]", &s.KeyFiles[j]))
		}
		if s.FunctionKeyFile != "" {
			// Only {function} and {namespace} may stay unexpanded.
			rest := strings.NewReplacer("{function}", "", "{namespace}", "").Replace(s.FunctionKeyFile)
			if err := expand(f+".function_key_file", &rest); err != nil {
				add(err)
			} else {
				s.FunctionKeyFile = repl.ReplaceKnown(s.FunctionKeyFile, "")
			}
		}
		add(expand(f+".base_url", &s.BaseURL))
	}
	if cp.Body != nil {
		add(expand("body.temp_dir", &cp.Body.TempDir))
	}
	if st := cp.Store; st != nil {
		// The address may hold a password (redis://:password@host).
		add(expandSecret("store.address", &st.Address))
		add(expand("store.username", &st.Username))
		add(expandSecret("store.password", &st.Password))
		add(expand("store.password_file", &st.PasswordFile))
		add(expand("store.key_prefix", &st.KeyPrefix))
		if sn := st.Sentinel; sn != nil {
			for i := range sn.Addresses {
				add(expand("store.sentinel.addresses", &sn.Addresses[i]))
			}
			add(expand("store.sentinel.username", &sn.Username))
			add(expandSecret("store.sentinel.password", &sn.Password))
			add(expand("store.sentinel.password_file", &sn.PasswordFile))
		}
		if t := st.TLS; t != nil {
			add(expand("store.tls.ca_file", &t.CAFile))
			add(expand("store.tls.cert_file", &t.CertFile))
			add(expand("store.tls.key_file", &t.KeyFile))
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return cp, nil
}

const (
	literalBraceHelp = `write a literal brace as \{ or \}, or put the secret in a file and give it as {file./path}`
	strayBraceHelp   = "has a { or } that opens or closes no placeholder; " + literalBraceHelp
)

// strayBrace reports whether s has a brace that is neither escaped with a
// backslash nor part of a {placeholder}: an unclosed {env.X, say.
func strayBrace(s string) bool {
	open := false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\' && i+1 < len(s) && (s[i+1] == '{' || s[i+1] == '}'):
			i++
		case c == '{':
			if open {
				return true
			}
			open = true
		case c == '}':
			if !open {
				return true
			}
			open = false
		}
	}
	return open
}
