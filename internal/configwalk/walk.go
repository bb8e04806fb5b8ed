// Package configwalk lists every option of funcauth's Config, for the tests
// that keep each place naming the options in step with it: unknown-option
// detection and "did you mean" (root package), Caddy's placeholder
// expansion and Caddyfile parser (caddyauth), and docs/configuration.md.
// A field added to the Config shows up here, and so in each of those tests,
// without anyone listing it.
//
// It takes the Config's type as a reflect.Type rather than importing the
// core, so that the core's own tests can use it.
package configwalk

import (
	"reflect"
	"strings"
)

// Option is one field of the configuration that holds a value (a string,
// number, boolean or list of strings), as opposed to a section.
type Option struct {
	// JSON is the option's path as Caddy's JSON spells it, lists written
	// with "[]": "basic_auth.users[].password_hash".
	JSON string
	// Go is the same path by Go field name, as Traefik matches it
	// (case-insensitively): "BasicAuth.Users[].PasswordHash".
	Go string
	// Section is the JSON path of the struct holding the option
	// ("basic_auth.users[]"; "" for the Config itself).
	Section string
	// Name is the option's own JSON name ("password_hash").
	Name string
	// Type is the field's type.
	Type reflect.Type

	path []int
}

// Section is the Config or a struct inside it: a pointer field
// ("store.tls"), or the elements of a list ("rules[]").
type Section struct {
	// JSON and Go are the section's path as for Option; both are "" for
	// the Config itself.
	JSON, Go string
	// Type is the section's struct type.
	Type reflect.Type

	path []int
}

// Walk returns the options and sections of the struct type config, nested
// sections included, in field order. Fields without a JSON name
// (`json:"-"`, such as UnknownOptions) are left out.
func Walk(config reflect.Type) ([]Option, []Section) {
	var w walker
	w.walk(config, "", "", nil)
	return w.options, w.sections
}

type walker struct {
	options  []Option
	sections []Section
}

func (w *walker) walk(t reflect.Type, jsonPath, goPath string, path []int) {
	w.sections = append(w.sections, Section{JSON: jsonPath, Go: goPath, Type: t, path: path})
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" || !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		p := append(append([]int(nil), path...), i)
		jp, gp := join(jsonPath, name), join(goPath, f.Name)
		switch ft := f.Type; {
		case ft.Kind() == reflect.Pointer && ft.Elem().Kind() == reflect.Struct:
			w.walk(ft.Elem(), jp, gp, p)
		case ft.Kind() == reflect.Slice && ft.Elem().Kind() == reflect.Struct:
			w.walk(ft.Elem(), jp+"[]", gp+"[]", p)
		case ft.Kind() == reflect.Struct:
			w.walk(ft, jp, gp, p)
		default:
			w.options = append(w.options, Option{JSON: jp, Go: gp, Section: jsonPath, Name: name, Type: ft, path: p})
		}
	}
}

func join(section, name string) string {
	if section == "" {
		return name
	}
	return section + "." + name
}

// Set returns the option's field in config (a pointer to the Config),
// settable, making every section on the way: nil pointers get a new
// struct, empty lists one element.
func (o Option) Set(config interface{}) reflect.Value {
	return set(reflect.ValueOf(config).Elem(), o.path)
}

// Get returns the option's field in config (a pointer to the Config), in
// the last element of each list on the way, or false when a section on
// the way is nil or an empty list.
func (o Option) Get(config interface{}) (reflect.Value, bool) {
	return get(reflect.ValueOf(config).Elem(), o.path)
}

// Set returns the section's struct in config (a pointer to the Config),
// settable, made as Option.Set makes it.
func (s Section) Set(config interface{}) reflect.Value {
	v := set(reflect.ValueOf(config).Elem(), s.path)
	return into(v)
}

func set(v reflect.Value, path []int) reflect.Value {
	for n, i := range path {
		v = v.Field(i)
		if n < len(path)-1 {
			v = into(v)
		}
	}
	return v
}

// into makes v, a field holding a section, hold one and returns it.
func into(v reflect.Value) reflect.Value {
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		return v.Elem()
	case reflect.Slice:
		if v.Len() == 0 {
			v.Set(reflect.Append(v, reflect.Zero(v.Type().Elem())))
		}
		return v.Index(0)
	}
	return v
}

func get(v reflect.Value, path []int) (reflect.Value, bool) {
	for n, i := range path {
		v = v.Field(i)
		if n == len(path)-1 {
			break
		}
		switch v.Kind() {
		case reflect.Pointer:
			if v.IsNil() {
				return reflect.Value{}, false
			}
			v = v.Elem()
		case reflect.Slice:
			if v.Len() == 0 {
				return reflect.Value{}, false
			}
			v = v.Index(v.Len() - 1)
		}
	}
	return v, true
}
