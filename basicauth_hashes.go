package funcauth

import (
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"strings"
)

// passwordVerifier checks a password against one stored credential.
type passwordVerifier interface {
	verify(password []byte) bool
}

// plainPassword is a password read in plain text from the OpenFaaS
// gateway's secret files. Only its SHA-256 is kept, and the comparison runs
// in constant time whatever the lengths.
type plainPassword struct {
	sum [sha256.Size]byte
}

func newPlainPassword(password []byte) *plainPassword {
	return &plainPassword{sum: sha256.Sum256(password)}
}

func (p *plainPassword) verify(password []byte) bool {
	sum := sha256.Sum256(password)
	return subtle.ConstantTimeCompare(sum[:], p.sum[:]) == 1
}

// hostHash is a hash in a format that the host (Caddy) implements.
type hostHash struct {
	comparer HashComparer
	hashed   []byte
}

func (h *hostHash) verify(password []byte) bool {
	ok, err := h.comparer.Compare(h.hashed, password)
	return err == nil && ok
}

// hashParser turns stored hashes into verifiers, with the formats the host
// adds to the core's own.
type hashParser struct {
	comparers map[string]HashComparer // by prefix, such as "$2b$"
	hint      string                  // appended to the error for a format no one supports
}

// parse parses a stored password hash. Its errors never quote the hash.
func (p *hashParser) parse(s string) (passwordVerifier, error) {
	if strings.HasPrefix(s, pbkdf2Prefix) {
		h, err := parsePBKDF2(s)
		if err != nil {
			return nil, err
		}
		return h, nil
	}
	for prefix, comparer := range p.comparers {
		if strings.HasPrefix(s, prefix) {
			// A truncated hash would load and then fail every login.
			if err := checkHashShape(s); err != nil {
				return nil, err
			}
			return &hostHash{comparer: comparer, hashed: []byte(s)}, nil
		}
	}
	msg := "is not a supported password hash: make one with `funcauth hash` (go run github.com/funcauth/funcauth/cmd/funcauth@latest hash) or funcauth.HashPassword ($pbkdf2-sha256$...)"
	switch {
	case strings.HasPrefix(s, "$2a$"), strings.HasPrefix(s, "$2b$"), strings.HasPrefix(s, "$2y$"):
		msg = "is a bcrypt hash, which this host does not support"
	case strings.HasPrefix(s, "$argon2id$"):
		msg = "is an argon2id hash, which this host does not support"
	case strings.HasPrefix(s, "$apr1$"), strings.HasPrefix(s, "{SHA}"), strings.HasPrefix(s, "$1$"):
		msg = "is an MD5 or SHA-1 htpasswd hash, which is too weak: make a $pbkdf2-sha256$ hash with `funcauth hash`"
	case !strings.HasPrefix(s, "$"):
		msg = "looks like a plain-text password, which is refused: store a hash made with `funcauth hash`"
	}
	if p.hint != "" {
		msg += "; " + p.hint
	}
	return nil, errors.New(msg)
}

// CheckPasswordHash reports whether s has the shape of a password hash
// funcauth knows: PBKDF2-SHA256 in its PHC form, bcrypt or argon2id. Which
// of these a host supports is New's to say; this catches a truncated or
// mistyped hash where the host parses its configuration (the Caddyfile),
// with its line. Its errors never quote the hash.
func CheckPasswordHash(s string) error {
	if strings.HasPrefix(s, pbkdf2Prefix) {
		_, err := parsePBKDF2(s)
		return err
	}
	if err := checkHashShape(s); err != nil {
		return err
	}
	if isBcrypt(s) || strings.HasPrefix(s, "$argon2id$") {
		return nil
	}
	_, err := (&hashParser{}).parse(s)
	return err
}

func isBcrypt(s string) bool {
	return strings.HasPrefix(s, "$2a$") || strings.HasPrefix(s, "$2b$") || strings.HasPrefix(s, "$2y$")
}

// checkHashShape checks the shape of bcrypt and argon2id hashes: their
// length, cost and parameter fields and alphabet. Other formats pass.
func checkHashShape(s string) error {
	switch {
	case isBcrypt(s):
		if len(s) != 60 || s[6] != '$' || s[4] < '0' || s[4] > '3' || s[5] < '0' || s[5] > '9' {
			return errors.New("is not a whole bcrypt hash: one is 60 characters, $2b$<cost>$ and 53 more (is it cut short or quoted?)")
		}
		if cost := int(s[4]-'0')*10 + int(s[5]-'0'); cost < 4 || cost > 31 {
			return errors.New("is a bcrypt hash with a cost outside 4 to 31")
		}
		if strings.Trim(s[7:], "./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789") != "" {
			return errors.New("is not a bcrypt hash: it holds characters bcrypt never writes")
		}
	case strings.HasPrefix(s, "$argon2id$"):
		parts := strings.Split(s, "$")
		if len(parts) != 6 || !strings.HasPrefix(parts[2], "v=") || !strings.HasPrefix(parts[3], "m=") ||
			!strings.Contains(parts[3], ",t=") || !strings.Contains(parts[3], ",p=") || len(parts[4]) < 11 || len(parts[5]) < 22 {
			return errors.New("is not a whole argon2id hash: one reads $argon2id$v=19$m=…,t=…,p=…$<salt>$<hash> (is it cut short or quoted?)")
		}
	}
	return nil
}
