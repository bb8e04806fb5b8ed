package funcauth

import (
	"crypto/sha256"
	"hash"
	"io"
	"net/http"
	"strings"
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
	return g.check(r, client, g.clients.peerTrusted(r))
}

// CheckBehindProxy is Check for a host that decides itself whether the
// peer is a trusted proxy, as Caddy does with its trusted_proxies:
// trustedPeer says it is, so its X-Forwarded-Proto tells the scheme the
// client used (for Twilio without base_url and RFC 9421's @scheme and
// @target-uri behind a TLS-terminating load balancer).
func (g *Guard) CheckBehindProxy(r *http.Request, client string, trustedPeer bool) *Decision {
	return g.check(r, client, trustedPeer)
}

func (g *Guard) check(r *http.Request, client string, trustedPeer bool) *Decision {
	d := g.decide(r, client, trustedPeer)
	if g.store != nil && (d.fleetTakes != nil || d.fleetToken != "") && g.fleetSettle(d) {
		return g.refuse(d, ReasonRateLimited, d.Detail, g.clients.group(client), g.now())
	}
	return d
}

func (g *Guard) decide(r *http.Request, client string, trustedPeer bool) *Decision {
	now := g.now()
	d := &Decision{Rule: -1, Client: client}
	removeIdentityHeaders(r.Header, g.upstream.UserHeader, g.upstream.SignatureHeader)
	g.scrubTrailers(r)
	group := g.clients.group(client)

	// A banned client costs a map lookup: no hash, no body.
	exempt := !g.bans.enabled || g.bans.allowed(client)
	if !exempt {
		if left := g.state.abuse.clients.bannedFor(group, now); left > 0 {
			d.RetryAfter = left
			return g.refuse(d, ReasonBanned, "client address is banned", group, now)
		}
	}

	path := r.URL.Path
	if path == "" {
		path = "/"
	}
	if !canonicalPath(path) {
		return g.refuse(d, ReasonBadRequest, "the path is not canonical (empty, dot or dot-dot segments, backslashes or control characters)", group, now)
	}
	fn, hasFn := functionFromPath(path)
	if !g.takeTokens(d, "", path, group, fn, hasFn, now) {
		return g.refuse(d, ReasonRateLimited, d.Detail, group, now)
	}

	rl := g.match(r, path)
	if rl == nil {
		return g.refuse(d, ReasonNoRule, "", group, now)
	}
	d.Rule, d.RulePath = rl.index, rl.path.raw

	useBasic := rl.require == requireBasic
	if rl.require == requireBasicOrSignature {
		useBasic = len(r.Header["Authorization"]) > 0 || !g.anySignaturePresent(rl, r.Header)
	}
	switch {
	case rl.require == requireOpen:
		return g.allowUnread(d, r, ReasonOpen, group, now)
	case rl.require == requireDeny:
		return g.refuse(d, ReasonDenied, "", group, now)
	case useBasic:
		return g.checkBasic(d, r, path, group, fn, hasFn, now)
	}
	return g.checkSignature(d, r, rl, path, group, fn, hasFn, trustedPeer, now)
}

// match returns the first rule that applies to r.
func (g *Guard) match(r *http.Request, path string) *rule {
	host := ""
	if g.hostRules {
		host = requestHost(r)
	}
	for _, rl := range g.rules {
		if rl.matches(r, path, host) {
			return rl
		}
	}
	return nil
}

func (g *Guard) anySignaturePresent(rl *rule, h http.Header) bool {
	for _, v := range rl.verifiers {
		if v.scheme.present(h) {
			return true
		}
	}
	return false
}

// checkBasic checks Basic Auth; a locked-out user name is refused before
// any hash is computed, and a hash is computed only within the client's
// and the user's failure budgets and a free check slot.
func (g *Guard) checkBasic(d *Decision, r *http.Request, path, group string, fn functionRef, hasFn bool, now time.Time) *Decision {
	d.Challenge = g.basic.challenge
	user, password, res := g.basic.credentials(r)
	d.User = user
	if res.reason != "" {
		return g.refuse(d, res.reason, res.detail, group, now)
	}
	lockout := g.userLockout(d.Client, group, user, now)
	if lockout {
		if left := g.state.abuse.users.bannedFor(user, now); left > 0 {
			d.RetryAfter = left
			return g.refuse(d, ReasonBanned, "user name is locked out", group, now)
		}
	}
	// A remembered success costs no hash and needs no admission.
	if !g.basic.cached(user, password, now) {
		// Bans set by other replicas, in one round trip (none without a
		// store): a password is hashed only where no replica banned.
		clientBans := g.bans.enabled && !g.bans.allowed(d.Client)
		if reason, detail := g.fleetBanned(d, group, user, clientBans, lockout, now); reason != "" {
			return g.refuse(d, reason, detail, group, now)
		}
		if reason, detail := g.admit(d, group, user, lockout, now); reason != "" {
			return g.refuse(d, reason, detail, group, now)
		}
	}
	res = g.basic.verify(user, password, now, g.hashSlots)
	if res.reason == ReasonRateLimited {
		d.RetryAfter = time.Second
	}
	if res.reason != ReasonAuthenticated {
		return g.refuse(d, res.reason, res.detail, group, now)
	}
	g.release(d)
	if g.bans.enabled && g.bans.userMaxFailures > 0 {
		g.state.abuse.logins.add(group, user, now)
	}
	if !g.takeTokens(d, "user:"+user, path, group, fn, hasFn, now) {
		return g.refuse(d, ReasonRateLimited, d.Detail, group, now)
	}
	if g.upstream.StripAuthorization {
		r.Header.Del("Authorization")
	}
	r.Header.Set(g.upstream.UserHeader, user)
	return g.allowUnread(d, r, ReasonAuthenticated, group, now)
}

// userLockout reports whether the lockout of user applies to this client:
// not to an allow-listed one, nor to one that recently authenticated as
// that user, so that other clients' failures cannot lock it out.
func (g *Guard) userLockout(client, group, user string, now time.Time) bool {
	return g.bans.enabled && g.bans.userMaxFailures > 0 && !g.bans.allowed(client) &&
		!g.state.abuse.logins.has(group, user, now)
}

// admit reserves an expensive check (a password hash, or a signed body
// read when user is "") in the client's failure budget and, when
// userBudget, in the user's, counting the checks still in flight: a check
// past either budget is refused before it starts. The decision holds the
// reservations until refuse counts them or release ends them.
func (g *Guard) admit(d *Decision, group, user string, userBudget bool, now time.Time) (Reason, string) {
	if g.bans.enabled && !g.bans.allowed(d.Client) {
		ok, wait, banned := g.state.abuse.clients.reserve(group, now, g.bans.maxFailures, g.bans.window)
		if !ok {
			d.RetryAfter = wait
			if banned {
				return ReasonBanned, "client address is banned"
			}
			return ReasonRateLimited, "bans.max_failures: as many checks of this client address as may still fail are failed or in progress"
		}
		d.heldClient, d.heldGroup = true, group
	}
	if userBudget {
		ok, wait, banned := g.state.abuse.users.reserve(user, now, g.bans.userMaxFailures, g.bans.window)
		if !ok {
			d.RetryAfter = wait
			if banned {
				return ReasonBanned, "user name is locked out"
			}
			return ReasonRateLimited, "bans.user_max_failures: as many checks of this user name as may still fail are failed or in progress"
		}
		d.heldUser = true
	}
	return "", ""
}

// release ends the checks the decision holds without counting a failure.
func (g *Guard) release(d *Decision) {
	if d.heldClient {
		g.state.abuse.clients.release(d.heldGroup)
	}
	if d.heldUser {
		g.state.abuse.users.release(d.User)
	}
	d.heldClient, d.heldUser = false, false
}

// checkSignature reads the body once through every verifier of the rule
// whose signature the request carries, and accepts it when one verifies.
// A verifier with no key for the function checks the signature against a
// decoy key, so that such a function is refused at the same point, after
// the same body read and with the same status, as one whose key does not
// match: which functions have keys cannot be learned.
func (g *Guard) checkSignature(d *Decision, r *http.Request, rl *rule, path, group string, fn functionRef, hasFn, trustedPeer bool, now time.Time) *Decision {
	d.Challenge = g.sigChallenge
	var reason Reason
	var detail, warnKey string
	pending := make([]*verifier, 0, len(rl.verifiers))
	pendingKeys := make([][]key, 0, len(rl.verifiers))
	checks := make([]sigCheck, 0, len(rl.verifiers))
	needDigest := false
	problems := make([]string, 0, len(rl.verifiers)) // why a pending verifier has only the decoy key
	for _, v := range rl.verifiers {
		if !v.scheme.present(r.Header) {
			continue
		}
		keys, problem := v.keys.keysFor(fn, hasFn, now)
		keyless := len(keys) == 0
		if keyless {
			keys = g.decoyKeys
			if problem == "" {
				problem = "no key"
			}
		}
		c, why, more := v.scheme.start(&sigInput{r: r, now: now, keys: keys, tolerance: v.tolerance, forwardedProtoTrusted: trustedPeer})
		if why != "" {
			reason, detail, warnKey = why, v.name+": "+more, ""
			if keyless && why.Status() == http.StatusUnauthorized {
				reason, detail, warnKey = ReasonKeyUnavailable, v.name+": "+problem, v.name+"\x00"+fn.Name+"."+fn.Namespace
			} else if problem != "" {
				detail += " (" + problem + ")"
			}
			continue
		}
		if !keyless {
			problem = ""
		}
		pending = append(pending, v)
		pendingKeys = append(pendingKeys, keys)
		checks = append(checks, c)
		needDigest = needDigest || v.tolerance > 0
		problems = append(problems, problem)
	}
	if len(checks) == 0 {
		if reason == "" {
			reason = ReasonMissingSignature
			detail = "no signature header of " + verifierNames(rl.verifiers)
		}
		d.warnKey = warnKey
		return g.refuse(d, reason, detail, group, now)
	}

	// The body read is an expensive check too: within the failure budget.
	if why, more := g.admit(d, group, "", false, now); why != "" {
		return g.refuse(d, why, more, group, now)
	}

	// The body's SHA-256 identifies the message for replay protection.
	var bodyDigest hash.Hash
	var sink io.Writer = checks[0]
	if len(checks) > 1 || needDigest {
		writers := make(fanOut, 0, len(checks)+1)
		for _, c := range checks {
			writers = append(writers, c)
		}
		if needDigest {
			bodyDigest = sha256.New()
			writers = append(writers, bodyDigest)
		}
		sink = writers
	}
	body, why, more := readBody(r, &g.body, sink)
	if why != "" {
		return g.refuse(d, why, more, group, now)
	}
	if bodyDigest != nil {
		body.digest = bodyDigest.Sum(nil)
	}
	d.body = body
	for i, c := range checks {
		v := pending[i]
		if body.size == 0 && v.refuseEmptyBody {
			// Checked before the MAC, which would tell nothing new: every
			// bodiless request of this scheme carries the same one.
			reason, detail = ReasonEmptyBody, v.name+": signs the body alone, and an empty body's signature is the same for every request (set allow_empty_body to accept it)"
			continue
		}
		keyID, replayID, why, more := c.finish(body)
		if problems[i] != "" {
			reason, detail, warnKey = ReasonKeyUnavailable, v.name+": "+problems[i], v.name+"\x00"+fn.Name+"."+fn.Namespace
			continue
		}
		if why != "" {
			reason, detail, warnKey = why, v.name+": "+more, ""
			continue
		}
		g.release(d)
		principal := v.name + "/" + keyID
		if !g.takeTokens(d, "sig:"+principal, path, group, fn, hasFn, now) {
			return g.refuse(d, ReasonRateLimited, d.Detail, group, now)
		}
		// Remembered once everything else has passed, and forgotten again
		// if the upstream fails (Decision.Finish), so a sender's retry of
		// a message the function did not take is not refused as a replay.
		if replayID != "" && v.tolerance > 0 {
			scope := keyScope(pendingKeys[i], keyID)
			if scope != "" {
				replayID = scope + "\x00" + replayID
			}
			quota := g.replayQuota(v, keyID)
			why, retry, partition, entry := g.state.replay.check(quota, replayID, v.replayWindow(), now)
			if why != "" {
				d.RetryAfter = retry
				detail := v.name + ": this message was already accepted"
				if why == ReasonReplayCacheFull {
					detail = v.name + "/" + keyID + ": its share of the replay cache is full (replay.max_entries, divided between verifiers and their keys): size it for the peak rate of signed requests times the tolerance"
				}
				return g.refuse(d, why, detail, group, now)
			}
			// Then for the whole fleet, with the client's bans (no round
			// trip without a store).
			if why, more := g.fleetClaim(d, entry, v.replayWindow(), group, now); why != "" {
				if why != ReasonReplayed {
					g.state.replay.forget(partition, entry)
				}
				return g.refuse(d, why, v.name+": "+more, group, now)
			}
			d.replayCache = g.state.replay
			d.replayPartition = partition
			d.replayDigest = entry
		}
		d.Verifier, d.KeyID = v.name, keyID
		r.Header.Set(g.upstream.SignatureHeader, principal)
		return g.allow(d, ReasonSigned)
	}
	d.warnKey = warnKey
	return g.refuse(d, reason, detail, group, now)
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

// fanOut feeds the body to several checks (and the body's digest) at once.
type fanOut []io.Writer

func (f fanOut) Write(p []byte) (int, error) {
	for _, c := range f {
		c.Write(p)
	}
	return len(p), nil
}

// takeTokens applies the rate limits whose key is known at this point:
// principal is "" before authentication (client, function and global
// limits) and the authenticated user or key after it (user limits).
func (g *Guard) takeTokens(d *Decision, principal, path, group string, fn functionRef, hasFn bool, now time.Time) bool {
	for _, l := range g.limits {
		if (l.key == "user") != (principal != "") {
			continue
		}
		if l.path != nil && !l.path.match(path) {
			continue
		}
		var key string
		switch l.key {
		case "client":
			key = group
		case "function":
			if !hasFn {
				continue
			}
			key = fn.Name + "." + fn.Namespace
			if fn.Namespace == "" {
				key += defaultFunctionNamespace
			}
		case "user":
			key = principal
		}
		if ok, wait := l.table.take(key, now, l.perSecond, l.burst); !ok {
			d.RetryAfter = wait
			d.Detail = "rate limit " + l.name + " exhausted for " + l.key + " " + key
			return false
		}
		if g.store != nil {
			// The fleet's bucket too, in the request's one round trip.
			d.fleetTakes = append(d.fleetTakes, g.store.takeCommand(g.store.key("t", l.tableID(), key), now, l.perSecond, l.burst))
			d.fleetTakeNames = append(d.fleetTakeNames, l.name)
		}
	}
	return true
}

// allowUnread allows a request whose body needs no verification. A body of
// known length is bounded as the upstream reads it (the server already
// holds the client to its Content-Length); one of unknown length (chunked)
// is read first, so that one past the limit gets a 413 on every host.
func (g *Guard) allowUnread(d *Decision, r *http.Request, reason Reason, group string, now time.Time) *Decision {
	if r.ContentLength < 0 && r.Body != nil && r.Body != http.NoBody {
		body, why, detail := readBody(r, &g.body, io.Discard)
		if why != "" {
			return g.refuse(d, why, detail, group, now)
		}
		d.body = body
		return g.allow(d, reason)
	}
	if why, detail := limitBody(r, g.body.max); why != "" {
		return g.refuse(d, why, detail, group, now)
	}
	return g.allow(d, reason)
}

func (g *Guard) allow(d *Decision, reason Reason) *Decision {
	g.release(d)
	d.Allowed = true
	d.Reason = reason
	d.Status = http.StatusOK
	return d
}

// refuse fills in a refusal and counts it towards a ban where it counts:
// a check the decision holds ends as a failure or is released. A signed
// body that never arrives counts too (the decision holds its read), as it
// does whether or not the function has a key.
func (g *Guard) refuse(d *Decision, reason Reason, detail, group string, now time.Time) *Decision {
	d.Allowed = false
	d.Reason = reason
	d.Status = reason.Status()
	d.Detail = detail
	if d.Status != http.StatusUnauthorized {
		d.Challenge = ""
	}
	if d.body != nil {
		d.body.Close()
		d.body = nil
	}
	switch {
	case reason == ReasonKeyUnavailable && d.warnKey != "":
		d.warn = g.state.abuse.warnings.allow(d.warnKey, now)
	case reason == ReasonKeyUnavailable, reason == ReasonSpoolFailed:
		d.warn = g.state.abuse.warnings.allow(string(reason)+"\x00"+detail, now)
	}
	counts := g.bans.enabled && countsAsFailure(reason)
	if !counts {
		g.release(d)
		return d
	}
	clientCounts := !g.bans.allowed(d.Client)
	userCounts := d.heldUser && reason == ReasonBadCredentials
	if d.heldClient {
		d.heldClient = false
		if g.state.abuse.clients.commit(d.heldGroup, now, g.bans.maxFailures, g.bans.window, g.bans.duration) {
			d.BannedClient = d.heldGroup
		}
	} else if !g.bans.allowed(d.Client) && g.state.abuse.clients.fail(group, now, g.bans.maxFailures, g.bans.window, g.bans.duration) {
		d.BannedClient = group
	}
	// A user name counts only the password checks it admitted: none for an
	// allow-listed client or one that recently logged in as that user.
	if d.heldUser {
		d.heldUser = false
		if reason != ReasonBadCredentials {
			g.state.abuse.users.release(d.User)
		} else if g.state.abuse.users.commit(d.User, now, g.bans.userMaxFailures, g.bans.window, g.bans.duration) {
			d.BannedUser = d.User
		}
	}
	// And for the fleet (no round trip without a store).
	clientBanned, userBanned := g.fleetFail(d, group, d.User, clientCounts, userCounts, now)
	if clientBanned && d.BannedClient == "" {
		d.BannedClient = group
	}
	if userBanned && d.BannedUser == "" {
		d.BannedUser = d.User
	}
	return d
}

// removeIdentityHeaders removes the headers the client must not set, also
// in the spellings with underscores that CGI-style upstreams read as the
// same variable (X_Funcauth_User for X-Funcauth-User).
func removeIdentityHeaders(h http.Header, user, signature string) {
	h.Del(user)
	h.Del(signature)
	for k := range h {
		if strings.IndexByte(k, '_') < 0 {
			continue
		}
		dashed := strings.ReplaceAll(k, "_", "-")
		if strings.EqualFold(dashed, user) || strings.EqualFold(dashed, signature) {
			delete(h, k)
		}
	}
}
