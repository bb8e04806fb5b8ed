package cli

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

func runKeys(prog string, args []string, env *Env) int {
	fs := newFlags(prog, "--dir <dir> [--force] [--quiet] [--gateway URL] <function>...", `
Makes a random key for each function (32 bytes, as 64 hex digits), writes
it to <dir>/<function>-hmac with mode 0600 (refusing to overwrite an
existing file unless --force), and prints for each function the faas-cli
command that invokes it with a signature:

  faas-cli invoke env --sign hmac --key <key>

That line shows the key: it is printed so that it can be handed to whoever
invokes the function, and anyone who sees it can sign requests for that
function. With --quiet only the files are written. Point funcauth at them
with function_key_file <dir>/{function}-hmac (in Traefik:
functionKeyFile), which is where OpenFaaS mounts secrets named
<function>-hmac (faas-cli secret create env-hmac --from-file ...).`, env)
	dir := fs.String("dir", "", "the directory the key files go to (required)")
	pattern := fs.String("pattern", "{function}-hmac", "the file name, with {function}")
	force := fs.Bool("force", false, "overwrite existing key files")
	quiet := fs.Bool("quiet", false, "print no key: write the files only")
	gateway := fs.String("gateway", "", "add --gateway URL to the faas-cli lines")
	size := fs.Int("bytes", 32, "random bytes per key (16 to 64)")
	functions, status, ok := parse(fs, args)
	if !ok {
		return status
	}
	if *dir == "" {
		return fail(env, prog, ExitUsage, errors.New("--dir: give the directory for the key files"))
	}
	if len(functions) == 0 {
		return fail(env, prog, ExitUsage, errors.New("name at least one function: "+prog+" --dir "+*dir+" env"))
	}
	if *size < 16 || *size > 64 {
		return fail(env, prog, ExitUsage, errors.New("--bytes: between 16 and 64"))
	}
	if !strings.Contains(*pattern, "{function}") || strings.ContainsAny(*pattern, `/\`) {
		return fail(env, prog, ExitUsage, errors.New("--pattern: a file name holding {function}, without slashes"))
	}
	if info, err := os.Stat(*dir); err != nil || !info.IsDir() {
		return fail(env, prog, ExitFailed, fmt.Errorf("--dir: %s is not a directory", *dir))
	}
	// Everything is checked before any file is written.
	paths := make([]string, len(functions))
	seen := map[string]bool{}
	for i, fn := range functions {
		if !validFunctionName(fn) {
			return fail(env, prog, ExitUsage, fmt.Errorf("%q is not a function name (letters, digits, - and _; no namespace)", fn))
		}
		if seen[fn] {
			return fail(env, prog, ExitUsage, fmt.Errorf("%s is named twice", fn))
		}
		seen[fn] = true
		paths[i] = filepath.Join(*dir, strings.ReplaceAll(*pattern, "{function}", fn))
		if info, err := os.Lstat(paths[i]); err == nil {
			if !info.Mode().IsRegular() {
				return fail(env, prog, ExitFailed, fmt.Errorf("%s exists and is not a regular file", paths[i]))
			}
			if !*force {
				return fail(env, prog, ExitFailed, fmt.Errorf("%s exists: give --force to replace its key (senders using the old key are then refused)", paths[i]))
			}
		}
	}
	random := env.Rand
	if random == nil {
		random = rand.Reader
	}
	for i, fn := range functions {
		raw := make([]byte, *size)
		if _, err := io.ReadFull(random, raw); err != nil {
			return fail(env, prog, ExitFailed, err)
		}
		key := hex.EncodeToString(raw)
		if err := writeKeyFile(paths[i], key, *force); err != nil {
			return fail(env, prog, ExitFailed, err)
		}
		fmt.Fprintf(env.Stderr, "wrote %s (mode 0600)\n", paths[i])
		if *quiet {
			continue
		}
		line := "faas-cli invoke " + fn
		if *gateway != "" {
			line += " --gateway " + shellQuote(*gateway)
		}
		fmt.Fprintln(env.Stdout, line+" --sign hmac --key "+key)
	}
	fmt.Fprintf(env.Stderr, "configure: function_key_file %s\n", filepath.Join(*dir, *pattern))
	return ExitOK
}

// writeKeyFile writes key to path with mode 0600, failing if the file
// exists unless force.
func writeKeyFile(path, key string, force bool) error {
	flags := os.O_WRONLY | os.O_CREATE | os.O_EXCL
	if force {
		flags = os.O_WRONLY | os.O_CREATE | os.O_TRUNC
	}
	f, err := os.OpenFile(path, flags, 0o600)
	if err != nil {
		return err
	}
	if err := f.Chmod(0o600); err != nil { // an existing file keeps its mode otherwise
		f.Close()
		return err
	}
	if _, err := f.WriteString(key); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// validFunctionName accepts an OpenFaaS function name without namespace.
func validFunctionName(s string) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}
