package funcauth

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"strconv"
	"strings"
)

// PBKDF2 password hashes use the PHC string format:
//
//	$pbkdf2-sha256$i=<iterations>$<salt>$<hash>
//
// where salt and hash are base64 without padding (RFC 4648 standard
// alphabet), the hash is PBKDF2-HMAC-SHA256 (RFC 8018) of the password with
// that salt and iteration count, and its length is the decoded length of
// <hash>. It needs nothing but the standard library, so it runs inside
// Traefik's Yaegi interpreter, where bcrypt is far too slow.
const pbkdf2Prefix = "$pbkdf2-sha256$"

// DefaultPBKDF2Iterations is the iteration count HashPassword uses. It keeps
// one check under Yaegi (Traefik) near 100 ms on a shared 2-core machine and
// near 10 ms compiled (Caddy); successful checks are cached, so the cost is
// paid once per user and password, and bans bound how often an attacker can
// make funcauth pay it.
const DefaultPBKDF2Iterations = 100000

const (
	minPBKDF2Iterations = 10000
	maxPBKDF2Iterations = 10000000
	pbkdf2SaltSize      = 16
	pbkdf2KeySize       = 32
)

// HashComparer compares a password with a hash in a format the core does not
// implement, such as bcrypt. Its method matches Caddy's caddyauth.Comparer.
type HashComparer interface {
	// Compare reports whether plaintext is the password hashed into hashed.
	Compare(hashed, plaintext []byte) (bool, error)
}

// HashPassword returns the PBKDF2-SHA256 hash of password in the format
// described above, with a random salt and DefaultPBKDF2Iterations, or with
// iterations when it is positive.
func HashPassword(password string, iterations int) (string, error) {
	if iterations <= 0 {
		iterations = DefaultPBKDF2Iterations
	}
	if iterations < minPBKDF2Iterations || iterations > maxPBKDF2Iterations {
		return "", errors.New("iterations must lie between " + strconv.Itoa(minPBKDF2Iterations) + " and " + strconv.Itoa(maxPBKDF2Iterations))
	}
	if password == "" {
		return "", errors.New("the password is empty")
	}
	salt := make([]byte, pbkdf2SaltSize)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	key := pbkdf2SHA256([]byte(password), salt, iterations, pbkdf2KeySize)
	return formatPBKDF2(iterations, salt, key), nil
}

func formatPBKDF2(iterations int, salt, key []byte) string {
	return pbkdf2Prefix + "i=" + strconv.Itoa(iterations) + "$" +
		base64.RawStdEncoding.EncodeToString(salt) + "$" +
		base64.RawStdEncoding.EncodeToString(key)
}

// pbkdf2Hash is a parsed PBKDF2-SHA256 hash.
type pbkdf2Hash struct {
	iterations int
	salt       []byte
	key        []byte
}

// parsePBKDF2 parses the PHC string form. Errors never quote the hash.
func parsePBKDF2(s string) (*pbkdf2Hash, error) {
	if !strings.HasPrefix(s, pbkdf2Prefix) {
		return nil, errors.New("not a $pbkdf2-sha256$ hash")
	}
	parts := strings.Split(s[len(pbkdf2Prefix):], "$")
	if len(parts) != 3 || !strings.HasPrefix(parts[0], "i=") {
		return nil, errors.New("a PBKDF2 hash has the form $pbkdf2-sha256$i=<iterations>$<salt>$<hash>")
	}
	iterations, err := strconv.Atoi(parts[0][2:])
	if err != nil || iterations < minPBKDF2Iterations || iterations > maxPBKDF2Iterations {
		return nil, errors.New("a PBKDF2 hash needs between " + strconv.Itoa(minPBKDF2Iterations) + " and " + strconv.Itoa(maxPBKDF2Iterations) + " iterations")
	}
	salt, err := base64.RawStdEncoding.DecodeString(parts[1])
	if err != nil || len(salt) < 8 {
		return nil, errors.New("a PBKDF2 hash needs a salt of at least 8 bytes in unpadded base64")
	}
	key, err := base64.RawStdEncoding.DecodeString(parts[2])
	if err != nil || len(key) < 16 || len(key) > 64 {
		return nil, errors.New("a PBKDF2 hash needs a derived key of 16 to 64 bytes in unpadded base64")
	}
	return &pbkdf2Hash{iterations: iterations, salt: salt, key: key}, nil
}

func (h *pbkdf2Hash) verify(password []byte) bool {
	got := pbkdf2SHA256(password, h.salt, h.iterations, len(h.key))
	return subtle.ConstantTimeCompare(got, h.key) == 1
}

// pbkdf2SHA256 is PBKDF2 (RFC 8018, section 5.2) with HMAC-SHA256. The
// inner loop makes only calls into compiled standard-library code, which
// keeps it fast under Yaegi.
func pbkdf2SHA256(password, salt []byte, iterations, keyLen int) []byte {
	prf := hmac.New(sha256.New, password)
	hashLen := prf.Size()
	blocks := (keyLen + hashLen - 1) / hashLen
	derived := make([]byte, 0, blocks*hashLen)
	u := make([]byte, 0, hashLen)
	var counter [4]byte
	for block := 1; block <= blocks; block++ {
		prf.Reset()
		prf.Write(salt)
		binary.BigEndian.PutUint32(counter[:], uint32(block))
		prf.Write(counter[:])
		derived = prf.Sum(derived)
		t := derived[len(derived)-hashLen:]
		u = append(u[:0], t...)
		for n := 2; n <= iterations; n++ {
			prf.Reset()
			prf.Write(u)
			u = prf.Sum(u[:0])
			subtle.XORBytes(t, t, u)
		}
	}
	return derived[:keyLen]
}
