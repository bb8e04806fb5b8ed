package funcauth

import (
	"errors"
	"strings"
)

// fieldError is a configuration error that names the field at fault, in
// the JSON spelling ("signatures[0].keys[1]"); Traefik users find the same
// field under its camelCase name.
func fieldError(field, msg string) error {
	return errors.New(field + ": " + msg)
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
