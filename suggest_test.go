package funcauth

import (
	"strings"
	"testing"
)

func TestSuggestion(t *testing.T) {
	for _, tc := range []struct{ name, want string }{
		{"faas-cl", "faas-cli"},
		{"githb", "github"},
		{"Stripe", "stripe"},
		{"standard-webhook", "standard-webhooks"},
		{"hmac", ""}, // too far from anything
		{"x", ""},
	} {
		got := suggestion(tc.name, SchemeNames())
		if tc.want == "" && got != "" || tc.want != "" && got != ` (did you mean "`+tc.want+`"?)` {
			t.Errorf("%q: %q, want %q", tc.name, got, tc.want)
		}
	}
}

// A mistyped scheme names its likely meaning; a truncated host hash fails
// at New, not at every login.
func TestEarlyErrors(t *testing.T) {
	_, err := New(&Config{Rules: []Rule{{Path: "*", Require: "signature"}}, Signatures: []Signature{{Scheme: "stripee", Keys: []string{"k"}}}}, Options{})
	if err == nil || !strings.Contains(err.Error(), `signatures[0].scheme: unknown scheme "stripee" (did you mean "stripe"?)`) {
		t.Errorf("unknown scheme: %v", err)
	}
	comparers := map[string]HashComparer{"$2a$": nil, "$argon2id$": nil}
	for _, hash := range []string{
		"$2a$14$ajq8Q7fbtFRQvXpdCq7Jcuy.Rx1h/L4J60Otx.gyNLbAYctGMJ9t",  // 59 characters
		"$2a$99$ajq8Q7fbtFRQvXpdCq7Jcuy.Rx1h/L4J60Otx.gyNLbAYctGMJ9tH", // cost 99
		"$2a$14$ajq8Q7fbtFRQvXpdCq7Jcuy.Rx1h/L4J60Otx.gyNLbAYctGMJ9t!", // not bcrypt's alphabet
		"$argon2id$v=19$m=65536,t=3,p=1$c2FsdHNhbHRzYWx0",              // no hash
		"$argon2id$v=19$m=65536,t=3,p=1$c2FsdHNhbHRzYWx0$c2hvcnQ",      // hash too short
	} {
		_, err := New(&Config{Rules: []Rule{{Path: "*", Require: "basic"}}, BasicAuth: &BasicAuth{Users: []User{{Name: "admin", PasswordHash: hash}}}},
			Options{HashComparers: comparers})
		if err == nil || !strings.Contains(err.Error(), "basic_auth.users[0].password_hash") {
			t.Errorf("%s: %v", hash, err)
		}
		if err != nil && strings.Contains(err.Error(), hash) {
			t.Errorf("the error quotes the hash: %v", err)
		}
		if CheckPasswordHash(hash) == nil {
			t.Errorf("CheckPasswordHash accepted %s", hash)
		}
	}
	for _, hash := range []string{
		"$2a$14$ajq8Q7fbtFRQvXpdCq7Jcuy.Rx1h/L4J60Otx.gyNLbAYctGMJ9tH",
		"$argon2id$v=19$m=47104,t=1,p=1$yXcJt9Dzb9V8JSSg1G76Fg$ls5ehbCPaQRBFnBEkqPTvt+ZiJ8ISWPDAk4rmMgoUsY",
		"$pbkdf2-sha256$i=100000$FvsaKqDUjTxkY0LDcLY6LQ$avC3cRwBiE71Wx/YKvObS6LpxMgpuYhieUKArM2/40k",
	} {
		if err := CheckPasswordHash(hash); err != nil {
			t.Errorf("%s: %v", hash, err)
		}
	}
}
