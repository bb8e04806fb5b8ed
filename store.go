package funcauth

import (
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Store defaults.
const (
	defaultStoreTimeout   = 250 * time.Millisecond
	defaultStorePoolSize  = 16
	defaultStoreKeyPrefix = "funcauth:"
	defaultRedisPort      = "6379"
	// storeRetryInterval is how long calls fail fast after the store failed,
	// before one call probes it again: a frozen server costs one timeout
	// per interval, not one per request.
	storeRetryInterval = time.Second
	// storeFailuresForOutage is how many calls in a row must fail before
	// an outage begins: one slow answer on a loaded host fails its own
	// request only, not every request of the next second.
	storeFailuresForOutage = 3
)

// The policies of Store.*OnError.
const (
	storeDeny  = "deny"
	storeLocal = "local"
)

// sharedStore is the compiled Store: a Redis client, the key prefix, the
// policies for an outage and the outage's state.
type sharedStore struct {
	settings      string // a digest of the settings, to reuse a store across reloads
	client        *redisClient
	prefix        string
	replayOnError string
	bansOnError   string

	mu      sync.Mutex
	down    bool // calls keep failing: an outage is on
	failing int  // calls failed in a row
	// troubled is 1 while failing or down is set (atomic; written under
	// mu): while it is 0, the usual call takes no lock (see storeDo).
	troubled  int32
	probeAt   time.Time // calls fail fast until then
	lastError string    // why the outage started, without secrets
	events    storeEvents

	// The server's settings are checked once (see Guard.CheckStore):
	// settingsChecked once it answered, and no check before checkAfter.
	settingsChecked bool
	checkAfter      time.Time

	instance string // random, names this process's checks in flight
	checks   uint64 // the checks this process has held in flight

	// The RESP heads of a message's key and of a ban's key, whose lengths
	// are fixed, made once for the claim command (see fleetClaim).
	claimHead string
	banHead   string
}

// storeEvents counts what hosts report: outages begun and ended, and
// calls that failed (each of which followed an OnError policy).
type storeEvents struct {
	outages   uint64
	recovered uint64
	failures  uint64
}

var errStoreDown = errors.New("the store is unreachable: retrying shortly")

// compileStore checks cfg and builds the store it describes. It does not
// connect: a store that is down at start is an outage like any other, so
// a proxy restart during a Redis restart does not take the site down.
func compileStore(cfg *Store, lookupEnv func(string) (string, bool)) (*sharedStore, error) {
	var a *storeAddress
	var sentinels *redisSentinels
	var err error
	switch {
	case cfg.Sentinel != nil && cfg.Address != "":
		return nil, fieldError("store.address", "and store.sentinel are both given: keep the Sentinels, which find the primary, or the address")
	case cfg.Sentinel != nil:
		if sentinels, err = compileSentinels(cfg.Sentinel, lookupEnv); err != nil {
			return nil, err
		}
		a = &storeAddress{network: "tcp", addr: "primary " + sentinels.master + " (Sentinel)"}
	case cfg.Address == "":
		return nil, fieldError("store.address", "is empty: give host:port, a redis:// or rediss:// URL, or store.sentinel")
	default:
		if a, err = parseStoreAddress(cfg.Address); err != nil {
			return nil, fieldError("store.address", err.Error())
		}
	}
	username, db := a.username, a.db
	if cfg.Username != "" {
		username = cfg.Username
	}
	password, err := storePassword("store", []string{"address", "password", "password_file", "password_env"},
		[]string{a.password, cfg.Password, cfg.PasswordFile, cfg.PasswordEnv}, lookupEnv)
	if err != nil {
		return nil, err
	}
	if username != "" && password == "" {
		return nil, fieldError("store.username", "is set without a password")
	}
	if cfg.Database != 0 {
		db = cfg.Database
	}
	if db < 0 || db > 65535 {
		return nil, fieldError("store.database", "must lie between 0 and 65535")
	}
	timeout := defaultStoreTimeout
	if cfg.Timeout != "" {
		if timeout, err = parseDuration(cfg.Timeout); err != nil || timeout <= 0 {
			return nil, fieldError("store.timeout", "must be a positive duration such as 250ms")
		}
	}
	pool := cfg.PoolSize
	switch {
	case pool == 0:
		pool = defaultStorePoolSize
	case pool < 0 || pool > 4096:
		return nil, fieldError("store.pool_size", "must lie between 1 and 4096")
	}
	prefix := cfg.KeyPrefix
	if prefix == "" {
		prefix = defaultStoreKeyPrefix
	}
	if len(prefix) > 128 {
		return nil, fieldError("store.key_prefix", "is longer than 128 bytes")
	}
	var id [9]byte
	if _, err := rand.Read(id[:]); err != nil {
		return nil, fieldError("store", "cannot draw a random instance name: "+err.Error())
	}
	s := &sharedStore{prefix: prefix, instance: base64.RawURLEncoding.EncodeToString(id[:])}
	var digest replayKey
	s.claimHead = "$" + strconv.Itoa(len(prefix+"r:"+base64.RawURLEncoding.EncodeToString(digest[:]))) + "\r\n"
	s.banHead = "$" + strconv.Itoa(len(banKey(s, "client", ""))) + "\r\n"
	policies := []struct {
		field, value string
		def          string
		out          *string
	}{
		{"store.replay_on_error", cfg.ReplayOnError, storeDeny, &s.replayOnError},
		{"store.bans_on_error", cfg.BansOnError, storeLocal, &s.bansOnError},
	}
	for _, p := range policies {
		switch p.value {
		case "":
			*p.out = p.def
		case storeDeny, storeLocal:
			*p.out = p.value
		default:
			return nil, fieldError(p.field, "unknown policy "+strconv.Quote(p.value)+": use deny or local")
		}
	}
	tlsCfg := cfg.TLS
	if tlsCfg == nil {
		tlsCfg = &StoreTLS{}
	}
	var clientTLS *tls.Config
	if a.tls || tlsCfg.Enabled || tlsCfg.CAFile != "" || tlsCfg.CertFile != "" {
		host := "" // through Sentinel: the host of each dial (see tlsFor)
		if sentinels == nil {
			host, _, _ = net.SplitHostPort(a.addr)
		}
		if clientTLS, err = storeTLSConfig(tlsCfg, host); err != nil {
			return nil, err
		}
	}
	parts := []string{a.network, a.addr, username, password, strconv.Itoa(db), prefix, timeout.String(), strconv.Itoa(pool),
		s.replayOnError, s.bansOnError, strconv.FormatBool(clientTLS != nil), tlsCfg.CAFile, tlsCfg.CertFile, tlsCfg.KeyFile,
		tlsCfg.ServerName, strconv.FormatBool(tlsCfg.InsecureSkipVerify)}
	if sentinels != nil {
		parts = append(parts, sentinels.username, sentinels.password, strings.Join(sentinels.addrs, " "))
	}
	s.settings = settingsDigest(parts...)
	s.client = newRedisClient(a.network, a.addr, username, password, db, clientTLS, timeout, pool)
	s.client.sentinels = sentinels
	return s, nil
}

// compileSentinels checks store.sentinel.
func compileSentinels(cfg *StoreSentinel, lookupEnv func(string) (string, bool)) (*redisSentinels, error) {
	if cfg.Master == "" {
		return nil, fieldError("store.sentinel.master", "is empty: give the name the Sentinels watch the primary under (their sentinel monitor <name>)")
	}
	if len(cfg.Addresses) == 0 {
		return nil, fieldError("store.sentinel.addresses", "is empty: give the Sentinels' host:port")
	}
	s := &redisSentinels{master: cfg.Master, username: cfg.Username}
	for i, addr := range cfg.Addresses {
		if _, _, err := net.SplitHostPort(addr); err != nil {
			addr = net.JoinHostPort(strings.Trim(addr, "[]"), defaultSentinelPort)
		}
		host, port, err := net.SplitHostPort(addr)
		n, perr := strconv.Atoi(port)
		if err != nil || host == "" || strings.ContainsAny(host, "@/?# ") || perr != nil || n < 1 || n > 65535 {
			return nil, fieldError("store.sentinel.addresses["+strconv.Itoa(i)+"]", "is "+strconv.Quote(cfg.Addresses[i])+", which is not host[:port]")
		}
		s.addrs = append(s.addrs, addr)
	}
	var err error
	if s.password, err = storePassword("store.sentinel", []string{"password", "password_file", "password_env"},
		[]string{cfg.Password, cfg.PasswordFile, cfg.PasswordEnv}, lookupEnv); err != nil {
		return nil, err
	}
	if s.username != "" && s.password == "" {
		return nil, fieldError("store.sentinel.username", "is set without a password")
	}
	return s, nil
}

// defaultSentinelPort is Redis Sentinel's port.
const defaultSentinelPort = "26379"

// storePassword returns the password of section, given by at most one of
// its sources: the options named (a URL's, given by value, in a file, in
// an environment variable), whose values are given in that order.
func storePassword(section string, names, values []string, lookupEnv func(string) (string, bool)) (string, error) {
	at := -1
	for i, v := range values {
		if v == "" {
			continue
		}
		if at >= 0 {
			return "", fieldError(section+".password", "is given more than once ("+strings.Join(names, ", ")+"): keep one")
		}
		at = i
	}
	if at < 0 {
		return "", nil
	}
	value := values[at]
	switch names[at] {
	case "password_file":
		data, err := readSecretFile(value)
		if err != nil {
			return "", fieldError(section+".password_file", err.Error())
		}
		return string(data), nil
	case "password_env":
		v, ok := lookupEnv(value)
		if !ok || strings.TrimSpace(v) == "" {
			return "", fieldError(section+".password_env", "environment variable "+value+" is not set or empty")
		}
		return strings.TrimSpace(v), nil
	}
	return value, nil // a URL's password, or one given as is
}

// storeAddress is a parsed Store.Address.
type storeAddress struct {
	network, addr      string
	username, password string
	db                 int
	tls                bool
}

// parseStoreAddress reads "host:port", "host" or a redis:// or rediss://
// URL. Its errors never quote the address, which may hold a password.
func parseStoreAddress(s string) (*storeAddress, error) {
	a := &storeAddress{network: "tcp"}
	if !strings.Contains(s, "://") {
		if strings.ContainsAny(s, "@/?# ") {
			// user:password@host would otherwise dial "user:password@host",
			// and the address is in the store's errors.
			return nil, errors.New("is neither host[:port] nor a redis:// or rediss:// URL: give credentials as a URL (redis://user:password@host:port) or as store.username and store.password")
		}
		a.addr = s
		if _, _, err := net.SplitHostPort(s); err != nil {
			a.addr = net.JoinHostPort(strings.Trim(s, "[]"), defaultRedisPort)
		}
		return a, nil
	}
	u, err := url.Parse(s)
	if err != nil {
		return nil, errors.New("is not a valid URL")
	}
	switch u.Scheme {
	case "redis":
	case "rediss":
		a.tls = true
	default:
		err = errors.New("has scheme " + strconv.Quote(u.Scheme) + ": use redis:// or rediss://")
		return nil, err
	}
	if u.Hostname() == "" {
		return nil, errors.New("names no host")
	}
	port := u.Port()
	if port == "" {
		port = defaultRedisPort
	}
	a.addr = net.JoinHostPort(u.Hostname(), port)
	if u.User != nil {
		a.username = u.User.Username()
		a.password, _ = u.User.Password()
		if a.password == "" {
			// redis://password@host occurs as well as redis://:password@host.
			a.password = a.username
			a.username = ""
		}
	}
	if p := strings.Trim(u.Path, "/"); p != "" {
		if a.db, err = strconv.Atoi(p); err != nil {
			return nil, errors.New("has a path that is not a database number")
		}
	}
	if u.RawQuery != "" {
		return nil, errors.New("has query parameters: use the store's own options")
	}
	return a, nil
}

// settingsDigest identifies a store's settings without holding its
// password.
func settingsDigest(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return string(h.Sum(nil))
}

// storeTLSConfig builds the TLS configuration of the store's connections.
func storeTLSConfig(cfg *StoreTLS, host string) (*tls.Config, error) {
	c := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: cfg.ServerName, InsecureSkipVerify: cfg.InsecureSkipVerify}
	if c.ServerName == "" {
		c.ServerName = host
	}
	if cfg.CAFile != "" {
		pem, err := os.ReadFile(cfg.CAFile)
		if err != nil {
			return nil, fieldError("store.tls.ca_file", "file "+cfg.CAFile+" cannot be read")
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fieldError("store.tls.ca_file", "file "+cfg.CAFile+" holds no PEM certificate")
		}
		c.RootCAs = pool
	}
	if (cfg.CertFile == "") != (cfg.KeyFile == "") {
		return nil, fieldError("store.tls.cert_file", "and store.tls.key_file go together: give both or neither")
	}
	if cfg.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(cfg.CertFile, cfg.KeyFile)
		if err != nil {
			return nil, fieldError("store.tls.cert_file", "cannot load the certificate and key: check both files are PEM and match")
		}
		c.Certificates = []tls.Certificate{cert}
	}
	return c, nil
}

// key returns the store's key for a thing funcauth tracks: the prefix, the
// kind, and a digest of the parts, so no key holds a secret or an
// unbounded client-controlled string.
func (s *sharedStore) key(kind string, parts ...string) string {
	// Each part ends in a NUL; one hash call (no loop: under Yaegi each
	// interpreted statement costs far more than the hash of a few bytes).
	sum := sha256.Sum256([]byte(strings.Join(parts, "\x00") + "\x00"))
	return s.prefix + kind + ":" + base64.RawURLEncoding.EncodeToString(sum[:18])
}

// checkToken names a check this process holds in flight in the store,
// uniquely across the fleet.
func (s *sharedStore) checkToken() string {
	s.mu.Lock()
	s.checks++
	n := s.checks
	s.mu.Unlock()
	return s.instance + strconv.FormatUint(n, 36)
}

// exec runs the commands (each RESP-encoded) in one round trip. While an
// outage is on, it fails at once until the next probe is due, so a dead or
// frozen store costs at most one timeout per storeRetryInterval. Scripts
// the server does not know yet (NOSCRIPT) are sent again in full, once.
//
// exec is for calls that have no decision to report an outage on (the
// forget of a message after its upstream failed, once the decision was
// logged): it neither begins nor ends one (see noteLocked).
func (s *sharedStore) exec(cmds []string, now time.Time) ([]respValue, error) {
	replies, _, err := storeDo(s, cmds, now, false)
	return replies, err
}

// The outage transitions storeDo reports: the call that began an outage,
// and the one that ended it, each exactly once.
const (
	storeWentDown = "down"
	storeCameBack = "up"
)

// storeDo is exec, and also says whether this very call began or ended
// an outage (decided under the lock, so concurrent calls cannot both
// claim one). Only a call with a decision (decided), which reports the
// event to the host, begins or ends one. A function rather than a method,
// for Yaegi (see redisDo).
func storeDo(s *sharedStore, cmds []string, now time.Time, decided bool) ([]respValue, string, error) {
	if atomic.LoadInt32(&s.troubled) != 0 && storeFailsFast(s, now) {
		return nil, "", errStoreDown
	}
	replies, err := redisDo(s.client, cmds, now)
	if err == nil && atomic.LoadInt32(&s.troubled) == 0 {
		for i := range replies {
			if replies[i].kind == '-' {
				return storeSettle(s, cmds, replies, nil, now, decided)
			}
		}
		return replies, "", nil // the usual case, kept short: no lock, no defer
	}
	return storeSettle(s, cmds, replies, err, now, decided)
}

// storeSettle ends a call whose outcome takes more than handing its
// replies back: an error reply (NOSCRIPT, which reloadScripts answers, or
// another, which fails the call), an error, or an outage on (see
// noteOutcome).
func storeSettle(s *sharedStore, cmds []string, replies []respValue, err error, now time.Time, decided bool) ([]respValue, string, error) {
	if err == nil {
		err = s.reloadScripts(cmds, replies, now)
	}
	return noteOutcome(s, replies, err, now, decided)
}

// storeFailsFast reports whether a call fails at once: an outage is on
// and the next probe is not due (see outageFailsFast).
func storeFailsFast(s *sharedStore, now time.Time) bool {
	s.mu.Lock()
	failFast := s.down && outageFailsFast(s, now)
	s.mu.Unlock()
	return failFast
}

// noteOutcome notes the outcome of a call that failed, or that ran while
// calls failed (see noteLocked), and returns what storeDo returns.
func noteOutcome(s *sharedStore, replies []respValue, err error, now time.Time, decided bool) ([]respValue, string, error) {
	s.mu.Lock()
	event, err := s.noteLocked(err, now, decided)
	troubled := int32(0)
	if s.failing > 0 || s.down {
		troubled = 1
	}
	atomic.StoreInt32(&s.troubled, troubled)
	s.mu.Unlock()
	if err != nil {
		return nil, event, err
	}
	return replies, event, nil
}

// outageFailsFast decides, during an outage, whether a call fails at once
// (until the next probe is due) or is the probe, which the others keep
// failing fast behind. s.mu is held.
func outageFailsFast(s *sharedStore, now time.Time) bool {
	if now.Before(s.probeAt) {
		s.events.failures++
		return true
	}
	s.probeAt = now.Add(s.client.timeout + storeRetryInterval)
	return false
}

// noteLocked notes a call's outcome, with s.mu held, and returns the
// outage event it makes, if any, and the call's error. A call without a
// decision (decided false: nothing would report its event) counts its
// failure but begins no outage, which the next failed call with a decision
// then does; and its success ends none, but makes the next call a probe,
// which ends it.
func (s *sharedStore) noteLocked(err error, now time.Time, decided bool) (string, error) {
	if err != nil {
		s.events.failures++
		s.failing++
		if !s.down && (s.failing < storeFailuresForOutage || !decided) {
			return "", err
		}
		s.probeAt = now.Add(storeRetryInterval)
		if !s.down {
			s.down = true
			s.events.outages++
			s.lastError = err.Error()
			return storeWentDown, err
		}
		return "", err
	}
	if s.down && !decided {
		s.probeAt = time.Time{}
		return "", nil
	}
	s.failing = 0
	if s.down {
		s.down = false
		s.events.recovered++
		return storeCameBack, nil
	}
	return "", nil
}

// answeredError is the error of a call the server answered with an error
// reply: a store that refuses writes (READONLY after a failover, OOM when
// full, NOPERM) fails the call as one that does not answer does, so the
// OnError policies apply and an outage is counted and logged.
func answeredError(s *sharedStore, r respValue) error {
	return s.client.wrap(errors.New("answered " + strings.TrimSpace(r.str)))
}

// reloadScripts resends, as EVAL, the EVALSHA commands the server answered
// with NOSCRIPT (after a restart or SCRIPT FLUSH), and puts their replies
// in place. EVAL also caches the script for the next EVALSHA. Any other
// error reply, before or after, fails the call (see answeredError).
func (s *sharedStore) reloadScripts(cmds []string, replies []respValue, now time.Time) error {
	var again []string
	var at []int
	for i, r := range replies {
		if r.kind != '-' {
			continue
		}
		if !strings.HasPrefix(r.str, "NOSCRIPT") {
			return answeredError(s, r)
		}
		cmd := ""
		for _, sc := range []*storeScript{failScript, bucketScript, admitScript} {
			if strings.Contains(cmds[i], sc.call) {
				cmd = strings.Replace(cmds[i], sc.call, "$4\r\nEVAL\r\n"+respBulk(sc.source), 1)
			}
		}
		if cmd == "" {
			return errors.New("NOSCRIPT for a script funcauth does not know")
		}
		again = append(again, cmd)
		at = append(at, i)
	}
	if len(again) == 0 {
		return nil
	}
	more, err := redisDo(s.client, again, now)
	if err != nil {
		return err
	}
	for j, i := range at {
		if more[j].kind == '-' {
			return answeredError(s, more[j])
		}
		replies[i] = more[j]
	}
	return nil
}

// storeScript is a Lua script run atomically by the server.
type storeScript struct {
	sha, source string
	call        string // EVALSHA and the SHA1, RESP-encoded
	// fixed starts the whole command of a script that always takes as many
	// keys and arguments (those newStoreScript is given): the array's
	// length, call and the number of keys. "" for other scripts.
	fixed string
}

// newStoreScript makes a script that takes keys keys and args arguments,
// each -1 when it varies.
func newStoreScript(source string, keys, args int) *storeScript {
	sum := sha1.Sum([]byte(source))
	sc := &storeScript{sha: hex.EncodeToString(sum[:]), source: source}
	sc.call = respBulk("EVALSHA") + respBulk(sc.sha)
	if keys >= 0 && args >= 0 {
		sc.fixed = "*" + strconv.Itoa(3+keys+args) + "\r\n" + sc.call + respBulk(strconv.Itoa(keys))
	}
	return sc
}

// command returns the EVALSHA command that runs the script.
func (sc *storeScript) command(keys []string, args ...string) string {
	cmd := "*" + strconv.Itoa(3+len(keys)+len(args)) + "\r\n" + sc.call + respBulk(strconv.Itoa(len(keys)))
	for _, k := range keys {
		cmd += respBulk(k)
	}
	for _, a := range args {
		cmd += respBulk(a)
	}
	return cmd
}
