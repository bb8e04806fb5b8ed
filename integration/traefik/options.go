// Package traefik tests the Traefik examples (examples/traefik, read from
// the checkout) and loads the funcauth plugin the way Traefik does.
package traefik

import (
	"encoding/json"
	"fmt"
	"strings"
)

// OptionsFromJSON turns the core's JSON configuration (snake_case keys,
// typed values) into the map Traefik's file and label providers hand a
// plugin: camelCase keys and every scalar a string.
func OptionsFromJSON(data []byte) (map[string]interface{}, error) {
	var v interface{}
	if err := json.Unmarshal(data, &v); err != nil {
		return nil, err
	}
	m, ok := traefikValue(v).(map[string]interface{})
	if !ok {
		return nil, fmt.Errorf("the configuration is not an object")
	}
	return m, nil
}

func traefikValue(v interface{}) interface{} {
	switch v := v.(type) {
	case map[string]interface{}:
		out := make(map[string]interface{}, len(v))
		for k, x := range v {
			out[camelCase(k)] = traefikValue(x)
		}
		return out
	case []interface{}:
		out := make([]interface{}, len(v))
		for i, x := range v {
			out[i] = traefikValue(x)
		}
		return out
	case float64:
		return fmt.Sprintf("%v", v)
	case bool:
		return fmt.Sprintf("%v", v)
	case nil:
		return ""
	}
	return v
}

// camelCase turns max_body_size into maxBodySize.
func camelCase(s string) string {
	parts := strings.Split(s, "_")
	for i := 1; i < len(parts); i++ {
		if parts[i] != "" {
			parts[i] = strings.ToUpper(parts[i][:1]) + parts[i][1:]
		}
	}
	return strings.Join(parts, "")
}
