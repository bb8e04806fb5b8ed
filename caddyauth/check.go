package caddyauth

import (
	"errors"
	"strings"

	"github.com/caddyserver/caddy/v2"

	"github.com/funcauth/funcauth"
	"github.com/funcauth/funcauth/internal/cli"
)

func init() {
	cli.CaddyChecks = checkBeforeNew
}

// checkBeforeNew makes the checks Provision makes before funcauth.New, for
// `funcauth check`: trusted_proxies refused, no store password written in
// the configuration, and every {...} a placeholder Caddy knows. Secrets
// are not read: {env.*} and {file.*} stand for a dummy value.
func checkBeforeNew(cfg *funcauth.Config) error {
	if cp := cfg.ClientAddress; cp != nil && len(cp.TrustedProxies) > 0 {
		return errors.New("client_address.trusted_proxies: Caddy decides the client address; set trusted_proxies in the server options (global servers block) instead")
	}
	if err := storePasswordStaysOut(cfg.Store); err != nil {
		return err
	}
	repl := caddy.NewEmptyReplacer()
	repl.Map(func(key string) (any, bool) {
		if strings.HasPrefix(key, "env.") || strings.HasPrefix(key, "file.") {
			return "stand-in", true
		}
		return nil, false
	})
	_, err := expandPlaceholders(cfg, repl)
	return err
}
