package funcauth

import (
	"crypto/sha256"
	"encoding/base64"
	"sync/atomic"
	"time"
)

// What the Guard shares with the other replicas through the store (see
// Store): the messages accepted, failure counts, bans, password checks in
// flight and rate-limit tokens. Every decision that consults the store
// does so in one round trip, at the point where it needs to: a signed
// message when it has verified (the client's ban and the claim,
// pipelined), a password before it is hashed (the bans of the client and the
// user, and a place among their checks in flight), a failure when it is
// counted; a password check that does not fail ends with one more, which
// releases its place. A client known to be banned is refused from this
// process's own tables, with no round trip: each replica learns a ban when
// a round trip tells it, and keeps it locally for the ban's length.

// banKeys are the store keys of the failure count and the ban of one
// client group or user name (kind "client" or "user").
func (s *sharedStore) banKeys(kind, who string) (count, ban string) {
	ban = banKey(s, kind, who)
	count = s.prefix + "f" + ban[len(s.prefix)+1:]
	return count, ban
}

// banKey is the ban's key of banKeys alone, s.key("b", kind, who)
// written out for the claim of every signed message: under Yaegi, a third
// of the cost of the general method.
func banKey(s *sharedStore, kind, who string) string {
	sum := sha256.Sum256([]byte(kind + "\x00" + who + "\x00"))
	return s.prefix + "b:" + base64.RawURLEncoding.EncodeToString(sum[:18])
}

// heldKey is the store key of the checks in flight of the ban key's
// client group or user name.
func (s *sharedStore) heldKey(ban string) string {
	return s.prefix + "h" + ban[len(s.prefix)+1:]
}

// A remembered message's store key is the prefix, "r:" and its digest
// (see fleetClaim), which already names the verifier (and the function,
// for per-function keys).

// storeExec runs cmds through the store and notes on d an outage that
// this call began or ended, for the host's log. On an error it returns
// nil replies and the caller follows the concern's OnError policy. A
// decision whose call failed makes no other: it goes on as its first
// failure said, so that a request waits for a failing store once, not
// once for each of its calls (a password check makes two).
func storeExec(s *sharedStore, d *Decision, cmds []string, now time.Time) []respValue {
	if d.storeFailed {
		return nil
	}
	replies, event, err := storeDo(s, cmds, now, true)
	return storeOutcome(d, replies, event, err)
}

// storeOutcome is storeExec's bookkeeping of what storeDo returned.
func storeOutcome(d *Decision, replies []respValue, event string, err error) []respValue {
	switch event {
	case storeWentDown:
		noteStoreEvent(d, "store failing, following the on_error policies until it answers: "+err.Error(), true)
	case storeCameBack:
		noteStoreEvent(d, "store answers again", false)
	}
	if err != nil {
		d.storeFailed = true
		return nil
	}
	return replies
}

// noteStoreEvent sets the decision's store event, after the one an
// earlier call of the same decision made, if any: an outage that ended
// and began again (other requests' calls failing meanwhile) is logged as
// both, once.
func noteStoreEvent(d *Decision, event string, outage bool) {
	if d.StoreEvent != "" {
		event = d.StoreEvent + "; then " + event
	}
	d.StoreEvent, d.StoreOutage = event, outage
}

// fleetBanned admits a password check for the whole fleet before it is
// hashed, in one round trip: it refuses when the client's group (or, when
// userToo, the user name) is banned anywhere in the fleet, banning it here
// too for what is left, and when the group's or the user's failures and
// checks in flight across the fleet reach its limit (the concurrency rule,
// fleet-wide: at most max_failures guesses hashed at once by all replicas
// together). An admitted check is held in the store until fleetFail
// counts it or fleetSettle releases it. It returns the refusal, or nil to
// go on. With the store unreachable, bans_on_error decides: "local" goes
// on with this process's tables, "deny" refuses.
func (g *Guard) fleetBanned(q *checkedRequest, user string, userToo bool) *refusal {
	d, group, now, clientToo := q.d, q.group, q.now, !q.exempt
	if g.store == nil || !g.bans.enabled || (!clientToo && !userToo) {
		return nil // the fleet's tokens, if any, are taken at the end
	}
	keys := make([]string, 0, 6)
	limits := make([]int, 0, 2)
	var clientHeld, userHeld string
	if clientToo {
		count, ban := g.store.banKeys("client", group)
		clientHeld = g.store.heldKey(ban)
		keys = append(keys, count, ban, clientHeld)
		limits = append(limits, g.bans.maxFailures)
	}
	if userToo {
		count, ban := g.store.banKeys("user", user)
		userHeld = g.store.heldKey(ban)
		keys = append(keys, count, ban, userHeld)
		limits = append(limits, g.bans.userMaxFailures)
	}
	token := g.store.checkToken()
	cmds := d.fleetTakes
	takes := len(cmds)
	cmds = append(cmds, g.store.admitCommand(keys, limits, token, now))
	replies := storeExec(g.store, d, cmds, now)
	if replies == nil {
		dropFleetTakes(d) // rate limits fall back to this process's buckets
		return storeBansUnavailable(g, d)
	}
	outcome, scope, left, ok := admitted(replies[takes])
	if ok && outcome == 0 {
		// Held until counted or released, even if a token is refused now.
		d.fleetToken, d.fleetClientHeld, d.fleetUserHeld = token, clientHeld, userHeld
	}
	if g.fleetTokensRefused(d, replies[:takes]) {
		return refuse(ReasonRateLimited, d.Detail)
	}
	if !ok {
		// A reply the admit script does not make (an error reply fails
		// the call: see answeredError).
		return storeBansUnavailable(g, d)
	}
	if outcome == 0 {
		return nil
	}
	userScope := !clientToo || scope == 2
	if outcome == 1 {
		d.RetryAfter = left
		if userScope {
			g.state.abuse.users.banFor(user, now, left)
			return refuse(ReasonBanned, "user name is locked out (by the fleet)")
		}
		g.state.abuse.clients.banFor(group, now, left)
		return refuse(ReasonBanned, "client address is banned (by the fleet)")
	}
	d.RetryAfter = time.Second
	if userScope {
		return refuse(ReasonRateLimited, "bans.user_max_failures: as many checks of this user name as may still fail are failed or in progress across the fleet")
	}
	return refuse(ReasonRateLimited, "bans.max_failures: as many checks of this client address as may still fail are failed or in progress across the fleet")
}

// storeBansUnavailable is fleetBanned's answer when the store cannot
// say: store.bans_on_error "deny" refuses the check, "local" lets this
// process's tables decide.
func storeBansUnavailable(g *Guard, d *Decision) *refusal {
	if g.store.bansOnError == storeDeny {
		d.RetryAfter = time.Second
		return refuse(ReasonStoreUnavailable, "store unreachable or failing, and store.bans_on_error is deny")
	}
	return nil
}

// fleetFail counts a failure of the client's group (and, when userToo, of
// the user name) in the store, one round trip for both, and bans here what
// the fleet's count bans. The checks the fleet admitted for the request
// end with it: counted where the failure counts, released where it does
// not. It reports which bans this failure started. With the store
// unreachable the failure counts here only, as bans_on_error "local"
// says; "deny" changes nothing for a request already refused.
func (g *Guard) fleetFail(d *Decision, group, user string, clientToo, userToo bool, now time.Time) (clientBanned, userBanned bool) {
	if g.store == nil || (!clientToo && !userToo) {
		return false, false
	}
	cmds := d.fleetTakes // a refused request spends the fleet's tokens too
	takes := len(cmds)
	dropFleetTakes(d)
	token, clientHeld, userHeld := d.fleetToken, d.fleetClientHeld, d.fleetUserHeld
	d.fleetToken, d.fleetClientHeld, d.fleetUserHeld = "", "", ""
	if clientToo {
		count, ban := g.store.banKeys("client", group)
		cmds = append(cmds, g.store.failCommand(count, ban, clientHeld, token, g.bans.maxFailures, g.bans.window, g.bans.duration))
	} else if clientHeld != "" {
		cmds = append(cmds, g.store.releaseCommand(clientHeld, token))
	}
	if userToo {
		count, ban := g.store.banKeys("user", user)
		cmds = append(cmds, g.store.failCommand(count, ban, userHeld, token, g.bans.userMaxFailures, g.bans.window, g.bans.duration))
	} else if userHeld != "" {
		cmds = append(cmds, g.store.releaseCommand(userHeld, token))
	}
	replies := storeExec(g.store, d, cmds, now)
	if replies == nil {
		return false, false
	}
	i := takes
	if clientToo {
		if n, left, ok := failed(replies[i]); ok && left > 0 {
			g.state.abuse.clients.banFor(group, now, left)
			clientBanned = n > 0 // n is 0 when the ban was on already
		}
		i++
	} else if clientHeld != "" {
		i++
	}
	if userToo {
		if n, left, ok := failed(replies[i]); ok && left > 0 {
			g.state.abuse.users.banFor(user, now, left)
			userBanned = n > 0
		}
	}
	return clientBanned, userBanned
}

// fleetSettle makes the round trip a decision still needs once it is
// made, if any: the fleet's tokens of an allowed request that no round
// trip took yet (an open route, a cached password, a user's limits after
// a password check), and the release of password checks the fleet
// admitted that did not fail. It reports whether the fleet refused a
// token, with the limit's wait and detail on d.
func (g *Guard) fleetSettle(d *Decision) bool {
	var cmds []string
	if d.Allowed {
		cmds = d.fleetTakes
	}
	takes := len(cmds)
	if d.fleetClientHeld != "" {
		cmds = append(cmds, g.store.releaseCommand(d.fleetClientHeld, d.fleetToken))
	}
	if d.fleetUserHeld != "" {
		cmds = append(cmds, g.store.releaseCommand(d.fleetUserHeld, d.fleetToken))
	}
	d.fleetToken, d.fleetClientHeld, d.fleetUserHeld = "", "", ""
	if len(cmds) == 0 {
		dropFleetTakes(d)
		return false
	}
	replies := storeExec(g.store, d, cmds, g.now())
	if replies != nil {
		replies = replies[:takes]
	}
	return g.fleetTokensRefused(d, replies)
}

// fleetClaim claims for the whole fleet a message v verified, which the
// replay memory of this process accepted (in partition, as entry), in one
// round trip with the client's ban. It returns the refusal (see
// fleetClaimRefused), or nil when the message is new everywhere. With the
// store unreachable, replay_on_error decides: "deny" (the default)
// refuses with 429, so that no message can be accepted twice while the
// replicas cannot agree; "local" relies on this process's memory.
func fleetClaim(g *Guard, q *checkedRequest, v *verifier, partition int, entry replayKey) *refusal {
	s, d := g.store, q.d
	// Written for Yaegi (see redisDo): the command is one concatenation
	// of parts made beforehand, the call one function call. windowArg is
	// the replay window in milliseconds as a RESP argument (see
	// verifier.windowArg).
	claim := s.prefix + "r:" + base64.RawURLEncoding.EncodeToString(entry[:])
	// A SET NX PX; where bans apply (not bans off, not an allow-listed
	// client), after the PTTL of the client's ban, in the same round trip.
	// Two commands rather than a script that runs both: Redis spends twice
	// as long on the script's call (see claimRefused for a banned client's
	// claim).
	var cmds []string
	if q.exempt {
		cmds = []string{claimSetCommand(s, v, claim)}
	} else {
		cmds = []string{clientBanCommand(s, q), claimSetCommand(s, v, claim)}
	}
	var replies []respValue
	var no *refusal
	if len(d.fleetTakes) > 0 {
		replies, no = claimWithTokens(g, q, claim, cmds)
	} else if atomic.LoadInt32(&s.troubled) != 0 {
		replies = storeExec(s, d, cmds, q.now)
	} else {
		// storeExec's usual case, inline (two calls less under Yaegi):
		// the store is healthy, and its outage bookkeeping only runs when
		// the call fails, is answered an error, or meets trouble.
		var err error
		replies, err = redisDo(s.client, cmds, q.now)
		if err != nil || replies[len(cmds)-1].kind == '-' || len(cmds) == 2 && replies[0].kind == '-' || atomic.LoadInt32(&s.troubled) != 0 {
			replies = settleClaim(s, d, cmds, replies, err, q.now)
		}
	}
	switch {
	case no != nil:
	case replies == nil:
		no = claimUnanswered(s, d)
	default:
		// (Pointers to the replies: under Yaegi each replies[i].field
		// would copy the whole reply.) SET's OK, and no ban: PTTL is -2
		// for no key.
		r := &replies[len(replies)-1]
		ban := &replies[0]
		if r.kind == '+' && (len(replies) == 1 || ban.kind == ':' && ban.num <= 0) {
			d.store = s
			d.storeClaim = claim
			d.clock = g.now
			return nil
		}
		no = claimRefused(g, q, claim, replies)
	}
	if no == nil {
		return nil
	}
	return fleetClaimRefused(g, v, partition, entry, no)
}

// settleClaim is storeExec's end for the claim fleetClaim sent itself.
func settleClaim(s *sharedStore, d *Decision, cmds []string, replies []respValue, err error, now time.Time) []respValue {
	replies, event, err := storeSettle(s, cmds, replies, err, now, true)
	return storeOutcome(d, replies, event, err)
}

// clientBanCommand asks for what is left of the ban of q's client group:
// the PTTL of its ban key, which the claim of a client bans apply to
// sends before its SET.
func clientBanCommand(s *sharedStore, q *checkedRequest) string {
	// (banKey(s, "client", q.group), inline: a call less per message
	// under Yaegi.)
	sum := sha256.Sum256([]byte("client\x00" + q.group + "\x00"))
	return "*2\r\n$4\r\nPTTL\r\n" + s.banHead + s.prefix + "b:" + base64.RawURLEncoding.EncodeToString(sum[:18]) + "\r\n"
}

// claimSetCommand claims a message: SET NX PX, for the replay window.
func claimSetCommand(s *sharedStore, v *verifier, claim string) string {
	return "*6\r\n$3\r\nSET\r\n" + s.claimHead + claim + "\r\n$1\r\n1\r\n$2\r\nNX\r\n$2\r\nPX\r\n" + v.windowArg
}

// claimWithTokens sends the claim's commands after the request's fleet
// rate-limit tokens, in the same round trip, and returns the claim's
// replies (none when the store did not answer), or the refusal of an
// exhausted limit.
func claimWithTokens(g *Guard, q *checkedRequest, claim string, cmds []string) ([]respValue, *refusal) {
	s, d := g.store, q.d
	takes := len(d.fleetTakes)
	replies := storeExec(s, d, append(d.fleetTakes, cmds...), q.now)
	if replies != nil && g.fleetTokensRefused(d, replies[:takes]) {
		if replies[len(replies)-1].kind == '+' { // SET's OK
			s.forget(claim, q.now) // not accepted after all
		}
		return nil, refuse(ReasonRateLimited, d.Detail)
	}
	dropFleetTakes(d)
	if replies == nil {
		return nil, nil
	}
	return replies[takes:], nil
}

// claimUnanswered is what a claim the store did not answer gets, as
// store.replay_on_error says.
func claimUnanswered(s *sharedStore, d *Decision) *refusal {
	if s.replayOnError == storeDeny {
		d.RetryAfter = time.Second
		return refuse(ReasonStoreUnavailable, "store unreachable and store.replay_on_error is deny: no replica can tell whether the message is new")
	}
	return nil
}

// claimRefused is the refusal of a claim the store answered with replies
// (the client's ban's PTTL, when sent, then SET's): the client is banned
// (by the fleet), the message is known, or the store failed. A message
// that SET claimed all the same is dropped again (one more round trip,
// for a banned client the first time a replica hears of the ban: it then
// refuses the client from its own table), so that its sender's retry,
// after the ban or from another address, is not refused as replayed.
func claimRefused(g *Guard, q *checkedRequest, claim string, replies []respValue) *refusal {
	d := q.d
	set := &replies[len(replies)-1]
	if set.kind == '+' {
		g.store.forget(claim, q.now)
	}
	if len(replies) == 2 {
		ban := &replies[0]
		if ban.kind != ':' { // (an error reply fails the call: see answeredError)
			d.RetryAfter = time.Second
			return refuse(ReasonStoreUnavailable, "store answered the client's ban with an unexpected reply")
		}
		if ban.num > 0 {
			left := time.Duration(ban.num) * time.Millisecond
			g.state.abuse.clients.banFor(q.group, q.now, left)
			d.RetryAfter = left
			return refuse(ReasonBanned, "client address is banned (by the fleet)")
		}
	}
	if set.kind == '$' && set.null { // SET found the key
		return refuse(ReasonReplayed, "this message was already accepted (by the fleet)")
	}
	d.RetryAfter = time.Second
	return refuse(ReasonStoreUnavailable, "store answered the claim with an unexpected reply")
}

// fleetForget drops a claimed message from the store, so that the
// sender's retry is accepted by any replica.
func (d *Decision) fleetForget() {
	if d.store == nil || d.storeClaim == "" {
		return
	}
	d.store.forget(d.storeClaim, d.clock())
	d.storeClaim = ""
}

// banFor bans key here for left, as the fleet's store says it is banned.
func (t *failureTable) banFor(key string, now time.Time, left time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := now.UnixNano()
	e := failureEntryOf(t, key, n, 0)
	if until := n + int64(left); until > e.bannedUntil {
		e.bannedUntil = until
		e.failures = 0
		e.windowStart = until
	}
}

// dropFleetTakes forgets the fleet's token takes the decision has not
// sent, with their limits' names, which go in pairs.
func dropFleetTakes(d *Decision) {
	d.fleetTakes = nil
	d.fleetTakeNames = nil
}

// fleetTokensRefused reads the replies to the fleet's token takes: it
// reports an exhausted bucket (with its wait and detail on d), and marks
// the tokens taken. nil replies (the store is unreachable) refuse nothing:
// rate limits fall back to this process's buckets, which were taken first.
func (g *Guard) fleetTokensRefused(d *Decision, replies []respValue) bool {
	names := d.fleetTakeNames
	dropFleetTakes(d)
	for i, r := range replies {
		allowed, wait, ok := took(r)
		if ok && !allowed {
			d.RetryAfter = wait
			d.Detail = "rate limit " + names[i] + " exhausted for the fleet"
			return true
		}
	}
	return false
}
