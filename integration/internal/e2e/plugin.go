package e2e

import (
	"os"
	"path/filepath"
	"strings"
)

// CopyPlugin lays the module out as Traefik's local plugins want it: the
// module's root files and the plugin package.
func CopyPlugin(root, dst string) error {
	for _, sub := range []string{".", "traefikplugin"} {
		entries, err := os.ReadDir(filepath.Join(root, sub))
		if err != nil {
			return err
		}
		if err := os.MkdirAll(filepath.Join(dst, sub), 0o755); err != nil {
			return err
		}
		for _, e := range entries {
			if e.IsDir() || strings.HasSuffix(e.Name(), "_test.go") {
				continue
			}
			data, err := os.ReadFile(filepath.Join(root, sub, e.Name()))
			if err != nil {
				return err
			}
			if err := os.WriteFile(filepath.Join(dst, sub, e.Name()), data, 0o644); err != nil {
				return err
			}
		}
	}
	return nil
}
