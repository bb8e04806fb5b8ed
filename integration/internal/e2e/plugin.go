package e2e

import "github.com/funcauth/funcauth/integration/internal/pluginsrc"

// CopyPlugin lays the module at root out under dst as Traefik's local
// plugins want it: its manifest, go.mod and the packages Traefik interprets
// (pluginsrc.InterpretedPackages, derived from the manifest's import).
func CopyPlugin(root, dst string) error {
	return pluginsrc.Copy(root, dst)
}
