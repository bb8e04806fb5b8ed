package cli

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/funcauth/funcauth"
	"github.com/funcauth/funcauth/internal/cfgcopy"
)

// compileBlock compiles b's configuration as its host would, with files
// and secrets replaced by stand-ins (see checkHelp).
func compileBlock(b *configBlock) error {
	dir, err := os.MkdirTemp("", "funcauth-check-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	cfg, err := cfgcopy.Copy(b.cfg)
	if err != nil {
		return err
	}
	env := map[string]string{}
	for _, s := range cfg.Signatures {
		for _, name := range s.KeyEnv {
			env[name] = standInKey(s.Scheme)
		}
	}
	opts := funcauth.Options{
		LookupEnv: func(name string) (string, bool) {
			if k, ok := env[name]; ok {
				return k, true
			}
			return "funcauth check stand-in", true
		},
	}
	if b.caddy {
		if err := CaddyRules(cfg); err != nil {
			return err
		}
		if CaddyChecks != nil {
			if err := CaddyChecks(cfg); err != nil {
				return err
			}
		}
		if err := standInPlaceholders(cfg); err != nil {
			return err
		}
		opts.HashComparers = map[string]funcauth.HashComparer{"$2a$": bcryptComparer{}, "$2b$": bcryptComparer{}, "$2y$": bcryptComparer{}}
	}
	if err := standInFiles(cfg, dir); err != nil {
		return err
	}
	_, err = funcauth.New(cfg, opts)
	return err
}

// standInKey returns a key of the form scheme's keys take.
func standInKey(scheme string) string {
	switch scheme {
	case "standard-webhooks", "svix":
		return "whsec_ZnVuY2F1dGggY2hlY2sgc3RhbmQtaW4ga2V5IDMyYg=="
	case "discord":
		return "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c"
	case "http-message-signatures":
		return "hmac-sha256:funcauth-check:ZnVuY2F1dGggY2hlY2sgc3RhbmQtaW4ga2V5IDMyYg=="
	}
	return "funcauth check stand-in key"
}

// CaddyChecks, when set (by the caddyauth package), runs the checks the
// Caddy module makes before compiling a configuration: placeholders Caddy
// knows, no store password in the configuration, no trusted_proxies. It
// must not read the environment or files.
var CaddyChecks func(cfg *funcauth.Config) error

func isPlaceholder(s string) bool {
	return strings.Contains(s, "{env.") || strings.Contains(s, "{file.")
}

// standInPlaceholders replaces Caddy placeholders in secrets by dummies.
func standInPlaceholders(cfg *funcauth.Config) error {
	if ba := cfg.BasicAuth; ba != nil {
		for i := range ba.Users {
			if isPlaceholder(ba.Users[i].PasswordHash) {
				h, err := funcauth.HashPassword("funcauth check", 0)
				if err != nil {
					return err
				}
				ba.Users[i].PasswordHash = h
			}
		}
	}
	for i := range cfg.Signatures {
		s := &cfg.Signatures[i]
		for j := range s.Keys {
			if isPlaceholder(s.Keys[j]) {
				s.Keys[j] = standInKey(s.Scheme)
			}
		}
	}
	if st := cfg.Store; st != nil {
		if isPlaceholder(st.Address) {
			st.Address = "redis://127.0.0.1:6379"
		}
		if isPlaceholder(st.Password) {
			st.Password = "stand-in"
		}
		if isPlaceholder(st.Username) {
			st.Username = "stand-in"
		}
		if sn := st.Sentinel; sn != nil {
			for i := range sn.Addresses {
				if isPlaceholder(sn.Addresses[i]) {
					sn.Addresses[i] = "127.0.0.1:26379"
				}
			}
			if isPlaceholder(sn.Password) {
				sn.Password = "stand-in"
			}
			if isPlaceholder(sn.Username) {
				sn.Username = "stand-in"
			}
		}
	}
	return nil
}

// standInFiles points the files and directories cfg names at ones made in
// dir.
func standInFiles(cfg *funcauth.Config, dir string) error {
	n := 0
	file := func(content string) (string, error) {
		n++
		p := filepath.Join(dir, "f"+strconv.Itoa(n))
		return p, os.WriteFile(p, []byte(content), 0o600)
	}
	subdir := func() (string, error) {
		n++
		p := filepath.Join(dir, "d"+strconv.Itoa(n))
		return p, os.Mkdir(p, 0o700)
	}
	var errs []error
	add := func(err error) {
		if err != nil {
			errs = append(errs, err)
		}
	}
	var err error
	if ba := cfg.BasicAuth; ba != nil {
		if ba.HtpasswdFile != "" {
			h, herr := funcauth.HashPassword("funcauth check", 0)
			add(herr)
			ba.HtpasswdFile, err = file("check:" + h + "\n")
			add(err)
		}
		if ba.GatewaySecretsDir != "" {
			ba.GatewaySecretsDir, err = subdir()
			add(err)
			add(os.WriteFile(filepath.Join(ba.GatewaySecretsDir, "basic-auth-user"), []byte("admin\n"), 0o600))
			add(os.WriteFile(filepath.Join(ba.GatewaySecretsDir, "basic-auth-password"), []byte("funcauth check stand-in\n"), 0o600))
		}
	}
	for i := range cfg.Signatures {
		s := &cfg.Signatures[i]
		for j := range s.KeyFiles {
			s.KeyFiles[j], err = file(standInKey(s.Scheme) + "\n")
			add(err)
		}
		if s.FunctionKeyFile != "" {
			base := filepath.Base(s.FunctionKeyFile)
			if strings.Contains(filepath.Dir(s.FunctionKeyFile), "{") || !strings.Contains(base, "{function}") {
				base = filepath.Base(strings.ReplaceAll(s.FunctionKeyFile, "/", "-"))
			}
			d, derr := subdir()
			add(derr)
			s.FunctionKeyFile = filepath.Join(d, base)
		}
	}
	if cfg.Body != nil && cfg.Body.TempDir != "" {
		cfg.Body.TempDir = dir
	}
	if st := cfg.Store; st != nil && st.PasswordFile != "" {
		st.PasswordFile, err = file("stand-in\n")
		add(err)
	}
	if st := cfg.Store; st != nil && st.Sentinel != nil && st.Sentinel.PasswordFile != "" {
		st.Sentinel.PasswordFile, err = file("stand-in\n")
		add(err)
	}
	return errors.Join(errs...)
}
