package funcauth

// Config is funcauth's whole configuration, defined once for every host.
//
// Caddy decodes it from JSON through the json tags (snake_case); Traefik
// decodes it from its dynamic configuration (YAML, TOML, labels, CRDs) by Go
// field name, case-insensitively, so maxBodySize and max_body_size name the
// same setting in their respective hosts. Sizes are strings such as "10MiB"
// or a number of bytes; durations are Go durations such as "5m".
//
// [New] validates a Config and refuses it with an error naming the field when
// anything is missing, empty or unknown.
type Config struct {
	// Preset appends a built-in rule table after Rules. "openfaas" protects an
	// OpenFaaS gateway: the admin API (/system/*), the UI (/ui/*) and / need
	// Basic Auth, functions (/function/*, /async-function/*) need a valid
	// signature, /healthz is open, and everything else is denied.
	Preset string `json:"preset,omitempty"`

	// Rules are checked in order; the first rule whose path, methods and hosts
	// match decides what the request needs. A request no rule matches is denied.
	Rules []Rule `json:"rules,omitempty"`

	// BasicAuth holds the users allowed by rules that require "basic".
	BasicAuth *BasicAuth `json:"basic_auth,omitempty"`

	// Signatures are the named signature verifiers that rules requiring
	// "signature" refer to.
	Signatures []Signature `json:"signatures,omitempty"`

	// Body bounds request bodies: every body is limited, and bodies of signed
	// routes are read once, hashed while read and handed on unchanged.
	Body *Body `json:"body,omitempty"`

	// Upstream controls what the upstream learns about an accepted request.
	Upstream *Upstream `json:"upstream,omitempty"`

	// RefusalBody is what a refused request's body says: "reason" (the
	// default) is one line of JSON with the reason code, the status and a
	// link to the troubleshooting page, such as
	// {"error":"bad_signature","status":401,"docs":"https://...#bad_signature"};
	// "status" is the status text alone ("Unauthorized"). Neither ever tells
	// an unknown user from a wrong password or names a key.
	RefusalBody string `json:"refusal_body,omitempty"`

	// Replay bounds the memory that replay protection uses.
	Replay *Replay `json:"replay,omitempty"`

	// Bans bans client addresses and user names that keep failing to
	// authenticate. On by default.
	Bans *Bans `json:"bans,omitempty"`

	// RateLimits are token buckets applied before any credential is checked.
	RateLimits []RateLimit `json:"rate_limits,omitempty"`

	// ClientAddress says how the client's address is found and grouped. The
	// Caddy module takes the address from Caddy (which honours its own
	// trusted_proxies) and refuses TrustedProxies here.
	ClientAddress *ClientAddress `json:"client_address,omitempty"`

	// Store shares replay memory, failure counts, bans and rate limits
	// between the replicas of a proxy through Redis. Without it each
	// process keeps its own.
	Store *Store `json:"store,omitempty"`

	// UnknownOptions collects options a host's decoder found no field for
	// (Traefik's decoder tolerates them). New refuses a configuration in
	// which any is set, naming it. Caddy refuses unknown fields itself.
	UnknownOptions map[string]interface{} `json:"-" mapstructure:",remain"`
}

// Rule says what a set of requests needs.
type Rule struct {
	// Path matches the request path: "/healthz" exactly; "/system/*" the
	// prefix "/system/" and everything below it; a "*" elsewhere matches
	// within one path segment ("/function/*.dev/*"); "*" alone matches every
	// path. A path under /function/ or /async-function/ names functions and
	// also matches every other route the gateway takes to them: sync or
	// async, with the default namespace written or not, with any sub-path
	// unless it names one (docs/configuration.md, "Function paths").
	// Required.
	Path string `json:"path"`

	// Methods limits the rule to these HTTP methods (any when empty).
	Methods []string `json:"methods,omitempty"`

	// Hosts limits the rule to these hosts, compared without the port and
	// case-insensitively; "*.example.com" matches one label (any when empty).
	Hosts []string `json:"hosts,omitempty"`

	// Require is what a matching request needs: "basic" (Basic Auth),
	// "signature" (any of Signatures), "basic_or_signature", "open" (nothing)
	// or "deny". Required.
	Require string `json:"require"`

	// Signatures names the verifiers that may accept the request when Require
	// includes a signature. A verifier named by a rule belongs to the rules
	// that name it: empty means every verifier that no rule names.
	Signatures []string `json:"signatures,omitempty"`

	// UnknownOptions collects options no field matched; New refuses them.
	UnknownOptions map[string]interface{} `json:"-" mapstructure:",remain"`
}

// BasicAuth configures HTTP Basic authentication, compatible with the
// OpenFaaS gateway and `faas-cli login`.
type BasicAuth struct {
	// Realm is sent in the WWW-Authenticate challenge. Default "Restricted",
	// as the OpenFaaS gateway sends. "IAM function invoke" is refused: it
	// makes faas-cli start an OpenFaaS IAM token exchange.
	Realm string `json:"realm,omitempty"`

	// Users are given inline with a password hash each.
	Users []User `json:"users,omitempty"`

	// HtpasswdFile is a file of "name:hash" lines (PBKDF2, or bcrypt where the
	// host supports it). It is re-read within seconds of a change.
	HtpasswdFile string `json:"htpasswd_file,omitempty"`

	// GatewaySecretsDir is the OpenFaaS gateway's secret directory holding
	// basic-auth-user and basic-auth-password (plain text, trimmed). They are
	// re-read within seconds of a change.
	GatewaySecretsDir string `json:"gateway_secrets_dir,omitempty"`

	// CacheSize bounds the cache of successful checks (default 1000 entries).
	// The cache never holds a password: entries are keyed by a keyed hash.
	CacheSize int `json:"cache_size,omitempty"`

	// UnknownOptions collects options no field matched; New refuses them.
	UnknownOptions map[string]interface{} `json:"-" mapstructure:",remain"`
}

// User is one Basic Auth user.
type User struct {
	// Name is the user name. Required.
	Name string `json:"name"`

	// PasswordHash is the password's hash: "$pbkdf2-sha256$i=...$salt$hash"
	// (make one with `funcauth hash`, `caddy funcauth hash` or funcauth.HashPassword), or
	// bcrypt/argon2id where the host supplies them. Plain text is refused.
	PasswordHash string `json:"password_hash"`

	// UnknownOptions collects options no field matched; New refuses them.
	UnknownOptions map[string]interface{} `json:"-" mapstructure:",remain"`
}

// Signature configures one named signature verifier.
type Signature struct {
	// Name is how rules refer to the verifier; default the scheme's name.
	Name string `json:"name,omitempty"`

	// Scheme is the signature format: "faas-cli", "github", "generic",
	// "standard-webhooks", "svix", "stripe", "slack", "shopify", "gitlab",
	// "twilio", "discord" or "http-message-signatures". Required.
	Scheme string `json:"scheme"`

	// Header is the header carrying the signature, for "faas-cli" (default
	// "Hmac", as `faas-cli invoke --sign hmac` sends) and "generic" (required).
	Header string `json:"header,omitempty"`

	// Algorithms are the accepted digests. "faas-cli" accepts "sha256" and
	// "sha1" by default (set ["sha256"] to refuse the older sha1 form);
	// "github" accepts "sha256", plus the legacy X-Hub-Signature when "sha1" is
	// listed; "generic" takes exactly one of "sha1", "sha256", "sha512";
	// "http-message-signatures" accepts "hmac-sha256" and "ed25519".
	Algorithms []string `json:"algorithms,omitempty"`

	// Encoding is how "generic" encodes the MAC: "hex" (default) or "base64".
	Encoding string `json:"encoding,omitempty"`

	// Prefix precedes the encoded MAC in the "generic" header, e.g. "sha256=".
	Prefix string `json:"prefix,omitempty"`

	// Keys are secrets given inline; any one of them verifies, so a key can be
	// rotated by adding the new one before removing the old.
	Keys []string `json:"keys,omitempty"`

	// KeyFiles are files holding one secret each (trimmed); re-read within
	// seconds of a change. A missing or empty file fails closed.
	KeyFiles []string `json:"key_files,omitempty"`

	// KeyEnv names environment variables holding secrets, read at start.
	KeyEnv []string `json:"key_env,omitempty"`

	// FunctionKeyFile picks a key file per function: "{function}" and
	// "{namespace}" are replaced with the parts of /function/<name>[.<ns>]/...
	// e.g. "/var/openfaas/secrets/{function}-hmac". A function without a
	// readable, non-empty file is refused.
	FunctionKeyFile string `json:"function_key_file,omitempty"`

	// DefaultNamespace fills "{namespace}" when the path names none
	// (default "openfaas-fn").
	DefaultNamespace string `json:"default_namespace,omitempty"`

	// Tolerance is how far a signed timestamp may lie in the past or future,
	// and so how long a seen message is remembered to refuse replays (twice
	// as long for timestamped messages, which may come early). Default: the
	// provider's own (5m for most), 5m for schemes without a timestamp.
	// "0s" turns replay protection off for schemes without a timestamp; a
	// scheme with one needs a positive tolerance.
	Tolerance string `json:"tolerance,omitempty"`

	// BaseURL pins the public URL ("https://fn.example.com") that "twilio"
	// signs; by default it is taken from the request.
	BaseURL string `json:"base_url,omitempty"`

	// AllowEmptyBody accepts signed requests without a body for the schemes
	// that sign the body alone ("faas-cli", "github", "generic",
	// "shopify"). They are refused by default (reason empty_body): the MAC
	// of an empty body is the same for every request under one key, so one
	// captured bodiless request would open any path and method of the
	// routes the key opens, again after every replay window. Set it only
	// for senders that never sign anything else that matters.
	AllowEmptyBody bool `json:"allow_empty_body,omitempty"`

	// Components are the covered components every "http-message-signatures"
	// signature must include (default "@method", "@path", "content-digest").
	Components []string `json:"components,omitempty"`

	// UnknownOptions collects options no field matched; New refuses them.
	UnknownOptions map[string]interface{} `json:"-" mapstructure:",remain"`
}

// Body bounds request bodies.
type Body struct {
	// MaxSize is the largest body accepted (default "10MiB"). A larger one is
	// refused with 413, whatever Content-Length claims.
	MaxSize string `json:"max_size,omitempty"`

	// MemorySize is how much of a signed body is kept in memory (default
	// "256KiB"); the rest is spooled to a temporary file that is removed when
	// the request ends.
	MemorySize string `json:"memory_size,omitempty"`

	// MemoryBudget bounds the memory that all bodies being read hold at
	// once, across every funcauth instance of the process (default
	// "32MiB"). A body's memory grows with the bytes received; once the
	// budget is spent, further bodies are spooled to TempDir, and refused
	// with 503 when not even a read buffer is left.
	MemoryBudget string `json:"memory_budget,omitempty"`

	// TempDir holds spooled bodies (default the system's temporary directory).
	TempDir string `json:"temp_dir,omitempty"`

	// UnknownOptions collects options no field matched; New refuses them.
	UnknownOptions map[string]interface{} `json:"-" mapstructure:",remain"`
}

// Upstream controls what the upstream receives with an accepted request.
// Copies of the identity headers sent by the client are always removed.
type Upstream struct {
	// UserHeader carries the authenticated Basic Auth user
	// (default "X-Funcauth-User").
	UserHeader string `json:"user_header,omitempty"`

	// SignatureHeader carries "<verifier>/<key id>" of the verifier and key
	// that accepted a signed request (default "X-Funcauth-Signature").
	SignatureHeader string `json:"signature_header,omitempty"`

	// StripAuthorization removes the Authorization header after a successful
	// Basic Auth check, so the upstream never sees the password.
	StripAuthorization bool `json:"strip_authorization,omitempty"`

	// UnknownOptions collects options no field matched; New refuses them.
	UnknownOptions map[string]interface{} `json:"-" mapstructure:",remain"`
}

// Replay bounds the cache of seen message ids and signatures.
type Replay struct {
	// MaxEntries bounds the cache (default 100000). When it is full of
	// unexpired entries, further signed requests are refused with 429 rather
	// than forgetting one and allowing its replay.
	MaxEntries int `json:"max_entries,omitempty"`

	// UnknownOptions collects options no field matched; New refuses them.
	UnknownOptions map[string]interface{} `json:"-" mapstructure:",remain"`
}

// Bans configures brute-force bans.
type Bans struct {
	// Disabled turns bans off.
	Disabled bool `json:"disabled,omitempty"`

	// MaxFailures failed authentications within Window ban (default 10).
	MaxFailures int `json:"max_failures,omitempty"`

	// Window is the period in which failures are counted (default "10m").
	Window string `json:"window,omitempty"`

	// Duration is how long a ban lasts (default "15m").
	Duration string `json:"duration,omitempty"`

	// UserMaxFailures failed passwords for one user name within Window lock
	// that name out for Duration, whichever address they come from
	// (default 20; -1 turns user lockout off).
	UserMaxFailures int `json:"user_max_failures,omitempty"`

	// AllowList holds addresses and CIDRs that are never banned.
	AllowList []string `json:"allow_list,omitempty"`

	// MaxEntries bounds each ban table (default 100000).
	MaxEntries int `json:"max_entries,omitempty"`

	// UnknownOptions collects options no field matched; New refuses them.
	UnknownOptions map[string]interface{} `json:"-" mapstructure:",remain"`
}

// RateLimit is a token bucket.
type RateLimit struct {
	// Name identifies the limit in logs (default "rate_limits[i]").
	Name string `json:"name,omitempty"`

	// Key is what gets its own bucket: "client" (default), "function",
	// "user" (the Basic Auth user or verifier/key of a signed request) or
	// "global".
	Key string `json:"key,omitempty"`

	// Path limits the bucket to requests whose path matches, as Rule.Path
	// (every path when empty).
	Path string `json:"path,omitempty"`

	// Rate is the sustained rate, "<n>/<duration>" such as "10/s" or "100/1m".
	// Required.
	Rate string `json:"rate"`

	// Burst is how many requests may come at once (default: n of Rate).
	Burst int `json:"burst,omitempty"`

	// MaxEntries bounds the table of buckets (default 100000).
	MaxEntries int `json:"max_entries,omitempty"`

	// UnknownOptions collects options no field matched; New refuses them.
	UnknownOptions map[string]interface{} `json:"-" mapstructure:",remain"`
}

// ClientAddress says how the client's address is found and grouped.
type ClientAddress struct {
	// TrustedProxies are CIDRs or addresses of proxies whose X-Forwarded-For
	// is believed; the header is read right to left and the first address
	// that is not a trusted proxy is the client. Not for the Caddy module.
	TrustedProxies []string `json:"trusted_proxies,omitempty"`

	// IPv6Prefix groups IPv6 clients by this prefix length for bans and rate
	// limits (default 64), so one host cannot rotate through its subnet.
	IPv6Prefix int `json:"ipv6_prefix,omitempty"`

	// UnknownOptions collects options no field matched; New refuses them.
	UnknownOptions map[string]interface{} `json:"-" mapstructure:",remain"`
}

// Store is a Redis server shared by every replica of the proxy: a message
// accepted by one is refused as a replay by the others, and failures
// anywhere count towards one ban. Each replica keeps the bans it learns for
// their length, so a banned client costs no round trip; every other
// decision that needs the store makes one.
type Store struct {
	// Address is the server: "host:port", or a URL
	// "redis://[user[:password]@]host[:port][/database]", or "rediss://…"
	// for TLS. Required when the store is configured, unless Sentinel
	// finds the server.
	Address string `json:"address,omitempty"`

	// Sentinel finds the primary through Redis Sentinel, instead of
	// Address: each new connection asks the Sentinels where it is.
	Sentinel *StoreSentinel `json:"sentinel,omitempty"`

	// Username and Password authenticate with Redis AUTH. In Caddy give the
	// password as {env.NAME} or {file./path}; under Traefik use
	// PasswordFile or PasswordEnv, so it stays out of the configuration.
	Username string `json:"username,omitempty"`
	Password string `json:"password,omitempty"`

	// PasswordFile is a file holding the password (trimmed).
	PasswordFile string `json:"password_file,omitempty"`

	// PasswordEnv is an environment variable holding the password.
	PasswordEnv string `json:"password_env,omitempty"`

	// Database selects the Redis database (default 0).
	Database int `json:"database,omitempty"`

	// KeyPrefix starts every key funcauth writes (default "funcauth:"), to
	// keep tenants or environments that share a server apart.
	KeyPrefix string `json:"key_prefix,omitempty"`

	// Timeout bounds each call to the store, its wait for the round trip
	// in flight included (default "250ms"). A call past it follows the
	// OnError policy, and the request makes no other.
	Timeout string `json:"timeout,omitempty"`

	// PoolSize bounds the connections each proxy process opens (default
	// 16). Requests share round trips: one that finds a round trip in
	// flight waits for it and rides in the next with every request
	// waiting meanwhile, up to 64; another connection opens only when 64
	// wait, or one fails. A connection unused for a minute closes.
	PoolSize int `json:"pool_size,omitempty"`

	// TLS configures TLS ("rediss://" turns it on with the defaults).
	TLS *StoreTLS `json:"tls,omitempty"`

	// ReplayOnError is what a signed message gets while the store cannot
	// be reached: "deny" (default; 429 with Retry-After, so senders retry
	// later and no message is accepted twice) or "local" (this process's
	// memory only, which another replica does not see).
	ReplayOnError string `json:"replay_on_error,omitempty"`

	// BansOnError is how bans and failure counts work while the store
	// cannot be reached: "local" (default: this process's tables) or "deny"
	// (every request that would count or check a ban gets 429).
	BansOnError string `json:"bans_on_error,omitempty"`

	// UnknownOptions collects options no field matched; New refuses them.
	UnknownOptions map[string]interface{} `json:"-" mapstructure:",remain"`
}

// StoreSentinel names the Sentinels that watch the store's primary. Each
// new connection asks them, in turn, where the primary is, and checks that
// the server it reaches is the primary; after a failover, the calls that
// fail on the old primary (or that it refuses as a replica) make the next
// ones dial, and so follow it. The store's username, password, database
// and TLS apply to the primary; TLS applies to the Sentinels too.
type StoreSentinel struct {
	// Master is the name the Sentinels watch the primary under (their
	// "sentinel monitor <name> ..."). Required.
	Master string `json:"master,omitempty"`

	// Addresses are the Sentinels, "host:port" each (port 26379 when
	// left out). At least one.
	Addresses []string `json:"addresses,omitempty"`

	// Username and Password authenticate with the Sentinels, for
	// Sentinels that require it (their own requirepass or ACL user, apart
	// from the primary's). In Caddy give the password as {env.NAME} or
	// {file./path}; under Traefik use PasswordFile or PasswordEnv.
	Username string `json:"username,omitempty"`
	Password string `json:"password,omitempty"`

	// PasswordFile is a file holding the Sentinels' password (trimmed).
	PasswordFile string `json:"password_file,omitempty"`

	// PasswordEnv is an environment variable holding the Sentinels'
	// password.
	PasswordEnv string `json:"password_env,omitempty"`

	// UnknownOptions collects options no field matched; New refuses them.
	UnknownOptions map[string]interface{} `json:"-" mapstructure:",remain"`
}

// StoreTLS configures TLS to the store.
type StoreTLS struct {
	// Enabled turns TLS on for a "host:port" address.
	Enabled bool `json:"enabled,omitempty"`

	// CAFile holds the PEM certificates that sign the server's certificate
	// (default: the system's roots).
	CAFile string `json:"ca_file,omitempty"`

	// CertFile and KeyFile hold a client certificate and its key, for
	// servers that require one.
	CertFile string `json:"cert_file,omitempty"`
	KeyFile  string `json:"key_file,omitempty"`

	// ServerName is the name the server's certificate must hold (default:
	// the address's host).
	ServerName string `json:"server_name,omitempty"`

	// InsecureSkipVerify accepts any server certificate. For tests only.
	InsecureSkipVerify bool `json:"insecure_skip_verify,omitempty"`

	// UnknownOptions collects options no field matched; New refuses them.
	UnknownOptions map[string]interface{} `json:"-" mapstructure:",remain"`
}

// withSections returns a copy of c whose optional sections are all set,
// empty where c leaves them out.
func (c *Config) withSections() *Config {
	cp := *c
	if cp.BasicAuth == nil {
		cp.BasicAuth = &BasicAuth{}
	}
	if cp.Body == nil {
		cp.Body = &Body{}
	}
	if cp.Upstream == nil {
		cp.Upstream = &Upstream{}
	}
	if cp.Replay == nil {
		cp.Replay = &Replay{}
	}
	if cp.Bans == nil {
		cp.Bans = &Bans{}
	}
	if cp.ClientAddress == nil {
		cp.ClientAddress = &ClientAddress{}
	}
	return &cp
}
