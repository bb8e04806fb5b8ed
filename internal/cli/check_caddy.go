package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/caddyserver/caddy/v2/caddyconfig"
	_ "github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile" // the caddyfile adapter
	"gopkg.in/yaml.v3"

	"github.com/funcauth/funcauth"
)

// caddyfileBlocks adapts a Caddyfile with Caddy's adapter and takes its
// funcauth handlers. offset is added to every line (a Caddyfile inside
// another file).
func caddyfileBlocks(name string, data []byte, offset int) ([]*configBlock, error) {
	adapter := caddyconfig.GetAdapter("caddyfile")
	if adapter == nil {
		return nil, errors.New("the caddyfile adapter is not registered")
	}
	out, _, err := adapter.Adapt(data, map[string]interface{}{"filename": name})
	if err != nil {
		if offset > 0 {
			return nil, fmt.Errorf("%v (lines counted from line %d)", err, offset+1)
		}
		return nil, err
	}
	var root interface{}
	if err := json.Unmarshal(out, &root); err != nil {
		return nil, err
	}
	var handlers []map[string]interface{}
	collectHandlers(root, &handlers)
	lines := strings.Split(string(data), "\n")
	starts := funcauthDirectives(lines)
	var blocks []*configBlock
	for i, h := range handlers {
		cfg, err := decodeCaddyHandler(h)
		if err != nil {
			return nil, fmt.Errorf("%s: funcauth handler %d: %v", name, i, err)
		}
		start := 0
		if i < len(starts) {
			start = starts[i]
		}
		c := cfg
		blocks = append(blocks, &configBlock{
			where: "funcauth handler " + strconv.Itoa(i),
			line:  lineOr0(start, offset),
			cfg:   cfg,
			caddy: true,
			fieldLine: func(field string) int {
				return lineOr0(findToken(lines, starts, fieldValue(c, field)), offset)
			},
		})
	}
	return blocks, nil
}

func lineOr0(line, offset int) int {
	if line == 0 {
		return 0
	}
	return line + offset
}

// funcauthDirectives returns the (1-based) lines of the funcauth
// directives of a Caddyfile.
func funcauthDirectives(lines []string) []int {
	var starts []int
	for i, l := range lines {
		f := strings.Fields(l)
		if len(f) > 0 && f[0] == "funcauth" {
			starts = append(starts, i+1)
		}
	}
	return starts
}

// findToken returns the first line at or after the first funcauth
// directive that holds token as a word, or 0.
func findToken(lines []string, starts []int, token string) int {
	if token == "" || len(starts) == 0 {
		return 0
	}
	for i := starts[0] - 1; i < len(lines); i++ {
		for _, w := range strings.Fields(lines[i]) {
			if strings.Trim(w, `"`) == token {
				return i + 1
			}
		}
	}
	for i := starts[0] - 1; i < len(lines); i++ {
		if strings.Contains(lines[i], token) {
			return i + 1
		}
	}
	return 0
}

// fieldValue returns the text of a scalar field of cfg in its JSON
// spelling ("rules[1].require"), or "".
func fieldValue(cfg *funcauth.Config, field string) string {
	if field == "" {
		return ""
	}
	data, _ := json.Marshal(cfg)
	var v interface{}
	json.Unmarshal(data, &v)
	for _, seg := range splitField(field) {
		switch x := v.(type) {
		case map[string]interface{}:
			v = x[seg.key]
		case []interface{}:
			if seg.index < 0 || seg.index >= len(x) {
				return ""
			}
			v = x[seg.index]
		default:
			return ""
		}
	}
	switch x := v.(type) {
	case string:
		return x
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	}
	return ""
}

type fieldSeg struct {
	key   string // a map key, or "" for an index
	index int
}

// splitField splits "signatures[0].keys[1]" into signatures, 0, keys, 1.
func splitField(field string) []fieldSeg {
	var segs []fieldSeg
	for _, part := range strings.Split(field, ".") {
		key := part
		rest := ""
		if open := strings.IndexByte(part, '['); open >= 0 {
			key, rest = part[:open], part[open:]
		}
		if key != "" {
			segs = append(segs, fieldSeg{key: key, index: -1})
		}
		for strings.HasPrefix(rest, "[") {
			end := strings.IndexByte(rest, ']')
			if end < 0 {
				break
			}
			n, err := strconv.Atoi(rest[1:end])
			if err != nil {
				n = -1
			}
			segs = append(segs, fieldSeg{index: n})
			rest = rest[end+1:]
		}
	}
	return segs
}

// collectHandlers appends every object with "handler": "funcauth" under v.
func collectHandlers(v interface{}, out *[]map[string]interface{}) {
	switch x := v.(type) {
	case map[string]interface{}:
		if x["handler"] == "funcauth" {
			*out = append(*out, x)
			return
		}
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			collectHandlers(x[k], out)
		}
	case []interface{}:
		for _, y := range x {
			collectHandlers(y, out)
		}
	}
}

// decodeCaddyHandler decodes a handler object as Caddy does: strictly,
// unknown fields refused.
func decodeCaddyHandler(h map[string]interface{}) (*funcauth.Config, error) {
	data, err := json.Marshal(h)
	if err != nil {
		return nil, err
	}
	var handler struct {
		Handler string `json:"handler"`
		funcauth.Config
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&handler); err != nil {
		return nil, err
	}
	return &handler.Config, nil
}

// caddyJSONBlocks walks Caddy's JSON configuration (or one handler).
func caddyJSONBlocks(name string, data []byte) ([]*configBlock, error) {
	var root interface{}
	if err := json.Unmarshal(data, &root); err != nil {
		return nil, fmt.Errorf("%s: %v", name, err)
	}
	var node yaml.Node // JSON is YAML: the node tree has the lines
	if yaml.Unmarshal(data, &node) != nil {
		node = yaml.Node{}
	}
	var handlers []map[string]interface{}
	collectHandlers(root, &handlers)
	var nodes []*yaml.Node
	collectHandlerNodes(&node, &nodes)
	var blocks []*configBlock
	for i, h := range handlers {
		cfg, err := decodeCaddyHandler(h)
		if err != nil {
			return nil, fmt.Errorf("%s: funcauth handler %d: %v", name, i, err)
		}
		b := &configBlock{where: "funcauth handler " + strconv.Itoa(i), cfg: cfg, caddy: true}
		if len(handlers) == len(nodes) {
			// The orders differ (sorted keys, document order): match by content.
			for _, n := range nodes {
				var m map[string]interface{}
				if n.Decode(&m) == nil && sameJSON(m, h) {
					nn := n
					b.line = nn.Line
					b.fieldLine = func(field string) int { return nodeLine(nn, field) }
					break
				}
			}
		}
		blocks = append(blocks, b)
	}
	return blocks, nil
}

func sameJSON(a, b interface{}) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return bytes.Equal(x, y)
}

func collectHandlerNodes(n *yaml.Node, out *[]*yaml.Node) {
	switch n.Kind {
	case yaml.DocumentNode, yaml.SequenceNode:
		for _, c := range n.Content {
			collectHandlerNodes(c, out)
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == "handler" && n.Content[i+1].Value == "funcauth" {
				*out = append(*out, n)
				return
			}
		}
		for i := 1; i < len(n.Content); i += 2 {
			collectHandlerNodes(n.Content[i], out)
		}
	}
}
