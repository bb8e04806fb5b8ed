package funcauth

import (
	"net/http/httptest"
	"testing"

	"golang.org/x/crypto/bcrypt"
)

// bcryptComparer is the bcrypt HashComparer, as Caddy's BcryptHash is.
type bcryptComparer struct{}

func (bcryptComparer) Compare(hashed, plaintext []byte) (bool, error) {
	err := bcrypt.CompareHashAndPassword(hashed, plaintext)
	if err == bcrypt.ErrMismatchedHashAndPassword {
		return false, nil
	}
	return err == nil, err
}

// BenchmarkBcryptCost14 is a Basic Auth check against a bcrypt hash of cost
// 14 (what `caddy hash-password` makes) through the Guard: "first" is the
// first check of a user's credentials (a fresh Guard each time), "cached" a
// later check of the same credentials, answered from the credential cache.
func BenchmarkBcryptCost14(b *testing.B) {
	const password = "correct horse battery staple"
	hash, err := bcrypt.GenerateFromPassword([]byte(password), 14)
	if err != nil {
		b.Fatal(err)
	}
	newGuard := func() *Guard {
		g, err := New(&Config{
			Preset:     "openfaas",
			BasicAuth:  &BasicAuth{Users: []User{{Name: "admin", PasswordHash: string(hash)}}},
			Signatures: []Signature{{Scheme: "faas-cli", Keys: []string{"cookie"}}},
			Bans:       &Bans{Disabled: true},
		}, Options{Now: (&clock{t: testNow}).now, HashComparers: map[string]HashComparer{"$2a$": bcryptComparer{}}})
		if err != nil {
			b.Fatal(err)
		}
		return g
	}
	template := httptest.NewRequest("GET", "/system/functions", nil)
	template.SetBasicAuth("admin", password)
	check := func(g *Guard) {
		if d := g.Check(requestFrom(template, nil), "192.0.2.1"); !d.Allowed {
			b.Fatal(d.Reason)
		}
	}
	b.Run("first", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			b.StopTimer()
			g := newGuard()
			b.StartTimer()
			check(g)
		}
	})
	b.Run("cached", func(b *testing.B) {
		g := newGuard()
		check(g)
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			check(g)
		}
	})
}
