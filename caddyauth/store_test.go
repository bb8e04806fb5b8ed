package caddyauth

import (
	"strings"
	"testing"

	"github.com/funcauth/funcauth"
	"github.com/funcauth/funcauth/internal/cli"
)

// The store's password never sits in Caddy's JSON configuration, which the
// admin API exports: written inline or in a URL, it is refused by name.
func TestStorePasswordStaysOutOfTheConfig(t *testing.T) {
	for _, tc := range []struct {
		store funcauth.Store
		field string // "" for accepted
	}{
		{funcauth.Store{Address: "redis:6379", Password: "{env.REDIS_PASSWORD}"}, ""},
		{funcauth.Store{Address: "redis:6379", Password: "{file./run/secrets/redis}"}, ""},
		{funcauth.Store{Address: "redis:6379", PasswordFile: "/run/secrets/redis"}, ""},
		{funcauth.Store{Address: "redis://:{env.REDIS_PASSWORD}@redis:6379"}, ""},
		{funcauth.Store{Address: "redis://user@redis:6379"}, "store.address"},
		{funcauth.Store{Address: "redis:6379", Password: "hunter2"}, "store.password"},
		{funcauth.Store{Address: "redis://:hunter2@redis:6379"}, "store.address"},
	} {
		err := cli.CaddyRules(&funcauth.Config{Store: &tc.store})
		switch {
		case tc.field == "" && err != nil:
			t.Errorf("%+v: %v", tc.store, err)
		case tc.field != "" && (err == nil || !strings.HasPrefix(err.Error(), tc.field)):
			t.Errorf("%+v: %v, want an error naming %s", tc.store, err, tc.field)
		case err != nil && strings.Contains(err.Error(), "hunter2"):
			t.Errorf("the error quotes the password: %v", err)
		}
	}
}
