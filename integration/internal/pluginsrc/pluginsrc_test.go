package pluginsrc

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// writeTree writes files (slash-separated names) under a fresh directory.
func writeTree(t *testing.T, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for name, content := range files {
		path := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

// A module whose manifest imports plugin, which imports the root package,
// which imports lib; unused is imported by nobody, and a test file's
// import does not count.
var tree = map[string]string{
	"go.mod":           "module example.com/m\n\ngo 1.22\n",
	".traefik.yml":     "displayName: m\ntype: middleware\nimport: example.com/m/plugin\n",
	"README.md":        "not Go\n",
	"m.go":             "package m\n\nimport (\n\t\"strings\"\n\n\t\"example.com/m/lib\"\n)\n\nvar _ = strings.ToUpper\nvar _ = lib.X\n",
	"m_test.go":        "package m\n\nimport _ \"example.com/m/unused\"\n",
	"lib/lib.go":       "package lib\n\nconst X = 1\n",
	"plugin/plugin.go": "package plugin\n\nimport \"example.com/m\"\n\nvar _ = m.X\n",
	"plugin/b.go":      "package plugin\n\nimport \"example.com/mx/other\"\n",
	"unused/unused.go": "package unused\n",
}

func TestInterpretedPackagesFollowTheManifestsImport(t *testing.T) {
	root := writeTree(t, tree)
	pkgs, err := InterpretedPackages(root)
	if err != nil {
		t.Fatal(err)
	}
	want := []Package{
		{Path: "example.com/m/lib", Dir: "lib", Files: []string{"lib.go"}},
		{Path: "example.com/m", Dir: ".", Files: []string{"m.go"}},
		{Path: "example.com/m/plugin", Dir: "plugin", Files: []string{"b.go", "plugin.go"}},
	}
	if !reflect.DeepEqual(pkgs, want) {
		t.Errorf("got %+v\nwant %+v", pkgs, want)
	}
}

func TestInterpretedPackagesRefusesAForeignImport(t *testing.T) {
	files := map[string]string{}
	for k, v := range tree {
		files[k] = v
	}
	files[".traefik.yml"] = "type: middleware\nimport: example.com/other/plugin\n"
	_, err := InterpretedPackages(writeTree(t, files))
	if err == nil || !strings.Contains(err.Error(), "example.com/other/plugin") {
		t.Errorf("got %v, want an error naming the import", err)
	}
}

func TestCopyLaysOutTheInterpretedPackages(t *testing.T) {
	root := writeTree(t, tree)
	dst := t.TempDir()
	if err := Copy(root, dst); err != nil {
		t.Fatal(err)
	}
	var got []string
	err := filepath.WalkDir(dst, func(path string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(dst, path)
			got = append(got, filepath.ToSlash(rel))
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{".traefik.yml", "go.mod", "lib/lib.go", "m.go", "plugin/b.go", "plugin/plugin.go"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("copied %v, want %v", got, want)
	}
}
