package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/BurntSushi/toml"
	"github.com/caddyserver/caddy/v2/caddyconfig"
	_ "github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile" // the caddyfile adapter
	"gopkg.in/yaml.v3"

	"github.com/funcauth/funcauth"
)

// maxCheckFile bounds a configuration file check reads.
const maxCheckFile = 16 << 20

const checkHelp = `
Validates the funcauth configurations in Caddy and Traefik configuration
files, decoded as each host decodes them, and compiles each one as the
proxy would at start, so that a bad configuration fails in CI instead of
at the proxy's load. Errors name the file and, where it can be found, the
line. The exit status is 0 when every configuration is valid, 1 when one
is refused (or a file holds none) and 2 on bad arguments.

Formats (--format auto picks one from the name and the content):
  caddyfile     a Caddyfile, adapted by Caddy's own caddyfile adapter;
                every funcauth directive is checked (directives of other
                modules need a binary that has them: caddy funcauth check)
  caddy-json    Caddy's JSON configuration (or one handler object):
                every "handler": "funcauth" object
  traefik-yaml  Traefik's dynamic configuration (file provider), and
  traefik-toml  every http.middlewares.<name>.plugin.<alias> whose alias
                is given by --plugin (default funcauth)
  kubernetes    Kubernetes manifests: every Middleware's spec.plugin.<alias>,
                and every ConfigMap's data.Caddyfile

What is not checked: secrets and files are not read. A Caddy placeholder
({env.*}, {file.*}) standing for a password hash, key or password is
taken as valid and replaced by a dummy of the right form, environment
variables (key_env, password_env) by a dummy key, and the files and
directories the configuration names (gateway secrets, htpasswd, key files,
function key files, temp_dir, the store's password file) by temporary ones
check makes, so the check needs neither the secrets nor the proxy's file
system: their presence and content are checked by the proxy at start.
Store TLS files (ca_file, cert_file, key_file) are read as given.`

func runCheck(prog string, args []string, env *Env) int {
	fs := newFlags(prog, "[--format auto|caddyfile|caddy-json|traefik-yaml|traefik-toml|kubernetes] [--plugin alias] FILE...", checkHelp, env)
	format := fs.String("format", "auto", "the files' format: auto, caddyfile, caddy-json, traefik-yaml, traefik-toml or kubernetes")
	plugin := fs.String("plugin", "funcauth", "the plugin's alias in Traefik's static configuration (experimental.plugins.<alias>)")
	files, status, ok := parse(fs, args)
	if !ok {
		return status
	}
	if len(files) == 0 {
		return fail(env, prog, ExitUsage, errors.New("give the configuration files to check"))
	}
	switch *format {
	case "auto", "caddyfile", "caddy-json", "traefik-yaml", "traefik-toml", "kubernetes":
	default:
		return fail(env, prog, ExitUsage, fmt.Errorf("--format: %q is none of auto, caddyfile, caddy-json, traefik-yaml, traefik-toml, kubernetes", *format))
	}
	failed := false
	for _, name := range files {
		if !checkFile(env, prog, name, *format, *plugin) {
			failed = true
		}
	}
	if failed {
		return ExitFailed
	}
	return ExitOK
}

// configBlock is one funcauth configuration found in a file.
type configBlock struct {
	where string // "site block handler 0", "middleware funcauth"
	line  int    // where the block starts, 0 when unknown
	cfg   *funcauth.Config
	caddy bool // compiled as the Caddy module does
	// fieldLine returns the line of a field ("signatures[0].scheme"), or 0.
	fieldLine func(field string) int
}

// checkFile checks every funcauth configuration in name and reports.
func checkFile(env *Env, prog, name, format, plugin string) bool {
	data, err := readBounded(name, maxCheckFile)
	if err != nil {
		fmt.Fprintf(env.Stderr, "%s: %v\n", prog, err)
		return false
	}
	if format == "auto" {
		format = detectFormat(name, data)
	}
	blocks, err := extractBlocks(name, data, format, plugin)
	if err != nil {
		fmt.Fprintf(env.Stderr, "%s: %v\n", prog, err)
		return false
	}
	if len(blocks) == 0 {
		fmt.Fprintf(env.Stderr, "%s: %s: no funcauth configuration found (read as %s)\n", prog, name, format)
		return false
	}
	ok := true
	for _, b := range blocks {
		if err := compileBlock(b); err != nil {
			ok = false
			line := b.line
			if b.fieldLine != nil {
				if l := b.fieldLine(errorField(err)); l > 0 {
					line = l
				}
			}
			loc := name
			if line > 0 {
				loc += ":" + strconv.Itoa(line)
			}
			fmt.Fprintf(env.Stderr, "%s: %s: %s: %v\n", prog, loc, b.where, err)
		}
	}
	if ok {
		fmt.Fprintf(env.Stdout, "%s: %d funcauth configuration(s) valid (%s)\n", name, len(blocks), format)
	}
	return ok
}

// CheckFile checks the funcauth configurations of one file as the check
// command does (format "auto" or one of its --format values) and returns
// the messages it would print and whether every configuration is valid.
func CheckFile(name, format string) (string, bool) {
	var out bytes.Buffer
	ok := checkFile(&Env{Stdout: &out, Stderr: &out}, "funcauth check", name, format, "funcauth")
	return out.String(), ok
}

// Configs returns the funcauth configurations of one file as the check
// command decodes them (format "auto" or one of its --format values),
// before any stand-in replaces a secret or a file.
func Configs(name, format string) ([]*funcauth.Config, error) {
	data, err := readBounded(name, maxCheckFile)
	if err != nil {
		return nil, err
	}
	if format == "auto" {
		format = detectFormat(name, data)
	}
	blocks, err := extractBlocks(name, data, format, "funcauth")
	if err != nil {
		return nil, err
	}
	cfgs := make([]*funcauth.Config, len(blocks))
	for i, b := range blocks {
		cfgs[i] = b.cfg
	}
	return cfgs, nil
}

func detectFormat(name string, data []byte) string {
	base := strings.ToLower(filepath.Base(name))
	switch ext := filepath.Ext(base); {
	case ext == ".toml":
		return "traefik-toml"
	case ext == ".json":
		return "caddy-json"
	case ext == ".yml" || ext == ".yaml":
		if bytes.Contains(data, []byte("apiVersion:")) && bytes.Contains(data, []byte("kind:")) {
			return "kubernetes"
		}
		return "traefik-yaml"
	case strings.HasPrefix(base, "caddyfile") || ext == ".caddyfile":
		return "caddyfile"
	}
	if t := bytes.TrimSpace(data); len(t) > 0 && t[0] == '{' && json.Valid(t) {
		return "caddy-json"
	}
	return "caddyfile"
}

func extractBlocks(name string, data []byte, format, plugin string) ([]*configBlock, error) {
	switch format {
	case "caddyfile":
		return caddyfileBlocks(name, data, 0)
	case "caddy-json":
		return caddyJSONBlocks(name, data)
	case "traefik-yaml":
		return traefikYAMLBlocks(name, data, plugin)
	case "traefik-toml":
		return traefikTOMLBlocks(name, data, plugin)
	case "kubernetes":
		return kubernetesBlocks(name, data, plugin)
	}
	return nil, fmt.Errorf("unknown format %q", format)
}

// errorField returns the field an error of funcauth.New names
// ("signatures[0].scheme"), or "".
func errorField(err error) string {
	msg := err.Error()
	colon := strings.Index(msg, ": ")
	if colon <= 0 || strings.ContainsAny(msg[:colon], " \"") {
		return ""
	}
	return msg[:colon]
}

// --- Caddy ---

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

// --- Traefik ---

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

// --- compiling ---

// compileBlock compiles b's configuration as its host would, with files
// and secrets replaced by stand-ins (see checkHelp).
func compileBlock(b *configBlock) error {
	dir, err := os.MkdirTemp("", "funcauth-check-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	cfg, err := copyConfig(b.cfg)
	if err != nil {
		return err
	}
	env := map[string]string{}
	for _, s := range cfg.Signatures {
		for _, name := range s.KeyEnv {
			env[name] = standInKey(s.Scheme)
		}
	}
	opts := funcauth.Options{
		LookupEnv: func(name string) (string, bool) {
			if k, ok := env[name]; ok {
				return k, true
			}
			return "funcauth check stand-in", true
		},
	}
	if b.caddy && CaddyChecks != nil {
		if err := CaddyChecks(cfg); err != nil {
			return err
		}
	}
	if b.caddy {
		if cp := cfg.ClientAddress; cp != nil && len(cp.TrustedProxies) > 0 {
			return errors.New("client_address.trusted_proxies: Caddy decides the client address; set trusted_proxies in the server options (global servers block) instead")
		}
		if st := cfg.Store; st != nil && st.Password != "" && !strings.Contains(st.Password, "{") {
			return errors.New("store.password is written in the configuration: give the password as {env.NAME} or {file./path} (or password_file)")
		}
		if err := standInPlaceholders(cfg); err != nil {
			return err
		}
		opts.HashComparers = map[string]funcauth.HashComparer{"$2a$": bcryptComparer{}, "$2b$": bcryptComparer{}, "$2y$": bcryptComparer{}}
	}
	if err := standInFiles(cfg, dir); err != nil {
		return err
	}
	_, err = funcauth.New(cfg, opts)
	return err
}

func copyConfig(cfg *funcauth.Config) (*funcauth.Config, error) {
	// UnknownOptions are json:"-": keep them by hand.
	data, err := json.Marshal(cfg)
	if err != nil {
		return nil, err
	}
	cp := &funcauth.Config{}
	if err := json.Unmarshal(data, cp); err != nil {
		return nil, err
	}
	if funcauth.UnknownOption(cfg) != "" {
		return cfg, nil // New refuses it before looking at anything else
	}
	return cp, nil
}

// standInKey returns a key of the form scheme's keys take.
func standInKey(scheme string) string {
	switch scheme {
	case "standard-webhooks", "svix":
		return "whsec_ZnVuY2F1dGggY2hlY2sgc3RhbmQtaW4ga2V5IDMyYg=="
	case "discord":
		return "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c"
	case "http-message-signatures":
		return "hmac-sha256:funcauth-check:ZnVuY2F1dGggY2hlY2sgc3RhbmQtaW4ga2V5IDMyYg=="
	}
	return "funcauth check stand-in key"
}

// CaddyChecks, when set (by the caddyauth package), runs the checks the
// Caddy module makes before compiling a configuration: placeholders Caddy
// knows, no store password in the configuration, no trusted_proxies. It
// must not read the environment or files.
var CaddyChecks func(cfg *funcauth.Config) error

func isPlaceholder(s string) bool {
	return strings.Contains(s, "{env.") || strings.Contains(s, "{file.")
}

// standInPlaceholders replaces Caddy placeholders in secrets by dummies.
func standInPlaceholders(cfg *funcauth.Config) error {
	if ba := cfg.BasicAuth; ba != nil {
		for i := range ba.Users {
			if isPlaceholder(ba.Users[i].PasswordHash) {
				h, err := funcauth.HashPassword("funcauth check", 0)
				if err != nil {
					return err
				}
				ba.Users[i].PasswordHash = h
			}
		}
	}
	for i := range cfg.Signatures {
		s := &cfg.Signatures[i]
		for j := range s.Keys {
			if isPlaceholder(s.Keys[j]) {
				s.Keys[j] = standInKey(s.Scheme)
			}
		}
	}
	if st := cfg.Store; st != nil {
		if isPlaceholder(st.Address) {
			st.Address = "redis://127.0.0.1:6379"
		}
		if isPlaceholder(st.Password) {
			st.Password = "stand-in"
		}
		if isPlaceholder(st.Username) {
			st.Username = "stand-in"
		}
	}
	return nil
}

// standInFiles points the files and directories cfg names at ones made in
// dir.
func standInFiles(cfg *funcauth.Config, dir string) error {
	n := 0
	file := func(content string) (string, error) {
		n++
		p := filepath.Join(dir, "f"+strconv.Itoa(n))
		return p, os.WriteFile(p, []byte(content), 0o600)
	}
	subdir := func() (string, error) {
		n++
		p := filepath.Join(dir, "d"+strconv.Itoa(n))
		return p, os.Mkdir(p, 0o700)
	}
	var errs []error
	add := func(err error) {
		if err != nil {
			errs = append(errs, err)
		}
	}
	var err error
	if ba := cfg.BasicAuth; ba != nil {
		if ba.HtpasswdFile != "" {
			h, herr := funcauth.HashPassword("funcauth check", 0)
			add(herr)
			ba.HtpasswdFile, err = file("check:" + h + "\n")
			add(err)
		}
		if ba.GatewaySecretsDir != "" {
			ba.GatewaySecretsDir, err = subdir()
			add(err)
			add(os.WriteFile(filepath.Join(ba.GatewaySecretsDir, "basic-auth-user"), []byte("admin\n"), 0o600))
			add(os.WriteFile(filepath.Join(ba.GatewaySecretsDir, "basic-auth-password"), []byte("funcauth check stand-in\n"), 0o600))
		}
	}
	for i := range cfg.Signatures {
		s := &cfg.Signatures[i]
		for j := range s.KeyFiles {
			s.KeyFiles[j], err = file(standInKey(s.Scheme) + "\n")
			add(err)
		}
		if s.FunctionKeyFile != "" {
			base := filepath.Base(s.FunctionKeyFile)
			if strings.Contains(filepath.Dir(s.FunctionKeyFile), "{") || !strings.Contains(base, "{function}") {
				base = filepath.Base(strings.ReplaceAll(s.FunctionKeyFile, "/", "-"))
			}
			d, derr := subdir()
			add(derr)
			s.FunctionKeyFile = filepath.Join(d, base)
		}
	}
	if cfg.Body != nil && cfg.Body.TempDir != "" {
		cfg.Body.TempDir = dir
	}
	if st := cfg.Store; st != nil && st.PasswordFile != "" {
		st.PasswordFile, err = file("stand-in\n")
		add(err)
	}
	return errors.Join(errs...)
}
