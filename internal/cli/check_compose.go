package cli

import (
	"fmt"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// isCompose reports whether a YAML document is a Docker Compose file: a
// top-level services mapping.
func isCompose(data []byte) bool {
	var doc yaml.Node
	if yaml.Unmarshal(data, &doc) != nil {
		return false
	}
	_, s := mapGet(&doc, "services")
	return s != nil && s.Kind == yaml.MappingNode
}

// composeLabel is one label of a Compose service, with its line.
type composeLabel struct {
	key, value string
	line       int
}

// composeServices returns the service mapping's names and values.
func composeServices(name string, data []byte) (*yaml.Node, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("%s: %v", name, err)
	}
	_, services := mapGet(&doc, "services")
	if services == nil || services.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("%s: no services mapping: not a Compose file", name)
	}
	return services, nil
}

// composeBlocks takes every funcauth middleware that a Compose service
// declares in Traefik labels (traefik.http.middlewares.<name>.plugin.<alias>.*),
// decoded as Traefik's Docker provider decodes labels.
func composeBlocks(name string, data []byte, plugin string) ([]*configBlock, error) {
	services, err := composeServices(name, data)
	if err != nil {
		return nil, err
	}
	var blocks []*configBlock
	for i := 0; i+1 < len(services.Content); i += 2 {
		service := services.Content[i].Value
		_, l := mapGet(services.Content[i+1], "labels")
		labels, err := serviceLabels(l)
		if err != nil {
			return nil, fmt.Errorf("%s: service %s: %v", name, service, err)
		}
		bs, err := labelBlocks(labels, plugin, "service "+service+": ")
		if err != nil {
			return nil, fmt.Errorf("%s: service %s: %v", name, service, err)
		}
		blocks = append(blocks, bs...)
	}
	return blocks, nil
}

// serviceLabels reads a service's labels, in either of Compose's forms: a
// list of "key=value" or a mapping.
func serviceLabels(n *yaml.Node) ([]composeLabel, error) {
	var labels []composeLabel
	if n == nil {
		return nil, nil
	}
	switch n.Kind {
	case yaml.SequenceNode:
		for _, item := range n.Content {
			if item.Kind != yaml.ScalarNode {
				return nil, fmt.Errorf("line %d: a label is a \"key=value\" string", item.Line)
			}
			k, v, _ := strings.Cut(item.Value, "=")
			labels = append(labels, composeLabel{k, v, item.Line})
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			labels = append(labels, composeLabel{n.Content[i].Value, n.Content[i+1].Value, n.Content[i].Line})
		}
	default:
		return nil, fmt.Errorf("line %d: labels are a list or a mapping", n.Line)
	}
	return labels, nil
}

// labelNode is a node of the tree Traefik's label parser (paerser's
// DecodeToNode) builds from dotted label keys.
type labelNode struct {
	name     string
	value    string
	line     int // the line of the first label under this node
	children []*labelNode
}

func (n *labelNode) child(name string) *labelNode {
	for _, c := range n.children {
		if strings.EqualFold(c.name, name) {
			return c
		}
	}
	return nil
}

// labelBlocks decodes the labels under traefik.http.middlewares as
// paerser does for the Docker provider: keys sorted, split at dots,
// "name[i]" parts made into a slice element (in sorted order: the index's
// value is not used), siblings matched case-insensitively, every value a
// string. It then takes each middleware's plugin.<alias> options.
func labelBlocks(labels []composeLabel, plugin, prefix string) ([]*configBlock, error) {
	const filter = "traefik.http.middlewares."
	var keys []composeLabel
	for _, l := range labels {
		if len(l.key) >= len(filter) && strings.EqualFold(l.key[:len(filter)], filter) {
			keys = append(keys, l)
		}
	}
	if len(keys) == 0 {
		return nil, nil
	}
	sort.SliceStable(keys, func(i, j int) bool { return keys[i].key < keys[j].key })
	root := &labelNode{}
	for _, l := range keys {
		split := strings.Split(l.key, ".")
		if split[0] != "traefik" {
			return nil, fmt.Errorf("line %d: label %s: the root must be \"traefik\"", l.line, l.key)
		}
		var parts []string
		for _, v := range split {
			if v == "" {
				return nil, fmt.Errorf("line %d: label %s: an empty part", l.line, l.key)
			}
			if v[0] == '[' {
				return nil, fmt.Errorf("line %d: label %s: a part starts with '[' (a bracket is a slice index: name[0])", l.line, l.key)
			}
			if strings.HasSuffix(v, "]") {
				open := strings.Index(v, "[")
				parts = append(parts, v[:open], v[open:])
			} else {
				parts = append(parts, v)
			}
		}
		addLabel(root, parts, l)
	}
	var blocks []*configBlock
	mws := root.child("http").child("middlewares")
	for _, mw := range mws.children {
		p := mw.child("plugin")
		if p == nil {
			continue
		}
		var opts *labelNode
		for _, c := range p.children {
			if c.name == plugin { // a map key: matched as Traefik's plugin map does
				opts = c
			}
		}
		if opts == nil {
			continue
		}
		lines := map[string]int{}
		raw := squashLabels(opts, "", lines)
		where := prefix + "middleware " + mw.name
		m, ok := raw.(map[string]interface{})
		if !ok {
			return nil, fmt.Errorf("line %d: %s: plugin.%s holds a value, not options", opts.line, where, plugin)
		}
		fieldLine := func(field string) int {
			segs := splitField(field)
			for n := len(segs); n > 0; n-- {
				if l, ok := lines[fieldKey(segs[:n])]; ok {
					return l
				}
			}
			return 0
		}
		cfg, err := DecodeTraefik(m)
		if err != nil {
			line := fieldLine(errorField(err))
			if line == 0 {
				line = opts.line
			}
			return nil, fmt.Errorf("line %d: %s: %v", line, where, err)
		}
		blocks = append(blocks, &configBlock{where: where, line: opts.line, cfg: cfg, fieldLine: fieldLine})
	}
	return blocks, nil
}

// addLabel adds one label's path (after its root) to the tree.
func addLabel(n *labelNode, path []string, l composeLabel) {
	if n.name == "" {
		n.name, n.line = path[0], l.line
	}
	if l.line < n.line {
		n.line = l.line // the node's first line in the file
	}
	if len(path) == 1 {
		n.value = l.value
		return
	}
	c := n.child(path[1])
	if c == nil {
		c = &labelNode{name: path[1], line: l.line}
		n.children = append(n.children, c)
	}
	addLabel(c, path[1:], l)
}

// squashLabels turns a node into the raw value Traefik hands a plugin, as
// paerser's nodeToRawMap does: a leaf is its string, a node whose first
// child is "[i]" a list of its children in order, any other a map. It
// records the line of each field path (normKey form) in lines.
func squashLabels(n *labelNode, path string, lines map[string]int) interface{} {
	lines[normKey(path)] = n.line
	if len(n.children) == 0 {
		return n.value
	}
	if isIndex(n.children[0].name) {
		list := make([]interface{}, 0, len(n.children))
		for i, c := range n.children {
			list = append(list, squashLabels(c, path+"["+strconv.Itoa(i)+"]", lines))
		}
		return list
	}
	m := map[string]interface{}{}
	for _, c := range n.children {
		p := c.name
		if path != "" {
			p = path + "." + c.name
		}
		if isIndex(c.name) {
			p = path + c.name
		}
		m[c.name] = squashLabels(c, p, lines)
	}
	return m
}

func isIndex(name string) bool {
	return strings.HasPrefix(name, "[") && strings.HasSuffix(name, "]")
}

// fieldKey is the normKey form of a field path's segments.
func fieldKey(segs []fieldSeg) string {
	var b strings.Builder
	for _, s := range segs {
		if s.key != "" {
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			b.WriteString(s.key)
			continue
		}
		b.WriteString("[" + strconv.Itoa(s.index) + "]")
	}
	return normKey(b.String())
}

// composeCaddyfiles returns the Caddyfiles a Compose file's services use:
// a bind mount whose target is named Caddyfile, and a Caddyfile a service's
// build copies in its Dockerfile (COPY <file> .../Caddyfile), each with the
// line of the Compose file that brings it.
func composeCaddyfiles(name string, data []byte) ([]composeLabel, error) {
	services, err := composeServices(name, data)
	if err != nil {
		return nil, err
	}
	dir := filepath.Dir(name)
	var files []composeLabel
	for i := 0; i+1 < len(services.Content); i += 2 {
		svc := services.Content[i+1]
		if _, vols := mapGet(svc, "volumes"); vols != nil && vols.Kind == yaml.SequenceNode {
			for _, v := range vols.Content {
				var src, dst string
				switch v.Kind {
				case yaml.ScalarNode:
					parts := strings.Split(v.Value, ":")
					if len(parts) >= 2 {
						src, dst = parts[0], parts[1]
					}
				case yaml.MappingNode:
					_, s := mapGet(v, "source")
					_, d := mapGet(v, "target")
					if s != nil && d != nil {
						src, dst = s.Value, d.Value
					}
				}
				if path.Base(dst) == "Caddyfile" && (strings.HasPrefix(src, ".") || strings.HasPrefix(src, "/")) {
					files = append(files, composeLabel{key: joinDir(dir, src), line: v.Line})
				}
			}
		}
		_, build := mapGet(svc, "build")
		if build == nil {
			continue
		}
		context, dockerfile := build.Value, "Dockerfile"
		if build.Kind == yaml.MappingNode {
			context = "."
			if _, c := mapGet(build, "context"); c != nil {
				context = c.Value
			}
			if _, d := mapGet(build, "dockerfile"); d != nil {
				dockerfile = d.Value
			}
		}
		context = joinDir(dir, context)
		df, err := readBounded(joinDir(context, dockerfile), maxCheckFile)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: the build's Dockerfile: %v", name, build.Line, err)
		}
		for _, line := range strings.Split(string(df), "\n") {
			f := strings.Fields(line)
			if len(f) != 3 || !strings.EqualFold(f[0], "COPY") || path.Base(f[2]) != "Caddyfile" {
				continue // COPY --from=..., several sources, not a Caddyfile
			}
			files = append(files, composeLabel{key: joinDir(context, f[1]), line: build.Line})
		}
	}
	return files, nil
}

// joinDir resolves p against dir unless it is absolute.
func joinDir(dir, p string) string {
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(dir, p)
}

// checkComposeCaddyfiles checks the Caddyfiles a Compose file uses and
// reports; it returns how many it checked and whether all are valid.
func checkComposeCaddyfiles(env *Env, prog, name string, data []byte) (int, bool) {
	files, err := composeCaddyfiles(name, data)
	if err != nil {
		fmt.Fprintf(env.Stderr, "%s: %v\n", prog, err)
		return 0, false
	}
	ok := true
	for _, f := range files {
		if _, err := os.Stat(f.key); err != nil {
			fmt.Fprintf(env.Stderr, "%s: %s:%d: %v\n", prog, name, f.line, err)
			ok = false
			continue
		}
		if !checkFile(env, prog, f.key, "caddyfile", "") {
			ok = false
		}
	}
	return len(files), ok
}
