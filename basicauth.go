package funcauth

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"path/filepath"
	"strconv"
	"sync"
	"time"
)

// basicAuthenticator checks Basic Auth credentials against the configured
// users: inline ones, an htpasswd file and the OpenFaaS gateway's secret
// files, the files re-read within seconds of a change.
type basicAuthenticator struct {
	challenge string
	parser    *hashParser
	static    []*account
	htpasswd  *watchedFile // nil when not configured
	gwUser    *watchedFile // nil when not configured
	gwPass    *watchedFile
	cache     *credentialCache
	flights   *flightGroup
	decoySalt []byte // picks the decoy account of an unknown user

	mu       sync.Mutex
	versions [3]uint64 // of htpasswd, gwUser, gwPass when table was built
	table    *userTable

	// fixed is the table of a configuration without files, which never
	// changes: read without the lock and the call of users.
	fixed *userTable
}

// userTable is a snapshot of all accounts.
type userTable struct {
	byName   map[string]*account
	accounts []*account
	problem  string // why a file's users are missing, for logs
	field    string // the configuration field that problem concerns
}

func newBasicAuthenticator(cfg *BasicAuth, parser *hashParser, state *State, now time.Time) (*basicAuthenticator, error) {
	b := &basicAuthenticator{
		parser:  parser,
		cache:   state.credentials,
		flights: state.flights,
	}
	realm, err := realmOf(cfg)
	if err != nil {
		return nil, err
	}
	b.challenge = `Basic realm="` + realm + `"`
	seen := make(map[string]bool)
	for i, u := range cfg.Users {
		field := "basic_auth.users[" + strconv.Itoa(i) + "]"
		if u.Name == "" {
			return nil, fieldError(field+".name", "is empty")
		}
		if len(u.Name) > maxUserNameLength {
			return nil, fieldError(field+".name", "is longer than "+strconv.Itoa(maxUserNameLength)+" bytes")
		}
		if seen[u.Name] {
			return nil, fieldError(field+".name", "user "+strconv.Quote(u.Name)+" is configured twice")
		}
		seen[u.Name] = true
		if u.PasswordHash == "" {
			return nil, fieldError(field+".password_hash", "is empty")
		}
		verifier, err := parser.parse(u.PasswordHash)
		if err != nil {
			return nil, fieldError(field+".password_hash", err.Error())
		}
		b.static = append(b.static, &account{name: u.Name, stored: u.PasswordHash, password: verifier})
	}
	if cfg.HtpasswdFile != "" {
		b.htpasswd = newWatchedFile(cfg.HtpasswdFile)
	}
	if cfg.GatewaySecretsDir != "" {
		b.gwUser = newWatchedFile(filepath.Join(cfg.GatewaySecretsDir, "basic-auth-user"))
		b.gwPass = newWatchedFile(filepath.Join(cfg.GatewaySecretsDir, "basic-auth-password"))
	}
	b.decoySalt = make([]byte, 16)
	if _, err := rand.Read(b.decoySalt); err != nil {
		return nil, err
	}
	// Fail closed at start: every configured file must be readable and valid.
	table := b.users(now)
	if table.problem != "" {
		return nil, fieldError(table.field, table.problem)
	}
	if len(table.accounts) == 0 {
		return nil, fieldError("basic_auth", "has no users: add users, an htpasswd_file or a gateway_secrets_dir")
	}
	if b.htpasswd == nil && b.gwUser == nil {
		b.fixed = table
	}
	return b, nil
}

// users returns the current accounts, rebuilding the table when a file
// changed. A file that vanished or no longer parses contributes no users.
func (b *basicAuthenticator) users(now time.Time) *userTable {
	b.mu.Lock()
	defer b.mu.Unlock()
	var versions [3]uint64
	var htData, userData, passData []byte
	var htErr, userErr, passErr error
	if b.htpasswd != nil {
		htData, versions[0], htErr = b.htpasswd.read(now)
	}
	if b.gwUser != nil {
		userData, versions[1], userErr = b.gwUser.read(now)
		passData, versions[2], passErr = b.gwPass.read(now)
	}
	if b.table != nil && versions == b.versions {
		return b.table
	}
	t := &userTable{byName: make(map[string]*account)}
	t.addAll(b.static)
	if b.htpasswd != nil {
		if htErr != nil {
			t.fail("basic_auth.htpasswd_file", htErr.Error())
		} else if accounts, err := parseHtpasswd(string(htData), b.parser.parse); err != nil {
			t.fail("basic_auth.htpasswd_file", b.htpasswd.path+": "+err.Error())
		} else {
			t.addAll(accounts)
		}
	}
	if b.gwUser != nil {
		switch {
		case userErr != nil:
			t.fail("basic_auth.gateway_secrets_dir", userErr.Error())
		case passErr != nil:
			t.fail("basic_auth.gateway_secrets_dir", passErr.Error())
		default:
			t.addAll([]*account{{
				name:     string(userData),
				stored:   b.plainTag(passData),
				password: newPlainPassword(passData),
			}})
		}
	}
	b.table, b.versions = t, versions
	return t
}

// plainTag identifies a plain-text password in the credential cache by a
// keyed hash of its content, so that a rotated password's cache entries
// die with it, whichever instance read the file (a counter would restart
// with every instance, while the cache lives on in the State).
func (b *basicAuthenticator) plainTag(password []byte) string {
	mac := hmac.New(sha256.New, []byte(b.cache.secret))
	mac.Write([]byte("gateway-password\x00"))
	mac.Write(password)
	return "plain:" + hex.EncodeToString(mac.Sum(nil))
}

// fail records why a file contributes no users.
func (t *userTable) fail(field, problem string) {
	t.field = field
	t.problem = problem
}

func (t *userTable) addAll(accounts []*account) {
	for _, a := range accounts {
		if _, dup := t.byName[a.name]; dup {
			continue // the first source that names a user wins
		}
		t.byName[a.name] = a
		t.accounts = append(t.accounts, a)
	}
}

// decoy picks the account whose hash an unknown user's password is checked
// against, so that an unknown user costs what a known one does. The pick
// depends on the name, through a keyed hash, and the result is discarded.
func (b *basicAuthenticator) decoy(t *userTable, name string) *account {
	if len(t.accounts) == 0 {
		return &account{password: &pbkdf2Hash{iterations: DefaultPBKDF2Iterations, salt: b.decoySalt, key: b.decoySalt}}
	}
	mac := hmac.New(sha256.New, b.decoySalt)
	mac.Write([]byte(name))
	n := binary.BigEndian.Uint32(mac.Sum(nil))
	return t.accounts[int(n%uint32(len(t.accounts)))]
}

// basicCredentials extracts the Basic credentials of an Authorization
// header's values, or why there are none usable.
func basicCredentials(values []string) (string, string, *refusal) {
	if len(values) == 0 {
		return "", "", refuse(ReasonMissingCredentials, "")
	}
	if len(values) > 1 {
		return "", "", refuse(ReasonBadRequest, "more than one Authorization header")
	}
	user, password, scheme, ok := parseBasicAuth(values[0])
	if !scheme {
		return "", "", refuse(ReasonMissingCredentials, "the Authorization header is not of the Basic scheme")
	}
	if !ok {
		return "", "", refuse(ReasonBadCredentials, "malformed Basic credentials")
	}
	return user, password, nil
}

// rememberedLogin looks an Authorization header (its values) up among the
// remembered successes, as it came: it returns the user it authenticated
// and the stored hash the password matched, or "" and "". Whether that hash
// is still the user's is for the caller to check (see stillStored).
func rememberedLogin(b *basicAuthenticator, values []string) (string, string) {
	if len(values) != 1 || len(values[0]) > maxRememberedHeader {
		return "", ""
	}
	c := b.cache
	sum := sha256.Sum256([]byte(c.secret + values[0])) // loginKey, inline: one call fewer
	c.mu.Lock()
	login, ok := c.entries[string(sum[:])]
	c.mu.Unlock()
	if !ok {
		return "", ""
	}
	return login.user, login.stored
}

// cachedLogin reports whether user, parsed from a header spelled
// otherwise than their canonical one (whose key is key, see
// canonicalLoginKey), is a remembered success: another spelling of
// credentials costs no hash either.
func cachedLogin(b *basicAuthenticator, key, user string, now time.Time) bool {
	c := b.cache
	c.mu.Lock()
	login, ok := c.entries[key]
	c.mu.Unlock()
	return ok && stillStored(b, user, login.stored, now)
}

// stillStored reports whether stored is still the hash of user: a
// remembered success counts only while the user's password is the one it
// matched.
func stillStored(b *basicAuthenticator, user, stored string, now time.Time) bool {
	table := b.fixed
	if table == nil {
		table = b.users(now)
	}
	acct := table.byName[user]
	return acct != nil && acct.stored == stored
}

// verify checks a user name and password that are not a remembered
// success (see rememberedLogin and cachedLogin), key the canonical key of
// their header, and returns nil when they are right. An unknown user's password is checked against a decoy
// account's hash, so both cost the same; identical concurrent checks run
// once, however their headers spell the credentials; successes are
// remembered under their canonical header. A hash needs one of slots: when
// none is free the refusal is ReasonRateLimited.
func (b *basicAuthenticator) verify(key, user, password string, now time.Time, slots *checkSlots) *refusal {
	table := b.users(now)
	acct := table.byName[user]
	target := acct
	if target == nil {
		target = b.decoy(table, user)
	}
	// The flight key names the hash checked against too, so a check still
	// running against a replaced password cannot answer for the new one.
	result := b.flights.do(key+"\x00"+target.stored, func() int {
		return checkPassword(slots, target.password, password)
	})
	if result == checkBusy {
		no := refuse(ReasonRateLimited, "too many password checks in progress in this process: try again in a second")
		no.retry = time.Second
		return no
	}
	if acct == nil || result != checkMatched {
		return refuse(ReasonBadCredentials, table.problem)
	}
	b.cache.add(key, rememberedSuccess{user: user, stored: acct.stored})
	return nil
}

// checkPassword checks password against one stored hash in one of slots.
// (A function of its own: written inside the closure passed to
// flights.do, the slots leaked under Yaegi v0.16.1, which the conformance
// suite showed; a minimal closure with a defer does not, so the exact
// cause is not known.)
func checkPassword(slots *checkSlots, p passwordVerifier, password string) int {
	if !slots.acquire() {
		return checkBusy
	}
	defer slots.release()
	if p.verify([]byte(password)) {
		return checkMatched
	}
	return checkFailed
}
