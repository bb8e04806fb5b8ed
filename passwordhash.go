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
