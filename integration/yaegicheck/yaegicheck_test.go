// Package yaegicheck checks the packages Traefik interprets (the funcauth
// core and traefikplugin) for Go that Yaegi v0.16.1 cannot run or runs
// wrongly. Each rule below was observed by running Yaegi v0.16.1; most of
// them fail silently (a lost assignment, a shared loop variable) rather
// than at load time, so the loader tests alone could miss them.
package yaegicheck

import (
	"go/ast"
	"go/importer"
	"go/parser"
	"go/token"
	"go/types"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/traefik/yaegi/stdlib"

	"github.com/funcauth/funcauth/integration/internal/pluginsrc"
)

const modulePath = "github.com/funcauth/funcauth"

// moduleRoot is the checkout, relative to this directory.
const moduleRoot = "../.."

// forbiddenImports lists standard packages Yaegi v0.16.1 does not have or
// only half has (generic packages are interpreted from source, and most of
// their functions fail to compile).
var forbiddenImports = map[string]string{
	"unsafe":        "not in Yaegi's stdlib symbols",
	"syscall":       "not in Yaegi's stdlib symbols",
	"os/exec":       "not in Yaegi's stdlib symbols",
	"slices":        "generic; most functions fail under Yaegi v0.16.1",
	"maps":          "generic; most functions fail under Yaegi v0.16.1",
	"cmp":           "generic; cmp.Or fails under Yaegi v0.16.1",
	"iter":          "newer than Go 1.22",
	"unique":        "newer than Go 1.22",
	"crypto/pbkdf2": "newer than Go 1.22",
	"crypto/sha3":   "newer than Go 1.22",
	"crypto/hkdf":   "newer than Go 1.22",
}

// endingGoroutines lists the functions interpreted code may start as
// goroutines, and why each ends by itself with the work it was started
// for, so that none outlives its configuration for longer than a request
// in flight does.
var endingGoroutines = map[string]string{
	"serveWaiting": "the store client's: runs the round trips of the calls waiting, each within store.timeout, and ends when none wait",
}

func TestInterpretedPackagesRunUnderYaegi(t *testing.T) {
	fset := token.NewFileSet()
	imp := importer.ForCompiler(fset, "source", nil)
	checked := map[string]*types.Package{}
	// The packages Traefik interprets, derived from .traefik.yml's import,
	// each after the packages it imports.
	pkgs, err := pluginsrc.InterpretedPackages(moduleRoot)
	if err != nil {
		t.Fatal(err)
	}
	for _, ip := range pkgs {
		dir := filepath.Join(moduleRoot, filepath.FromSlash(ip.Dir))
		files := parseDir(t, fset, dir)
		info := &types.Info{
			Types:      map[ast.Expr]types.TypeAndValue{},
			Uses:       map[*ast.Ident]types.Object{},
			Defs:       map[*ast.Ident]types.Object{},
			Selections: map[*ast.SelectorExpr]*types.Selection{},
		}
		conf := types.Config{Importer: importerFunc(func(path string) (*types.Package, error) {
			if p, ok := checked[path]; ok {
				return p, nil
			}
			return imp.Import(path)
		})}
		pkg, err := conf.Check(ip.Path, fset, files, info)
		if err != nil {
			t.Fatalf("type-checking %s: %v", dir, err)
		}
		checked[pkg.Path()] = pkg
		c := &checker{t: t, fset: fset, info: info}
		for _, f := range files {
			c.file(f)
		}
	}
}

type importerFunc func(path string) (*types.Package, error)

func (f importerFunc) Import(path string) (*types.Package, error) { return f(path) }

func parseDir(t *testing.T, fset *token.FileSet, dir string) []*ast.File {
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var files []*ast.File
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, filepath.Join(dir, name), nil, parser.ParseComments)
		if err != nil {
			t.Fatal(err)
		}
		for _, cg := range f.Comments {
			for _, c := range cg.List {
				if strings.HasPrefix(c.Text, "//go:build") {
					t.Errorf("%s: Yaegi ignores //go:build lines; use // +build", fset.Position(c.Pos()))
				}
			}
		}
		files = append(files, f)
	}
	return files
}

type checker struct {
	t    *testing.T
	fset *token.FileSet
	info *types.Info
}

func (c *checker) errorf(pos token.Pos, format string, args ...interface{}) {
	c.t.Helper()
	c.t.Errorf("%s: "+format, append([]interface{}{c.fset.Position(pos)}, args...)...)
}

func (c *checker) file(f *ast.File) {
	for _, spec := range f.Imports {
		path := strings.Trim(spec.Path.Value, `"`)
		if why, bad := forbiddenImports[path]; bad {
			c.errorf(spec.Pos(), "import %q: %s", path, why)
		}
		if strings.Contains(strings.SplitN(path, "/", 2)[0], ".") && !strings.HasPrefix(path, modulePath) {
			c.errorf(spec.Pos(), "import %q: Traefik interprets everything imported; use the standard library only", path)
		}
	}
	ast.Inspect(f, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.FuncDecl:
			if n.Type.TypeParams != nil {
				c.errorf(n.Pos(), "generic function %s: keep generics out of interpreted code", n.Name.Name)
			}
			for _, field := range n.Type.Params.List {
				if len(field.Names) == 0 {
					c.errorf(field.Pos(), "unnamed parameter of %s: Yaegi v0.16.1 mixes up the frame of a method called through an interface when a parameter has no name; name it (_ will do)", n.Name.Name)
				}
			}
		case *ast.TypeSpec:
			if n.TypeParams != nil {
				c.errorf(n.Pos(), "generic type %s: keep generics out of interpreted code", n.Name.Name)
			}
			c.selfReference(n)
		case *ast.AssignStmt:
			c.assign(n)
		case *ast.CompositeLit:
			c.compositeLit(n)
		case *ast.ReturnStmt:
			c.returnStmt(n)
		case *ast.GoStmt:
			if fn, ok := n.Call.Fun.(*ast.Ident); !ok || endingGoroutines[fn.Name] == "" {
				c.errorf(n.Pos(), "go statement: Traefik rebuilds every instance on each reload, so a goroutine started here outlives its configuration (a function whose goroutine ends with the work it was started for may be listed in endingGoroutines, with why)")
			}
		case *ast.SelectStmt:
			c.errorf(n.Pos(), "select statement: Yaegi v0.16.1 keeps one set of cases per select statement, shared by every goroutine running it, so concurrent selects wait on each other's channels and take each other's wake-ups; receive from one channel, and end a wait with time.AfterFunc")
		case *ast.RangeStmt:
			c.rangeStmt(n)
		case *ast.ForStmt:
			c.loopCapture(n.Body, c.forVars(n))
		case *ast.TypeSwitchStmt:
			c.typeSwitch(n)
		case *ast.CallExpr:
			c.call(n)
		case *ast.SelectorExpr:
			c.selector(n)
		}
		return true
	})
}

// selfReference: a struct type with a field of a slice, pointer or map of
// itself (type call struct{ batch []*call }) cannot be assigned to under
// Yaegi v0.16.1 (reflect.Set: value of type []*struct{...} is not
// assignable to type []*unsafe2.dummy). A value of itself in a slice field
// (type respValue struct{ elems []respValue }) is read and written whole,
// and works.
func (c *checker) selfReference(n *ast.TypeSpec) {
	st, ok := n.Type.(*ast.StructType)
	if !ok {
		return
	}
	for _, field := range st.Fields.List {
		if refersTo(field.Type, n.Name.Name, false) {
			c.errorf(field.Pos(), "type %s refers to itself through a pointer: Yaegi v0.16.1 cannot assign such a field (reflect.Set to unsafe2.dummy); keep the reference elsewhere", n.Name.Name)
		}
	}
}

// refersTo says whether the type expression holds a pointer to the named
// type (through slices, arrays, maps and channels too).
func refersTo(e ast.Expr, name string, pointer bool) bool {
	switch t := e.(type) {
	case *ast.Ident:
		return pointer && t.Name == name
	case *ast.StarExpr:
		return refersTo(t.X, name, true)
	case *ast.ArrayType:
		return refersTo(t.Elt, name, pointer)
	case *ast.MapType:
		return refersTo(t.Key, name, pointer) || refersTo(t.Value, name, pointer)
	case *ast.ChanType:
		return refersTo(t.Value, name, pointer)
	}
	return false
}

// assign: "a, b = x, f()" loses every value but the call's under Yaegi
// v0.16.1 (":=" and single multi-value calls are fine).
func (c *checker) assign(n *ast.AssignStmt) {
	c.commaOkInterface(n)
	if n.Tok != token.ASSIGN || len(n.Lhs) < 2 || len(n.Rhs) < 2 {
		return
	}
	for _, rhs := range n.Rhs {
		if tv, ok := c.info.Types[rhs]; ok && tv.IsNil() {
			c.errorf(n.Pos(), "parallel assignment of nil: Yaegi v0.16.1 panics (reflect: New(nil)); assign one by one")
			return
		}
		if c.hasCall(rhs) {
			c.errorf(n.Pos(), "parallel assignment with a call on the right: Yaegi v0.16.1 drops the other values; assign one by one")
			return
		}
	}
}

// commaOkInterface: v, ok := x.(I), with I an interface type, panics
// under Yaegi v0.16.1 when x is a nil interface (reflect: call of
// reflect.Value.Type on zero Value) instead of giving ok false. An
// assertion to a concrete type gives false as it should. Refused where x
// is a call's result (sync.Pool.Get, sync.Map.Load: nil when empty); a
// variable or field the code knows is set (a host's ResponseWriter) is
// left to the writer.
func (c *checker) commaOkInterface(n *ast.AssignStmt) {
	if len(n.Lhs) != 2 || len(n.Rhs) != 1 {
		return
	}
	ta, ok := ast.Unparen(n.Rhs[0]).(*ast.TypeAssertExpr)
	if !ok || ta.Type == nil {
		return
	}
	if _, isCall := ast.Unparen(ta.X).(*ast.CallExpr); !isCall {
		return
	}
	if tv, ok := c.info.Types[ta.Type]; ok && types.IsInterface(tv.Type) {
		c.errorf(n.Pos(), "comma-ok assertion to interface type %s: Yaegi v0.16.1 panics when the value is a nil interface; compare it with nil first, then assert without ok", tv.Type)
	}
}

// compositeLit: a struct value of our own types copied into a field of a
// composite literal loses its fields under Yaegi v0.16.1 (seen with
// sfParam{value: item}); use a pointer.
func (c *checker) compositeLit(n *ast.CompositeLit) {
	for _, elt := range n.Elts {
		kv, ok := elt.(*ast.KeyValueExpr)
		if !ok {
			continue
		}
		if _, isLit := kv.Value.(*ast.CompositeLit); isLit {
			continue
		}
		tv, ok := c.info.Types[kv.Value]
		if !ok || tv.IsNil() {
			continue
		}
		if _, isStruct := tv.Type.Underlying().(*types.Struct); isStruct && ours(tv.Type) {
			if _, isPtr := tv.Type.(*types.Pointer); !isPtr {
				c.errorf(kv.Pos(), "struct value of type %s copied into a composite literal: Yaegi v0.16.1 loses its fields; use a pointer", tv.Type)
			}
		}
	}
}

// returnStmt: returning several results, one of them a string
// concatenation, panics under Yaegi v0.16.1 ("reflect.Set: value of type
// interp.valueInterface is not assignable to type string") in some
// functions; compute the string into a variable first.
func (c *checker) returnStmt(n *ast.ReturnStmt) {
	if len(n.Results) < 2 {
		return
	}
	for _, r := range n.Results {
		if b, ok := r.(*ast.BinaryExpr); ok && b.Op == token.ADD {
			if tv, ok := c.info.Types[b]; ok {
				if basic, ok := tv.Type.Underlying().(*types.Basic); ok && basic.Info()&types.IsString != 0 {
					c.errorf(r.Pos(), "string concatenation in a multi-value return: Yaegi v0.16.1 can panic; assign it to a variable first")
				}
			}
		}
	}
}

func (c *checker) hasCall(e ast.Expr) bool {
	found := false
	ast.Inspect(e, func(n ast.Node) bool {
		if call, ok := n.(*ast.CallExpr); ok {
			if tv, ok := c.info.Types[call.Fun]; ok && tv.IsType() {
				return true // a conversion
			}
			found = true
		}
		return !found
	})
	return found
}

func (c *checker) rangeStmt(n *ast.RangeStmt) {
	if tv, ok := c.info.Types[n.X]; ok {
		if b, ok := tv.Type.Underlying().(*types.Basic); ok && b.Info()&types.IsInteger != 0 {
			c.errorf(n.Pos(), "range over an integer panics Yaegi v0.16.1 (and crashes Traefik)")
		}
		if _, ok := tv.Type.Underlying().(*types.Signature); ok {
			c.errorf(n.Pos(), "range over a function is newer than Go 1.22")
		}
	}
	var vars []types.Object
	for _, e := range []ast.Expr{n.Key, n.Value} {
		if id, ok := e.(*ast.Ident); ok && id.Name != "_" {
			if obj := c.info.Defs[id]; obj != nil {
				vars = append(vars, obj)
			} else if obj := c.info.Uses[id]; obj != nil {
				vars = append(vars, obj)
			}
		}
	}
	c.loopCapture(n.Body, vars)
}

// forVars returns the variables a three-clause loop declares.
func (c *checker) forVars(n *ast.ForStmt) []types.Object {
	init, ok := n.Init.(*ast.AssignStmt)
	if !ok || init.Tok != token.DEFINE {
		return nil
	}
	var vars []types.Object
	for _, e := range init.Lhs {
		if id, ok := e.(*ast.Ident); ok {
			if obj := c.info.Defs[id]; obj != nil {
				vars = append(vars, obj)
			}
		}
	}
	return vars
}

// loopCapture: Yaegi v0.16.1 shares one loop variable across iterations,
// so a closure in the body must not capture it.
func (c *checker) loopCapture(body *ast.BlockStmt, vars []types.Object) {
	if len(vars) == 0 || body == nil {
		return
	}
	ast.Inspect(body, func(n ast.Node) bool {
		lit, ok := n.(*ast.FuncLit)
		if !ok {
			return true
		}
		ast.Inspect(lit.Body, func(m ast.Node) bool {
			if id, ok := m.(*ast.Ident); ok {
				for _, v := range vars {
					if c.info.Uses[id] == v {
						c.errorf(id.Pos(), "closure captures loop variable %s: Yaegi v0.16.1 shares it across iterations; copy it first", id.Name)
					}
				}
			}
			return true
		})
		return false
	})
}

// typeSwitch: a case naming a pointer to one of our types with methods
// never matches under Yaegi v0.16.1.
func (c *checker) typeSwitch(n *ast.TypeSwitchStmt) {
	for _, stmt := range n.Body.List {
		for _, e := range stmt.(*ast.CaseClause).List {
			tv, ok := c.info.Types[e]
			if !ok || !tv.IsType() {
				continue
			}
			if ours(tv.Type) && types.NewMethodSet(tv.Type).Len() > 0 {
				c.errorf(e.Pos(), "type switch case %s: Yaegi v0.16.1 never matches our own types with methods; use a type assertion", tv.Type)
			}
		}
	}
}

func ours(t types.Type) bool {
	if p, ok := t.(*types.Pointer); ok {
		t = p.Elem()
	}
	named, ok := t.(*types.Named)
	return ok && named.Obj().Pkg() != nil && strings.HasPrefix(named.Obj().Pkg().Path(), modulePath)
}

func (c *checker) call(n *ast.CallExpr) {
	if id, ok := n.Fun.(*ast.Ident); ok {
		if b, ok := c.info.Uses[id].(*types.Builtin); ok {
			switch b.Name() {
			case "min", "max", "clear":
				c.errorf(n.Pos(), "builtin %s is undefined in Yaegi v0.16.1", b.Name())
			}
		}
	}
	if sel, ok := n.Fun.(*ast.SelectorExpr); ok {
		if fn, ok := c.info.Uses[sel.Sel].(*types.Func); ok && fn.Pkg() != nil && fn.Pkg().Path() == "errors" && fn.Name() == "As" && len(n.Args) == 2 {
			if tv, ok := c.info.Types[n.Args[1]]; ok {
				if p, ok := tv.Type.(*types.Pointer); ok && ours(p.Elem()) {
					c.errorf(n.Pos(), "errors.As into our own type panics under Yaegi v0.16.1")
				}
			}
		}
	}
}

// selector: standard-library symbols must exist in Yaegi's Go 1.22
// symbol tables; method expressions panic.
func (c *checker) selector(n *ast.SelectorExpr) {
	if sel, ok := c.info.Selections[n]; ok {
		if sel.Kind() == types.MethodExpr {
			c.errorf(n.Pos(), "method expression %s panics under Yaegi v0.16.1; use a method value or a closure", n.Sel.Name)
		}
		return
	}
	obj := c.info.Uses[n.Sel]
	if obj == nil || obj.Pkg() == nil || obj.Parent() != obj.Pkg().Scope() {
		return
	}
	path := obj.Pkg().Path()
	if strings.HasPrefix(path, modulePath) {
		return
	}
	if path == "os" && (obj.Name() == "Stdout" || obj.Name() == "Stderr") {
		c.errorf(n.Pos(), "os.%s bypasses Traefik's logger under Yaegi: use fmt.Print (its debug log) or the log package (its error log)", obj.Name())
	}
	if obj.Name() == "Pointer" && path == "sync/atomic" {
		c.errorf(n.Pos(), "atomic.Pointer is missing from Yaegi v0.16.1")
	}
	symbols, ok := stdlib.Symbols[path+"/"+obj.Pkg().Name()]
	if !ok {
		c.errorf(n.Pos(), "package %s has no symbols in Yaegi v0.16.1", path)
		return
	}
	if _, ok := symbols[obj.Name()]; !ok {
		c.errorf(n.Pos(), "%s.%s is not in Yaegi v0.16.1's standard library (Go 1.22)", path, obj.Name())
	}
}
