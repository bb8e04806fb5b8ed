package cfgcopy

import (
	"testing"

	"github.com/funcauth/funcauth"
)

func TestCopyIsDeep(t *testing.T) {
	cfg := &funcauth.Config{
		Preset:     "openfaas",
		BasicAuth:  &funcauth.BasicAuth{Users: []funcauth.User{{Name: "admin", PasswordHash: "{env.ADMIN_HASH}"}}},
		Signatures: []funcauth.Signature{{Scheme: "faas-cli", Keys: []string{"{file./run/secrets/hmac}"}}},
	}
	cp, err := Copy(cfg)
	if err != nil {
		t.Fatal(err)
	}
	cp.BasicAuth.Users[0].PasswordHash = "expanded"
	cp.Signatures[0].Keys[0] = "expanded"
	if cfg.BasicAuth.Users[0].PasswordHash != "{env.ADMIN_HASH}" || cfg.Signatures[0].Keys[0] != "{file./run/secrets/hmac}" {
		t.Fatalf("editing the copy changed the original: %+v %+v", cfg.BasicAuth.Users[0], cfg.Signatures[0])
	}
	if cp.Preset != "openfaas" {
		t.Fatalf("the copy lost a field: %+v", cp)
	}
}

// Unknown options are not in the JSON form: a configuration holding some
// comes back as it is, for New to refuse by name.
func TestCopyKeepsUnknownOptions(t *testing.T) {
	cfg := &funcauth.Config{UnknownOptions: map[string]interface{}{"presett": "openfaas"}}
	cp, err := Copy(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if funcauth.UnknownOption(cp) == "" {
		t.Fatal("the copy lost the unknown option")
	}
}
