package funcauth

import (
	"errors"
)

// fieldError is a configuration error that names the field at fault, in
// the JSON spelling ("signatures[0].keys[1]"); Traefik users find the same
// field under its camelCase name.
func fieldError(field, msg string) error {
	return errors.New(field + ": " + msg)
}
