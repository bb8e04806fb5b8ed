package traefikload

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path"
	"path/filepath"
	"sort"

	"github.com/funcauth/funcauth/integration/internal/pluginsrc"
)

// CountingCopy lays the plugin of the module at moduleRoot out under dst
// as pluginsrc.Copy does, with every function body of the interpreted
// packages, declared or literal, starting with a call that counts it, so
// that a plugin loaded from dst tells how many interpreted function calls
// a request makes (CallCounts).
//
// The counter is a plain map, not safe for concurrent requests: count one
// request at a time.
func CountingCopy(moduleRoot, dst string) error {
	if err := pluginsrc.Copy(moduleRoot, dst); err != nil {
		return err
	}
	modulePath, err := pluginsrc.ModulePath(moduleRoot)
	if err != nil {
		return err
	}
	pkgs, err := pluginsrc.InterpretedPackages(moduleRoot)
	if err != nil {
		return err
	}
	for _, pkg := range pkgs {
		dir := filepath.Join(dst, filepath.FromSlash(pkg.Dir))
		for _, name := range pkg.Files {
			src, err := instrument(filepath.Join(dir, name), "countCall")
			if err != nil {
				return err
			}
			if err := os.WriteFile(filepath.Join(dir, name), src, 0o644); err != nil {
				return err
			}
		}
		counter := coreCounter
		if pkg.Path != modulePath {
			counter = fmt.Sprintf(importedCounter, path.Base(pkg.Path), modulePath)
		}
		if err := os.WriteFile(filepath.Join(dir, "zz_callcount.go"), []byte(counter), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// coreCounter is added to the core package of a counting copy. Besides
// the calls, it attributes to each function the heap objects allocated
// from the previous count to its own: mostly the interpreter's frame for
// the call (a value for each of the function's variables and
// temporaries), the cost that dominates under Yaegi.
const coreCounter = `package funcauth

import "runtime"

var (
	interpretedCalls  map[string]int
	interpretedAllocs map[string]int
	memStats          *runtime.MemStats
	lastAllocs        uint64
)

func countCall(name string) { CountCall(name) }

// CountCall counts one call of the function named name.
func CountCall(name string) {
	if memStats == nil {
		memStats = &runtime.MemStats{}
	}
	runtime.ReadMemStats(memStats)
	now := memStats.Mallocs
	if interpretedCalls == nil {
		interpretedCalls = map[string]int{}
		interpretedAllocs = map[string]int{}
	} else {
		interpretedAllocs[name] += int(now - lastAllocs)
	}
	interpretedCalls[name]++
	runtime.ReadMemStats(memStats)
	lastAllocs = memStats.Mallocs
}

// TakeCallCounts returns the calls counted since the last take, by
// function, and the objects allocated by function ("allocs:" + name).
func TakeCallCounts() map[string]int {
	m := interpretedCalls
	for name, n := range interpretedAllocs {
		m["allocs:"+name] = n
	}
	interpretedCalls = map[string]int{}
	interpretedAllocs = map[string]int{}
	runtime.ReadMemStats(memStats)
	lastAllocs = memStats.Mallocs
	return m
}
`

// importedCounter is added to the other packages: package name, module.
const importedCounter = `package %s

import "%s"

func countCall(name string) { funcauth.CountCall(name) }
`

// instrument returns the source of file with a call of counter at the top
// of every function body.
func instrument(file, counter string) ([]byte, error) {
	src, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, file, src, parser.ParseComments)
	if err != nil {
		return nil, err
	}
	type insertion struct {
		offset int
		text   string
	}
	var ins []insertion
	var enclosing string
	ast.Inspect(f, func(n ast.Node) bool {
		switch fn := n.(type) {
		case *ast.FuncDecl:
			if fn.Body == nil {
				return false
			}
			enclosing = fn.Name.Name
			if fn.Recv != nil && len(fn.Recv.List) == 1 {
				t := fn.Recv.List[0].Type
				if s, ok := t.(*ast.StarExpr); ok {
					t = s.X
				}
				if id, ok := t.(*ast.Ident); ok {
					enclosing = id.Name + "." + enclosing
				}
			}
			ins = append(ins, insertion{fset.Position(fn.Body.Lbrace).Offset + 1, fmt.Sprintf("%s(%q);", counter, enclosing)})
		case *ast.FuncLit:
			name := fmt.Sprintf("%s.func@%d", enclosing, fset.Position(fn.Pos()).Line)
			ins = append(ins, insertion{fset.Position(fn.Body.Lbrace).Offset + 1, fmt.Sprintf("%s(%q);", counter, name)})
		}
		return true
	})
	sort.Slice(ins, func(i, j int) bool { return ins[i].offset > ins[j].offset })
	for _, in := range ins {
		src = append(src[:in.offset], append([]byte(in.text), src[in.offset:]...)...)
	}
	return src, nil
}

// CallCounts returns the interpreted calls counted since the last call of
// CallCounts, by function, in a plugin loaded from a CountingCopy.
func (p *Plugin) CallCounts() (map[string]int, error) {
	if !p.counting {
		modulePath, err := pluginsrc.ModulePath(p.root)
		if err != nil {
			return nil, err
		}
		if _, err := evalSafely(p.interp, fmt.Sprintf("import %q", modulePath)); err != nil {
			return nil, err
		}
		p.counting = true
	}
	v, err := evalSafely(p.interp, "funcauth.TakeCallCounts()")
	if err != nil {
		return nil, err
	}
	m, ok := v.Interface().(map[string]int)
	if !ok {
		return nil, fmt.Errorf("TakeCallCounts returned %T", v.Interface())
	}
	out := make(map[string]int, len(m))
	for k, n := range m {
		out[k] = n
	}
	return out, nil
}
