package caddyauth

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2"
	caddycmd "github.com/caddyserver/caddy/v2/cmd"
	"github.com/spf13/cobra"
	"golang.org/x/crypto/bcrypt"

	"github.com/funcauth/funcauth"
	"github.com/funcauth/funcauth/internal/sign"
)

func init() {
	caddycmd.RegisterCommand(caddycmd.Command{
		Name:  "funcauth",
		Usage: "hash | sign",
		Short: "funcauth utilities: hash passwords, sign requests",
		CobraFunc: func(cmd *cobra.Command) {
			hash := &cobra.Command{
				Use:   "hash [--algorithm pbkdf2|bcrypt] [--iterations <n>] [--bcrypt-cost <n>]",
				Short: "Hashes a password read from standard input for a funcauth user",
				Long: `Reads a password from standard input (one line) and prints its hash for
"user <name> <hash>" in the Caddyfile or password_hash in JSON. The default
PBKDF2-SHA256 form works with the Caddy module and the Traefik plugin;
bcrypt works with the Caddy module only.`,
				Args: cobra.NoArgs,
				RunE: caddycmd.WrapCommandFuncForCobra(cmdHash),
			}
			hash.Flags().StringP("algorithm", "a", "pbkdf2", "pbkdf2 (Caddy and Traefik) or bcrypt (Caddy only)")
			hash.Flags().Int("iterations", funcauth.DefaultPBKDF2Iterations, "PBKDF2 iterations")
			hash.Flags().Int("bcrypt-cost", 14, "bcrypt cost")
			cmd.AddCommand(hash)

			signCmd := &cobra.Command{
				Use:   "sign --scheme <scheme> --key <key> [--header <h>] [--algorithm <a>] [--url <u>] [--id <id>] < body",
				Short: "Prints the signature headers a sender puts on a body read from standard input",
				Long: `Reads a request body from standard input and prints the headers that sign it,
one "Name: value" per line, as faas-cli invoke --sign or a webhook provider
would send them. With --key-file the key is read from a file (trimmed).`,
				Args: cobra.NoArgs,
				RunE: caddycmd.WrapCommandFuncForCobra(cmdSign),
			}
			f := signCmd.Flags()
			f.String("scheme", "faas-cli", "faas-cli, github, generic, shopify, stripe, slack, standard-webhooks, svix, gitlab, twilio, discord, http-message-signatures")
			f.String("key", "", "the key (prefer --key-file: a flag is visible in the process list)")
			f.String("key-file", "", "a file holding the key")
			f.String("header", "", "signature header (faas-cli: Hmac; generic: required)")
			f.String("algorithm", "", "digest: sha256 (default), sha1 or sha512")
			f.String("encoding", "", "generic: hex or base64")
			f.String("prefix", "", "generic: prefix before the MAC")
			f.String("method", "POST", "request method (twilio, http-message-signatures)")
			f.String("url", "", "the full request URL (twilio, http-message-signatures)")
			f.String("id", "", "message id (standard-webhooks, svix, http-message-signatures nonce)")
			cmd.AddCommand(signCmd)
		},
	})
}

func cmdHash(fl caddycmd.Flags) (int, error) {
	password, err := readPassword(os.Stdin)
	if err != nil {
		return failed(err)
	}
	var hash string
	switch fl.String("algorithm") {
	case "pbkdf2":
		hash, err = funcauth.HashPassword(password, fl.Int("iterations"))
	case "bcrypt":
		var b []byte
		b, err = bcrypt.GenerateFromPassword([]byte(password), fl.Int("bcrypt-cost"))
		hash = string(b)
	default:
		err = errors.New("--algorithm: use pbkdf2 or bcrypt")
	}
	if err != nil {
		return failed(err)
	}
	fmt.Println(hash)
	return 0, nil
}

// readPassword reads one line, without its line ending.
func readPassword(r io.Reader) (string, error) {
	line, err := bufio.NewReader(io.LimitReader(r, 4096)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", err
	}
	line = strings.TrimRight(line, "\r\n")
	if line == "" {
		return "", errors.New("no password on standard input: echo -n 'password' | caddy funcauth hash")
	}
	return line, nil
}

func cmdSign(fl caddycmd.Flags) (int, error) {
	key := fl.String("key")
	if path := fl.String("key-file"); path != "" {
		data, err := os.ReadFile(path)
		if err != nil {
			return failed(err)
		}
		key = strings.TrimSpace(string(data))
	}
	if key == "" {
		return failed(errors.New("no key: give --key-file or --key"))
	}
	body, err := io.ReadAll(os.Stdin)
	if err != nil {
		return failed(err)
	}
	h, err := sign.Headers(fl.String("scheme"), key, sign.Options{
		Header:    fl.String("header"),
		Algorithm: fl.String("algorithm"),
		Encoding:  fl.String("encoding"),
		Prefix:    fl.String("prefix"),
	}, sign.Message{Method: fl.String("method"), URL: fl.String("url"), Body: body, Timestamp: time.Now(), ID: fl.String("id")})
	if err != nil {
		return failed(err)
	}
	names := make([]string, 0, len(h))
	for name := range h {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		for _, v := range h[name] {
			fmt.Printf("%s: %s\n", name, v)
		}
	}
	return 0, nil
}

// failed is the exit status and error of a failed command.
func failed(err error) (int, error) { return caddy.ExitCodeFailedStartup, err }
