package caddyauth

import (
	"strings"

	"github.com/caddyserver/caddy/v2"

	"github.com/funcauth/funcauth"
	"github.com/funcauth/funcauth/internal/cli"
)

func init() {
	cli.CaddyChecks = checkBeforeNew
}

// checkBeforeNew makes the check Provision makes before funcauth.New that
// needs Caddy, for `funcauth check` (which applies cli.CaddyRules itself):
// every {...} a placeholder Caddy knows. Secrets are not read: {env.*}
// and {file.*} stand for a dummy value.
func checkBeforeNew(cfg *funcauth.Config) error {
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
