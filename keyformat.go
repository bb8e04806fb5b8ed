package funcauth

import (
	"bytes"
	"crypto/ed25519"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"strings"
)

// keyFormat says how a configured secret is written. (A format, not a
// function value or a method: Yaegi v0.16.1 loses interpreted functions
// stored in struct fields and panics calling a method of a named integer
// type held in one.)
type keyFormat int

const (
	keyRaw           keyFormat = iota // the bytes as given
	keyWebhookSecret                  // Standard Webhooks: "whsec_" and base64
	keyEd25519Public                  // an Ed25519 public key: hex, base64 or PEM
	keyMessageSig                     // RFC 9421: "<alg>:<keyid>:<key>"
)

// Algorithms of HTTP Message Signatures (RFC 9421) keys.
const (
	algHMACSHA256 = "hmac-sha256"
	algEd25519    = "ed25519"
)

// decodeKey turns a configured secret written in format f into a key. Its
// errors never quote the secret.
func decodeKey(f keyFormat, raw []byte) (key, error) {
	switch f {
	case keyWebhookSecret:
		s := strings.TrimPrefix(string(raw), "whsec_")
		b, err := decodeBase64(s)
		if err != nil || len(b) == 0 {
			return key{}, errors.New("is not a Standard Webhooks secret (whsec_ followed by base64)")
		}
		return key{secret: b}, nil
	case keyEd25519Public:
		b, err := decodeEd25519Public(raw)
		if err != nil {
			return key{}, err
		}
		return key{secret: b, alg: algEd25519}, nil
	case keyMessageSig:
		parts := strings.SplitN(string(raw), ":", 3)
		if len(parts) != 3 || parts[1] == "" || parts[2] == "" {
			return key{}, errors.New("an HTTP Message Signatures key has the form <alg>:<keyid>:<key>, such as hmac-sha256:my-key:<base64> or ed25519:my-key:<hex public key>")
		}
		k := key{id: parts[1], alg: parts[0]}
		switch parts[0] {
		case algHMACSHA256:
			b, err := decodeBase64(parts[2])
			if err != nil || len(b) < 16 {
				return key{}, errors.New("an hmac-sha256 key must be base64 of at least 16 bytes")
			}
			k.secret = b
		case algEd25519:
			b, err := decodeEd25519Public([]byte(parts[2]))
			if err != nil {
				return key{}, errors.New("an ed25519 key " + err.Error())
			}
			k.secret = b
		default:
			return key{}, errors.New("has an unknown algorithm: use hmac-sha256 or ed25519")
		}
		return k, nil
	}
	return key{secret: raw}, nil
}

// decodeBase64 accepts standard or URL-safe base64, padded or not.
func decodeBase64(s string) ([]byte, error) {
	s = strings.TrimRight(strings.TrimSpace(s), "=")
	if strings.ContainsAny(s, "-_") {
		return base64.RawURLEncoding.DecodeString(s)
	}
	return base64.RawStdEncoding.DecodeString(s)
}

// decodeEd25519Public reads a 32-byte Ed25519 public key written as hex (as
// Discord shows it), base64 (as a JWK's x) or a PEM public key.
func decodeEd25519Public(raw []byte) ([]byte, error) {
	s := strings.TrimSpace(string(raw))
	if strings.HasPrefix(s, "-----BEGIN") {
		block, _ := pem.Decode([]byte(s))
		if block == nil {
			return nil, errors.New("is not a PEM block")
		}
		pub, err := x509.ParsePKIXPublicKey(block.Bytes)
		if err != nil {
			return nil, errors.New("is not a PEM public key")
		}
		k, ok := pub.(ed25519.PublicKey)
		if !ok {
			return nil, errors.New("is not an Ed25519 public key")
		}
		return bytes.Clone(k), nil
	}
	if len(s) == 2*ed25519.PublicKeySize {
		if b, err := hex.DecodeString(s); err == nil {
			return b, nil
		}
	}
	b, err := decodeBase64(s)
	if err != nil || len(b) != ed25519.PublicKeySize {
		return nil, errors.New("is not an Ed25519 public key (64 hex digits, base64 of 32 bytes, or PEM)")
	}
	return b, nil
}
