package funcauth

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/hex"
	"net/http"
	"strings"
	"testing"
)

func signatureGuard(t *testing.T, sig Signature) *Guard {
	t.Helper()
	return newTestGuard(t, &Config{
		Rules:      []Rule{{Path: "/function/*", Require: "signature"}},
		Signatures: []Signature{sig},
	}, nil)
}

// The vectors are those of ../shared/FACTS.md: the OpenFaaS workshop lab
// (sha1), faas-cli 0.17.1 and later (sha256) and GitHub's documentation.
func TestHeaderMACVectors(t *testing.T) {
	faasCLI := Signature{Scheme: "faas-cli", Keys: []string{"cookie"}, Tolerance: "0s"}
	for _, tc := range []struct {
		name   string
		sig    Signature
		body   string
		header http.Header
		want   Reason
	}{
		{"faas-cli sha256", faasCLI, "The message",
			http.Header{"Hmac": {"sha256=8e53524e6c9a789ea2df51e34297940866d0b15a061f6c21a4870dfa5ded19cb"}}, ReasonSigned},
		{"faas-cli sha1 (workshop lab)", faasCLI, "The message",
			http.Header{"Hmac": {"sha1=9239edfe20185eafd7a5513c303b03d207d22f64"}}, ReasonSigned},
		{"faas-cli upper-case hex", faasCLI, "The message",
			http.Header{"Hmac": {"sha256=8E53524E6C9A789EA2DF51E34297940866D0B15A061F6C21A4870DFA5DED19CB"}}, ReasonSigned},
		{"faas-cli sha1 switched off", Signature{Scheme: "faas-cli", Keys: []string{"cookie"}, Algorithms: []string{"sha256"}}, "The message",
			http.Header{"Hmac": {"sha1=9239edfe20185eafd7a5513c303b03d207d22f64"}}, ReasonBadSignature},
		{"faas-cli empty key rejected at start is tested elsewhere; KeySet empty body", Signature{Scheme: "faas-cli", Keys: []string{"KeySet"}, AllowEmptyBody: true}, "",
			http.Header{"Hmac": {"sha256=51846d8900847a40a129743c98742c83a56c3cbc4f5aec188d7eb2de629d11df"}}, ReasonSigned},
		{"faas-cli empty body refused by default", Signature{Scheme: "faas-cli", Keys: []string{"KeySet"}}, "",
			http.Header{"Hmac": {"sha256=51846d8900847a40a129743c98742c83a56c3cbc4f5aec188d7eb2de629d11df"}}, ReasonEmptyBody},
		{"faas-cli custom header", Signature{Scheme: "faas-cli", Header: "X-Sig", Keys: []string{"cookie"}}, "The message",
			http.Header{"X-Sig": {"sha256=8e53524e6c9a789ea2df51e34297940866d0b15a061f6c21a4870dfa5ded19cb"}}, ReasonSigned},
		{"faas-cli tampered body", faasCLI, "The messagE",
			http.Header{"Hmac": {"sha256=8e53524e6c9a789ea2df51e34297940866d0b15a061f6c21a4870dfa5ded19cb"}}, ReasonBadSignature},
		{"faas-cli wrong key", Signature{Scheme: "faas-cli", Keys: []string{"biscuit"}}, "The message",
			http.Header{"Hmac": {"sha256=8e53524e6c9a789ea2df51e34297940866d0b15a061f6c21a4870dfa5ded19cb"}}, ReasonBadSignature},
		{"faas-cli rotated keys", Signature{Scheme: "faas-cli", Keys: []string{"biscuit", "cookie"}}, "The message",
			http.Header{"Hmac": {"sha256=8e53524e6c9a789ea2df51e34297940866d0b15a061f6c21a4870dfa5ded19cb"}}, ReasonSigned},
		{"faas-cli no prefix", faasCLI, "The message",
			http.Header{"Hmac": {"8e53524e6c9a789ea2df51e34297940866d0b15a061f6c21a4870dfa5ded19cb"}}, ReasonBadSignature},
		{"faas-cli truncated", faasCLI, "The message",
			http.Header{"Hmac": {"sha256=8e53524e6c9a789ea2df51e34297940866d0b15a061f6c21a4870dfa5ded19"}}, ReasonBadSignature},
		{"faas-cli not hex", faasCLI, "The message",
			http.Header{"Hmac": {"sha256=zz53524e6c9a789ea2df51e34297940866d0b15a061f6c21a4870dfa5ded19cb"}}, ReasonBadSignature},
		{"faas-cli repeated header", faasCLI, "The message",
			http.Header{"Hmac": {"sha256=8e53524e6c9a789ea2df51e34297940866d0b15a061f6c21a4870dfa5ded19cb", "sha256=00"}}, ReasonBadSignature},
		{"faas-cli missing", faasCLI, "The message", nil, ReasonMissingSignature},
		{"github documented vector", Signature{Scheme: "github", Keys: []string{"It's a Secret to Everybody"}}, "Hello, World!",
			http.Header{"X-Hub-Signature-256": {"sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"}}, ReasonSigned},
		{"github legacy sha1 refused by default", Signature{Scheme: "github", Keys: []string{"cookie"}}, "The message",
			http.Header{"X-Hub-Signature": {"sha1=9239edfe20185eafd7a5513c303b03d207d22f64"}}, ReasonMissingSignature},
		{"github legacy sha1 when allowed", Signature{Scheme: "github", Keys: []string{"cookie"}, Algorithms: []string{"sha256", "sha1"}}, "The message",
			http.Header{"X-Hub-Signature": {"sha1=9239edfe20185eafd7a5513c303b03d207d22f64"}}, ReasonSigned},
		{"generic base64 with prefix", Signature{Scheme: "generic", Header: "X-Signature", Algorithms: []string{"sha256"}, Encoding: "base64", Prefix: "v1=", Keys: []string{"cookie"}}, "The message",
			http.Header{"X-Signature": {"v1=jlNSTmyaeJ6i31HjQpeUCGbQsVoGH2whpIcN+l3tGcs="}}, ReasonSigned},
		{"generic sha512 hex", Signature{Scheme: "generic", Header: "X-Signature", Algorithms: []string{"sha512"}, Keys: []string{"cookie"}}, "The message",
			http.Header{"X-Signature": {"c3f8e6bc49d77b0aaa978a6e0de185dbcb27062f04d9bff1680c9bf8332cd49414700dd16161ba4f2a06ad9cebe1ef227d536f0b579451ef4a7a3c32cdcb1e8f"}}, ReasonSigned},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := signatureGuard(t, tc.sig)
			rec, d, up := serve(g, request("POST", "/function/env.openfaas-fn", tc.body, tc.header))
			if d.Reason != tc.want {
				t.Fatalf("reason %s (%s), want %s", d.Reason, d.Detail, tc.want)
			}
			if up.reached != (tc.want == ReasonSigned) {
				t.Fatalf("upstream reached: %v", up.reached)
			}
			if tc.want == ReasonSigned {
				if string(up.body) != tc.body || up.contentLength != int64(len(tc.body)) {
					t.Errorf("upstream got %q (length %d)", up.body, up.contentLength)
				}
				if got := up.header.Get("X-Funcauth-Signature"); !strings.HasPrefix(got, tc.sig.Scheme+"/keys[") {
					t.Errorf("X-Funcauth-Signature = %q", got)
				}
				return
			}
			if rec.Code != http.StatusUnauthorized || rec.Header().Get("WWW-Authenticate") == "" {
				t.Errorf("status %d, challenge %q", rec.Code, rec.Header().Get("WWW-Authenticate"))
			}
		})
	}
}

func FuzzSignatureHeaders(f *testing.F) {
	f.Add("sha256=8e53524e6c9a789ea2df51e34297940866d0b15a061f6c21a4870dfa5ded19cb", "The message")
	f.Add("sha1=9239edfe20185eafd7a5513c303b03d207d22f64", "The message")
	f.Add("SHA256=", "")
	f.Add("v1=jlNSTmyaeJ6i31HjQpeUCGbQsVoGH2whpIcN+l3tGcs=", "x")
	g := newTestGuard(f, &Config{
		Rules: []Rule{{Path: "*", Require: "signature"}},
		Signatures: []Signature{
			{Scheme: "faas-cli", Keys: []string{"cookie"}, Tolerance: "0s"},
			{Scheme: "github", Keys: []string{"cookie"}, Algorithms: []string{"sha256", "sha1"}, Tolerance: "0s"},
			{Scheme: "generic", Header: "X-Sig", Algorithms: []string{"sha256"}, Encoding: "base64", Prefix: "v1=", Keys: []string{"cookie"}, Tolerance: "0s"},
			{Scheme: "shopify", Keys: []string{"cookie"}, Tolerance: "0s"},
		},
		Bans: &Bans{Disabled: true},
	}, nil)
	f.Fuzz(func(t *testing.T, value, body string) {
		for _, header := range []string{"Hmac", "X-Hub-Signature-256", "X-Hub-Signature", "X-Sig", "X-Shopify-Hmac-Sha256"} {
			d := g.Check(request("POST", "/function/env", body, http.Header{header: {value}}), "192.0.2.1")
			sha1MAC := hmac.New(sha1.New, []byte("cookie"))
			sha1MAC.Write([]byte(body))
			valid := strings.EqualFold(value, "sha256="+hexMAC("cookie", body)) ||
				strings.EqualFold(value, "sha1="+hex.EncodeToString(sha1MAC.Sum(nil)))
			if d.Allowed && header != "X-Sig" && header != "X-Shopify-Hmac-Sha256" && !valid {
				t.Fatalf("%s: %q accepted for body %q", header, value, body)
			}
			if !d.Allowed && d.Status != http.StatusUnauthorized {
				t.Fatalf("%s: %q gave %d", header, value, d.Status)
			}
			d.Close()
		}
	})
}
