package funcauth

import (
	"encoding/base64"
	"strings"
)

// Limits on Basic Auth credentials: longer ones cannot belong to a
// configured user and are refused without spending a hash on them.
const (
	maxUserNameLength = 256
	maxPasswordLength = 1024
)

// maxEncodedCredentials is the longest base64 encoding of credentials
// within the limits.
const maxEncodedCredentials = (maxUserNameLength + 1 + maxPasswordLength + 2) / 3 * 4

// parseBasicAuth parses the value of an Authorization header of the Basic
// scheme (RFC 7617). scheme is false when the header uses another scheme;
// ok is false when it is Basic but malformed.
//
// (The usual spelling, "Basic " and one space, costs no call: see
// calls.go.)
func parseBasicAuth(header string) (user, password string, scheme, ok bool) {
	const prefix = "Basic "
	if len(header) < len(prefix) || header[:len(prefix)] != prefix && !strings.EqualFold(header[:len(prefix)], prefix) {
		// "Basic" alone is the Basic scheme without credentials.
		return "", "", strings.EqualFold(strings.TrimSpace(header), "basic"), false
	}
	encoded := header[len(prefix):]
	if encoded != "" && encoded[0] == ' ' {
		encoded = strings.TrimLeft(encoded, " ")
	}
	if len(encoded) > maxEncodedCredentials {
		return "", "", true, false
	}
	decoded, err := base64.StdEncoding.DecodeString(encoded)
	if err != nil {
		return "", "", true, false
	}
	s := string(decoded)
	colon := strings.IndexByte(s, ':')
	if colon < 0 {
		return "", "", true, false
	}
	user, password = s[:colon], s[colon+1:]
	if user == "" || len(user) > maxUserNameLength || len(password) > maxPasswordLength {
		return "", "", true, false
	}
	return user, password, true, true
}
