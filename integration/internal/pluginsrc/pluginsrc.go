// Package pluginsrc reads a Traefik plugin's sources as Traefik sees them:
// the manifest (.traefik.yml), the module path, and the packages Traefik
// interprets, which it derives from the manifest's import rather than from
// a list, so that the Yaegi checks, the end-to-end tests and the scripts
// all cover the same packages. It imports no interpreter, so the small
// command that lays the plugin out for the scripts stays small.
package pluginsrc

import (
	"errors"
	"fmt"
	"go/parser"
	"go/token"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Manifest is the part of .traefik.yml that Traefik and its catalog read.
type Manifest struct {
	DisplayName   string                 `yaml:"displayName"`
	Type          string                 `yaml:"type"`
	Runtime       string                 `yaml:"runtime"`
	Import        string                 `yaml:"import"`
	BasePkg       string                 `yaml:"basePkg"`
	Summary       string                 `yaml:"summary"`
	IconPath      string                 `yaml:"iconPath"`
	TestData      map[string]interface{} `yaml:"testData"`
	UseUnsafe     bool                   `yaml:"useUnsafe"`
	Compatibility string                 `yaml:"compatibility"`
}

// ReadManifest reads the .traefik.yml at the root of a module.
func ReadManifest(moduleRoot string) (*Manifest, error) {
	data, err := os.ReadFile(filepath.Join(moduleRoot, ".traefik.yml"))
	if err != nil {
		return nil, err
	}
	m := &Manifest{}
	if err := yaml.Unmarshal(data, m); err != nil {
		return nil, fmt.Errorf("parsing .traefik.yml: %w", err)
	}
	return m, nil
}

// ModulePath reads the module path from the go.mod at moduleRoot.
func ModulePath(moduleRoot string) (string, error) {
	data, err := os.ReadFile(filepath.Join(moduleRoot, "go.mod"))
	if err != nil {
		return "", err
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(line), "module "); ok {
			return strings.TrimSpace(rest), nil
		}
	}
	return "", errors.New("go.mod has no module line")
}

// Package is one package Traefik interprets.
type Package struct {
	// Path is the import path.
	Path string
	// Dir is the directory relative to the module root, slash-separated
	// ("." for the root package).
	Dir string
	// Files are the names of the Go files Yaegi reads (test files left
	// out), sorted.
	Files []string
}

// InterpretedPackages returns the packages Traefik interprets when it
// loads the plugin of the module at root: the package .traefik.yml
// imports and every package of the same module it imports, directly or
// not (Yaegi interprets them all from source; the standard library is
// compiled in). A package comes after the packages it imports, so a type
// checker can take them in order.
func InterpretedPackages(root string) ([]Package, error) {
	modulePath, err := ModulePath(root)
	if err != nil {
		return nil, err
	}
	m, err := ReadManifest(root)
	if err != nil {
		return nil, err
	}
	if !inModule(m.Import, modulePath) {
		return nil, fmt.Errorf(".traefik.yml: import %q is not a package of module %s", m.Import, modulePath)
	}
	var pkgs []Package
	state := map[string]int{} // 1: being visited, 2: done
	var visit func(importPath string) error
	visit = func(importPath string) error {
		switch state[importPath] {
		case 1:
			return fmt.Errorf("import cycle through %s", importPath)
		case 2:
			return nil
		}
		state[importPath] = 1
		dir := "."
		if importPath != modulePath {
			dir = strings.TrimPrefix(importPath, modulePath+"/")
		}
		files, imports, err := readPackage(filepath.Join(root, filepath.FromSlash(dir)))
		if err != nil {
			return fmt.Errorf("package %s: %w", importPath, err)
		}
		for _, imp := range imports {
			if inModule(imp, modulePath) {
				if err := visit(imp); err != nil {
					return err
				}
			}
		}
		state[importPath] = 2
		pkgs = append(pkgs, Package{Path: importPath, Dir: dir, Files: files})
		return nil
	}
	if err := visit(m.Import); err != nil {
		return nil, err
	}
	return pkgs, nil
}

func inModule(importPath, modulePath string) bool {
	return importPath == modulePath || strings.HasPrefix(importPath, modulePath+"/")
}

// readPackage lists the non-test Go files of the package in dir and the
// imports they make, both sorted.
func readPackage(dir string) (files, imports []string, err error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, nil, err
	}
	fset := token.NewFileSet()
	seen := map[string]bool{}
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || path.Ext(name) != ".go" || strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, filepath.Join(dir, name), nil, parser.ImportsOnly)
		if err != nil {
			return nil, nil, err
		}
		files = append(files, name)
		for _, spec := range f.Imports {
			p, err := strconv.Unquote(spec.Path.Value)
			if err != nil {
				return nil, nil, err
			}
			if !seen[p] {
				seen[p] = true
				imports = append(imports, p)
			}
		}
	}
	if len(files) == 0 {
		return nil, nil, errors.New("no Go files in " + dir)
	}
	sort.Strings(imports)
	return files, imports, nil
}

// Copy lays the plugin of the module at root out under dst as Traefik's
// local plugins want it (dst is plugins-local/src/<module path>): the
// manifest, go.mod, and the Go files of the interpreted packages.
func Copy(root, dst string) error {
	pkgs, err := InterpretedPackages(root)
	if err != nil {
		return err
	}
	type file struct{ dir, name string }
	files := []file{{".", ".traefik.yml"}, {".", "go.mod"}}
	for _, p := range pkgs {
		for _, name := range p.Files {
			files = append(files, file{p.Dir, name})
		}
	}
	for _, f := range files {
		data, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(f.dir), f.name))
		if err != nil {
			return err
		}
		to := filepath.Join(dst, filepath.FromSlash(f.dir), f.name)
		if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(to, data, 0o644); err != nil {
			return err
		}
	}
	return nil
}
