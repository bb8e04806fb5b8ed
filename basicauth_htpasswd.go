package funcauth

import (
	"errors"
	"strconv"
	"strings"
)

// account is one Basic Auth user with the verifier of its password.
type account struct {
	name     string
	stored   string // what the password was stored as, so cache entries die with a changed password
	password passwordVerifier
}

// parseHtpasswd parses "name:hash" lines. Blank lines and lines starting
// with "#" are skipped. Errors name the line, never its hash.
func parseHtpasswd(data string, parse func(string) (passwordVerifier, error)) ([]*account, error) {
	var accounts []*account
	seen := make(map[string]bool)
	lines := strings.Split(data, "\n")
	for i, line := range lines {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' {
			continue
		}
		where := "line " + strconv.Itoa(i+1)
		colon := strings.IndexByte(line, ':')
		if colon <= 0 {
			return nil, errors.New(where + ": expected name:hash")
		}
		name, hash := line[:colon], line[colon+1:]
		if len(name) > maxUserNameLength {
			return nil, errors.New(where + ": the user name is longer than " + strconv.Itoa(maxUserNameLength) + " bytes")
		}
		if seen[name] {
			return nil, errors.New(where + ": user " + strconv.Quote(name) + " appears twice")
		}
		seen[name] = true
		verifier, err := parse(hash)
		if err != nil {
			return nil, errors.New(where + ": the hash of user " + strconv.Quote(name) + " " + err.Error())
		}
		accounts = append(accounts, &account{name: name, stored: hash, password: verifier})
	}
	return accounts, nil
}
