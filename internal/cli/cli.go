// Package cli is the funcauth command line: `funcauth <command>` (from
// cmd/funcauth) and `caddy funcauth <command>` (from the Caddy module) both
// run it. Its commands hash passwords, sign requests as senders do, make
// function keys and replay a saved request through a configuration to
// explain its decision.
package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"
)

// Exit statuses.
const (
	ExitOK      = 0 // done; for verify: the request is allowed
	ExitFailed  = 1 // the command failed; for verify: the request is refused
	ExitUsage   = 2 // bad arguments, or a configuration or request that cannot be read
	exitRefused = ExitFailed
)

// Env is what a command reads and writes.
type Env struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	// Now is the current time (time.Now when nil).
	Now func() time.Time
	// Rand is the source of keys (crypto/rand when nil).
	Rand io.Reader
}

// Main runs the funcauth command line for args (without the program's
// name) and returns the exit status.
func Main(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	return Run("funcauth", args, &Env{Stdin: stdin, Stdout: stdout, Stderr: stderr})
}

type command struct {
	name, summary string
	run           func(prog string, args []string, env *Env) int
}

var commands = []command{
	{"hash", "hash a password read from standard input for a Basic Auth user", runHash},
	{"sign", "print the headers (or a curl line) that sign a body read from standard input", runSign},
	{"keys", "make a random key per function, write {function}-hmac files, print faas-cli lines", runKeys},
	{"verify", "check a saved HTTP request against a configuration and explain the decision", runVerify},
	{"check", "validate the funcauth configurations of Caddyfiles, Caddy JSON, Traefik and Kubernetes files", runCheck},
}

// Run is Main with the program's name as usage messages should show it
// ("funcauth", "caddy funcauth") and an Env.
func Run(prog string, args []string, env *Env) int {
	if env.Now == nil {
		env.Now = time.Now
	}
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		w := env.Stdout
		status := ExitOK
		if len(args) == 0 {
			w, status = env.Stderr, ExitUsage
		}
		fmt.Fprintf(w, "Usage: %s <command> [flags]\n\nCommands:\n", prog)
		for _, c := range commands {
			fmt.Fprintf(w, "  %-7s %s\n", c.name, c.summary)
		}
		fmt.Fprintf(w, "\n%s <command> -h describes a command's flags.\n", prog)
		return status
	}
	for _, c := range commands {
		if c.name == args[0] {
			return c.run(prog+" "+c.name, args[1:], env)
		}
	}
	fmt.Fprintf(env.Stderr, "%s: unknown command %q: use one of hash, sign, keys, verify, check\n", prog, args[0])
	return ExitUsage
}

// newFlags makes a flag set that reports to env.Stderr under prog.
func newFlags(prog, usage, long string, env *Env) *flag.FlagSet {
	fs := flag.NewFlagSet(prog, flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: %s %s\n\n%s\n\nFlags:\n", prog, usage, strings.TrimSpace(long))
		fs.PrintDefaults()
	}
	return fs
}

// parse parses args, allowing flags after positional arguments, and
// returns the positional ones. ok is false when the command should stop
// with status.
func parse(fs *flag.FlagSet, args []string) (positional []string, status int, ok bool) {
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, ExitOK, false
			}
			return nil, ExitUsage, false
		}
		args = fs.Args()
		if len(args) == 0 {
			return positional, 0, true
		}
		positional = append(positional, args[0])
		args = args[1:]
	}
}

// fail reports err for prog and returns status.
func fail(env *Env, prog string, status int, err error) int {
	fmt.Fprintf(env.Stderr, "%s: %v\n", prog, err)
	return status
}

// noArgs refuses positional arguments.
func noArgs(env *Env, prog string, args []string) int {
	if len(args) > 0 {
		return fail(env, prog, ExitUsage, fmt.Errorf("unexpected argument %q", args[0]))
	}
	return ExitOK
}
