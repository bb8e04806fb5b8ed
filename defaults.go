package funcauth

import (
	"errors"
	"strings"
)

// The defaults of the options that size funcauth's memory and name its
// challenge, in one place. The Config's doc comments quote them.
const (
	// DefaultRealm is the realm of the Basic and Signature challenges
	// (BasicAuth.Realm), the OpenFaaS gateway's own.
	DefaultRealm = "Restricted"

	// defaultCredentialCacheSize bounds the cache of successful password
	// checks (BasicAuth.CacheSize).
	defaultCredentialCacheSize = 1000

	// defaultTableEntries bounds the replay memory (Replay.MaxEntries), each
	// ban table (Bans.MaxEntries) and each rate limit's buckets
	// (RateLimit.MaxEntries).
	defaultTableEntries = 100000
)

// orDefault returns n, or def when n is not positive (an unset size; New
// refuses negative ones before this matters).
func orDefault(n, def int) int {
	if n <= 0 {
		return def
	}
	return n
}

// realmOf returns the configured realm, or the default, checked.
func realmOf(cfg *BasicAuth) (string, error) {
	realm := cfg.Realm
	if realm == "" {
		realm = DefaultRealm
	}
	if err := checkRealm(realm); err != nil {
		return "", fieldError("basic_auth.realm", err.Error())
	}
	return realm, nil
}

// checkRealm refuses realms that would break the challenge header or make
// faas-cli start an OpenFaaS IAM token exchange.
func checkRealm(realm string) error {
	if strings.EqualFold(realm, "IAM function invoke") {
		return errors.New("\"IAM function invoke\" makes faas-cli start an OpenFaaS IAM token exchange: choose another realm")
	}
	for i := 0; i < len(realm); i++ {
		if c := realm[i]; c < 0x20 || c == 0x7f || c == '"' || c == '\\' {
			return errors.New("may not contain quotes, backslashes or control characters")
		}
	}
	return nil
}
