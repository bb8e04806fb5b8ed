package funcauth

import (
	"os"
	"path/filepath"
	"testing"
)

// TestOneMACRules checks which rules checkOneMAC takes: one header MAC
// verifier with one inline or environment key, and no other.
func TestOneMACRules(t *testing.T) {
	keyFile := filepath.Join(t.TempDir(), "key")
	if err := os.WriteFile(keyFile, []byte("from-a-file"), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		sigs []Signature
		want bool
	}{
		{"faas-cli, one inline key", []Signature{{Scheme: "faas-cli", Keys: []string{"k1"}}}, true},
		{"github, one inline key", []Signature{{Scheme: "github", Keys: []string{"k1"}}}, true},
		{"two keys", []Signature{{Scheme: "faas-cli", Keys: []string{"k1", "k2"}}}, false},
		{"a key file", []Signature{{Scheme: "faas-cli", KeyFiles: []string{keyFile}}}, false},
		{"two verifiers", []Signature{{Scheme: "faas-cli", Keys: []string{"k1"}}, {Scheme: "github", Keys: []string{"k2"}}}, false},
		{"not a header MAC", []Signature{{Scheme: "stripe", Keys: []string{"whsec_k1"}}}, false},
	}
	for _, c := range cases {
		c := c
		t.Run(c.name, func(t *testing.T) {
			g := newTestGuard(t, &Config{
				Rules:      []Rule{{Path: "/function/*", Require: "signature"}},
				Signatures: c.sigs,
			}, nil)
			if got := g.rules[0].oneMAC != nil; got != c.want {
				t.Errorf("checkOneMAC takes the rule: %v, want %v", got, c.want)
			}
		})
	}
}
