package funcauth

import (
	"crypto/rand"
	"net/http"
	"os"
	"strconv"
	"time"
)

// Options carries what the host adds to a Config.
type Options struct {
	// HashComparers adds password hash formats by prefix, such as "$2b$"
	// for bcrypt or "$argon2id$" (the Caddy module supplies Caddy's own).
	HashComparers map[string]HashComparer

	// UnsupportedHashHint is appended to the error for a hash format that
	// no comparer handles, to point to what works on this host.
	UnsupportedHashHint string

	// State carries caches, bans and replay memory across reloads. New makes
	// a fresh one when it is nil, and adapts a given one to cfg: its tables
	// take cfg's sizes and keep what they hold (a rate limit's buckets by
	// its name), so a State may be kept across edits of the configuration.
	State *State

	// StateOwner names this Guard's claim on the sizes of State's tables,
	// for a host whose Guards share a State at once (Caddy: the sites whose
	// rules, users and verifiers are the same): the tables are sized for
	// the largest claim, and Release withdraws this one. Guards without an
	// owner share one claim, which each sets in turn (a host that replaces
	// a Guard by the next on a reload, as Traefik does per middleware).
	StateOwner string

	// Now returns the current time; time.Now when nil.
	Now func() time.Time

	// LookupEnv reads environment variables for Signature.KeyEnv;
	// os.LookupEnv when nil.
	LookupEnv func(string) (string, bool)
}

// Guard is a compiled Config: it checks requests and is safe for concurrent
// use. Make one with New.
type Guard struct {
	rules        []*rule
	hostRules    bool                // some rule matches hosts
	routes       *routeCache         // nil when some rule names methods or hosts
	basic        *basicAuthenticator // nil without users
	verifiers    []*verifier
	sigChallenge string
	body         *bodyLimits // a pointer: under Yaegi, each g.body in an expression would cost a frame slot of the struct
	upstream     *Upstream   // a pointer, as body is
	statusOnly   bool        // RefusalBody "status": refusals carry the status text alone
	clients      *clientAddressing
	bans         *banPolicy
	limits       []*rateLimit
	state        *State
	stateOwner   string // Options.StateOwner
	now          func() time.Time
	store        *sharedStore // nil: this process's memory only
	hashSlots    *checkSlots  // bounds concurrent password hashes
	decoyKeys    []key        // stand in for a function's missing key
}

// New validates cfg and compiles it. Its errors name the field at fault and
// never contain a secret.
func New(cfg *Config, opts Options) (*Guard, error) {
	if unknown := UnknownOption(cfg); unknown != "" {
		return nil, fieldError(unknown, "unknown option"+optionSuggestion(unknown)+": check its spelling against the documentation")
	}
	cfg = cfg.withSections()
	g := &Guard{state: opts.State, stateOwner: opts.StateOwner, now: opts.Now, hashSlots: passwordCheckSlots}
	if g.now == nil {
		g.now = time.Now
	}
	if g.state == nil {
		g.state = NewState(cfg)
	}
	decoy := make([]byte, 32)
	if _, err := rand.Read(decoy); err != nil {
		return nil, err
	}
	g.decoyKeys = []key{{secret: decoy}} // no HMAC pools: see macPools
	lookupEnv := opts.LookupEnv
	if lookupEnv == nil {
		lookupEnv = os.LookupEnv
	}
	parser := &hashParser{comparers: opts.HashComparers, hint: opts.UnsupportedHashHint}

	ba := cfg.BasicAuth
	hasUsers := len(ba.Users) > 0 || ba.HtpasswdFile != "" || ba.GatewaySecretsDir != ""
	if ba.CacheSize < 0 {
		return nil, fieldError("basic_auth.cache_size", "must be positive")
	}
	if hasUsers {
		var err error
		if g.basic, err = newBasicAuthenticator(ba, parser, g.state, g.now()); err != nil {
			return nil, err
		}
	} else if ba.Realm != "" {
		return nil, fieldError("basic_auth.realm", "is set, but basic_auth configures no users")
	}
	realm, err := realmOf(ba)
	if err != nil {
		return nil, err
	}
	g.sigChallenge = `Signature realm="` + realm + `"`

	names := make(map[string]bool)
	replayVerifiers := 0 // the verifiers that share the replay memory
	for i := range cfg.Signatures {
		field := "signatures[" + strconv.Itoa(i) + "]"
		v, err := newVerifier(&cfg.Signatures[i], field, lookupEnv, g.now())
		if err != nil {
			return nil, err
		}
		if names[v.name] {
			return nil, fieldError(field+".name", "another verifier is already named "+strconv.Quote(v.name)+": give each a name")
		}
		names[v.name] = true
		g.verifiers = append(g.verifiers, v)
		if v.tolerance > 0 {
			replayVerifiers++
		}
	}
	// The replay memory's size in this Guard's configuration
	// (replay.max_entries): the State may be shared with other Guards and
	// sized for the largest.
	replayMax := replayCacheSize(cfg)
	for _, v := range g.verifiers {
		if v.tolerance > 0 {
			v.setReplayShare(replayMax, replayVerifiers)
		}
	}

	if g.rules, err = compileRules(cfg, g.verifiers, hasUsers); err != nil {
		return nil, err
	}
	pathOnly := true
	for _, rl := range g.rules {
		g.hostRules = g.hostRules || len(rl.hosts) > 0
		pathOnly = pathOnly && len(rl.hosts) == 0 && len(rl.methods) == 0
	}
	if pathOnly {
		g.routes = &routeCache{}
	}
	if g.body, err = compileBody(cfg.Body); err != nil {
		return nil, err
	}
	if g.upstream, err = compileUpstream(cfg.Upstream); err != nil {
		return nil, err
	}
	switch cfg.RefusalBody {
	case "", "reason":
	case "status":
		g.statusOnly = true
	default:
		return nil, fieldError("refusal_body", `use "reason" (a JSON body with the reason code, the default) or "status" (the status text alone)`)
	}
	if cfg.Replay.MaxEntries < 0 {
		return nil, fieldError("replay.max_entries", "must be positive")
	}
	if g.clients, err = newClientAddressing(cfg.ClientAddress); err != nil {
		return nil, err
	}
	if g.bans, err = compileBans(cfg.Bans); err != nil {
		return nil, err
	}
	if g.limits, err = compileRateLimits(cfg.RateLimits, g.state.abuse); err != nil {
		return nil, err
	}
	if cfg.Store != nil {
		store, err := compileStore(cfg.Store, lookupEnv)
		if err != nil {
			return nil, err
		}
		g.store = g.state.useStore(store)
	}
	if opts.State != nil {
		g.state.claim(g.stateOwner, cfg, g.limits, g.bans, g.now())
	}
	return g, nil
}

// Release withdraws g's claim on its State's sizes (see
// Options.StateOwner): the tables shrink to the largest claim left. A
// host that shares a State between Guards calls it when g goes (Caddy's
// Cleanup); g's tables serve it as before until then.
func (g *Guard) Release() {
	if g.stateOwner != "" {
		g.state.withdraw(g.stateOwner, g.now(), g.bans.window)
	}
}

// defaultBodyMemoryBudget bounds the memory of all bodies in flight in the
// process: 128 bodies of the default memory_size.
const defaultBodyMemoryBudget = 32 << 20

func compileBody(cfg *Body) (*bodyLimits, error) {
	b := &bodyLimits{max: 10 << 20, memory: 256 << 10, budget: defaultBodyMemoryBudget, tempDir: cfg.TempDir}
	var err error
	if cfg.MaxSize != "" {
		if b.max, err = parseSize(cfg.MaxSize); err != nil {
			return b, fieldError("body.max_size", err.Error())
		}
	}
	if cfg.MemorySize != "" {
		if b.memory, err = parseSize(cfg.MemorySize); err != nil {
			return b, fieldError("body.memory_size", err.Error())
		}
	}
	if cfg.MemoryBudget != "" {
		if b.budget, err = parseSize(cfg.MemoryBudget); err != nil {
			return b, fieldError("body.memory_budget", err.Error())
		}
		if b.budget < spoolBuffer {
			return b, fieldError("body.memory_budget", "must be at least 32KiB, the read buffer of one spooled body")
		}
	}
	if b.memory > b.max {
		b.memory = b.max
	}
	b.small = smallBody
	if b.small > b.memory {
		b.small = b.memory
	}
	if cfg.TempDir != "" {
		if info, err := os.Stat(cfg.TempDir); err != nil || !info.IsDir() {
			return b, fieldError("body.temp_dir", "directory "+cfg.TempDir+" does not exist")
		}
	}
	return b, nil
}

func compileUpstream(cfg *Upstream) (*Upstream, error) {
	u := *cfg
	if u.UserHeader == "" {
		u.UserHeader = "X-Funcauth-User"
	}
	if u.SignatureHeader == "" {
		u.SignatureHeader = "X-Funcauth-Signature"
	}
	if !validToken(u.UserHeader) {
		return nil, fieldError("upstream.user_header", "is not a valid header name")
	}
	if !validToken(u.SignatureHeader) {
		return nil, fieldError("upstream.signature_header", "is not a valid header name")
	}
	u.UserHeader = http.CanonicalHeaderKey(u.UserHeader)
	u.SignatureHeader = http.CanonicalHeaderKey(u.SignatureHeader)
	return &u, nil
}

// ClientAddress returns the address of the client of r, from RemoteAddr or,
// when the peer is one of ClientAddress.TrustedProxies, from
// X-Forwarded-For. Hosts with their own notion of the client (Caddy) pass
// theirs to Check instead.
func (g *Guard) ClientAddress(r *http.Request) string {
	return addressOf(g.clients, r)
}

// PeerIsTrustedProxy reports whether r comes straight from one of
// ClientAddress.TrustedProxies.
func (g *Guard) PeerIsTrustedProxy(r *http.Request) bool {
	return g.clients.peerTrusted(r)
}

// Handler wraps next with the Guard: refused requests get their status, a
// challenge or Retry-After where it applies and the body RefusalBody asks
// for (see WriteRefusal); accepted ones reach next.
//
// onDecision, when not nil, sees the decisions a host may have to act on,
// after they are made: every refusal, every event of the shared store
// (Decision.StoreEvent), every request from a trusted proxy that sent no
// X-Forwarded-For, and the first decision of each second for the
// Guard's State, which tells that the State is in use. (Not every
// decision: under Yaegi, calling a function value costs as much as a
// third of an allowed request.)
func (g *Guard) Handler(next http.Handler, onDecision func(*http.Request, *Decision)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// (Check and ClientAddress, without their calls: see calls.go.)
		trusted := len(g.clients.trusted) > 0 && g.clients.peerTrusted(r)
		d := checkRequest(g, r, addressOf(g.clients, r), trusted)
		if onDecision != nil && (!d.Allowed || d.StoreEvent != "" || d.firstOfSecond || trusted && len(r.Header["X-Forwarded-For"]) == 0) {
			onDecision(r, d)
		}
		if !d.Allowed {
			writeRefusal(w, d, g.statusOnly) // the refusal closed the body
			return
		}
		if d.body == nil && d.replayCache == nil {
			next.ServeHTTP(w, r) // pass, inline: the decision holds nothing to release
			return
		}
		pass(d, w, r, next)
	})
}

// TroubleshootingURL is the page that explains every reason code; each code
// has its own anchor ("#bad_signature").
const TroubleshootingURL = "https://github.com/funcauth/funcauth/blob/main/docs/troubleshooting.md"

// WriteRefusal answers a refused request as the Guard's RefusalBody says:
// the decision's headers, its status and either a one-line JSON body with
// the public reason code (see Reason.Public), the status and a link to the
// troubleshooting page, or the status text alone.
func (g *Guard) WriteRefusal(w http.ResponseWriter, d *Decision) {
	writeRefusal(w, d, g.statusOnly)
}

// WriteRefusal answers a refused request with the default body (the JSON
// form with the reason code). Hosts with a Guard call Guard.WriteRefusal,
// which honours RefusalBody.
func WriteRefusal(w http.ResponseWriter, d *Decision) {
	writeRefusal(w, d, false)
}

func writeRefusal(w http.ResponseWriter, d *Decision, statusOnly bool) {
	h := w.Header()
	d.WriteHeaders(h)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
	if statusOnly {
		h.Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(d.Status)
		w.Write([]byte(http.StatusText(d.Status) + "\n"))
		return
	}
	body := RefusalJSON(d.Reason, d.Status)
	h.Set("Content-Type", "application/json")
	w.WriteHeader(d.Status)
	w.Write(body)
}

// RefusalJSON is the body of a refusal for reason with status, ending in a
// newline: {"error":"<code>","status":<status>,"docs":"<url>#<code>"}, with
// the public form of the reason. Its form is stable: clients may parse it.
func RefusalJSON(reason Reason, status int) []byte {
	code := string(reason.Public())
	s := `{"error":"` + code + `","status":` + strconv.Itoa(status) + `,"docs":"` + TroubleshootingURL + "#" + code + `"}` + "\n"
	return []byte(s)
}
