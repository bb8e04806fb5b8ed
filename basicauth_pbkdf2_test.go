package funcauth

import (
	"encoding/hex"
	"strings"
	"testing"
)

// PBKDF2-HMAC-SHA256 vectors for P="password", S="salt" as published for
// RFC 6070's inputs with SHA-256 (e.g. in RFC 7914 section 11's companion
// sets and the Go x/crypto tests).
func TestPBKDF2SHA256Vectors(t *testing.T) {
	for _, tc := range []struct {
		password, salt string
		iterations     int
		keyLen         int
		want           string
	}{
		{"password", "salt", 1, 32, "120fb6cffcf8b32c43e7225256c4f837a86548c92ccc35480805987cb70be17b"},
		{"password", "salt", 2, 32, "ae4d0c95af6b46d32d0adff928f06dd02a303f8ef3c251dfd6e2d85a95474c43"},
		{"password", "salt", 4096, 32, "c5e478d59288c841aa530db6845c4c8d962893a001ce4e11a4963873aa98134a"},
		{"passwordPASSWORDpassword", "saltSALTsaltSALTsaltSALTsaltSALTsalt", 4096, 40,
			"348c89dbcbd32b2f32d814b8116e84cf2b17347ebc1800181c4e2a1fb8dd53e1c635518c7dac47e9"},
		// RFC 7914 section 11: PBKDF2-HMAC-SHA256, P="passwd", S="salt", c=1, dkLen=64.
		{"passwd", "salt", 1, 64, "55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc49ca9cccf179b645991664b39d77ef317c71b845b1e30bd509112041d3a19783"},
	} {
		got := hex.EncodeToString(pbkdf2SHA256([]byte(tc.password), []byte(tc.salt), tc.iterations, tc.keyLen))
		if got != tc.want {
			t.Errorf("PBKDF2(%q, %q, %d) = %s, want %s", tc.password, tc.salt, tc.iterations, got, tc.want)
		}
	}
}

func TestHashPasswordRoundTrip(t *testing.T) {
	h, err := HashPassword("correct horse battery staple", minPBKDF2Iterations)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$pbkdf2-sha256$i=10000$") {
		t.Fatalf("unexpected form %q", h)
	}
	parsed, err := parsePBKDF2(h)
	if err != nil {
		t.Fatal(err)
	}
	if !parsed.verify([]byte("correct horse battery staple")) {
		t.Error("the right password does not verify")
	}
	if parsed.verify([]byte("correct horse battery stapl")) {
		t.Error("a wrong password verifies")
	}
	h2, _ := HashPassword("correct horse battery staple", minPBKDF2Iterations)
	if h == h2 {
		t.Error("two hashes of one password share a salt")
	}
	if _, err := HashPassword("", 0); err == nil {
		t.Error("an empty password was hashed")
	}
	if _, err := HashPassword("x", 10); err == nil {
		t.Error("10 iterations were accepted")
	}
}

func TestParsePBKDF2Errors(t *testing.T) {
	const salt, key = "FvsaKqDUjTxkY0LDcLY6LQ", "avC3cRwBiE71Wx/YKvObS6LpxMgpuYhieUKArM2/40k"
	for _, bad := range []string{
		"",
		"$pbkdf2-sha256$",
		"$pbkdf2-sha256$i=100000$" + salt,
		"$pbkdf2-sha256$100000$" + salt + "$" + key,
		"$pbkdf2-sha256$i=999$" + salt + "$" + key,
		"$pbkdf2-sha256$i=100000000$" + salt + "$" + key,
		"$pbkdf2-sha256$i=x$" + salt + "$" + key,
		"$pbkdf2-sha256$i=100000$!!$" + key,
		"$pbkdf2-sha256$i=100000$" + salt + "$short",
		"$pbkdf2-sha256$i=100000$" + salt + "$" + key + "=",
		"$pbkdf2-sha256$i=100000$" + salt + "$" + key + "$extra",
		"$pbkdf2-sha512$i=100000$" + salt + "$" + key,
	} {
		if _, err := parsePBKDF2(bad); err == nil {
			t.Errorf("parsePBKDF2(%q) accepted", bad)
		}
	}
}

func TestHashParserRefusesWhatItCannotVerify(t *testing.T) {
	p := &hashParser{hint: "HINT"}
	for _, tc := range []struct{ hash, want string }{
		{"$2y$10$abcdefghijklmnopqrstuuJ3p9Zw4m5l5yMgFq0x8y6z4W2m1q3Ke", "bcrypt"},
		{"$argon2id$v=19$m=47104,t=1,p=1$c2FsdA$a2V5", "argon2id"},
		{"$apr1$x$y", "too weak"},
		{"{SHA}abc", "too weak"},
		{"hunter2", "plain-text"},
		{"$unknown$x", "not a supported"},
	} {
		_, err := p.parse(tc.hash)
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "HINT") {
			t.Errorf("parse(%q) = %v; want an error about %q with the hint", tc.hash, err, tc.want)
		}
		if err != nil && len(tc.hash) > 6 && strings.Contains(err.Error(), tc.hash) {
			t.Errorf("the error quotes the hash: %v", err)
		}
	}
}

func FuzzParsePBKDF2(f *testing.F) {
	f.Add("$pbkdf2-sha256$i=100000$FvsaKqDUjTxkY0LDcLY6LQ$avC3cRwBiE71Wx/YKvObS6LpxMgpuYhieUKArM2/40k")
	f.Add("$pbkdf2-sha256$i=1$$")
	f.Fuzz(func(t *testing.T, s string) {
		h, err := parsePBKDF2(s)
		if err != nil {
			return
		}
		if h.iterations < minPBKDF2Iterations || h.iterations > maxPBKDF2Iterations || len(h.salt) < 8 || len(h.key) < 16 {
			t.Fatalf("accepted out-of-range hash %q", s)
		}
		if got := formatPBKDF2(h.iterations, h.salt, h.key); got != s && !strings.HasPrefix(s, pbkdf2Prefix+"i=0") && !strings.HasPrefix(s, pbkdf2Prefix+"i=+") {
			if _, err := parsePBKDF2(got); err != nil {
				t.Fatalf("re-formatted %q does not parse: %v", got, err)
			}
		}
	})
}
