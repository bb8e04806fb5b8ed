package cli

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/funcauth/funcauth/internal/sign"
)

const signSchemes = "faas-cli, github, generic, shopify, stripe, slack, standard-webhooks, svix, gitlab, twilio, discord, http-message-signatures"

// maxSignBody bounds the body sign reads.
const maxSignBody = 64 << 20

func runSign(prog string, args []string, env *Env) int {
	fs := newFlags(prog, "[--scheme s] (--key-file f | --key k) [--curl URL] [flags] < body", `
Reads a request body from standard input (or --body-file) and prints the
headers that sign it, one "Name: value" per line, as faas-cli invoke --sign
or a webhook provider would send them. With --curl URL it prints a curl
command line that sends the signed request instead.

Keys: raw for faas-cli, github, generic, shopify, stripe, slack, gitlab and
twilio; whsec_<base64> for standard-webhooks and svix; for discord an
Ed25519 private key seed (64 hex digits); for http-message-signatures
<alg>:<keyid>:<key> with a base64 HMAC secret (hmac-sha256) or an Ed25519
seed in hex (ed25519). The gitlab "signature" is the token itself: its
output shows the key.

  echo -n 'hello' | `+prog+` --key-file /var/openfaas/secrets/env-hmac --curl https://gw.example.com/function/env`, env)
	scheme := fs.String("scheme", "faas-cli", signSchemes)
	key := fs.String("key", "", "the key (prefer --key-file: a flag is visible in the process list)")
	keyFile := fs.String("key-file", "", "a file holding the key (trimmed)")
	header := fs.String("header", "", "signature header (faas-cli: Hmac, as --sign hmac; generic: required)")
	algorithm := fs.String("algorithm", "", "digest: sha256 (default), sha1 or sha512")
	encoding := fs.String("encoding", "", "generic: hex or base64")
	prefix := fs.String("prefix", "", "generic: prefix before the MAC")
	method := fs.String("method", "POST", "request method (twilio, http-message-signatures, --curl)")
	url := fs.String("url", "", "the full request URL that is signed (twilio, http-message-signatures); default the --curl URL")
	id := fs.String("id", "", "message id (github, gitlab, standard-webhooks, svix; http-message-signatures nonce)")
	components := fs.String("components", "", "http-message-signatures: covered components, comma-separated")
	timestamp := fs.String("timestamp", "", "the signing time, unix seconds (default now)")
	curl := fs.String("curl", "", "print a curl command that sends the signed body to this URL")
	bodyFile := fs.String("body-file", "", "read the body from this file (curl then sends it with --data-binary @file)")
	rest, status, ok := parse(fs, args)
	if !ok {
		return status
	}
	if s := noArgs(env, prog, rest); s != ExitOK {
		return s
	}
	k, err := readKey(*key, *keyFile)
	if err != nil {
		return fail(env, prog, ExitUsage, err)
	}
	var body []byte
	if *bodyFile != "" {
		body, err = readBounded(*bodyFile, maxSignBody)
	} else {
		body, err = io.ReadAll(io.LimitReader(env.Stdin, maxSignBody+1))
		if err == nil && len(body) > maxSignBody {
			err = errors.New("the body on standard input is larger than 64 MiB")
		}
	}
	if err != nil {
		return fail(env, prog, ExitFailed, err)
	}
	ts := env.Now()
	if *timestamp != "" {
		n, err := strconv.ParseInt(*timestamp, 10, 64)
		if err != nil {
			return fail(env, prog, ExitUsage, errors.New("--timestamp: unix seconds, such as 1700000000"))
		}
		ts = time.Unix(n, 0)
	}
	signedURL := *url
	if signedURL == "" {
		signedURL = *curl
	}
	opts := sign.Options{Header: *header, Algorithm: *algorithm, Encoding: *encoding, Prefix: *prefix}
	if *components != "" {
		opts.Components = strings.Split(*components, ",")
	}
	h, err := sign.Headers(*scheme, k, opts, sign.Message{Method: *method, URL: signedURL, Body: body, Timestamp: ts, ID: *id})
	if err != nil {
		return fail(env, prog, ExitUsage, err)
	}
	if *curl == "" {
		for _, line := range headerLines(h) {
			fmt.Fprintln(env.Stdout, line)
		}
		return ExitOK
	}
	line, err := curlLine(*curl, *method, h, body, *bodyFile)
	if err != nil {
		return fail(env, prog, ExitUsage, err)
	}
	fmt.Fprintln(env.Stdout, line)
	return ExitOK
}

// readKey returns the key given inline or in a file.
func readKey(key, file string) (string, error) {
	if file != "" {
		if key != "" {
			return "", errors.New("give --key-file or --key, not both")
		}
		data, err := readBounded(file, 64<<10)
		if err != nil {
			return "", err
		}
		key = strings.TrimSpace(string(data))
		if key == "" {
			return "", errors.New(file + " is empty")
		}
	}
	if key == "" {
		return "", errors.New("no key: give --key-file (or --key)")
	}
	return key, nil
}

// readBounded reads a file of at most max bytes.
func readBounded(path string, max int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > max {
		return nil, fmt.Errorf("%s is larger than %d bytes", path, max)
	}
	return data, nil
}

// headerLines returns "Name: value" lines sorted by name.
func headerLines(h http.Header) []string {
	names := make([]string, 0, len(h))
	for name := range h {
		names = append(names, name)
	}
	sort.Strings(names)
	var lines []string
	for _, name := range names {
		for _, v := range h[name] {
			lines = append(lines, name+": "+v)
		}
	}
	return lines
}

// curlLine is a curl command that sends body with the headers h.
func curlLine(url, method string, h http.Header, body []byte, bodyFile string) (string, error) {
	parts := []string{"curl"}
	if method != "POST" {
		parts = append(parts, "-X", shellQuote(method))
	}
	for _, line := range headerLines(h) {
		parts = append(parts, "-H", shellQuote(line))
	}
	switch {
	case bodyFile != "":
		parts = append(parts, "--data-binary", shellQuote("@"+bodyFile))
	case len(body) > 0 || method != "GET" && method != "HEAD":
		if bytes.IndexByte(body, 0) >= 0 {
			return "", errors.New("the body holds a NUL byte, which a shell argument cannot: give it with --body-file")
		}
		if len(body) > 0 && body[0] == '@' {
			return "", errors.New("the body starts with @, which curl reads as a file name: give it with --body-file")
		}
		parts = append(parts, "--data-binary", shellQuote(string(body)))
	}
	parts = append(parts, shellQuote(url))
	return strings.Join(parts, " "), nil
}

// shellQuote quotes s for a POSIX shell.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./:=@,+%") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
