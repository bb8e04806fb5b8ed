package caddyauth

import (
	"strconv"
	"strings"

	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/funcauth/funcauth"
)

func init() {
	httpcaddyfile.RegisterHandlerDirective("funcauth", parseCaddyfile)
	// Right after Caddy's own basic_auth: before request_header, encode and
	// every handler that reads the body or answers (reverse_proxy, respond).
	httpcaddyfile.RegisterDirectiveOrder("funcauth", httpcaddyfile.After, "basic_auth")
}

func parseCaddyfile(h httpcaddyfile.Helper) (caddyhttp.MiddlewareHandler, error) {
	m := new(Handler)
	err := m.UnmarshalCaddyfile(h.Dispenser)
	return m, err
}

// UnmarshalCaddyfile sets up the handler from Caddyfile tokens. Every
// option of the JSON configuration has a subdirective:
//
//	funcauth [<preset>] {
//		# Basic Auth (basic_auth)
//		realm <realm>
//		user <name> <password hash>
//		htpasswd <file>
//		gateway_secrets <dir>
//		cache_size <entries>
//
//		# signature verifiers (signatures); keys may be {env.X} or {file./path}
//		signature <scheme> [<key>...] {
//			name <name>
//			key <secret>...
//			key_file <path>...
//			key_env <variable>...
//			function_key_file <pattern with {function} and {namespace}>
//			default_namespace <namespace>
//			header <header>
//			algorithms <algorithm>...
//			encoding hex|base64
//			prefix <prefix>
//			tolerance <duration>
//			base_url <url>
//			components <component>...
//			allow_empty_body
//		}
//
//		# rules, checked in order before the preset's (rules)
//		rule <path> basic|signature|basic_or_signature|open|deny [<signature name>...] {
//			methods <method>...
//			hosts <host>...
//		}
//
//		max_body_size <size>
//		body {
//			max_size <size>
//			memory_size <size>
//			memory_budget <size>
//			temp_dir <dir>
//		}
//		strip_authorization
//		upstream {
//			user_header <header>
//			signature_header <header>
//			strip_authorization
//		}
//		replay {
//			max_entries <entries>
//		}
//		bans off
//		bans {
//			max_failures <n>
//			user_max_failures <n>
//			window <duration>
//			duration <duration>
//			allow <address or CIDR>...
//			max_entries <entries>
//		}
//		rate_limit <rate> {
//			name <name>
//			key client|function|user|global
//			path <path>
//			burst <n>
//			max_entries <entries>
//		}
//		ipv6_prefix <bits>
//		refusal_body reason|status
//		store [<address or redis:// URL>] {
//			sentinel <master> <address>... {
//				username <name>
//				password <password>
//				password_file <file>
//				password_env <variable>
//			}
//			username <name>
//			password <password>
//			password_file <file>
//			password_env <variable>
//			database <n>
//			key_prefix <prefix>
//			timeout <duration>
//			pool_size <n>
//			replay_on_error deny|local
//			bans_on_error local|deny
//			tls {
//				ca_file <file>
//				cert_file <file>
//				key_file <file>
//				server_name <name>
//				insecure_skip_verify
//			}
//		}
//	}
func (h *Handler) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next() // the directive's name
	if err := optionalArg(d, &h.Preset); err != nil {
		return err
	}
	c := &h.Config
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		var err error
		switch d.Val() {
		case "realm":
			err = oneArg(d, &basicAuth(c).Realm)
		case "user":
			var u funcauth.User
			if !d.Args(&u.Name, &u.PasswordHash) || d.NextArg() {
				return d.ArgErr()
			}
			// A placeholder is checked once expanded, at provision.
			if !strings.Contains(u.PasswordHash, "{") {
				if err := funcauth.CheckPasswordHash(u.PasswordHash); err != nil {
					return d.Errf("user %s: the password hash %s", u.Name, err)
				}
			}
			basicAuth(c).Users = append(basicAuth(c).Users, u)
		case "htpasswd":
			err = oneArg(d, &basicAuth(c).HtpasswdFile)
		case "gateway_secrets":
			err = oneArg(d, &basicAuth(c).GatewaySecretsDir)
		case "cache_size":
			err = intArg(d, &basicAuth(c).CacheSize)
		case "signature":
			err = parseSignature(d, c)
		case "rule":
			err = parseRule(d, c)
		case "max_body_size":
			err = oneArg(d, &body(c).MaxSize)
		case "body":
			err = parseBody(d, body(c))
		case "strip_authorization":
			err = noArgs(d)
			upstream(c).StripAuthorization = true
		case "upstream":
			err = parseUpstream(d, upstream(c))
		case "replay":
			if c.Replay == nil {
				c.Replay = &funcauth.Replay{}
			}
			err = parseSubdirectives(d, map[string]func() error{
				"max_entries": func() error { return intArg(d, &c.Replay.MaxEntries) },
			})
		case "bans":
			err = parseBans(d, c)
		case "rate_limit":
			err = parseRateLimit(d, c)
		case "refusal_body":
			err = oneArg(d, &c.RefusalBody)
		case "store":
			err = parseStore(d, c)
		case "ipv6_prefix":
			if c.ClientAddress == nil {
				c.ClientAddress = &funcauth.ClientAddress{}
			}
			err = intArg(d, &c.ClientAddress.IPv6Prefix)
		default:
			return d.Errf("unknown funcauth subdirective %q%s", d.Val(), funcauth.Suggestion(d.Val(), subdirectives))
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// subdirectives are the funcauth directive's own, for "did you mean".
var subdirectives = []string{"realm", "user", "htpasswd", "gateway_secrets", "cache_size", "signature", "rule",
	"max_body_size", "body", "strip_authorization", "upstream", "replay", "bans", "rate_limit", "refusal_body",
	"ipv6_prefix", "store"}

func knownScheme(name string) bool {
	for _, s := range funcauth.SchemeNames() {
		if s == name {
			return true
		}
	}
	return false
}

func basicAuth(c *funcauth.Config) *funcauth.BasicAuth {
	if c.BasicAuth == nil {
		c.BasicAuth = &funcauth.BasicAuth{}
	}
	return c.BasicAuth
}

func body(c *funcauth.Config) *funcauth.Body {
	if c.Body == nil {
		c.Body = &funcauth.Body{}
	}
	return c.Body
}

func upstream(c *funcauth.Config) *funcauth.Upstream {
	if c.Upstream == nil {
		c.Upstream = &funcauth.Upstream{}
	}
	return c.Upstream
}

func parseSignature(d *caddyfile.Dispenser, c *funcauth.Config) error {
	var s funcauth.Signature
	if !d.NextArg() {
		return d.ArgErr()
	}
	s.Scheme = d.Val()
	if !knownScheme(s.Scheme) {
		return d.Errf("unknown signature scheme %q%s: use one of %s", s.Scheme, funcauth.Suggestion(s.Scheme, funcauth.SchemeNames()), strings.Join(funcauth.SchemeNames(), ", "))
	}
	s.Keys = d.RemainingArgs()
	err := parseSubdirectives(d, map[string]func() error{
		"name":              func() error { return oneArg(d, &s.Name) },
		"key":               func() error { return appendArgs(d, &s.Keys) },
		"key_file":          func() error { return appendArgs(d, &s.KeyFiles) },
		"key_env":           func() error { return appendArgs(d, &s.KeyEnv) },
		"function_key_file": func() error { return oneArg(d, &s.FunctionKeyFile) },
		"default_namespace": func() error { return oneArg(d, &s.DefaultNamespace) },
		"header":            func() error { return oneArg(d, &s.Header) },
		"algorithms":        func() error { return appendArgs(d, &s.Algorithms) },
		"encoding":          func() error { return oneArg(d, &s.Encoding) },
		"prefix":            func() error { return oneArg(d, &s.Prefix) },
		"tolerance":         func() error { return oneArg(d, &s.Tolerance) },
		"base_url":          func() error { return oneArg(d, &s.BaseURL) },
		"components":        func() error { return appendArgs(d, &s.Components) },
		"allow_empty_body": func() error {
			s.AllowEmptyBody = true
			return noArgs(d)
		},
	})
	c.Signatures = append(c.Signatures, s)
	return err
}

func parseRule(d *caddyfile.Dispenser, c *funcauth.Config) error {
	var r funcauth.Rule
	if !d.Args(&r.Path, &r.Require) {
		return d.ArgErr()
	}
	r.Signatures = d.RemainingArgs()
	err := parseSubdirectives(d, map[string]func() error{
		"methods": func() error { return appendArgs(d, &r.Methods) },
		"hosts":   func() error { return appendArgs(d, &r.Hosts) },
	})
	c.Rules = append(c.Rules, r)
	return err
}

func parseBody(d *caddyfile.Dispenser, b *funcauth.Body) error {
	if err := noArgs(d); err != nil {
		return err
	}
	return parseSubdirectives(d, map[string]func() error{
		"max_size":      func() error { return oneArg(d, &b.MaxSize) },
		"memory_size":   func() error { return oneArg(d, &b.MemorySize) },
		"memory_budget": func() error { return oneArg(d, &b.MemoryBudget) },
		"temp_dir":      func() error { return oneArg(d, &b.TempDir) },
	})
}

func parseUpstream(d *caddyfile.Dispenser, u *funcauth.Upstream) error {
	if err := noArgs(d); err != nil {
		return err
	}
	return parseSubdirectives(d, map[string]func() error{
		"user_header":      func() error { return oneArg(d, &u.UserHeader) },
		"signature_header": func() error { return oneArg(d, &u.SignatureHeader) },
		"strip_authorization": func() error {
			u.StripAuthorization = true
			return noArgs(d)
		},
	})
}

func parseBans(d *caddyfile.Dispenser, c *funcauth.Config) error {
	if c.Bans == nil {
		c.Bans = &funcauth.Bans{}
	}
	b := c.Bans
	switch args := d.RemainingArgs(); {
	case len(args) == 1 && args[0] == "off":
		b.Disabled = true
		return nil
	case len(args) > 0:
		return d.Errf("bans takes a block, or \"off\"")
	}
	return parseSubdirectives(d, map[string]func() error{
		"max_failures":      func() error { return intArg(d, &b.MaxFailures) },
		"user_max_failures": func() error { return intArg(d, &b.UserMaxFailures) },
		"window":            func() error { return oneArg(d, &b.Window) },
		"duration":          func() error { return oneArg(d, &b.Duration) },
		"allow":             func() error { return appendArgs(d, &b.AllowList) },
		"max_entries":       func() error { return intArg(d, &b.MaxEntries) },
	})
}

// parseStore reads the store subdirective: the address as its argument
// (none when the block's sentinel finds the primary), the rest in its
// block.
func parseStore(d *caddyfile.Dispenser, c *funcauth.Config) error {
	if c.Store != nil {
		return d.Err("store is given twice")
	}
	s := &funcauth.Store{}
	c.Store = s
	if err := optionalArg(d, &s.Address); err != nil {
		return err
	}
	return parseSubdirectives(d, withCredentials(d, &s.Username, &s.Password, &s.PasswordFile, &s.PasswordEnv, map[string]func() error{
		"sentinel": func() error {
			if s.Sentinel != nil {
				return d.Err("sentinel is given twice")
			}
			args := d.RemainingArgs()
			if len(args) < 2 {
				return d.Err("sentinel takes the primary's name and the Sentinels' addresses")
			}
			t := &funcauth.StoreSentinel{Master: args[0], Addresses: args[1:]}
			s.Sentinel = t
			return parseSubdirectives(d, withCredentials(d, &t.Username, &t.Password, &t.PasswordFile, &t.PasswordEnv, map[string]func() error{}))
		},
		"database":        func() error { return intArg(d, &s.Database) },
		"key_prefix":      func() error { return oneArg(d, &s.KeyPrefix) },
		"timeout":         func() error { return oneArg(d, &s.Timeout) },
		"pool_size":       func() error { return intArg(d, &s.PoolSize) },
		"replay_on_error": func() error { return oneArg(d, &s.ReplayOnError) },
		"bans_on_error":   func() error { return oneArg(d, &s.BansOnError) },
		"tls": func() error {
			if err := noArgs(d); err != nil {
				return err
			}
			t := &funcauth.StoreTLS{Enabled: true}
			s.TLS = t
			return parseSubdirectives(d, map[string]func() error{
				"ca_file":              func() error { return oneArg(d, &t.CAFile) },
				"cert_file":            func() error { return oneArg(d, &t.CertFile) },
				"key_file":             func() error { return oneArg(d, &t.KeyFile) },
				"server_name":          func() error { return oneArg(d, &t.ServerName) },
				"insecure_skip_verify": func() error { t.InsecureSkipVerify = true; return noArgs(d) },
			})
		},
	}))
}

// withCredentials adds to sub the subdirectives of a Redis login: a user
// name and a password given as is, in a file or in an environment
// variable (the store's, and the Sentinels').
func withCredentials(d *caddyfile.Dispenser, username, password, passwordFile, passwordEnv *string, sub map[string]func() error) map[string]func() error {
	sub["username"] = func() error { return oneArg(d, username) }
	sub["password"] = func() error { return oneArg(d, password) }
	sub["password_file"] = func() error { return oneArg(d, passwordFile) }
	sub["password_env"] = func() error { return oneArg(d, passwordEnv) }
	return sub
}

// optionalArg reads the one argument a directive may have, if it has one.
func optionalArg(d *caddyfile.Dispenser, dst *string) error {
	switch args := d.RemainingArgs(); len(args) {
	case 0:
	case 1:
		*dst = args[0]
	default:
		return d.ArgErr()
	}
	return nil
}

func parseRateLimit(d *caddyfile.Dispenser, c *funcauth.Config) error {
	var l funcauth.RateLimit
	if !d.Args(&l.Rate) || d.NextArg() {
		return d.ArgErr()
	}
	err := parseSubdirectives(d, map[string]func() error{
		"name":        func() error { return oneArg(d, &l.Name) },
		"key":         func() error { return oneArg(d, &l.Key) },
		"path":        func() error { return oneArg(d, &l.Path) },
		"burst":       func() error { return intArg(d, &l.Burst) },
		"max_entries": func() error { return intArg(d, &l.MaxEntries) },
	})
	c.RateLimits = append(c.RateLimits, l)
	return err
}

// parseSubdirectives reads a block whose subdirectives are parsed by the
// functions of sub; anything else is an error.
func parseSubdirectives(d *caddyfile.Dispenser, sub map[string]func() error) error {
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		parse, ok := sub[d.Val()]
		if !ok {
			names := make([]string, 0, len(sub))
			for name := range sub {
				names = append(names, name)
			}
			return d.Errf("unknown subdirective %q%s", d.Val(), funcauth.Suggestion(d.Val(), names))
		}
		if err := parse(); err != nil {
			return err
		}
	}
	return nil
}

func oneArg(d *caddyfile.Dispenser, dst *string) error {
	if !d.Args(dst) || d.NextArg() {
		return d.ArgErr()
	}
	return nil
}

func appendArgs(d *caddyfile.Dispenser, dst *[]string) error {
	args := d.RemainingArgs()
	if len(args) == 0 {
		return d.ArgErr()
	}
	*dst = append(*dst, args...)
	return nil
}

func intArg(d *caddyfile.Dispenser, dst *int) error {
	var s string
	if err := oneArg(d, &s); err != nil {
		return err
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return d.Errf("%q is not a whole number", s)
	}
	*dst = n
	return nil
}

func noArgs(d *caddyfile.Dispenser) error {
	if d.NextArg() {
		return d.ArgErr()
	}
	return nil
}

// Interface guard
var _ caddyfile.Unmarshaler = (*Handler)(nil)
