package funcauth

import (
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
)

// TestRefusalBody: a refusal's body is one line of JSON with the public
// reason, the status and the link to its troubleshooting anchor; an
// unknown user and a wrong password get the same bytes; "status" sends the
// status text alone.
func TestRefusalBody(t *testing.T) {
	hash, err := HashPassword("pw", 10000)
	if err != nil {
		t.Fatal(err)
	}
	cfg := &Config{Preset: "openfaas",
		BasicAuth:  &BasicAuth{Users: []User{{Name: "admin", PasswordHash: hash}}},
		Signatures: []Signature{{Scheme: "faas-cli", FunctionKeyFile: t.TempDir() + "/{function}-hmac"}}}
	g := newTestGuard(t, cfg, nil)
	basic := func(user, pw string) http.Header {
		r, _ := http.NewRequest("GET", "/", nil)
		r.SetBasicAuth(user, pw)
		return r.Header
	}
	for _, tc := range []struct {
		name   string
		req    *http.Request
		status int
		reason Reason // the decision's
		code   string // the body's
	}{
		{"no credentials", request("GET", "/system/functions", "", nil), 401, ReasonMissingCredentials, "missing_credentials"},
		{"unknown user", request("GET", "/system/functions", "", basic("nobody", "pw")), 401, ReasonBadCredentials, "bad_credentials"},
		{"wrong password", request("GET", "/system/functions", "", basic("admin", "wrong")), 401, ReasonBadCredentials, "bad_credentials"},
		{"no rule", request("GET", "/metrics", "", nil), 403, ReasonNoRule, "no_rule"},
		{"no signature", request("POST", "/function/env", "x", nil), 401, ReasonMissingSignature, "missing_signature"},
		{"no key file", request("POST", "/function/env", "x", http.Header{"Hmac": {"sha256=00"}}), 401, ReasonKeyUnavailable, "bad_signature"},
		{"bad path", request("GET", "/system/../function/x", "", nil), 400, ReasonBadRequest, "bad_request"},
	} {
		rec, d, _ := serve(g, tc.req)
		if rec.Code != tc.status || d.Reason != tc.reason {
			t.Errorf("%s: %d %s, want %d %s", tc.name, rec.Code, d.Reason, tc.status, tc.reason)
			continue
		}
		want := `{"error":"` + tc.code + `","status":` + strconv.Itoa(tc.status) + `,"docs":"https://github.com/funcauth/funcauth/blob/main/docs/troubleshooting.md#` + tc.code + `"}` + "\n"
		if got := rec.Body.String(); got != want {
			t.Errorf("%s: body %q, want %q", tc.name, got, want)
		}
		if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
			t.Errorf("%s: Content-Type %q", tc.name, ct)
		}
		var parsed map[string]interface{}
		if err := json.Unmarshal(rec.Body.Bytes(), &parsed); err != nil || len(parsed) != 3 {
			t.Errorf("%s: not the three-field JSON: %v %v", tc.name, parsed, err)
		}
	}

	cfg.RefusalBody = "status"
	g = newTestGuard(t, cfg, nil)
	rec, _, _ := serve(g, request("GET", "/system/functions", "", basic("admin", "wrong")))
	if rec.Code != 401 || rec.Body.String() != "Unauthorized\n" || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/plain") {
		t.Errorf("refusal_body status: %d %q %q", rec.Code, rec.Body.String(), rec.Header().Get("Content-Type"))
	}

	cfg.RefusalBody = "verbose"
	if _, err := New(cfg, Options{}); err == nil || !strings.Contains(err.Error(), "refusal_body") {
		t.Errorf("refusal_body verbose: %v", err)
	}
	cfg.RefusalBody = ""
	cfg.UnknownOptions = map[string]interface{}{"refusalBodyy": "status"}
	if _, err := New(cfg, Options{}); err == nil || !strings.Contains(err.Error(), "refusalBodyy: unknown option") {
		t.Errorf("a misspelt refusalBody: %v", err)
	}
}

// TestTroubleshootingCoversEveryReason: every reason code of reasons.go
// has its own heading (and so its anchor) in docs/troubleshooting.md.
func TestTroubleshootingCoversEveryReason(t *testing.T) {
	doc, err := os.ReadFile("docs/troubleshooting.md")
	if err != nil {
		t.Fatal(err)
	}
	f, err := parser.ParseFile(token.NewFileSet(), "reasons.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, decl := range f.Decls {
		gd, ok := decl.(*ast.GenDecl)
		if !ok || gd.Tok != token.CONST {
			continue
		}
		for _, spec := range gd.Specs {
			vs := spec.(*ast.ValueSpec)
			if id, ok := vs.Type.(*ast.Ident); !ok || id.Name != "Reason" {
				continue
			}
			for _, v := range vs.Values {
				code, _ := strconv.Unquote(v.(*ast.BasicLit).Value)
				n++
				if !strings.Contains(string(doc), "\n### "+code+"\n") {
					t.Errorf("docs/troubleshooting.md has no heading \"### %s\"", code)
				}
			}
		}
	}
	if n < 20 {
		t.Errorf("found %d reason codes in reasons.go", n)
	}
}
