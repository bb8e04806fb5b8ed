package funcauth

import (
	"crypto/sha512"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"time"
)

// Check decides whether r may reach the upstream. client is the client's
// address as the host knows it (see ClientAddress).
//
// Check removes the client's copies of the identity headers, from the
// headers and from the trailers (see scrubTrailers). When it
// allows a request it sets them, and for a signed route it replaces r.Body
// with the body it read and verified, so the upstream receives the
// identical bytes with an exact Content-Length. The caller must Close the
// Decision when the request ends.
func (g *Guard) Check(r *http.Request, client string) *Decision {
	return checkRequest(g, r, client, len(g.clients.trusted) > 0 && g.clients.peerTrusted(r))
}

// CheckBehindProxy is Check for a host that decides itself whether the
// peer is a trusted proxy, as Caddy does with its trusted_proxies:
// trustedPeer says it is, so its X-Forwarded-Proto tells the scheme the
// client used (for Twilio without base_url and RFC 9421's @scheme and
// @target-uri behind a TLS-terminating load balancer).
func (g *Guard) CheckBehindProxy(r *http.Request, client string, trustedPeer bool) *Decision {
	return checkRequest(g, r, client, trustedPeer)
}

// checkedRequest is one request on its way through a check: what every step
// reads, and the decision the steps fill in. Each step returns nil to let
// the request go on, or the refusal that ends it, which check applies.
//
// (One value passed by pointer rather than its fields one by one: under
// Yaegi every parameter and temporary of a function is a value the
// interpreter allocates at each call.)
type checkedRequest struct {
	r *http.Request
	d *Decision
	// path is r.URL.Path ("/" when empty), route what it means: the
	// function it names, and once matched, the rule. route is nil until
	// decide has worked it out (a banned client's or a non-canonical
	// path's refusal comes before).
	path  string
	route *route
	// group is the client's address group, the unit of bans and client
	// rate limits; exempt is set when bans are off or the client is on
	// their allow list.
	group  string
	exempt bool
	// now is the Guard's clock, read once for the whole check.
	now time.Time
	// trustedPeer says the peer is a trusted proxy (see CheckBehindProxy).
	trustedPeer bool

	// sum is where checkOneMAC sums its MAC. (The decision, a body read
	// and checkSignature's checks are allocations of their own: under
	// Yaegi, taking the address of a field costs a copy of it.)
	sum [sha512.Size]byte
}

// checkRequest is Check, with trustedPeer (the peer is a trusted proxy)
// worked out by the caller.
func checkRequest(g *Guard, r *http.Request, client string, trustedPeer bool) *Decision {
	q := new(checkedRequest) // (not a composite literal: under Yaegi, one costs its size again at every call)
	q.r, q.trustedPeer = r, trustedPeer
	q.now = g.now()
	q.d = new(Decision)
	q.d.Rule = -1
	q.d.Client = client
	if no := decide(g, q); no != nil {
		refuseRequest(g, q, no)
	}
	// The decision's last round trip to the store, when it needs one: the
	// fleet's tokens no round trip took yet (an open route, a cached
	// password), and the places in the fleet's checks in flight still
	// held. (Checked here: a call less under Yaegi for the usual request.)
	if g.store != nil && (q.d.fleetTakes != nil || q.d.fleetToken != "") && g.fleetSettle(q.d) {
		refuseRequest(g, q, refuse(ReasonRateLimited, q.d.Detail))
	}
	if sec := q.now.Unix(); sec != atomic.LoadInt64(&g.state.usedSecond) {
		atomic.StoreInt64(&g.state.usedSecond, sec)
		q.d.firstOfSecond = true
	}
	return q.d
}

// decide runs the steps every request takes, then those of the rule that
// matches it.
func decide(g *Guard, q *checkedRequest) *refusal {
	r, d := q.r, q.d
	removeIdentityHeaders(r.Header, g.upstream.UserHeader, g.upstream.SignatureHeader)
	// An address without a colon (IPv4, or no address at all) is its
	// own group: only IPv6 addresses are grouped by prefix.
	q.group = d.Client
	if strings.IndexByte(d.Client, ':') >= 0 {
		q.group = g.clients.group(d.Client)
	}

	q.exempt = true
	if g.bans.enabled {
		if no := checkClientBan(g, q); no != nil {
			return no
		}
	}

	q.path = r.URL.Path
	if q.path == "" {
		q.path = "/"
	}
	var rt *route
	if g.routes != nil {
		if v, ok := g.routes.paths.Load(q.path); ok {
			rt = v.(*route)
			q.route = rt
		}
	}
	if rt == nil {
		var no *refusal
		if rt, no = resolveRoute(g, q); no != nil {
			return no
		}
	}
	if len(g.limits) > 0 {
		if no := takeTokens(g, q, ""); no != nil {
			return no
		}
	}

	rl := rt.rule
	if rl == nil {
		return refuse(ReasonNoRule, "")
	}
	d.Rule, d.RulePath = rl.index, rl.path.raw
	switch rl.require {
	case requireOpen:
		return allowUnread(g, q, ReasonOpen)
	case requireDeny:
		return refuse(ReasonDenied, "")
	case requireBasic:
		return checkBasic(g, q)
	case requireBasicOrSignature:
		if prefersBasic(rl, r.Header) {
			return checkBasic(g, q)
		}
	}
	if rl.oneMAC != nil {
		return checkOneMAC(g, q, rl)
	}
	return checkSignature(g, q, rl)
}

// checkClientBan refuses a banned client, at the cost of a map lookup: no
// hash, no body. A client on the bans' allow list is exempt from them.
func checkClientBan(g *Guard, q *checkedRequest) *refusal {
	q.exempt = len(g.bans.allow) > 0 && allowListed(g.bans, q.d.Client) // no call without an allow list
	if !q.exempt {
		if left := bannedFor(g.state.abuse.clients, q.group, q.now); left > 0 {
			q.d.RetryAfter = left
			return refuse(ReasonBanned, "client address is banned")
		}
	}
	return nil
}

// prefersBasic reports whether a request on a basic_or_signature rule is
// checked for Basic Auth: when it carries an Authorization header or none
// of the rule's signatures.
func prefersBasic(rl *rule, h http.Header) bool {
	return len(h["Authorization"]) > 0 || !anySignaturePresent(rl, h)
}

// matchRule returns the first rule that applies to the request. A rule that
// names neither methods nor hosts is matched here, with the function the
// path names already parsed, and a literal or a plain prefix without a
// call: most rules are of these kinds (the whole OpenFaaS preset).
func matchRule(g *Guard, q *checkedRequest) *rule {
	host := ""
	if g.hostRules {
		host = requestHost(q.r)
	}
	for _, rl := range g.rules {
		switch rl.plain {
		case plainLiteral:
			if rl.path.raw == q.path {
				return rl
			}
		case plainPrefix:
			if strings.HasPrefix(q.path, rl.path.prefix) {
				return rl
			}
		case plainFunction:
			if rt := q.route; rt.hasFn && (rl.path.fn.any || rl.path.fn.match(rt.fn, rt.sub)) || rl.path.matchPath(q.path) {
				return rl
			}
		default:
			if rl.matches(q.r, q.path, host) {
				return rl
			}
		}
	}
	return nil
}

func anySignaturePresent(rl *rule, h http.Header) bool {
	for _, v := range rl.verifiers {
		if carriesSignature(v, h) {
			return true
		}
	}
	return false
}

// carriesSignature reports whether a request with headers h carries v's
// signature (see verifier.presence).
func carriesSignature(v *verifier, h http.Header) bool {
	for _, name := range v.presence {
		if len(h[name]) > 0 {
			return true
		}
	}
	return false
}

// checkBasic checks Basic Auth; a locked-out user name is refused before
// any hash is computed, and a hash is computed only within the client's
// and the user's failure budgets and a free check slot.
func checkBasic(g *Guard, q *checkedRequest) *refusal {
	d := q.d
	d.Challenge = g.basic.challenge
	values := q.r.Header["Authorization"]
	// A remembered success (the header as it came) costs no parse, no
	// hash and no admission.
	user, stored := rememberedLogin(g.basic, values)
	password := ""
	if stored == "" {
		var no *refusal
		if user, password, no = basicCredentials(values); no != nil {
			return no
		}
	}
	d.User = user
	lockout := false
	if g.bans.locksUsers && !q.exempt {
		var no *refusal
		if lockout, no = checkUserLockout(g, q, user); no != nil {
			if stored != "" {
				// The parse a header not remembered costs: the time of a
				// lockout's refusal tells nothing of the password.
				basicCredentials(values)
			}
			return no
		}
	}
	if stored != "" {
		// stillStored, inline (see calls.go): when the user's hash
		// changed since (or the user is gone), a check as for any header.
		table := g.basic.fixed
		if table == nil {
			table = g.basic.users(q.now)
		}
		if acct := table.byName[user]; acct == nil || acct.stored != stored {
			var no *refusal
			if user, password, no = basicCredentials(values); no != nil {
				return no
			}
			stored = ""
		}
	}
	if stored == "" {
		if no := verifyPassword(g, q, user, password, lockout); no != nil {
			return no
		}
	}
	if g.bans.locksUsers {
		rememberLogin(g.state.abuse.logins, q.group, user, q.now)
	}
	if len(g.limits) > 0 {
		if no := takeTokens(g, q, "user:"+user); no != nil {
			return no
		}
	}
	// (Header.Del and Set, without their calls: the names are canonical.)
	if g.upstream.StripAuthorization {
		delete(q.r.Header, "Authorization")
	}
	q.r.Header[g.upstream.UserHeader] = []string{user}
	return allowUnread(g, q, ReasonAuthenticated)
}

// checkUserLockout reports whether the lockout of user applies to this
// client, and refuses a locked-out user it applies to. It applies unless
// the client is allow-listed or recently authenticated as that user, so
// that other clients' failures cannot lock it out.
func checkUserLockout(g *Guard, q *checkedRequest, user string) (bool, *refusal) {
	if recentLogin(g.state.abuse.logins, q.group, user, q.now) {
		return false, nil
	}
	if left := bannedFor(g.state.abuse.users, user, q.now); left > 0 {
		q.d.RetryAfter = left
		return true, refuse(ReasonBanned, "user name is locked out")
	}
	return true, nil
}

// verifyPassword hashes a password whose header was not a remembered
// success as it came, unless another spelling of the same credentials is,
// once the fleet's bans and the failure budgets admit it.
func verifyPassword(g *Guard, q *checkedRequest, user, password string, lockout bool) *refusal {
	// Another spelling of remembered credentials: no hash. (Their key,
	// derived once, also names the check and its cache entry.)
	key := canonicalLoginKey(g.basic.cache, user, password)
	if cachedLogin(g.basic, key, user, q.now) {
		return nil
	}
	// Bans set by other replicas, in one round trip (none without a
	// store): a password is hashed only where no replica banned.
	if no := g.fleetBanned(q, user, lockout); no != nil {
		return no
	}
	if no := admit(g, q, user, lockout); no != nil {
		return no
	}
	if no := g.basic.verify(key, user, password, q.now, g.hashSlots); no != nil {
		return no
	}
	releaseHeld(g, q.d)
	return nil
}

// admit reserves an expensive check (a password hash, or a signed body
// read when user is "") in the client's failure budget and, when
// userBudget, in the user's, counting the checks still in flight: a check
// past either budget is refused before it starts. The decision holds the
// reservations until refuse counts them or release ends them.
func admit(g *Guard, q *checkedRequest, user string, userBudget bool) *refusal {
	d := q.d
	if !q.exempt {
		if no := admitClient(g, q); no != nil {
			return no
		}
	}
	if userBudget {
		ok, wait, banned := reserveCheck(g.state.abuse.users, user, q.now, g.bans.userMaxFailures, g.bans.window)
		if !ok {
			d.RetryAfter = wait
			if banned {
				return refuse(ReasonBanned, "user name is locked out")
			}
			return refuse(ReasonRateLimited, "bans.user_max_failures: as many checks of this user name as may still fail are failed or in progress")
		}
		d.heldUser = true
	}
	return nil
}

// admitClient is admit for the client's budget alone: a signed body's
// read, which holds no user's (a call of its own, so that the usual signed
// request's frames, under Yaegi, hold none of the user's part).
func admitClient(g *Guard, q *checkedRequest) *refusal {
	ok, wait, banned := reserveCheck(g.state.abuse.clients, q.group, q.now, g.bans.maxFailures, g.bans.window)
	if !ok {
		q.d.RetryAfter = wait
		if banned {
			return refuse(ReasonBanned, "client address is banned")
		}
		return refuse(ReasonRateLimited, "bans.max_failures: as many checks of this client address as may still fail are failed or in progress")
	}
	q.d.heldClient, q.d.heldGroup = true, q.group
	return nil
}

// releaseHeld ends the checks the decision holds without counting a failure.
func releaseHeld(g *Guard, d *Decision) {
	if d.heldClient {
		releaseCheck(g.state.abuse.clients, d.heldGroup)
	}
	if d.heldUser {
		releaseCheck(g.state.abuse.users, d.User)
	}
	d.heldClient, d.heldUser = false, false
}

// checkSignature reads the body once through every verifier of the rule
// whose signature the request carries, and accepts it when one verifies.
// A verifier with no key for the function checks the signature against a
// decoy key, so that such a function is refused at the same point, after
// the same body read and with the same status, as one whose key does not
// match: which functions have keys cannot be learned.
func checkSignature(g *Guard, q *checkedRequest, rl *rule) *refusal {
	q.d.Challenge = g.sigChallenge
	s := new(signatureChecks) // (its own allocation: the usual route takes checkOneMAC, which needs none)
	s.started = s.first[:0]
	s.spare = &s.firstMAC
	startChecks(g, q, rl, s)
	if len(s.started) == 0 {
		return noCheck(s, q, rl)
	}

	// The body read is an expensive check too: within the failure budget.
	if !q.exempt {
		if no := admitClient(g, q); no != nil {
			return no
		}
	}
	var sink io.Writer
	if sc := &s.started[0]; len(s.started) > 1 {
		sink = checksSink(s)
	} else if sc.mac != nil {
		sink = sc.mac.body
	} else {
		sink = sc.check.sink()
	}
	no := readSignedBody(g, q, sink, s.digest)
	if no != nil {
		return no
	}
	body := q.d.body
	for i := range s.started {
		sc := &s.started[i]
		if body.size == 0 && sc.v.refuseEmptyBody {
			// Checked before the MAC, which would tell nothing new: every
			// bodiless request of this scheme carries the same one.
			s.refusal = emptyBody(sc.v)
			continue
		}
		var keyID, replayID string
		if sc.mac != nil {
			keyID, replayID, no = finishMAC(sc.mac, body)
		} else {
			keyID, replayID, no = sc.check.finish(body)
		}
		if sc.problem != "" {
			keyUnavailable(s, sc, q)
			continue
		}
		if no != nil {
			verifierFailed(s, sc, no)
			continue
		}
		return acceptSigned(g, q, sc.v, sc.keys, keyID, signerLabel(sc.v, keyID), replayID)
	}
	return noneVerified(s, q)
}

// The refusals of checkSignature, each in a function of its own: under
// Yaegi a function's every temporary costs an allocation at each call,
// whichever branch runs, so the path a good request takes holds none of
// them.

// noCheck is the refusal of a request that started no check.
func noCheck(s *signatureChecks, q *checkedRequest, rl *rule) *refusal {
	if s.refusal == nil {
		return refuse(ReasonMissingSignature, "no signature header of "+verifierNames(rl.verifiers))
	}
	q.d.warnKey = s.warnKey
	return s.refusal
}

// noneVerified is the refusal of a request none of whose checks verified.
func noneVerified(s *signatureChecks, q *checkedRequest) *refusal {
	q.d.warnKey = s.warnKey
	return s.refusal
}

// scrubReadTrailers removes the identity headers from the trailers of a
// body read to its end.
func scrubReadTrailers(g *Guard, r *http.Request) {
	removeIdentityHeaders(r.Trailer, g.upstream.UserHeader, g.upstream.SignatureHeader)
}

// emptyBody is the refusal of an empty body by v.
func emptyBody(v *verifier) *refusal {
	return refuse(ReasonEmptyBody, v.name+": signs the body alone, and an empty body's signature is the same for every request (set allow_empty_body to accept it)")
}

// verifierFailed notes why sc's check failed.
func verifierFailed(s *signatureChecks, sc *startedCheck, no *refusal) {
	s.refusal = refuse(no.reason, sc.v.name+": "+no.detail)
	s.warnKey = ""
}

// signatureChecks is what checkSignature gathers from the verifiers whose
// signature a request carries: the checks the body is read through, and
// the refusal to give if none verifies.
type signatureChecks struct {
	started []startedCheck
	first   [1]startedCheck // started's array for the usual one check
	// spare is where the first MAC check is made (see sigInput.spare),
	// firstMAC its storage.
	spare    *macCheck
	firstMAC macCheck
	digest   bool // the body's SHA-256 is needed: it identifies the message for replay protection
	refusal  *refusal
	warnKey  string
	// in is what a scheme sees of the request, for each check in turn.
	in sigInput
}

// startedCheck is the check of one verifier.
type startedCheck struct {
	v    *verifier
	keys []key
	// mac is the check when it is a MAC check (most are), reached
	// without the sigCheck interface (see calls.go); check is any other.
	mac     *macCheck
	check   sigCheck
	problem string // why the verifier has only the decoy key; "" when it has keys
}

// startChecks starts a check for each verifier of rl whose signature the
// request carries.
func startChecks(g *Guard, q *checkedRequest, rl *rule, s *signatureChecks) {
	h := q.r.Header
	for _, v := range rl.verifiers {
		present := false
		for _, name := range v.presence { // carriesSignature, inline
			if len(h[name]) > 0 {
				present = true
				break
			}
		}
		if !present {
			continue
		}
		sc := startedCheck{v: v, keys: v.keys.static}
		keyless := false
		if !v.keys.fixed {
			keyless = checkKeys(g, q, &sc)
		}
		in := &s.in
		*in = sigInput{r: q.r, now: q.now, keys: sc.keys, tolerance: v.tolerance, forwardedProtoTrusted: q.trustedPeer, spare: s.spare}
		var no *refusal
		if mac, ok := v.scheme.(*headerMAC); ok {
			sc.mac, no = startHeaderMAC(mac, in)
		} else {
			no = startOther(v, in, &sc)
		}
		s.spare = in.spare
		if no != nil {
			cannotStart(s, v, q, no, keyless, sc.problem)
			continue
		}
		if !keyless {
			sc.problem = ""
		}
		s.started = append(s.started, sc)
		s.digest = s.digest || v.tolerance > 0
	}
}

// checkKeys sets the keys of sc's check of q when they are not its
// verifier's inline keys alone (keyring.fixed is false: some come from
// files): those of q's function, with the decoy standing in for a missing
// one (keysOrDecoy), or the decoy alone when there is none, with
// sc.problem saying why. It reports the latter.
func checkKeys(g *Guard, q *checkedRequest, sc *startedCheck) (keyless bool) {
	sc.keys, sc.problem = keysOrDecoy(g, sc.v, q)
	if len(sc.keys) > 0 {
		return false
	}
	sc.keys = g.decoyKeys
	if sc.problem == "" {
		sc.problem = "no key"
	}
	return true
}

// startOther starts the check of a scheme other than a header MAC on sc,
// as a MAC check when it is one.
func startOther(v *verifier, in *sigInput, sc *startedCheck) *refusal {
	check, no := v.scheme.start(in)
	if mc, ok := check.(*macCheck); ok && no == nil {
		sc.mac = mc
	} else {
		sc.check = check
	}
	return no
}

// keysOrDecoy returns the keys of v from files (with its inline ones) for
// q's function, or why some are missing. A key that is missing while
// others are there (a function without its own key, beside inline keys)
// is stood in for by the decoy key, so that the request costs as many MACs
// as one whose keys are all there: the time taken does not tell which
// functions have keys. (With no key at all, checkKeys gives the decoy
// alone.)
func keysOrDecoy(g *Guard, v *verifier, q *checkedRequest) ([]key, string) {
	keys, problem := v.keys.keysFor(q.route.fn, q.route.hasFn, q.now)
	if problem != "" && len(keys) > 0 {
		keys = append(keys, g.decoyKeys...)
	}
	return keys, problem
}

// cannotStart notes why v could not start a check.
func cannotStart(s *signatureChecks, v *verifier, q *checkedRequest, no *refusal, keyless bool, problem string) {
	switch {
	case keyless && no.reason.Status() == http.StatusUnauthorized:
		keyUnavailable(s, &startedCheck{v: v, problem: problem}, q)
	case problem != "":
		s.refusal = refuse(no.reason, v.name+": "+no.detail+" ("+problem+")")
		s.warnKey = ""
	default:
		s.refusal = refuse(no.reason, v.name+": "+no.detail)
		s.warnKey = ""
	}
}

// keyUnavailable notes that sc's verifier has no usable key for q's
// function.
func keyUnavailable(s *signatureChecks, sc *startedCheck, q *checkedRequest) {
	v, fn := sc.v, q.route.fn
	s.refusal = refuse(ReasonKeyUnavailable, v.name+": "+sc.problem)
	s.warnKey = v.name + "\x00" + fn.Name + "." + fn.Namespace
}

// checksSink is what the body is read into when several checks started:
// their writers, all of them standard library writers.
func checksSink(s *signatureChecks) io.Writer {
	writers := make([]io.Writer, 0, len(s.started))
	for i := range s.started {
		if sc := &s.started[i]; sc.mac != nil {
			writers = append(writers, sc.mac.body)
		} else {
			writers = append(writers, sc.check.sink())
		}
	}
	return io.MultiWriter(writers...)
}

// takeKeyTokens takes the tokens of the limits of the key v verified with
// keyID (scope "sig:<verifier>/<key id>").
func takeKeyTokens(g *Guard, q *checkedRequest, v *verifier, keyID string) *refusal {
	return takeTokens(g, q, "sig:"+v.name+"/"+keyID)
}

// acceptSigned accepts a message v verified with keyID, once the rate
// limits of the key and replay protection let it through. label is
// "<verifier>/<key id>", the value of the upstream's signature header.
func acceptSigned(g *Guard, q *checkedRequest, v *verifier, keys []key, keyID, label, replayID string) *refusal {
	d := q.d
	// The signature verified: what may refuse the message now is no
	// failure of the client's.
	if d.heldClient || d.heldUser {
		releaseHeld(g, d)
	}
	if len(g.limits) > 0 {
		if no := takeKeyTokens(g, q, v, keyID); no != nil {
			return no
		}
	}
	// Remembered once everything else has passed, and forgotten again if
	// the upstream fails (Decision.Finish), so a sender's retry of a
	// message the function did not take is not refused as a replay: in
	// this process's replay memory, within the verifier's share and its
	// key's (see verifier.setReplayShare), then in the fleet's.
	if replayID != "" && v.tolerance > 0 {
		if v.keys.perFunction != nil {
			replayID = scopedReplayID(keys, keyID, replayID)
		}
		why, retry, partition, entry := checkReplay(g.state.replay, v.replay, keyID, replayID, v.window, q.now)
		if why != "" {
			return replayRefusal(v, keyID, why, retry)
		}
		if g.store != nil {
			if no := fleetClaim(g, q, v, partition, entry); no != nil {
				return no
			}
		}
		d.replayCache, d.replayPartition, d.replayDigest = g.state.replay, partition, entry
	}
	d.Verifier, d.KeyID = v.name, keyID
	q.r.Header[g.upstream.SignatureHeader] = []string{label} // Header.Set, without the call: the name is canonical
	d.Allowed, d.Reason, d.Status = true, ReasonSigned, http.StatusOK
	return nil
}

// scopedReplayID is the replay id of a message verified with a
// function's own key: the key's scope keeps apart the messages of
// functions that share a key value.
func scopedReplayID(keys []key, keyID, replayID string) string {
	if scope := keyScope(keys, keyID); scope != "" {
		return scope + "\x00" + replayID
	}
	return replayID
}

// replayRefusal is acceptSigned's refusal of a message the replay memory
// refused with why.
func replayRefusal(v *verifier, keyID string, why Reason, retry time.Duration) *refusal {
	if why == ReasonReplayCacheFull {
		no := refuse(why, v.name+"/"+keyID+": its share of the replay cache is full (replay.max_entries, divided between verifiers and their keys): size it for the peak rate of signed requests times the tolerance")
		no.retry = retry
		return no
	}
	return refuse(why, v.name+": this message was already accepted")
}

// fleetClaimRefused is fleetClaim's refusal no of a message the replay
// memory of this process accepted: forgotten here again unless the fleet
// refused it as a replay, and named by its verifier.
func fleetClaimRefused(g *Guard, v *verifier, partition int, entry replayKey, no *refusal) *refusal {
	if no.reason != ReasonReplayed {
		g.state.replay.forget(partition, entry)
	}
	no.detail = v.name + ": " + no.detail
	return no
}

func verifierNames(vs []*verifier) string {
	s := ""
	for i, v := range vs {
		if i > 0 {
			s += ", "
		}
		s += v.name
	}
	return s
}

// takeTokens applies the rate limits whose key is known at this point:
// principal is "" before authentication (client, function and global
// limits) and the authenticated user or key after it (user limits). It
// returns the refusal of the first limit exhausted, and queues the
// fleet's buckets for the request's round trip to the store.
func takeTokens(g *Guard, q *checkedRequest, principal string) *refusal {
	for _, l := range g.limits {
		if (l.key == "user") != (principal != "") {
			continue
		}
		if l.path != nil && !l.path.match(q.path) {
			continue
		}
		var key string
		switch l.key {
		case "client":
			key = q.group
		case "function":
			if !q.route.hasFn {
				continue
			}
			fn := q.route.fn
			key = fn.Name + "." + fn.Namespace
			if fn.Namespace == "" {
				key += defaultFunctionNamespace
			}
		case "user":
			key = principal
		}
		if ok, wait := l.table.take(key, q.now, l.perSecond, l.burst); !ok {
			no := refuse(ReasonRateLimited, "rate limit "+l.name+" exhausted for "+l.key+" "+key)
			no.retry = wait
			return no
		}
		if g.store != nil {
			// The fleet's bucket too, in the request's one round trip.
			q.d.fleetTakes = append(q.d.fleetTakes, g.store.takeCommand(g.store.key("t", l.tableID(), key), q.now, l.perSecond, l.burst))
			q.d.fleetTakeNames = append(q.d.fleetTakeNames, l.name)
		}
	}
	return nil
}

// allowUnread allows a request whose body needs no verification. A body of
// known length is bounded as the upstream reads it (the server already
// holds the client to its Content-Length); one of unknown length (chunked)
// is read first, so that one past the limit gets a 413 on every host.
func allowUnread(g *Guard, q *checkedRequest, reason Reason) *refusal {
	r := q.r
	if r.ContentLength != 0 || r.Body != nil && r.Body != http.NoBody || r.Trailer != nil {
		if no := boundUnreadBody(g, q); no != nil {
			return no
		}
	}
	d := q.d // (allowing, inline)
	if d.heldClient || d.heldUser {
		releaseHeld(g, d)
	}
	d.Allowed, d.Reason, d.Status = true, reason, http.StatusOK
	return nil
}

// boundUnreadBody bounds the body of a request allowUnread allows (see
// there), and removes the identity headers from its trailers.
func boundUnreadBody(g *Guard, q *checkedRequest) *refusal {
	r := q.r
	if r.ContentLength < 0 && r.Body != nil && r.Body != http.NoBody {
		if no := holdStreamedBody(g, q, io.Discard, false); no != nil {
			return no
		}
	} else if r.ContentLength > 0 || r.Body != nil && r.Body != http.NoBody || r.Trailer != nil {
		if no := limitBody(r, g.body.max); no != nil {
			return no
		}
		g.scrubTrailers(r)
	}
	return nil
}

// refuseRequest fills in the refusal and counts it towards a ban where it counts:
// a check the decision holds ends as a failure or is released. A signed
// body that never arrives counts too (the decision holds its read), as it
// does whether or not the function has a key.
func refuseRequest(g *Guard, q *checkedRequest, no *refusal) {
	d, reason, now := q.d, no.reason, q.now
	d.Allowed = false
	d.Reason = reason
	d.Status = reason.Status()
	d.Detail = no.detail
	if no.retry > 0 {
		d.RetryAfter = no.retry
	}
	if d.Status != http.StatusUnauthorized {
		d.Challenge = ""
	}
	if d.body != nil {
		closeBody(d.body)
		d.body = nil
	}
	switch {
	case reason == ReasonKeyUnavailable && d.warnKey != "":
		d.warn = g.state.abuse.warnings.allow(d.warnKey, now)
	case reason == ReasonKeyUnavailable, reason == ReasonSpoolFailed:
		d.warn = g.state.abuse.warnings.allow(string(reason)+"\x00"+no.detail, now)
	}
	if !g.bans.enabled || !countsAsFailure(reason) {
		if d.heldClient || d.heldUser {
			releaseHeld(g, d)
		}
		return
	}
	group := q.group
	if group == "" {
		group = g.clients.group(d.Client)
	}
	userCounts := d.heldUser && reason == ReasonBadCredentials
	if d.heldClient {
		d.heldClient = false
		if g.state.abuse.clients.commit(d.heldGroup, now, g.bans.maxFailures, g.bans.window, g.bans.duration) {
			d.BannedClient = d.heldGroup
		}
	} else if !q.exempt && g.state.abuse.clients.fail(group, now, g.bans.maxFailures, g.bans.window, g.bans.duration) {
		d.BannedClient = group
	}
	// A user name counts only the password checks it admitted: none for an
	// allow-listed client or one that recently logged in as that user.
	if d.heldUser {
		d.heldUser = false
		if reason != ReasonBadCredentials {
			releaseCheck(g.state.abuse.users, d.User)
		} else if g.state.abuse.users.commit(d.User, now, g.bans.userMaxFailures, g.bans.window, g.bans.duration) {
			d.BannedUser = d.User
		}
	}
	// And for the fleet (no round trip without a store).
	clientBanned, userBanned := g.fleetFail(d, group, d.User, !q.exempt, userCounts, now)
	if clientBanned && d.BannedClient == "" {
		d.BannedClient = group
	}
	if userBanned && d.BannedUser == "" {
		d.BannedUser = d.User
	}
}

// removeIdentityHeaders removes the headers the client must not set, also
// in the spellings with underscores that CGI-style upstreams read as the
// same variable (X_Funcauth_User for X-Funcauth-User).
//
// user and signature are canonical, as the keys of a header a server
// parsed are: the builtin delete does what Header.Del would, and only
// keys of their lengths are looked at for underscores (without a call
// into the standard library for every header: see calls.go).
func removeIdentityHeaders(h http.Header, user, signature string) {
	delete(h, user)
	delete(h, signature)
	for k := range h {
		if len(k) == len(user) || len(k) == len(signature) {
			removeUnderscored(h, k, user, signature)
		}
	}
}

// removeUnderscored removes header k of h when it is user or signature
// spelt with underscores for dashes.
func removeUnderscored(h http.Header, k, user, signature string) {
	if strings.IndexByte(k, '_') < 0 {
		return
	}
	dashed := strings.ReplaceAll(k, "_", "-")
	if strings.EqualFold(dashed, user) || strings.EqualFold(dashed, signature) {
		delete(h, k)
	}
}
