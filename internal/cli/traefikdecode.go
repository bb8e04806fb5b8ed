package cli

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"

	"github.com/funcauth/funcauth"
)

// DecodeTraefik decodes a plugin's options as Traefik hands them to the
// middleware (the map under http.middlewares.<name>.plugin.<alias>) into a
// Config the way Traefik's decoder does: keys match the Config's Go field
// names case-insensitively, scalars may be strings ("40", "true"), a
// string may stand for a list of strings ("a,b"), and options no field
// matches are collected in the UnknownOptions fields, which funcauth.New
// refuses with a "did you mean". Traefik decodes a plugin's options with
// mapstructure (WeaklyTypedInput, StringToSliceHookFunc(",")); this is
// the same without reflection-heavy dependencies, and
// integration/traefik's TestCheckDecodesAsTraefik holds them equal.
func DecodeTraefik(options map[string]interface{}) (*funcauth.Config, error) {
	cfg := &funcauth.Config{}
	if err := decodeInto(reflect.ValueOf(cfg).Elem(), options, ""); err != nil {
		return nil, err
	}
	return cfg, nil
}

func decodeInto(v reflect.Value, raw interface{}, path string) error {
	switch v.Kind() {
	case reflect.Ptr:
		if raw == nil {
			return nil // mapstructure leaves what a nil sets alone
		}
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		if raw == nil {
			return nil
		}
		return decodeInto(v.Elem(), raw, path)
	case reflect.Struct:
		if raw == nil {
			return nil
		}
		m, ok := raw.(map[string]interface{})
		if !ok {
			return fmt.Errorf("%s: expected a map of options, got %v", strings.TrimPrefix(path, "."), raw)
		}
		t := v.Type()
		for key, x := range m {
			found := false
			for i := 0; i < t.NumField(); i++ {
				f := t.Field(i)
				if f.Name == "UnknownOptions" || !strings.EqualFold(f.Name, key) {
					continue
				}
				found = true
				if err := decodeInto(v.Field(i), x, path+"."+key); err != nil {
					return err
				}
				break
			}
			if !found {
				u := v.FieldByName("UnknownOptions")
				if !u.IsValid() {
					return fmt.Errorf("%s: unknown option", strings.TrimPrefix(path+"."+key, "."))
				}
				if u.IsNil() {
					u.Set(reflect.MakeMap(u.Type()))
				}
				u.SetMapIndex(reflect.ValueOf(key), reflect.ValueOf(x))
			}
		}
		return nil
	case reflect.Slice:
		var items []interface{}
		switch x := raw.(type) {
		case nil:
			return nil
		case []interface{}:
			items = x
		case string:
			if v.Type().Elem().Kind() != reflect.String {
				return fmt.Errorf("%s: expected a list, got %q", strings.TrimPrefix(path, "."), x)
			}
			if x != "" { // mapstructure.StringToSliceHookFunc(",")
				for _, s := range strings.Split(x, ",") {
					items = append(items, s)
				}
			}
		default:
			return fmt.Errorf("%s: expected a list, got %v", strings.TrimPrefix(path, "."), raw)
		}
		s := reflect.MakeSlice(v.Type(), len(items), len(items))
		for i, x := range items {
			if err := decodeInto(s.Index(i), x, path+"["+strconv.Itoa(i)+"]"); err != nil {
				return err
			}
		}
		v.Set(s)
		return nil
	case reflect.Map:
		return fmt.Errorf("%s: unexpected map", strings.TrimPrefix(path, "."))
	}
	// A scalar: Traefik's file and label providers hand strings, the
	// Kubernetes provider typed JSON values.
	var s string
	switch x := raw.(type) {
	case nil:
		return nil
	case string:
		s = x
	case bool, int, int64, uint64, float64:
		s = fmt.Sprint(x)
	default:
		return fmt.Errorf("%s: expected a value, got %v", strings.TrimPrefix(path, "."), raw)
	}
	field := strings.TrimPrefix(path, ".")
	// mapstructure's weak typing, as Traefik configures it.
	switch v.Kind() {
	case reflect.String:
		switch x := raw.(type) {
		case bool:
			s = "0"
			if x {
				s = "1"
			}
		case float64:
			s = strconv.FormatFloat(x, 'f', -1, 64)
		}
		v.SetString(s)
	case reflect.Bool:
		switch x := raw.(type) {
		case bool:
			v.SetBool(x)
		case int, int64, uint64, float64:
			v.SetBool(s != "0")
		default:
			if s == "" {
				v.SetBool(false)
				return nil
			}
			b, err := strconv.ParseBool(s)
			if err != nil {
				return fmt.Errorf("%s: %q is not true or false", field, s)
			}
			v.SetBool(b)
		}
	case reflect.Int, reflect.Int64, reflect.Int32:
		switch x := raw.(type) {
		case bool:
			if x {
				v.SetInt(1)
			} else {
				v.SetInt(0)
			}
		case float64:
			v.SetInt(int64(x))
		default:
			if s == "" {
				v.SetInt(0)
				return nil
			}
			n, err := strconv.ParseInt(s, 0, 64)
			if err != nil {
				return fmt.Errorf("%s: %q is not a whole number", field, s)
			}
			v.SetInt(n)
		}
	default:
		return fmt.Errorf("%s: cannot decode %q", field, s)
	}
	return nil
}
