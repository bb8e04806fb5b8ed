package cli

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"

	"golang.org/x/crypto/bcrypt"

	"github.com/funcauth/funcauth"
)

func runHash(prog string, args []string, env *Env) int {
	fs := newFlags(prog, "[--algorithm pbkdf2|bcrypt] [--iterations n] [--bcrypt-cost n] < password", `
Reads a password from standard input (one line, without its line ending)
and prints its hash for "user <name> <hash>" in the Caddyfile,
password_hash in JSON or basicAuth.users[].passwordHash in Traefik, or for
a "name:hash" line of an htpasswd file. The default PBKDF2-SHA256 form
works with the Caddy module and the Traefik plugin; bcrypt works with the
Caddy module only (under Traefik a bcrypt check takes about 47 s).

  echo -n 'a long passphrase' | `+prog, env)
	alg := fs.String("algorithm", "pbkdf2", "pbkdf2 (Caddy and Traefik) or bcrypt (Caddy only)")
	fs.StringVar(alg, "a", "pbkdf2", "short for --algorithm")
	iterations := fs.Int("iterations", funcauth.DefaultPBKDF2Iterations, "PBKDF2 iterations (10000 to 10000000)")
	cost := fs.Int("bcrypt-cost", 14, "bcrypt cost")
	rest, status, ok := parse(fs, args)
	if !ok {
		return status
	}
	if s := noArgs(env, prog, rest); s != ExitOK {
		return s
	}
	password, err := readPassword(env.Stdin, prog)
	if err != nil {
		return fail(env, prog, ExitFailed, err)
	}
	var hash string
	switch *alg {
	case "pbkdf2":
		hash, err = funcauth.HashPassword(password, *iterations)
	case "bcrypt":
		var b []byte
		b, err = bcrypt.GenerateFromPassword([]byte(password), *cost)
		hash = string(b)
	default:
		return fail(env, prog, ExitUsage, errors.New("--algorithm: use pbkdf2 or bcrypt"))
	}
	if err != nil {
		return fail(env, prog, ExitFailed, err)
	}
	fmt.Fprintln(env.Stdout, hash)
	return ExitOK
}

// readPassword reads one line, without its line ending.
func readPassword(r io.Reader, prog string) (string, error) {
	line, err := bufio.NewReader(io.LimitReader(r, 4096)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", err
	}
	line = strings.TrimRight(line, "\r\n")
	if line == "" {
		return "", errors.New("no password on standard input: echo -n 'password' | " + prog)
	}
	return line, nil
}
