// Package traefikload loads a Traefik middleware plugin the way Traefik
// v3.6 does (pkg/plugins/middlewareyaegi.go): a Yaegi v0.16.1 interpreter
// with the standard library symbols only, a GOPATH holding the module at
// src/<module path>, the import and basePkg of .traefik.yml, CreateConfig
// decoded by mapstructure with Traefik's options, then New.
package traefikload

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"reflect"
	"strings"

	"github.com/mitchellh/mapstructure"
	"github.com/traefik/yaegi/interp"
	"github.com/traefik/yaegi/stdlib"

	"github.com/funcauth/funcauth/integration/internal/pluginsrc"
)

// Plugin is a plugin loaded into its own interpreter. Like Traefik's, the
// interpreter is shared by every middleware built from it.
type Plugin struct {
	Manifest       *pluginsrc.Manifest
	interp         *interp.Interpreter
	fnNew          reflect.Value
	fnCreateConfig reflect.Value
	root           string // the module's directory
	counting       bool   // CallCounts imported the core
}

// Load links moduleRoot into a fresh GOPATH under goPathDir as
// src/<module path> (Traefik's plugins-local layout) and loads the plugin
// its manifest names. stdout and stderr receive what the plugin prints,
// as Traefik's debug and error logs do.
func Load(moduleRoot, goPathDir string, stdout, stderr io.Writer) (*Plugin, error) {
	moduleRoot, err := filepath.Abs(moduleRoot)
	if err != nil {
		return nil, err
	}
	modulePath, err := pluginsrc.ModulePath(moduleRoot)
	if err != nil {
		return nil, err
	}
	m, err := pluginsrc.ReadManifest(moduleRoot)
	if err != nil {
		return nil, err
	}
	if err := CheckLocalManifest(m, modulePath); err != nil {
		return nil, err
	}
	dst := filepath.Join(goPathDir, "src", filepath.FromSlash(modulePath))
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return nil, err
	}
	if err := os.Symlink(moduleRoot, dst); err != nil && !errors.Is(err, os.ErrExist) {
		return nil, err
	}

	i := interp.New(interp.Options{GoPath: goPathDir, Env: os.Environ(), Stdout: stdout, Stderr: stderr})
	if err := i.Use(stdlib.Symbols); err != nil {
		return nil, fmt.Errorf("loading stdlib symbols: %w", err)
	}
	if _, err := evalSafely(i, fmt.Sprintf(`import "%s"`, m.Import)); err != nil {
		return nil, fmt.Errorf("importing %s: %w", m.Import, err)
	}
	basePkg := m.BasePkg
	if basePkg == "" {
		basePkg = strings.ReplaceAll(path.Base(m.Import), "-", "_")
	}
	fnNew, err := evalSafely(i, basePkg+`.New`)
	if err != nil {
		return nil, fmt.Errorf("failed to eval New: %w", err)
	}
	fnCreateConfig, err := evalSafely(i, basePkg+`.CreateConfig`)
	if err != nil {
		return nil, fmt.Errorf("failed to eval CreateConfig: %w", err)
	}
	return &Plugin{Manifest: m, interp: i, fnNew: fnNew, fnCreateConfig: fnCreateConfig, root: moduleRoot}, nil
}

// evalSafely evaluates src, turning the panics Yaegi raises on constructs
// it cannot compile (they would crash Traefik) into errors.
func evalSafely(i *interp.Interpreter, src string) (v reflect.Value, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("yaegi panicked (this would crash Traefik): %v", r)
		}
	}()
	return i.Eval(src)
}

// CheckLocalManifest applies Traefik's checks of a local plugin's manifest
// (pkg/plugins checkLocalPluginManifest).
func CheckLocalManifest(m *pluginsrc.Manifest, moduleName string) error {
	switch m.Type {
	case "middleware":
		if m.Runtime != "" && m.Runtime != "yaegi" {
			return fmt.Errorf("unsupported runtime %q for a yaegi plugin", m.Runtime)
		}
	default:
		return fmt.Errorf("unsupported type %q", m.Type)
	}
	var errs []error
	if m.Import == "" {
		errs = append(errs, errors.New("missing import"))
	} else if !strings.HasPrefix(m.Import, moduleName) {
		errs = append(errs, fmt.Errorf("the import %q must be related to the module name %q", m.Import, moduleName))
	}
	if m.DisplayName == "" {
		errs = append(errs, errors.New("missing DisplayName"))
	}
	if m.Summary == "" {
		errs = append(errs, errors.New("missing Summary"))
	}
	if m.TestData == nil {
		errs = append(errs, errors.New("missing TestData"))
	}
	return errors.Join(errs...)
}

// NewMiddleware does what Traefik does for each router using the plugin:
// CreateConfig, decode the options (string scalars, as Traefik's file and
// label providers deliver them) with Traefik's mapstructure options, New.
func (p *Plugin) NewMiddleware(ctx context.Context, next http.Handler, options map[string]interface{}, name string) (h http.Handler, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("plugin panicked (this would crash Traefik): %v", r)
		}
	}()
	results := p.fnCreateConfig.Call(nil)
	if len(results) != 1 {
		return nil, fmt.Errorf("invalid number of return for the CreateConfig function: %d", len(results))
	}
	vConfig := results[0]
	if len(options) > 0 {
		decoder, err := mapstructure.NewDecoder(&mapstructure.DecoderConfig{
			DecodeHook:       mapstructure.StringToSliceHookFunc(","),
			WeaklyTypedInput: true,
			Result:           vConfig.Interface(),
		})
		if err != nil {
			return nil, fmt.Errorf("failed to create configuration decoder: %w", err)
		}
		if err := decoder.Decode(options); err != nil {
			return nil, fmt.Errorf("failed to decode configuration: %w", err)
		}
	}
	args := []reflect.Value{reflect.ValueOf(ctx), reflect.ValueOf(next), vConfig, reflect.ValueOf(name)}
	out := p.fnNew.Call(args)
	if len(out) > 1 && out[1].Interface() != nil {
		e, ok := out[1].Interface().(error)
		if !ok {
			return nil, fmt.Errorf("invalid error type: %T", out[1].Interface())
		}
		return nil, e
	}
	handler, ok := out[0].Interface().(http.Handler)
	if !ok {
		return nil, fmt.Errorf("invalid handler type: %T", out[0].Interface())
	}
	return handler, nil
}
