// Package docker checks examples/docker/Dockerfile without a Docker engine:
// its builder stage's steps run outside Docker against this checkout.
package docker

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/funcauth/funcauth/integration/internal/e2e"
)

// instruction is one Dockerfile instruction, continuation lines joined.
type instruction struct {
	op   string // upper case: FROM, ARG, ENV, WORKDIR, COPY, RUN
	args string
}

// stage is one FROM and the instructions after it.
type stage struct {
	image, name string
	steps       []instruction
}

func parseDockerfile(t *testing.T, path string) []stage {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var stages []stage
	var line strings.Builder
	for _, raw := range strings.Split(string(data), "\n") {
		trimmed := strings.TrimSpace(raw)
		if line.Len() == 0 && (trimmed == "" || strings.HasPrefix(trimmed, "#")) {
			continue
		}
		if strings.HasSuffix(trimmed, `\`) {
			line.WriteString(strings.TrimSuffix(trimmed, `\`) + " ")
			continue
		}
		line.WriteString(trimmed)
		op, args, _ := strings.Cut(line.String(), " ")
		line.Reset()
		in := instruction{op: strings.ToUpper(op), args: strings.TrimSpace(args)}
		if in.op == "FROM" {
			f := strings.Fields(in.args)
			s := stage{image: f[0]}
			if len(f) == 3 && strings.EqualFold(f[1], "AS") {
				s.name = f[2]
			}
			stages = append(stages, s)
			continue
		}
		if len(stages) == 0 {
			t.Fatalf("%s before the first FROM: not supported by this test", in.op)
		}
		stages[len(stages)-1].steps = append(stages[len(stages)-1].steps, in)
	}
	return stages
}

// TestDockerfileBuildsCaddyWithFuncauth runs the builder stage of
// examples/docker/Dockerfile as `docker build` would, outside Docker: the
// build context is this checkout, WORKDIR a temporary directory, `COPY .`
// the checkout itself, ARG and ENV the RUN steps' environment (GOPROXY set
// as scripts/xcaddy-build.sh sets it, as --build-arg would). It then checks
// the binary the runtime stage copies: it has the funcauth module, and the
// Caddyfile the runtime stage copies adapts and validates with it, and
// fails to validate without the admin's hash (the module is provisioned).
func TestDockerfileBuildsCaddyWithFuncauth(t *testing.T) {
	root := e2e.RepoRoot(t)
	stages := parseDockerfile(t, filepath.Join(root, "examples", "docker", "Dockerfile"))
	if len(stages) != 2 || stages[0].name == "" {
		t.Fatalf("want a named builder stage and a runtime stage, got %+v", stages)
	}
	builder, runtime := stages[0], stages[1]

	// The images' versions follow the ones the build uses.
	goMod, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	goVersion := regexp.MustCompile(`(?m)^go (\d+\.\d+)`).FindSubmatch(goMod)
	if goVersion == nil || builder.image != "golang:"+string(goVersion[1]) {
		t.Errorf("builder image %s, want golang:<go.mod's go version>", builder.image)
	}

	proxy, err := exec.Command("go", "env", "GOPROXY").Output()
	if err != nil {
		t.Fatal(err)
	}
	buildArgs := map[string]string{
		"GOPROXY": strings.Split(strings.TrimSpace(string(proxy)), ",")[0] + "|off",
	}

	ctxDir := t.TempDir() // the builder's file system root
	env := map[string]string{}
	workdir := ctxDir
	mapPath := func(p string) string {
		if filepath.IsAbs(p) {
			return filepath.Join(ctxDir, p)
		}
		return filepath.Join(workdir, p)
	}
	ran := 0
	for _, in := range builder.steps {
		if in.op != "RUN" && strings.Contains(in.args, "$") {
			t.Fatalf("%s %s: variables outside RUN are not supported by this test", in.op, in.args)
		}
		switch in.op {
		case "ARG":
			name, def, _ := strings.Cut(in.args, "=")
			if v, ok := buildArgs[name]; ok {
				def = v
			}
			env[name] = def
		case "ENV":
			for _, kv := range strings.Fields(in.args) {
				k, v, ok := strings.Cut(kv, "=")
				if !ok {
					t.Fatalf("ENV %s: want NAME=value", in.args)
				}
				env[k] = v
			}
		case "WORKDIR":
			workdir = mapPath(in.args)
			if err := os.MkdirAll(workdir, 0o755); err != nil {
				t.Fatal(err)
			}
		case "COPY":
			f := strings.Fields(in.args)
			if len(f) != 2 || f[0] != "." {
				t.Fatalf("COPY %s: the builder copies the checkout (COPY . <dir>)", in.args)
			}
			// The checkout itself stands for its copy.
			if err := os.Symlink(root, mapPath(f[1])); err != nil {
				t.Fatal(err)
			}
		case "RUN":
			ran++
			cmd := exec.Command("sh", "-c", in.args)
			cmd.Dir = workdir
			cmd.Env = os.Environ()
			for k, v := range env {
				cmd.Env = append(cmd.Env, k+"="+v)
			}
			start := time.Now()
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("RUN %s: %v\n%s", in.args, err, out)
			}
			t.Logf("RUN %s (%v)", firstWords(in.args, 4), time.Since(start).Round(time.Second))
		default:
			t.Fatalf("%s in the builder stage: not supported by this test", in.op)
		}
	}
	if ran < 2 {
		t.Fatalf("the builder ran %d RUN steps, want at least xcaddy's install and build", ran)
	}

	// The runtime stage: the binary from the builder and the Caddyfile from
	// the build context.
	var caddy, caddyfile string
	for _, in := range runtime.steps {
		if in.op != "COPY" {
			continue
		}
		f := strings.Fields(in.args)
		switch {
		case len(f) == 3 && f[0] == "--from="+builder.name && f[2] == "/usr/bin/caddy":
			caddy = filepath.Join(ctxDir, f[1])
		case len(f) == 2 && f[1] == "/etc/caddy/Caddyfile":
			caddyfile = filepath.Join(root, f[0])
		}
	}
	if caddy == "" || caddyfile == "" {
		t.Fatalf("the runtime stage must COPY the builder's caddy to /usr/bin/caddy and a Caddyfile to /etc/caddy/Caddyfile: %+v", runtime.steps)
	}
	caddyVersion := regexp.MustCompile(`v(\d+\.\d+)\.`).FindStringSubmatch(env["CADDY_VERSION"])
	if caddyVersion == nil || runtime.image != "caddy:"+caddyVersion[1] {
		t.Errorf("runtime image %s, want caddy:<major.minor of CADDY_VERSION %s>", runtime.image, env["CADDY_VERSION"])
	}

	modules := e2e.Run(t, "", caddy, "list-modules")
	if !regexp.MustCompile(`(?m)^http\.handlers\.funcauth$`).MatchString(modules) {
		t.Fatalf("%s list-modules has no http.handlers.funcauth:\n%s", caddy, modules)
	}
	if v := e2e.Run(t, "", caddy, "version"); !strings.HasPrefix(v, env["CADDY_VERSION"]) {
		t.Errorf("caddy version %q, want %s", v, env["CADDY_VERSION"])
	}

	hash := strings.TrimSpace(e2e.Run(t, "a long passphrase", caddy, "funcauth", "hash"))
	xdg, secrets := t.TempDir(), t.TempDir()
	validate := func(extra ...string) (string, error) {
		cmd := exec.Command(caddy, "validate", "--config", caddyfile, "--adapter", "caddyfile")
		cmd.Env = append(os.Environ(), "XDG_DATA_HOME="+xdg, "XDG_CONFIG_HOME="+xdg, "SECRETS_DIR="+secrets, "FUNCAUTH_ADMIN_HASH=")
		cmd.Env = append(cmd.Env, extra...)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	if out, err := validate("FUNCAUTH_ADMIN_HASH=" + hash); err != nil {
		t.Fatalf("caddy validate %s: %v\n%s", caddyfile, err, out)
	}
	if out, err := validate(); err == nil || !strings.Contains(out, "FUNCAUTH_ADMIN_HASH") {
		t.Fatalf("caddy validate without FUNCAUTH_ADMIN_HASH: err %v, want a refusal naming it:\n%s", err, out)
	}
	adapted := e2e.Run(t, "", caddy, "adapt", "--config", caddyfile, "--adapter", "caddyfile")
	for _, want := range []string{`"handler":"funcauth"`, `"gateway.example.com"`, `"gateway:8080"`, `/var/openfaas/secrets/{function}-hmac`} {
		if !strings.Contains(adapted, want) {
			t.Errorf("caddy adapt: no %s in\n%s", want, adapted)
		}
	}
}

func firstWords(s string, n int) string {
	f := strings.Fields(s)
	if len(f) > n {
		f = append(f[:n], "...")
	}
	return strings.Join(f, " ")
}
