// Package newcomer follows the README's path for a new user end to end, on a
// fresh clone of the repository and for each proxy: the demo (which builds
// the proxy and the demo function from the clone), then the real faas-cli
// against it, as the demo tells the user to run it.
package newcomer

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/funcauth/funcauth/integration/internal/e2e"
)

func TestNewcomerPathCaddy(t *testing.T) {
	newcomerPath(t, "caddy")
}

func TestNewcomerPathTraefik(t *testing.T) {
	newcomerPath(t, "traefik")
}

// newcomerPath clones the repository's committed HEAD, starts the demo as
// the README shows it, and drives the real faas-cli against it.
func newcomerPath(t *testing.T, proxy string) {
	start := time.Now()
	clone := freshClone(t)
	faasCLI := ensureFaasCLI(t, clone)
	cache := testCache(t)
	if proxy == "traefik" {
		e2e.LinkDemoTraefik(t, cache)
	}
	port := e2e.FreePort(t)
	out := e2e.RunDemo(t, clone, cache, "--proxy", proxy, "--port", strconv.Itoa(port), "--function-port", strconv.Itoa(e2e.FreePort(t)))
	t.Logf("%s: clone, builds and demo ready in %v", proxy, time.Since(start).Round(time.Second))
	gateway := "http://127.0.0.1:" + strconv.Itoa(port)

	// The faas-cli lines the demo prints, in order: login, list, invoke.
	var login, list, invoke string
	for _, line := range out {
		line = strings.TrimSpace(line)
		switch {
		case strings.Contains(line, "| faas-cli login "):
			login = line
		case strings.HasPrefix(line, "faas-cli list "):
			list = line
		case strings.Contains(line, "| faas-cli invoke "):
			invoke = line
		}
	}
	if login == "" || list == "" || invoke == "" {
		t.Fatalf("the demo does not print the faas-cli login, list and invoke lines:\n%s", strings.Join(out, "\n"))
	}
	password := field(t, login, "echo -n ", " |")
	keyFile := field(t, invoke, "$(cat ", ")")
	key, err := os.ReadFile(keyFile)
	if err != nil {
		t.Fatal(err)
	}

	// faas-cli writes its credentials under $HOME/.openfaas (or
	// $OPENFAAS_CONFIG): both point into the test's directory.
	home := t.TempDir()
	env := append(os.Environ(), "HOME="+home, "OPENFAAS_CONFIG="+filepath.Join(home, ".openfaas"),
		"PATH="+filepath.Dir(faasCLI)+string(os.PathListSeparator)+os.Getenv("PATH"))
	faas := func(stdin string, args ...string) (string, error) {
		cmd := exec.Command(faasCLI, args...)
		cmd.Env, cmd.Stdin = env, strings.NewReader(stdin)
		b, err := cmd.CombinedOutput()
		return string(b), err
	}
	shell := func(line string) (string, error) {
		cmd := exec.Command("bash", "-c", line)
		cmd.Env = env
		b, err := cmd.CombinedOutput()
		return string(b), err
	}

	// Before login, list is refused: the admin API needs Basic Auth.
	if got, err := faas("", "list", "--gateway", gateway); err == nil {
		t.Errorf("faas-cli list before login succeeded:\n%s", got)
	}
	// A wrong password is refused, and nothing is saved.
	if got, err := faas("not-"+password, "login", "--gateway", gateway, "-u", "admin", "--password-stdin"); err == nil || !strings.Contains(got, "incorrect") {
		t.Errorf("faas-cli login with a wrong password: err %v\n%s", err, got)
	}
	// The demo's login line, as printed.
	if got, err := shell(login); err != nil || !strings.Contains(got, "credentials saved for admin "+gateway) {
		t.Fatalf("%s: err %v\n%s", login, err, got)
	}
	if b, err := os.ReadFile(filepath.Join(home, ".openfaas", "config.yml")); err != nil || !strings.Contains(string(b), gateway) {
		t.Errorf("faas-cli saved no credentials for %s in the test's home: %v\n%s", gateway, err, b)
	}
	// list, with the stored credentials: the demo function's one function.
	got, err := shell(list)
	if err != nil {
		t.Fatalf("%s: %v\n%s", list, err, got)
	}
	if lines := strings.Split(strings.TrimSpace(got), "\n"); len(lines) != 2 || !strings.HasPrefix(lines[0], "Function") || strings.Fields(lines[1])[0] != "env" {
		t.Errorf("%s printed %q, want a header and the function env", list, got)
	}

	// The demo's invoke line, signed with the demo's key: the function's answer.
	body := "hello from faas-cli"
	if !strings.Contains(invoke, "'"+body+"'") {
		t.Fatalf("the invoke line %q does not send %q", invoke, body)
	}
	got, err = shell(invoke)
	if err != nil {
		t.Fatalf("%s: %v\n%s", invoke, err, got)
	}
	var answer struct {
		Function   string `json:"function"`
		Method     string `json:"method"`
		BodyBytes  int    `json:"body_bytes"`
		BodySHA256 string `json:"body_sha256"`
	}
	if err := json.Unmarshal([]byte(got), &answer); err != nil {
		t.Fatalf("faas-cli invoke printed %q, not the demo function's answer: %v", got, err)
	}
	sum := sha256.Sum256([]byte(body))
	if answer.Function != "env" || answer.Method != "POST" || answer.BodyBytes != len(body) || answer.BodySHA256 != hex.EncodeToString(sum[:]) {
		t.Errorf("the function received %+v, want POST env with the %d-byte body", answer, len(body))
	}

	// Refused: unsigned, a wrong key, the same signed call again (a replay).
	// faas-cli 0.13 prints a 401 as "Unauthorized access, run faas-cli login"
	// without its body.
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"unsigned", []string{"invoke", "env", "--gateway", gateway}},
		{"wrong key", []string{"invoke", "env", "--gateway", gateway, "--sign", "hmac", "--key", "not-" + string(key)}},
		{"replay", []string{"invoke", "env", "--gateway", gateway, "--sign", "hmac", "--key", string(key)}},
	} {
		got, err := faas(body, tc.args...)
		if err == nil || !strings.Contains(got, "Unauthorized access") || strings.Contains(got, answer.BodySHA256) {
			t.Errorf("%s invoke: err %v\n%s", tc.name, err, got)
		}
	}
	// A fresh body with the key is accepted: the replay was refused as one.
	if got, err := faas(body+" again", "invoke", "env", "--gateway", gateway, "--sign", "hmac", "--key", string(key)); err != nil || !strings.Contains(got, `"function": "env"`) {
		t.Errorf("signed invoke of a new body: err %v\n%s", err, got)
	}

	// Failures from one address end in a ban: faas-cli prints the status
	// with funcauth's refusal body, whose reason code it can act on.
	var banned string
	for i := 0; i < 12 && banned == ""; i++ {
		got, err := faas(body, "invoke", "env", "--gateway", gateway, "--sign", "hmac", "--key", "wrong")
		if err == nil {
			t.Fatalf("wrong key accepted:\n%s", got)
		}
		if strings.Contains(got, "429") {
			banned = got
		}
	}
	if !strings.Contains(banned, `unexpected status code: 429 - {"error":"banned","status":429,"docs":"`) {
		t.Errorf("after repeated wrong keys, faas-cli printed %q, want the 429 with reason banned", banned)
	}
	if got, err := faas(body+" banned", "invoke", "env", "--gateway", gateway, "--sign", "hmac", "--key", string(key)); err == nil || !strings.Contains(got, `"error":"banned"`) {
		t.Errorf("a banned address's signed call: err %v\n%s", err, got)
	}
	t.Logf("%s: the newcomer path took %v", proxy, time.Since(start).Round(time.Second))
}

// field returns the text of line between after and the next until.
func field(t *testing.T, line, after, until string) string {
	t.Helper()
	i := strings.Index(line, after)
	if i < 0 {
		t.Fatalf("%q lacks %q", line, after)
	}
	rest := line[i+len(after):]
	j := strings.Index(rest, until)
	if j <= 0 {
		t.Fatalf("%q lacks %q after %q", line, until, after)
	}
	return rest[:j]
}

// freshClone clones the repository's committed HEAD into a temporary
// directory, as a new user gets it: uncommitted changes are not in it.
func freshClone(t *testing.T) string {
	t.Helper()
	root := e2e.RepoRoot(t)
	head := strings.TrimSpace(e2e.Run(t, "", "git", "-C", root, "rev-parse", "HEAD"))
	if status := e2e.Run(t, "", "git", "-C", root, "status", "--porcelain", "--untracked-files=no"); status != "" {
		t.Logf("uncommitted changes are not in the clone:\n%s", status)
	}
	dir := filepath.Join(t.TempDir(), "funcauth")
	e2e.Run(t, "", "git", "clone", "--quiet", root, dir)
	e2e.Run(t, "", "git", "-C", dir, "checkout", "--quiet", "--detach", head)
	return dir
}

// ensureFaasCLI builds (or finds cached) the real faas-cli with the clone's
// script, as the demo's instructions tell a user without one to.
func ensureFaasCLI(t *testing.T, clone string) string {
	t.Helper()
	start := time.Now()
	cmd := exec.Command("bash", filepath.Join(clone, "scripts", "ensure-faas-cli.sh"))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("scripts/ensure-faas-cli.sh: %v\n%s", err, stderr.String())
	}
	bin := strings.TrimSpace(string(out))
	version := strings.TrimSpace(e2e.Run(t, "", bin, "version", "--short-version", "--warn-update=false"))
	t.Logf("faas-cli %s (%s), ready in %v", version, bin, time.Since(start).Round(time.Second))
	return bin
}

// testCache is where the demo builds its binaries for these tests.
func testCache(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(os.TempDir(), "funcauth-newcomer-test-cache")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}
