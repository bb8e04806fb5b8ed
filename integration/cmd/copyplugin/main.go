// Command copyplugin lays a funcauth checkout out as a Traefik local
// plugin, for the scripts (scripts/lib.sh's local_plugin):
//
//	copyplugin <checkout> <dir>/plugins-local/src/github.com/funcauth/funcauth
//
// It copies the manifest, go.mod and the packages Traefik interprets, as
// the end-to-end tests do (internal/pluginsrc derives them from the
// manifest's import), so no list of the plugin's packages is kept by hand.
package main

import (
	"fmt"
	"os"

	"github.com/funcauth/funcauth/integration/internal/pluginsrc"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: copyplugin <checkout> <plugin directory>")
		os.Exit(2)
	}
	if err := pluginsrc.Copy(os.Args[1], os.Args[2]); err != nil {
		fmt.Fprintln(os.Stderr, "copyplugin:", err)
		os.Exit(1)
	}
}
