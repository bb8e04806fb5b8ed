package funcauth

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/hex"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A key's HMAC states are kept between requests (macPools): a state taken
// back must start afresh, whatever the message before it did with it (a
// bad signature, another body, another algorithm on the same key), and a
// check with two keys must give each key its own. The messages run twice,
// so that the second round runs on kept states only.
func TestKeptMACStatesStartAfresh(t *testing.T) {
	g := newTestGuard(t, &Config{
		Rules:      []Rule{{Path: "/function/*", Require: "signature"}},
		Signatures: []Signature{{Scheme: "faas-cli", Keys: []string{"old", "new"}, Tolerance: "0s"}},
	}, nil)
	sha256Request := func(body, key string) func() *http.Request {
		return func() *http.Request { return signedRequest("/function/env", body, key) }
	}
	sha1Request := func(body, key string) func() *http.Request {
		return func() *http.Request {
			m := hmac.New(sha1.New, []byte(key))
			m.Write([]byte(body))
			return request("POST", "/function/env", body, http.Header{"Hmac": {"sha1=" + hex.EncodeToString(m.Sum(nil))}})
		}
	}
	cases := []struct {
		request func() *http.Request
		keyID   string
		reason  Reason
	}{
		{sha256Request("first", "new"), "keys[1]", ReasonSigned},
		{sha256Request("second", "wrong"), "", ReasonBadSignature},
		{sha256Request("second", "old"), "keys[0]", ReasonSigned},
		{sha256Request(strings.Repeat("long body ", 500), "new"), "keys[1]", ReasonSigned},
		{sha1Request("third", "old"), "keys[0]", ReasonSigned},
		{sha256Request("third", "old"), "keys[0]", ReasonSigned},
		{sha1Request("fourth", "wrong"), "", ReasonBadSignature},
		{sha1Request("fourth", "new"), "keys[1]", ReasonSigned},
	}
	for round := 1; round <= 2; round++ {
		for i, tc := range cases {
			d := g.Check(tc.request(), "192.0.2.1")
			if d.Reason != tc.reason || d.KeyID != tc.keyID {
				t.Fatalf("round %d, message %d: %s %q (%s), want %s %q", round, i, d.Reason, d.KeyID, d.Detail, tc.reason, tc.keyID)
			}
			d.Close()
		}
	}
}

// Inline and environment keys keep their HMAC states; keys from files and
// the decoy key do not, so that a function's own key, used rarely, costs
// what the decoy of a function without a key costs (see macPools).
func TestOnlyStaticKeysKeepMACStates(t *testing.T) {
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "key")
	os.WriteFile(keyFile, []byte("three"), 0o600)
	os.WriteFile(filepath.Join(dir, "env-key"), []byte("four"), 0o600)
	env := func(name string) (string, bool) { return "two", name == "FUNCAUTH_TEST_KEY" }
	g, err := New(&Config{
		Rules: []Rule{{Path: "/function/*", Require: "signature"}},
		Signatures: []Signature{{Scheme: "faas-cli", Keys: []string{"one"}, KeyEnv: []string{"FUNCAUTH_TEST_KEY"},
			KeyFiles: []string{keyFile}, FunctionKeyFile: filepath.Join(dir, "{function}-key"), Tolerance: "0s"}},
	}, Options{LookupEnv: env})
	if err != nil {
		t.Fatal(err)
	}
	v := g.rules[0].verifiers[0]
	for _, k := range v.keys.static {
		if k.macs == nil {
			t.Errorf("static key %q keeps no HMAC states", k.id)
		}
	}
	keys, problem := v.keys.keysFor(functionRef{Name: "env"}, true, testNow)
	if problem != "" || len(keys) != 4 {
		t.Fatalf("keys for env: %d (%s)", len(keys), problem)
	}
	for _, k := range keys[2:] {
		if k.macs != nil {
			t.Errorf("key %q from a file keeps HMAC states", k.id)
		}
	}
	if g.decoyKeys[0].macs != nil {
		t.Error("the decoy key keeps HMAC states")
	}
}

// A request carrying the signatures of two verifiers starts two MAC
// checks: the first in the request's own memory (sigInput.spare), the
// second in its own. Each must keep its keys and candidates, whichever
// one verifies.
func TestTwoMACChecksInOneRequest(t *testing.T) {
	g := newTestGuard(t, &Config{
		Rules: []Rule{{Path: "/function/*", Require: "signature"}},
		Signatures: []Signature{
			{Scheme: "faas-cli", Keys: []string{"faas key"}, Tolerance: "0s"},
			{Scheme: "github", Keys: []string{"github key"}, Tolerance: "0s"},
		},
	}, nil)
	body := "payload"
	for _, tc := range []struct {
		faasKey, githubKey string
		verifier           string
	}{
		{"faas key", "wrong", "faas-cli"},
		{"wrong", "github key", "github"},
		{"faas key", "github key", "faas-cli"},
	} {
		h := http.Header{
			"Hmac":                {"sha256=" + hexMAC(tc.faasKey, body)},
			"X-Hub-Signature-256": {"sha256=" + hexMAC(tc.githubKey, body)},
		}
		d := g.Check(request("POST", "/function/env", body, h), "192.0.2.1")
		if !d.Allowed || d.Verifier != tc.verifier {
			t.Fatalf("faas-cli key %q, GitHub key %q: %s by %q (%s), want signed by %s", tc.faasKey, tc.githubKey, d.Reason, d.Verifier, d.Detail, tc.verifier)
		}
		d.Close()
	}
	h := http.Header{"Hmac": {"sha256=" + hexMAC("wrong", body)}, "X-Hub-Signature-256": {"sha256=" + hexMAC("wrong", body)}}
	if d := g.Check(request("POST", "/function/env", body, h), "192.0.2.1"); d.Allowed || d.Reason != ReasonBadSignature {
		t.Fatalf("two wrong signatures: %s", d.Reason)
	}
}

// A function without its own key, beside an inline key, is checked with
// as many MACs as one with its key (the decoy stands in for the missing
// one), so the time taken does not tell which functions have keys; and
// the inline key still verifies its messages.
func TestMissingFunctionKeyCostsAsManyMACs(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "keyed-key"), []byte("function secret"), 0o600)
	g := newTestGuard(t, &Config{
		Rules: []Rule{{Path: "/function/*", Require: "signature"}},
		Signatures: []Signature{{Scheme: "faas-cli", Keys: []string{"shared"},
			FunctionKeyFile: filepath.Join(dir, "{function}-key"), Tolerance: "0s"}},
	}, nil)
	v := g.rules[0].verifiers[0]
	count := func(fn string) int {
		rt := &route{fn: functionRef{Name: fn}, hasFn: true}
		keys, _ := keysOrDecoy(g, v, &checkedRequest{route: rt, now: testNow})
		return len(keys)
	}
	if keyed, keyless := count("keyed"), count("keyless"); keyed != keyless || keyed != 2 {
		t.Fatalf("MACs for a function with its key: %d, without: %d; want 2 and 2", keyed, keyless)
	}
	for _, fn := range []string{"keyed", "keyless"} {
		if d := g.Check(signedRequest("/function/"+fn, "body", "shared"), "192.0.2.1"); !d.Allowed {
			t.Fatalf("%s, signed with the inline key: %s (%s)", fn, d.Reason, d.Detail)
		}
	}
	if d := g.Check(signedRequest("/function/keyed", "body", "function secret"), "192.0.2.1"); !d.Allowed {
		t.Fatalf("keyed, signed with its own key: %s (%s)", d.Reason, d.Detail)
	}
}

// Each hash function's pool index is its place in macHashes, which sizes a
// key's pools.
func TestMACHashPoolIndices(t *testing.T) {
	for i, h := range macHashes {
		if h.pool != i {
			t.Errorf("%s: pool %d, at %d in macHashes", h.name, h.pool, i)
		}
		if hashByName(h.name) != h {
			t.Errorf("hashByName(%q) is not %s", h.name, h.name)
		}
	}
}
