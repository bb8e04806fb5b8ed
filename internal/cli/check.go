package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/funcauth/funcauth"
)

// maxCheckFile bounds a configuration file check reads.
const maxCheckFile = 16 << 20

const checkHelp = `
Validates the funcauth configurations in Caddy and Traefik configuration
files, decoded as each host decodes them, and compiles each one as the
proxy would at start, so that a bad configuration fails in CI instead of
at the proxy's load. Errors name the file and, where it can be found, the
line. The exit status is 0 when every configuration is valid, 1 when one
is refused (or a file holds none) and 2 on bad arguments.

Formats (--format auto picks one from the name and the content):
  caddyfile     a Caddyfile, adapted by Caddy's own caddyfile adapter;
                every funcauth directive is checked (directives of other
                modules need a binary that has them: caddy funcauth check)
  caddy-json    Caddy's JSON configuration (or one handler object):
                every "handler": "funcauth" object
  traefik-yaml  Traefik's dynamic configuration (file provider), and
  traefik-toml  every http.middlewares.<name>.plugin.<alias> whose alias
                is given by --plugin (default funcauth)
  kubernetes    Kubernetes manifests: every Middleware's spec.plugin.<alias>,
                and every ConfigMap's data.Caddyfile
  compose       a Docker Compose file: every service's Traefik labels
                traefik.http.middlewares.<name>.plugin.<alias>.*, decoded
                as Traefik's Docker provider decodes labels, and every
                Caddyfile a service mounts or its build's Dockerfile copies

What is not checked: secrets and files are not read. A Caddy placeholder
({env.*}, {file.*}) standing for a password hash, key or password is
taken as valid and replaced by a dummy of the right form, environment
variables (key_env, password_env) by a dummy key, and the files and
directories the configuration names (gateway secrets, htpasswd, key files,
function key files, temp_dir, the store's password file) by temporary ones
check makes, so the check needs neither the secrets nor the proxy's file
system: their presence and content are checked by the proxy at start.
Store TLS files (ca_file, cert_file, key_file) are read as given.`

func runCheck(prog string, args []string, env *Env) int {
	fs := newFlags(prog, "[--format auto|caddyfile|caddy-json|traefik-yaml|traefik-toml|kubernetes|compose] [--plugin alias] FILE...", checkHelp, env)
	format := fs.String("format", "auto", "the files' format: auto, caddyfile, caddy-json, traefik-yaml, traefik-toml, kubernetes or compose")
	plugin := fs.String("plugin", "funcauth", "the plugin's alias in Traefik's static configuration (experimental.plugins.<alias>)")
	files, status, ok := parse(fs, args)
	if !ok {
		return status
	}
	if len(files) == 0 {
		return fail(env, prog, ExitUsage, errors.New("give the configuration files to check"))
	}
	switch *format {
	case "auto", "caddyfile", "caddy-json", "traefik-yaml", "traefik-toml", "kubernetes", "compose":
	default:
		return fail(env, prog, ExitUsage, fmt.Errorf("--format: %q is none of auto, caddyfile, caddy-json, traefik-yaml, traefik-toml, kubernetes, compose", *format))
	}
	failed := false
	for _, name := range files {
		if !checkFile(env, prog, name, *format, *plugin) {
			failed = true
		}
	}
	if failed {
		return ExitFailed
	}
	return ExitOK
}

// configBlock is one funcauth configuration found in a file.
type configBlock struct {
	where string // "site block handler 0", "middleware funcauth"
	line  int    // where the block starts, 0 when unknown
	cfg   *funcauth.Config
	caddy bool // compiled as the Caddy module does
	// fieldLine returns the line of a field ("signatures[0].scheme"), or 0.
	fieldLine func(field string) int
}

// checkFile checks every funcauth configuration in name and reports.
func checkFile(env *Env, prog, name, format, plugin string) bool {
	data, err := readBounded(name, maxCheckFile)
	if err != nil {
		fmt.Fprintf(env.Stderr, "%s: %v\n", prog, err)
		return false
	}
	if format == "auto" {
		format = detectFormat(name, data)
	}
	blocks, err := extractBlocks(name, data, format, plugin)
	if err != nil {
		fmt.Fprintf(env.Stderr, "%s: %v\n", prog, err)
		return false
	}
	if format == "compose" {
		// The Caddyfiles its services use are checked as files of their own.
		n, ok := checkComposeCaddyfiles(env, prog, name, data)
		if !ok {
			return false
		}
		if n > 0 && len(blocks) == 0 {
			fmt.Fprintf(env.Stdout, "%s: the %d Caddyfile(s) its services use checked (compose)\n", name, n)
			return true
		}
	}
	if len(blocks) == 0 {
		fmt.Fprintf(env.Stderr, "%s: %s: no funcauth configuration found (read as %s)\n", prog, name, format)
		return false
	}
	ok := true
	for _, b := range blocks {
		if err := compileBlock(b); err != nil {
			ok = false
			line := b.line
			if b.fieldLine != nil {
				if l := b.fieldLine(errorField(err)); l > 0 {
					line = l
				}
			}
			loc := name
			if line > 0 {
				loc += ":" + strconv.Itoa(line)
			}
			fmt.Fprintf(env.Stderr, "%s: %s: %s: %v\n", prog, loc, b.where, err)
		}
	}
	if ok {
		fmt.Fprintf(env.Stdout, "%s: %d funcauth configuration(s) valid (%s)\n", name, len(blocks), format)
	}
	return ok
}

// CheckFile checks the funcauth configurations of one file as the check
// command does (format "auto" or one of its --format values) and returns
// the messages it would print and whether every configuration is valid.
func CheckFile(name, format string) (string, bool) {
	var out bytes.Buffer
	ok := checkFile(&Env{Stdout: &out, Stderr: &out}, "funcauth check", name, format, "funcauth")
	return out.String(), ok
}

// Configs returns the funcauth configurations of one file as the check
// command decodes them (format "auto" or one of its --format values),
// before any stand-in replaces a secret or a file.
func Configs(name, format string) ([]*funcauth.Config, error) {
	data, err := readBounded(name, maxCheckFile)
	if err != nil {
		return nil, err
	}
	if format == "auto" {
		format = detectFormat(name, data)
	}
	blocks, err := extractBlocks(name, data, format, "funcauth")
	if err != nil {
		return nil, err
	}
	cfgs := make([]*funcauth.Config, len(blocks))
	for i, b := range blocks {
		cfgs[i] = b.cfg
	}
	return cfgs, nil
}

func detectFormat(name string, data []byte) string {
	base := strings.ToLower(filepath.Base(name))
	switch ext := filepath.Ext(base); {
	case ext == ".toml":
		return "traefik-toml"
	case ext == ".json":
		return "caddy-json"
	case ext == ".yml" || ext == ".yaml":
		if bytes.Contains(data, []byte("apiVersion:")) && bytes.Contains(data, []byte("kind:")) {
			return "kubernetes"
		}
		if isCompose(data) {
			return "compose"
		}
		return "traefik-yaml"
	case strings.HasPrefix(base, "caddyfile") || ext == ".caddyfile":
		return "caddyfile"
	}
	if t := bytes.TrimSpace(data); len(t) > 0 && t[0] == '{' && json.Valid(t) {
		return "caddy-json"
	}
	return "caddyfile"
}

func extractBlocks(name string, data []byte, format, plugin string) ([]*configBlock, error) {
	switch format {
	case "caddyfile":
		return caddyfileBlocks(name, data, 0)
	case "caddy-json":
		return caddyJSONBlocks(name, data)
	case "traefik-yaml":
		return traefikYAMLBlocks(name, data, plugin)
	case "traefik-toml":
		return traefikTOMLBlocks(name, data, plugin)
	case "kubernetes":
		return kubernetesBlocks(name, data, plugin)
	case "compose":
		return composeBlocks(name, data, plugin)
	}
	return nil, fmt.Errorf("unknown format %q", format)
}

// errorField returns the field an error of funcauth.New names
// ("signatures[0].scheme"), or "".
func errorField(err error) string {
	msg := err.Error()
	colon := strings.Index(msg, ": ")
	if colon <= 0 || strings.ContainsAny(msg[:colon], " \"") {
		return ""
	}
	return msg[:colon]
}
