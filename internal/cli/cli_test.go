package cli

import (
	"bufio"
	"bytes"
	"crypto/ed25519"
	"encoding/hex"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/funcauth/funcauth"
)

// run calls Main with stdin and returns its status and outputs.
func run(stdin string, args ...string) (int, string, string) {
	var out, errOut bytes.Buffer
	status := Main(args, strings.NewReader(stdin), &out, &errOut)
	return status, out.String(), errOut.String()
}

func TestUsage(t *testing.T) {
	for _, tc := range []struct {
		args   []string
		status int
		out    string // on stdout or stderr
	}{
		{nil, ExitUsage, "Commands:"},
		{[]string{"help"}, ExitOK, "verify"},
		{[]string{"frobnicate"}, ExitUsage, `unknown command "frobnicate"`},
		{[]string{"sign", "--nope"}, ExitUsage, "flag provided but not defined"},
		{[]string{"sign", "-h"}, ExitOK, "--curl"},
		{[]string{"keys", "-h"}, ExitOK, "shows the key"},
		{[]string{"hash", "extra"}, ExitUsage, `unexpected argument "extra"`},
	} {
		status, out, errOut := run("", tc.args...)
		if status != tc.status || !strings.Contains(out+errOut, tc.out) {
			t.Errorf("%q: status %d, output %q %q; want %d and %q", tc.args, status, out, errOut, tc.status, tc.out)
		}
	}
}

func TestHash(t *testing.T) {
	for _, tc := range []struct {
		name   string
		stdin  string
		args   []string
		status int
		prefix string
	}{
		{"pbkdf2", "pass phrase\n", []string{"hash", "--iterations", "10000"}, ExitOK, "$pbkdf2-sha256$i=10000$"},
		{"bcrypt", "pass phrase", []string{"hash", "-a", "bcrypt", "--bcrypt-cost", "4"}, ExitOK, "$2a$04$"},
		{"no password", "", []string{"hash"}, ExitFailed, ""},
		{"unknown algorithm", "pw", []string{"hash", "--algorithm", "md5"}, ExitUsage, ""},
		{"too few iterations", "pw", []string{"hash", "--iterations", "10"}, ExitFailed, ""},
	} {
		status, out, errOut := run(tc.stdin, tc.args...)
		if status != tc.status || !strings.HasPrefix(out, tc.prefix) {
			t.Errorf("%s: status %d, %q %q", tc.name, status, out, errOut)
			continue
		}
		if status != ExitOK {
			continue
		}
		// The hash logs the user in with the password, without its line end.
		hash := strings.TrimSpace(out)
		g, err := funcauth.New(&funcauth.Config{Rules: []funcauth.Rule{{Path: "*", Require: "basic"}},
			BasicAuth: &funcauth.BasicAuth{Users: []funcauth.User{{Name: "admin", PasswordHash: hash}}}},
			funcauth.Options{HashComparers: map[string]funcauth.HashComparer{"$2a$": bcryptComparer{}}})
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		for pw, want := range map[string]bool{"pass phrase": true, "pass phrase\n": false, "wrong": false} {
			r, _ := http.NewRequest("GET", "http://gw.test/x", nil)
			r.SetBasicAuth("admin", pw)
			if d := g.Check(r, "192.0.2.1"); d.Allowed != want {
				t.Errorf("%s, password %q: allowed %v (%s)", tc.name, pw, d.Allowed, d.Reason)
			}
		}
	}
}

// TestSignVectors: published vectors (FACTS.md).
func TestSignVectors(t *testing.T) {
	keyFile := filepath.Join(t.TempDir(), "k")
	os.WriteFile(keyFile, []byte("It's a Secret to Everybody\n"), 0o600)
	for _, tc := range []struct {
		body string
		args []string
		want string
	}{
		{"The message", []string{"sign", "--key", "cookie"}, "Hmac: sha256=8e53524e6c9a789ea2df51e34297940866d0b15a061f6c21a4870dfa5ded19cb\n"},
		{"The message", []string{"sign", "--key", "cookie", "--algorithm", "sha1"}, "Hmac: sha1=9239edfe20185eafd7a5513c303b03d207d22f64\n"},
		{"Hello, World!", []string{"sign", "--scheme", "github", "--key-file", keyFile}, "X-Hub-Signature-256: sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17\n"},
		{"", []string{"sign", "--key", "KeySet"}, "Hmac: sha256=51846d8900847a40a129743c98742c83a56c3cbc4f5aec188d7eb2de629d11df\n"},
		{"The message", []string{"sign", "--key", "cookie", "--curl", "https://gw.example.com/function/env"},
			"curl -H 'Hmac: sha256=8e53524e6c9a789ea2df51e34297940866d0b15a061f6c21a4870dfa5ded19cb' --data-binary 'The message' https://gw.example.com/function/env\n"},
		{"it's", []string{"sign", "--key", "cookie", "--method", "PUT", "--curl", "http://gw.test/function/env?a=b&c=d"},
			"curl -X PUT -H 'Hmac: sha256=" + hexMAC("cookie", "it's") + "' --data-binary 'it'\\''s' 'http://gw.test/function/env?a=b&c=d'\n"},
		{"", []string{"sign", "--key", "cookie", "--curl", "http://gw.test/function/env"},
			"curl -H 'Hmac: sha256=" + hexMAC("cookie", "") + "' --data-binary '' http://gw.test/function/env\n"},
	} {
		status, out, errOut := run(tc.body, tc.args...)
		if status != ExitOK || out != tc.want {
			t.Errorf("%q: status %d, %q (%s), want %q", tc.args, status, out, errOut, tc.want)
		}
	}
	for _, tc := range []struct {
		body   string
		args   []string
		status int
	}{
		{"x", []string{"sign"}, ExitUsage},
		{"x", []string{"sign", "--key", "k", "--key-file", keyFile}, ExitUsage},
		{"x", []string{"sign", "--key", "k", "--scheme", "nope"}, ExitUsage},
		{"a\x00b", []string{"sign", "--key", "k", "--curl", "http://gw.test/"}, ExitUsage},
		{"@/etc/passwd", []string{"sign", "--key", "k", "--curl", "http://gw.test/"}, ExitUsage},
		{"x", []string{"sign", "--key", "k", "--timestamp", "yesterday"}, ExitUsage},
	} {
		if status, out, _ := run(tc.body, tc.args...); status != tc.status || out != "" {
			t.Errorf("%q: status %d, %q; want %d and nothing on stdout", tc.args, status, out, tc.status)
		}
	}
}

func hexMAC(key, body string) string {
	status, out, _ := run(body, "sign", "--key", key)
	if status != 0 {
		return "?"
	}
	return strings.TrimPrefix(strings.TrimSpace(out), "Hmac: sha256=")
}

// TestSignEveryScheme: what sign prints for each scheme is accepted by the
// core configured with the matching key, at the signing time.
func TestSignEveryScheme(t *testing.T) {
	seed := strings.Repeat("07", 32)
	b, _ := hex.DecodeString(seed)
	public := hex.EncodeToString(ed25519.NewKeyFromSeed(b).Public().(ed25519.PublicKey))
	const url = "https://fn.example.com/function/hook?x=1"
	for _, tc := range []struct {
		scheme   string
		signKey  string
		verifier funcauth.Signature
		extra    []string
	}{
		{"faas-cli", "cookie", funcauth.Signature{Keys: []string{"cookie"}}, nil},
		{"github", "s3cret", funcauth.Signature{Keys: []string{"s3cret"}}, []string{"--id", "d1"}},
		{"generic", "s3cret", funcauth.Signature{Keys: []string{"s3cret"}, Header: "X-Sig", Algorithms: []string{"sha512"}, Encoding: "base64", Prefix: "v1="},
			[]string{"--header", "X-Sig", "--algorithm", "sha512", "--encoding", "base64", "--prefix", "v1="}},
		{"shopify", "s3cret", funcauth.Signature{Keys: []string{"s3cret"}}, nil},
		{"stripe", "whsec_abc", funcauth.Signature{Keys: []string{"whsec_abc"}}, nil},
		{"slack", "s3cret", funcauth.Signature{Keys: []string{"s3cret"}}, nil},
		{"standard-webhooks", "whsec_c2VjcmV0c2VjcmV0", funcauth.Signature{Keys: []string{"whsec_c2VjcmV0c2VjcmV0"}}, []string{"--id", "msg_1"}},
		{"svix", "whsec_c2VjcmV0c2VjcmV0", funcauth.Signature{Keys: []string{"whsec_c2VjcmV0c2VjcmV0"}}, []string{"--id", "msg_1"}},
		{"gitlab", "tok3n", funcauth.Signature{Keys: []string{"tok3n"}}, nil},
		{"twilio", "authtoken", funcauth.Signature{Keys: []string{"authtoken"}, BaseURL: "https://fn.example.com"}, []string{"--url", url}},
		{"discord", seed, funcauth.Signature{Keys: []string{public}}, nil},
		{"http-message-signatures", "hmac-sha256:k1:c2VjcmV0c2VjcmV0c2VjcmV0", funcauth.Signature{Keys: []string{"hmac-sha256:k1:c2VjcmV0c2VjcmV0c2VjcmV0"}}, []string{"--url", url, "--id", "n1"}},
	} {
		const ts = 1764500000
		body := "a=1&b=two"
		args := append([]string{"sign", "--scheme", tc.scheme, "--key", tc.signKey, "--timestamp", fmt.Sprint(ts)}, tc.extra...)
		status, out, errOut := run(body, args...)
		if status != ExitOK {
			t.Errorf("%s: status %d: %s", tc.scheme, status, errOut)
			continue
		}
		r, _ := http.NewRequest("POST", url, strings.NewReader(body))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		sc := bufio.NewScanner(strings.NewReader(out))
		for sc.Scan() {
			name, value, ok := strings.Cut(sc.Text(), ": ")
			if !ok {
				t.Fatalf("%s: line %q", tc.scheme, sc.Text())
			}
			r.Header.Add(name, value)
		}
		v := tc.verifier
		v.Scheme = tc.scheme
		g, err := funcauth.New(&funcauth.Config{Rules: []funcauth.Rule{{Path: "*", Require: "signature"}}, Signatures: []funcauth.Signature{v}},
			funcauth.Options{Now: func() time.Time { return time.Unix(ts+10, 0) }})
		if err != nil {
			t.Fatalf("%s: %v", tc.scheme, err)
		}
		r.RemoteAddr = "192.0.2.1:40000"
		r.TLS = nil
		d := g.Check(r, "192.0.2.1")
		d.Close()
		if !d.Allowed {
			t.Errorf("%s: refused: %s (%s); signed with %q", tc.scheme, d.Reason, d.Detail, out)
		}
	}
}

func TestKeys(t *testing.T) {
	dir := t.TempDir()
	status, out, errOut := run("", "keys", "--dir", dir, "env", "figlet", "--gateway", "http://127.0.0.1:8080")
	if status != ExitOK {
		t.Fatalf("status %d: %s", status, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 {
		t.Fatalf("output %q", out)
	}
	keys := map[string]string{}
	for i, fn := range []string{"env", "figlet"} {
		path := filepath.Join(dir, fn+"-hmac")
		info, err := os.Stat(path)
		if err != nil || info.Mode().Perm() != 0o600 {
			t.Fatalf("%s: %v %v", path, info, err)
		}
		data, _ := os.ReadFile(path)
		keys[fn] = string(data)
		if len(data) != 64 {
			t.Errorf("%s: key %q, want 64 hex digits", path, data)
		}
		if want := "faas-cli invoke " + fn + " --gateway http://127.0.0.1:8080 --sign hmac --key " + string(data); lines[i] != want {
			t.Errorf("line %q, want %q", lines[i], want)
		}
	}
	if keys["env"] == keys["figlet"] {
		t.Error("two functions got the same key")
	}
	// No overwrite without --force, and nothing written when one exists.
	if status, _, errOut := run("", "keys", "--dir", dir, "new", "env"); status != ExitFailed || !strings.Contains(errOut, "--force") {
		t.Errorf("overwrite: %d %q", status, errOut)
	}
	if _, err := os.Stat(filepath.Join(dir, "new-hmac")); err == nil {
		t.Error("a refused run wrote a file")
	}
	if data, _ := os.ReadFile(filepath.Join(dir, "env-hmac")); string(data) != keys["env"] {
		t.Error("a refused run changed a key")
	}
	os.Chmod(filepath.Join(dir, "env-hmac"), 0o644)
	status, out, _ = run("", "keys", "--dir", dir, "--force", "--quiet", "env")
	data, _ := os.ReadFile(filepath.Join(dir, "env-hmac"))
	info, _ := os.Stat(filepath.Join(dir, "env-hmac"))
	if status != ExitOK || out != "" || string(data) == keys["env"] || info.Mode().Perm() != 0o600 {
		t.Errorf("--force --quiet: %d %q, key changed %v, mode %v", status, out, string(data) != keys["env"], info.Mode())
	}
	for _, args := range [][]string{
		{"keys", "env"},
		{"keys", "--dir", dir},
		{"keys", "--dir", dir, "env.openfaas-fn"},
		{"keys", "--dir", dir, "../x"},
		{"keys", "--dir", dir, "a", "a"},
		{"keys", "--dir", dir, "--pattern", "hmac", "a"},
		{"keys", "--dir", dir, "--bytes", "8", "a"},
	} {
		if status, out, _ := run("", args...); status != ExitUsage || out != "" {
			t.Errorf("%q: %d %q", args, status, out)
		}
	}
}

// TestRoundTrip: keys writes a function's key, sign signs with it, verify
// with a configuration using function_key_file accepts the request and
// refuses it with a tampered body or for another function.
func TestRoundTrip(t *testing.T) {
	dir := t.TempDir()
	if status, _, errOut := run("", "keys", "--dir", dir, "--quiet", "env"); status != ExitOK {
		t.Fatal(errOut)
	}
	cfgPath := filepath.Join(dir, "funcauth.json")
	os.WriteFile(cfgPath, []byte(fmt.Sprintf(`{"handler":"funcauth","preset":"openfaas","basic_auth":{"gateway_secrets_dir":%q},
		"signatures":[{"scheme":"faas-cli","function_key_file":%q}]}`, dir, filepath.Join(dir, "{function}-hmac"))), 0o600)
	os.WriteFile(filepath.Join(dir, "basic-auth-user"), []byte("admin"), 0o600)
	os.WriteFile(filepath.Join(dir, "basic-auth-password"), []byte("pw"), 0o600)
	status, sig, errOut := run("hello", "sign", "--key-file", filepath.Join(dir, "env-hmac"))
	if status != ExitOK {
		t.Fatal(errOut)
	}
	request := func(path, body string) string {
		return "POST " + path + " HTTP/1.1\r\nHost: gw.test\r\nUser-Agent: faas-cli/0.18.12\r\nContent-Length: " + fmt.Sprint(len(body)) + "\r\n" +
			strings.TrimSpace(sig) + "\r\n\r\n" + body
	}
	for _, tc := range []struct {
		name, request string
		args          []string
		status        int
		lines         []string
	}{
		{"signed", request("/function/env", "hello"), nil, ExitOK,
			[]string{"decision:  allowed", "reason:    signed", "rule:      /function/* (index 5,", "key:       faas-cli/env-hmac"}},
		{"tampered", request("/function/env", "hellx"), nil, exitRefused,
			[]string{"decision:  refused", "status:    401 Unauthorized", "reason:    bad_signature", "rule:      /function/* (index 5,",
				"detail:    faas-cli: ", `body:      {"error":"bad_signature","status":401,`, "docs:      https://github.com/funcauth/funcauth/blob/main/docs/troubleshooting.md#bad_signature"}},
		{"another function", request("/function/figlet", "hello"), []string{"--client", "2001:db8::7"}, exitRefused,
			[]string{"reason:    key_unavailable", "figlet-hmac", `body:      {"error":"bad_signature"`, "client:    2001:db8::7", "#key_unavailable"}},
		{"hand-written, no Content-Length", "POST /function/env HTTP/1.1\nHost: gw.test\n" + strings.TrimSpace(sig) + "\n\nhello", nil, ExitOK,
			[]string{"decision:  allowed"}},
		{"faas-cli list before login", "GET /system/functions HTTP/1.1\r\nHost: gw.test\r\n\r\n", nil, exitRefused,
			[]string{"reason:    missing_credentials", "rule:      /system/* (index 1,", `challenge: Basic realm="Restricted"`}},
		{"no rule", "GET /metrics HTTP/1.1\r\nHost: gw.test\r\n\r\n", nil, exitRefused,
			[]string{"reason:    no_rule", "rule:      none matched", "status:    403 Forbidden"}},
	} {
		path := filepath.Join(t.TempDir(), "request.http")
		os.WriteFile(path, []byte(tc.request), 0o600)
		args := append([]string{"verify", "--config", cfgPath, "--request", path}, tc.args...)
		status, out, errOut := run("", args...)
		if status != tc.status {
			t.Errorf("%s: status %d, want %d\n%s%s", tc.name, status, tc.status, out, errOut)
		}
		for _, l := range tc.lines {
			if !strings.Contains(out, l) {
				t.Errorf("%s: no %q in\n%s", tc.name, l, out)
			}
		}
		if strings.Contains(out+errOut, "pw") && tc.name == "faas-cli list before login" {
			t.Errorf("%s: a secret in the output", tc.name)
		}
	}
	// The request from standard input.
	if status, out, _ := run(request("/function/env", "hello"), "verify", "--config", cfgPath); status != ExitOK {
		t.Errorf("from stdin: %d\n%s", status, out)
	}
}

// TestVerifyTime: --now checks a saved request at the time it was sent.
func TestVerifyTime(t *testing.T) {
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "c.json")
	os.WriteFile(cfgPath, []byte(`{"rules":[{"path":"*","require":"signature"}],"signatures":[{"scheme":"stripe","keys":["whsec_x"]}]}`), 0o600)
	_, sig, _ := run("{}", "sign", "--scheme", "stripe", "--key", "whsec_x", "--timestamp", "1700000000")
	req := filepath.Join(dir, "r.http")
	os.WriteFile(req, []byte("POST /hook HTTP/1.1\r\nHost: gw.test\r\nContent-Length: 2\r\n"+strings.TrimSpace(sig)+"\r\n\r\n{}"), 0o600)
	for _, tc := range []struct {
		now, reason string
		status      int
	}{
		{"1700000030", "signed", ExitOK},
		{"2023-11-14T22:13:20Z", "signed", ExitOK},
		{"1700001000", "expired_timestamp", exitRefused},
		{"1699999000", "future_timestamp", exitRefused},
	} {
		status, out, errOut := run("", "verify", "--config", cfgPath, "--request", req, "--now", tc.now)
		if status != tc.status || !strings.Contains(out, "reason:    "+tc.reason+"\n") {
			t.Errorf("--now %s: %d\n%s%s", tc.now, status, out, errOut)
		}
	}
}

func TestVerifyErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(content), 0o600)
		return p
	}
	good := write("good.json", `{"rules":[{"path":"*","require":"open"}]}`)
	req := write("r.http", "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	for _, tc := range []struct {
		name string
		args []string
		err  string
	}{
		{"no config", []string{"verify", "--request", req}, "--config"},
		{"missing config", []string{"verify", "--config", filepath.Join(dir, "nope.json"), "--request", req}, "no such file"},
		{"unknown field", []string{"verify", "--config", write("u.json", `{"rules":[{"path":"*","require":"open"}],"realmm":"x"}`), "--request", req}, `unknown field "realmm"`},
		{"another handler", []string{"verify", "--config", write("h.json", `{"handler":"reverse_proxy"}`), "--request", req}, "not funcauth"},
		{"invalid config", []string{"verify", "--config", write("i.json", `{"rules":[{"path":"*","require":"signature"}]}`), "--request", req}, "signature"},
		{"bad request", []string{"verify", "--config", good, "--request", write("b.http", "hello\r\n\r\n")}, "HTTP/1.1 as sent"},
		{"bad client", []string{"verify", "--config", good, "--request", req, "--client", "example.com"}, "--client"},
		{"bad time", []string{"verify", "--config", good, "--request", req, "--now", "tomorrow"}, "--now"},
	} {
		status, out, errOut := run("", tc.args...)
		if status != ExitUsage || out != "" || !strings.Contains(errOut, tc.err) {
			t.Errorf("%s: %d %q %q, want %d and %q", tc.name, status, out, errOut, ExitUsage, tc.err)
		}
	}
}
