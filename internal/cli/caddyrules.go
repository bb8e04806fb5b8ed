package cli

import (
	"errors"
	"strings"

	"github.com/funcauth/funcauth"
)

// CaddyRules are the refusals the Caddy module makes before funcauth.New,
// for options that Caddy decides itself or that must not sit in its JSON
// configuration: the module's Provision and `funcauth check` (with or
// without the module linked in) apply the same ones.
func CaddyRules(cfg *funcauth.Config) error {
	if cp := cfg.ClientAddress; cp != nil && len(cp.TrustedProxies) > 0 {
		return errors.New("client_address.trusted_proxies: Caddy decides the client address; set trusted_proxies in the server options (global servers block) instead")
	}
	return storePasswordStaysOut(cfg.Store)
}

// storePasswordStaysOut refuses a store password written into the
// configuration, inline or in a redis:// URL: Caddy exports its JSON
// configuration at the admin API, so the password must come from a
// placeholder ({env.NAME}, {file./path}) or a password_file.
func storePasswordStaysOut(st *funcauth.Store) error {
	if st == nil {
		return nil
	}
	const help = ": give the password as {env.NAME} or {file./path} (or password_file), so it stays out of Caddy's JSON configuration and admin API"
	if st.Password != "" && !strings.Contains(st.Password, "{") {
		return errors.New("store.password is written in the configuration" + help)
	}
	if sn := st.Sentinel; sn != nil && sn.Password != "" && !strings.Contains(sn.Password, "{") {
		return errors.New("store.sentinel.password is written in the configuration" + help)
	}
	if at := strings.LastIndexByte(st.Address, '@'); at > 0 && strings.Contains(st.Address, "://") {
		userinfo := st.Address[strings.Index(st.Address, "://")+3 : at]
		if userinfo != "" && !strings.Contains(userinfo, "{") {
			return errors.New("store.address holds a password" + help)
		}
	}
	return nil
}
