package funcauth

import (
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// signedRequest signs body for a faas-cli verifier keyed with key.
func signedRequest(path, body, key string) *http.Request {
	return request("POST", path, body, http.Header{"Hmac": {"sha256=" + hexMAC(key, body)}})
}

func TestKeyFileRotationAndFailClosed(t *testing.T) {
	dir := t.TempDir()
	keyPath := filepath.Join(dir, "payload-secret")
	os.WriteFile(keyPath, []byte("first\n"), 0o600)
	c := &clock{t: testNow}
	g := newTestGuard(t, &Config{
		Rules:      []Rule{{Path: "/function/*", Require: "signature"}},
		Signatures: []Signature{{Scheme: "faas-cli", KeyFiles: []string{keyPath}, Tolerance: "0s"}},
	}, c)
	check := func(key string) *Decision { return g.Check(signedRequest("/function/env", "body", key), "192.0.2.1") }

	if d := check("first"); !d.Allowed || d.KeyID != "payload-secret" {
		t.Fatalf("key file: %s %q", d.Reason, d.KeyID)
	}
	os.WriteFile(keyPath, []byte("second"), 0o600)
	if d := check("first"); !d.Allowed {
		t.Fatalf("within the recheck interval the old key still holds: %s", d.Reason)
	}
	c.advance(fileRecheckInterval)
	if d := check("second"); !d.Allowed {
		t.Fatalf("rotated key not picked up within %v: %s", fileRecheckInterval, d.Reason)
	}
	if d := check("first"); d.Allowed {
		t.Fatal("the old key still verifies after rotation")
	}
	os.WriteFile(keyPath, []byte(" \n"), 0o600)
	c.advance(fileRecheckInterval)
	if d := check("second"); d.Reason != ReasonKeyUnavailable || !strings.Contains(d.Detail, "is empty") {
		t.Fatalf("emptied key file: %s %q", d.Reason, d.Detail)
	}
	os.Remove(keyPath)
	c.advance(fileRecheckInterval)
	if d := check("second"); d.Reason != ReasonKeyUnavailable || !strings.Contains(d.Detail, "does not exist") {
		t.Fatalf("deleted key file: %s %q", d.Reason, d.Detail)
	}
	if d := check(""); d.Allowed {
		t.Fatal("an empty key verified")
	}
	os.WriteFile(keyPath, []byte("third"), 0o600)
	c.advance(fileRecheckInterval)
	if d := check("third"); !d.Allowed {
		t.Fatalf("restored key file: %s", d.Reason)
	}
}

func TestFunctionKeyFiles(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "env-hmac"), []byte("env-key"), 0o600)
	os.WriteFile(filepath.Join(dir, "figlet-hmac"), []byte("figlet-key"), 0o600)
	os.MkdirAll(filepath.Join(dir, "dev"), 0o755)
	os.WriteFile(filepath.Join(dir, "dev", "env"), []byte("dev-key"), 0o600)
	g := newTestGuard(t, &Config{
		Rules: []Rule{{Path: "/function/*", Require: "signature"}, {Path: "/async-function/*", Require: "signature"}},
		Signatures: []Signature{
			{Name: "per-function", Scheme: "faas-cli", FunctionKeyFile: filepath.Join(dir, "{function}-hmac"), Tolerance: "0s"},
			{Name: "per-namespace", Scheme: "faas-cli", Header: "X-Ns-Hmac", FunctionKeyFile: filepath.Join(dir, "{namespace}", "{function}"), Tolerance: "0s"},
		},
	}, nil)
	for _, tc := range []struct {
		path, key string
		want      Reason
		keyID     string
	}{
		{"/function/env", "env-key", ReasonSigned, "env-hmac"},
		{"/function/env.openfaas-fn/sub", "env-key", ReasonSigned, "env-hmac"},
		{"/async-function/figlet", "figlet-key", ReasonSigned, "figlet-hmac"},
		{"/function/figlet", "env-key", ReasonBadSignature, ""},
		{"/function/nokey", "env-key", ReasonKeyUnavailable, ""},
		{"/function/", "env-key", ReasonKeyUnavailable, ""},
		{"/function/.env", "env-key", ReasonKeyUnavailable, ""},
	} {
		d := g.Check(signedRequest(tc.path, "payload", tc.key), "192.0.2.1")
		if d.Reason != tc.want || d.KeyID != tc.keyID {
			t.Errorf("%s: %s %q (%s), want %s %q", tc.path, d.Reason, d.KeyID, d.Detail, tc.want, tc.keyID)
		}
	}
	r := request("POST", "/function/env.dev", "payload", http.Header{"X-Ns-Hmac": {"sha256=" + hexMAC("dev-key", "payload")}})
	if d := g.Check(r, "192.0.2.1"); d.Reason != ReasonSigned || d.Verifier != "per-namespace" {
		t.Errorf("namespace key: %s %s", d.Reason, d.Detail)
	}
	// Function names come from anyone: the table of key files stays bounded.
	for i := 0; i < maxFunctionKeyFiles+100; i++ {
		g.Check(signedRequest("/function/f"+strconv.Itoa(i), "p", "k"), "192.0.2.1")
	}
	if n := len(g.verifiers[0].keys.perFunction.files); n > maxFunctionKeyFiles {
		t.Errorf("%d per-function key files remembered, bound %d", n, maxFunctionKeyFiles)
	}
}

func TestKeyEnv(t *testing.T) {
	env := map[string]string{"HMAC_KEY": "cookie\n", "EMPTY": " "}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	g, err := New(&Config{Rules: []Rule{{Path: "*", Require: "signature"}},
		Signatures: []Signature{{Scheme: "faas-cli", KeyEnv: []string{"HMAC_KEY"}, Tolerance: "0s"}}}, Options{LookupEnv: lookup})
	if err != nil {
		t.Fatal(err)
	}
	if d := g.Check(signedRequest("/function/env", "b", "cookie"), "192.0.2.1"); !d.Allowed || d.KeyID != "env:HMAC_KEY" {
		t.Fatalf("env key: %s %q", d.Reason, d.KeyID)
	}
	for _, name := range []string{"EMPTY", "UNSET"} {
		_, err := New(&Config{Rules: []Rule{{Path: "*", Require: "signature"}},
			Signatures: []Signature{{Scheme: "faas-cli", KeyEnv: []string{name}}}}, Options{LookupEnv: lookup})
		if err == nil || !strings.Contains(err.Error(), "signatures[0].key_env[0]") {
			t.Errorf("%s: %v", name, err)
		}
	}
}
