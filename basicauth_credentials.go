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

// parseBasicAuth parses the value of an Authorization header of the Basic
// scheme (RFC 7617). scheme is false when the header uses another scheme;
// ok is false when it is Basic but malformed.
func parseBasicAuth(header string) (user, password string, scheme, ok bool) {
	const prefix = "basic "
	if strings.EqualFold(strings.TrimSpace(header), "basic") {
		return "", "", true, false // the Basic scheme without credentials
	}
	if len(header) < len(prefix) || !strings.EqualFold(header[:len(prefix)], prefix) {
		return "", "", false, false
	}
	encoded := strings.TrimLeft(header[len(prefix):], " ")
	if len(encoded) > base64.StdEncoding.EncodedLen(maxUserNameLength+1+maxPasswordLength) {
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
