// Command funcauth hashes passwords, signs requests as senders do, makes
// function keys and explains why a saved request is allowed or refused:
//
//	go run github.com/funcauth/funcauth/cmd/funcauth help
//
// `caddy funcauth` (in a Caddy built with the funcauth module) runs the
// same commands.
package main

import (
	"os"

	// The caddyfile adapter and the directives Caddyfiles use, for
	// `funcauth check`.
	_ "github.com/caddyserver/caddy/v2/modules/standard"

	_ "github.com/funcauth/funcauth/caddyauth"
	"github.com/funcauth/funcauth/internal/cli"
)

func main() {
	os.Exit(cli.Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
