package caddyauth

import (
	"os"

	caddycmd "github.com/caddyserver/caddy/v2/cmd"
	"github.com/spf13/cobra"

	"github.com/funcauth/funcauth/internal/cli"
)

func init() {
	caddycmd.RegisterCommand(caddycmd.Command{
		Name:  "funcauth",
		Usage: "hash | sign | keys | verify | check [flags]",
		Short: "funcauth utilities: hash passwords, sign requests, make keys, explain decisions, check configurations",
		Long: `The funcauth command line, as the standalone funcauth command runs it
(go run github.com/funcauth/funcauth/cmd/funcauth):

  hash    hash a password read from standard input for a Basic Auth user
  sign    print the headers (or a curl line) that sign a body
  keys    make a random key per function, write {function}-hmac files
  verify  check a saved HTTP request against a configuration
  check   validate the funcauth configurations of Caddyfiles, Caddy JSON,
          Traefik dynamic configuration and Kubernetes manifests

caddy funcauth <command> -h describes a command's flags.`,
		CobraFunc: func(cmd *cobra.Command) {
			// The flags are the command line's own (package flag).
			cmd.DisableFlagParsing = true
			cmd.RunE = func(cmd *cobra.Command, args []string) error {
				if status := cli.Run("caddy funcauth", args, &cli.Env{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr}); status != 0 {
					os.Exit(status) // the message is on standard error already
				}
				return nil
			}
		},
	})
}
