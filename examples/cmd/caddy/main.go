// Command caddy is Caddy with its standard modules and funcauth: the same
// binary `xcaddy build --with github.com/funcauth/funcauth/caddyauth`
// produces, built from this checkout.
package main

import (
	caddycmd "github.com/caddyserver/caddy/v2/cmd"

	_ "github.com/caddyserver/caddy/v2/modules/standard"

	_ "github.com/funcauth/funcauth/caddyauth"
)

func main() {
	caddycmd.Main()
}
