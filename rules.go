package funcauth

import (
	"net"
	"net/http"
	"strconv"
	"strings"
)

// requirement is what a rule demands of a matching request.
type requirement int

const (
	requireBasic requirement = iota
	requireSignature
	requireBasicOrSignature
	requireOpen
	requireDeny
)

func parseRequirement(s string) (requirement, bool) {
	switch s {
	case "basic":
		return requireBasic, true
	case "signature":
		return requireSignature, true
	case "basic_or_signature":
		return requireBasicOrSignature, true
	case "open":
		return requireOpen, true
	case "deny":
		return requireDeny, true
	}
	return 0, false
}

// rule is a compiled Rule.
type rule struct {
	index     int
	path      *pathPattern
	methods   []string // upper case; any when empty
	hosts     []string // lower case, "*." prefix for one label; any when empty
	require   requirement
	verifiers []*verifier // for signature requirements
	// plain says the rule names neither methods nor hosts and its path
	// is a literal, a plain prefix or a function route, which matchRule
	// matches without calling matches.
	plain plainPath
	// oneMAC is set when the rule's one verifier checks a header MAC with
	// one fixed key, oneKey, the usual signed route, which checkOneMAC
	// takes; oneLabel is its signerLabel.
	oneMAC   *headerMAC
	oneKey   *key
	oneLabel string
}

// plainPath is the kind of a rule matchRule matches without a call.
type plainPath int

const (
	notPlain      plainPath = iota
	plainLiteral            // compare the path with path.raw
	plainPrefix             // the path starts with path.prefix
	plainFunction           // path.fn matches the function route, or matchPath the path
)

// plainKind returns the kind of r for matchRule.
func plainKind(r *rule) plainPath {
	p := r.path
	switch {
	case len(r.methods) > 0 || len(r.hosts) > 0 || p.all:
		return notPlain
	case p.fn != nil:
		return plainFunction
	case p.literal:
		return plainLiteral
	case p.prefix != "":
		return plainPrefix
	}
	return notPlain
}

// presets are the built-in rule tables that Config.Preset appends.
func presetRules(name string) ([]Rule, bool) {
	switch name {
	case "":
		return nil, true
	case "openfaas":
		// The OpenFaaS gateway's routes (see its README and the lock-down
		// guide): admin API and UI behind Basic Auth, functions behind
		// signatures, health open, everything else denied.
		return []Rule{
			{Path: "/healthz", Require: "open"},
			{Path: "/system/*", Require: "basic"},
			{Path: "/ui", Require: "basic"},
			{Path: "/ui/*", Require: "basic"},
			{Path: "/", Require: "basic"},
			{Path: "/function/*", Require: "signature"},
			{Path: "/async-function/*", Require: "signature"},
		}, true
	}
	return nil, false
}

// compileRules compiles the configured rules followed by the preset's.
func compileRules(cfg *Config, verifiers []*verifier, hasUsers bool) ([]*rule, error) {
	preset, ok := presetRules(cfg.Preset)
	if !ok {
		return nil, fieldError("preset", "unknown preset "+strconv.Quote(cfg.Preset)+": the only preset is \"openfaas\"")
	}
	all := append(append([]Rule(nil), cfg.Rules...), preset...)
	if len(all) == 0 {
		return nil, fieldError("rules", "no rules and no preset: every request would be denied; add rules or set preset to \"openfaas\"")
	}
	byName := make(map[string]*verifier)
	for _, v := range verifiers {
		byName[v.name] = v
	}
	// A verifier a rule names is that rule's: a rule that names none takes
	// the verifiers no rule names, so that a webhook secret dedicated to
	// one function never opens the others (the preset's /function/*).
	claimed := make(map[string]bool)
	for _, rc := range all {
		for _, name := range rc.Signatures {
			claimed[name] = true
		}
	}
	var unclaimed []*verifier
	for _, v := range verifiers {
		if !claimed[v.name] {
			unclaimed = append(unclaimed, v)
		}
	}
	var rules []*rule
	for i, rc := range all {
		field := "rules[" + strconv.Itoa(i) + "]"
		if i >= len(cfg.Rules) {
			field = "preset " + cfg.Preset + " (rule " + rc.Path + ")"
		}
		r := &rule{index: i}
		var err error
		if r.path, err = compilePathPattern(rc.Path); err != nil {
			return nil, fieldError(field+".path", err.Error())
		}
		for j, m := range rc.Methods {
			if !validToken(m) {
				return nil, fieldError(field+".methods["+strconv.Itoa(j)+"]", strconv.Quote(m)+" is not an HTTP method")
			}
			r.methods = append(r.methods, strings.ToUpper(m))
		}
		for j, h := range rc.Hosts {
			h = strings.ToLower(strings.TrimSpace(h))
			if h == "" || strings.ContainsAny(h, "/: ") || (strings.Contains(h, "*") && !strings.HasPrefix(h, "*.")) {
				return nil, fieldError(field+".hosts["+strconv.Itoa(j)+"]", "must be a host name without port, optionally starting with \"*.\"")
			}
			r.hosts = append(r.hosts, h)
		}
		if rc.Require == "" {
			return nil, fieldError(field+".require", "is empty: use basic, signature, basic_or_signature, open or deny")
		}
		if r.require, ok = parseRequirement(rc.Require); !ok {
			return nil, fieldError(field+".require", "unknown requirement "+strconv.Quote(rc.Require)+": use basic, signature, basic_or_signature, open or deny")
		}
		needsSig := r.require == requireSignature || r.require == requireBasicOrSignature
		needsBasic := r.require == requireBasic || r.require == requireBasicOrSignature
		if needsBasic && !hasUsers {
			return nil, fieldError(field+".require", "needs Basic Auth, but basic_auth configures no users")
		}
		if !needsSig && len(rc.Signatures) > 0 {
			return nil, fieldError(field+".signatures", "is only used when require includes signature")
		}
		if needsSig {
			if len(verifiers) == 0 {
				return nil, fieldError(field+".require", "needs a signature, but no signatures are configured")
			}
			if len(rc.Signatures) == 0 {
				if len(unclaimed) == 0 {
					return nil, fieldError(field+".signatures", "is empty, and every verifier is named by another rule: name the verifiers this rule accepts")
				}
				r.verifiers = unclaimed
			}
			for j, name := range rc.Signatures {
				v, ok := byName[name]
				if !ok {
					return nil, fieldError(field+".signatures["+strconv.Itoa(j)+"]", "no signature verifier is named "+strconv.Quote(name))
				}
				r.verifiers = append(r.verifiers, v)
			}
		}
		r.plain = plainKind(r)
		r.oneMAC, r.oneKey = oneHeaderMAC(r.verifiers)
		if r.oneKey != nil {
			r.oneLabel = signerLabel(r.verifiers[0], r.oneKey.id)
		}
		rules = append(rules, r)
	}
	return rules, nil
}

// matches reports whether the rule applies to the request.
func (r *rule) matches(req *http.Request, path, host string) bool {
	if len(r.methods) > 0 {
		// Case-insensitively, and GET covers HEAD: upstreams that upper-case
		// methods or answer HEAD with their GET handler must not reach a
		// handler by a spelling the rule did not list.
		method := strings.ToUpper(req.Method)
		if method == http.MethodHead {
			method = http.MethodGet
		}
		found := false
		for _, m := range r.methods {
			if m == method || m == req.Method {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	if len(r.hosts) > 0 {
		found := false
		for _, h := range r.hosts {
			if matchHost(h, host) {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return r.path.match(path)
}

// matchHost matches a lower-case host against "example.com" or "*.example.com".
func matchHost(pattern, host string) bool {
	if strings.HasPrefix(pattern, "*.") {
		suffix := pattern[1:]
		return strings.HasSuffix(host, suffix) && len(host) > len(suffix) && !strings.Contains(host[:len(host)-len(suffix)], ".")
	}
	return pattern == host
}

// requestHost returns the request's host in lower case, without port.
func requestHost(r *http.Request) string {
	host := r.Host
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	return strings.ToLower(strings.TrimSuffix(host, "."))
}

// validToken reports whether s is an RFC 9110 token, as methods are.
func validToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte("\"(),/:;<=>?@[\\]{}", c) >= 0 {
			return false
		}
	}
	return true
}
