package cli

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/BurntSushi/toml"
	"gopkg.in/yaml.v3"
)

// normKey is how a key is compared with a field name: case-insensitively
// and without underscores, so both basicAuth and basic_auth match.
func normKey(s string) string {
	return strings.ToLower(strings.ReplaceAll(s, "_", ""))
}

// mapGet returns the value node of key in mapping node n (keys compared
// case-insensitively, as Traefik does), or nil.
func mapGet(n *yaml.Node, key string) (k, v *yaml.Node) {
	if n == nil {
		return nil, nil
	}
	if n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	if n.Kind != yaml.MappingNode {
		return nil, nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if normKey(n.Content[i].Value) == normKey(key) {
			return n.Content[i], n.Content[i+1]
		}
	}
	return nil, nil
}

// nodeLine returns the line of field under n, or of the deepest part of
// it that is there.
func nodeLine(n *yaml.Node, field string) int {
	if field == "" {
		return 0
	}
	line := 0
	for _, seg := range splitField(field) {
		if n == nil {
			break
		}
		if seg.key != "" {
			k, v := mapGet(n, seg.key)
			if k == nil {
				break
			}
			line, n = k.Line, v
			continue
		}
		if n.Kind != yaml.SequenceNode || seg.index < 0 || seg.index >= len(n.Content) {
			break
		}
		n = n.Content[seg.index]
		line = n.Line
	}
	return line
}

// pluginBlocks takes every <name>: {plugin: {<alias>: {...}}} of a
// middlewares mapping node.
func pluginBlocks(middlewares *yaml.Node, plugin string) ([]*configBlock, error) {
	var blocks []*configBlock
	if middlewares == nil || middlewares.Kind != yaml.MappingNode {
		return nil, nil
	}
	for i := 0; i+1 < len(middlewares.Content); i += 2 {
		mw := middlewares.Content[i].Value
		_, p := mapGet(middlewares.Content[i+1], "plugin")
		b, err := pluginBlock(p, plugin, "middleware "+mw)
		if err != nil {
			return nil, err
		}
		if b != nil {
			blocks = append(blocks, b)
		}
	}
	return blocks, nil
}

// pluginBlock decodes plugin.<alias> under p, if there is one.
func pluginBlock(p *yaml.Node, plugin, where string) (*configBlock, error) {
	k, opts := mapGet(p, plugin)
	if k == nil {
		return nil, nil
	}
	var m map[string]interface{}
	if err := opts.Decode(&m); err != nil {
		return nil, fmt.Errorf("line %d: %s: %v", k.Line, where, err)
	}
	cfg, err := DecodeTraefik(m)
	if err != nil {
		return nil, fmt.Errorf("line %d: %s: %v", nodeLine(opts, errorField(err)), where, err)
	}
	return &configBlock{
		where:     where,
		line:      k.Line,
		cfg:       cfg,
		fieldLine: func(field string) int { return nodeLine(opts, traefikField(field)) },
	}, nil
}

// traefikField turns an error's field (JSON spelling: basic_auth.users[0])
// into the Traefik spelling; normKey makes them the same, so it is the
// identity, kept for clarity.
func traefikField(field string) string { return field }

func traefikYAMLBlocks(name string, data []byte, plugin string) ([]*configBlock, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("%s: %v", name, err)
	}
	_, h := mapGet(&doc, "http")
	_, mws := mapGet(h, "middlewares")
	blocks, err := pluginBlocks(mws, plugin)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", name, err)
	}
	return blocks, nil
}

func traefikTOMLBlocks(name string, data []byte, plugin string) ([]*configBlock, error) {
	var root map[string]interface{}
	if _, err := toml.Decode(string(data), &root); err != nil {
		return nil, fmt.Errorf("%s: %v", name, err)
	}
	// TOML has no node tree with lines: turn it into YAML's to share the
	// walk, and find lines by key in the text.
	y, err := yaml.Marshal(root)
	if err != nil {
		return nil, err
	}
	blocks, err := traefikYAMLBlocks(name, y, plugin)
	if err != nil {
		return nil, err
	}
	lines := strings.Split(string(data), "\n")
	for _, b := range blocks {
		b.line = 0
		b.fieldLine = func(field string) int { return tomlLine(lines, field) }
	}
	return blocks, nil
}

// tomlLine returns the first line that sets the last key of field, or 0.
func tomlLine(lines []string, field string) int {
	segs := splitField(field)
	key := ""
	for i := len(segs) - 1; i >= 0; i-- {
		if segs[i].key != "" {
			key = normKey(segs[i].key)
			break
		}
	}
	if key == "" {
		return 0
	}
	for i, l := range lines {
		k, _, ok := strings.Cut(l, "=")
		if ok && normKey(strings.Trim(strings.TrimSpace(k), `"`)) == key {
			return i + 1
		}
		if t := strings.TrimSpace(l); strings.HasPrefix(t, "[") {
			parts := strings.Split(strings.Trim(t, "[]"), ".")
			if normKey(parts[len(parts)-1]) == key {
				return i + 1
			}
		}
	}
	return 0
}

// kubernetesBlocks takes every Middleware's spec.plugin.<alias> and every
// ConfigMap's data.Caddyfile.
func kubernetesBlocks(name string, data []byte, plugin string) ([]*configBlock, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var blocks []*configBlock
	for {
		var doc yaml.Node
		if err := dec.Decode(&doc); err != nil {
			if err.Error() == "EOF" {
				return blocks, nil
			}
			return nil, fmt.Errorf("%s: %v", name, err)
		}
		_, kind := mapGet(&doc, "kind")
		if kind == nil {
			continue
		}
		_, meta := mapGet(&doc, "metadata")
		_, mname := mapGet(meta, "name")
		resource := kind.Value
		if mname != nil {
			resource += " " + mname.Value
		}
		switch kind.Value {
		case "Middleware":
			_, spec := mapGet(&doc, "spec")
			_, p := mapGet(spec, "plugin")
			b, err := pluginBlock(p, plugin, resource)
			if err != nil {
				return nil, fmt.Errorf("%s: %v", name, err)
			}
			if b != nil {
				blocks = append(blocks, b)
			}
		case "ConfigMap":
			_, d := mapGet(&doc, "data")
			if d == nil || d.Kind != yaml.MappingNode {
				continue
			}
			for i := 0; i+1 < len(d.Content); i += 2 {
				if d.Content[i].Value != "Caddyfile" {
					continue
				}
				v := d.Content[i+1]
				offset := v.Line // a block scalar starts on the next line
				if v.Style != yaml.LiteralStyle && v.Style != yaml.FoldedStyle {
					offset = v.Line - 1
				}
				bs, err := caddyfileBlocks(name+" ("+resource+" data.Caddyfile)", []byte(v.Value), offset)
				if err != nil {
					return nil, err
				}
				for _, b := range bs {
					b.where = resource + ": " + b.where
				}
				blocks = append(blocks, bs...)
			}
		}
	}
}
