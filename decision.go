package funcauth

import (
	"net/http"
	"strconv"
	"sync/atomic"
	"time"
)

// Decision is the outcome of checking one request.
type Decision struct {
	// Allowed reports whether the request may go on to the upstream.
	Allowed bool
	// Status is the HTTP status to answer with when the request is refused.
	Status int
	// Reason says why.
	Reason Reason
	// Rule is the index of the rule that matched (-1 when none did) and
	// RulePath its path, for logs.
	Rule     int
	RulePath string
	// User is the Basic Auth user name: authenticated when Allowed, the
	// name that was tried otherwise (for logs; may be empty).
	User string
	// Verifier and KeyID name the signature verifier and key that accepted
	// a signed request.
	Verifier string
	KeyID    string
	// Client is the client address the decision applied to.
	Client string
	// Challenge is the WWW-Authenticate value to send with a 401, if any.
	Challenge string
	// RetryAfter is how long a refused client should wait (429).
	RetryAfter time.Duration
	// Detail explains the reason for the operator's log (which file is
	// missing, which limit is exhausted). It never holds a secret and is
	// never sent to the client.
	Detail string
	// BannedClient and BannedUser are set on the refusal that started a
	// ban of the client's address group or of the user name, so that a
	// log line marks the start of each ban.
	BannedClient string
	BannedUser   string
	// StoreEvent is set on the decision whose call to the shared store
	// began an outage (calls failed three times in a row) or ended one:
	// one log line per outage and one per recovery.
	StoreEvent string
	// StoreOutage says that StoreEvent begins an outage; it is false when
	// StoreEvent reports its end. (A decision that makes several calls can
	// end an outage with one and fail another, which begins none.)
	StoreOutage bool

	body *spooledBody

	// firstOfSecond marks the first decision of a second for the Guard's
	// State (see Guard.Handler).
	firstOfSecond bool

	// The admissions the decision holds in the failure tables while its
	// password check or signed body read runs (see failureTable.reserve).
	heldClient bool
	heldGroup  string
	heldUser   bool

	// warn is set on a refusal worth a warning now (see Warn); warnKey
	// names a missing key's verifier and function.
	warn    bool
	warnKey string

	// The message remembered for replay protection, forgotten again if
	// the upstream fails.
	replayCache     *replayCache
	replayPartition int
	replayDigest    replayKey

	// The shared store and the key of the message claimed in it, forgotten
	// with the local memory; storeFailed notes a call that failed.
	store       *sharedStore
	storeClaim  string
	storeFailed bool
	clock       func() time.Time

	// The fleet's rate-limit tokens to take in the request's round trip,
	// with the names of their limits; nil once taken.
	fleetTakes     []string
	fleetTakeNames []string

	// The password check the fleet admitted (fleetBanned), held in the
	// store's checks in flight of the client group and of the user (each
	// "" when not held) until it is counted or released.
	fleetToken      string
	fleetClientHeld string
	fleetUserHeld   string
}

// WriteHeaders sets the response headers a refusal needs: the challenge of a
// 401 and the Retry-After of a 429.
func (d *Decision) WriteHeaders(h http.Header) {
	if d.Challenge != "" && d.Status == http.StatusUnauthorized {
		h.Set("WWW-Authenticate", d.Challenge)
	}
	if d.RetryAfter > 0 {
		secs := int64((d.RetryAfter + time.Second - 1) / time.Second)
		h.Set("Retry-After", strconv.FormatInt(secs, 10))
	}
}

// StoreFailed reports whether a call to the shared store failed for this
// decision (it then followed the store's on_error policy), for metrics.
func (d *Decision) StoreFailed() bool { return d.storeFailed }

// BanStarted reports whether this refusal started a ban.
func (d *Decision) BanStarted() bool {
	return d.BannedClient != "" || d.BannedUser != ""
}

// Warn reports whether the refusal deserves a warning in the operator's
// log, not only the line every refusal gets: the start of a ban, and a key
// or disk that fails. A failure that repeats with every request warns at
// most once a minute for one verifier and function (or for the disk), so
// a missing key file does not flood the log.
func (d *Decision) Warn() bool { return d.BanStarted() || d.warn }

// RemembersMessage reports whether replay protection holds this request's
// message, which Finish forgets if the upstream fails: hosts need the
// upstream's status then.
func (d *Decision) RemembersMessage() bool { return d.replayCache != nil }

// Pass hands an allowed request to next and finishes the decision with the
// status next answered (see Finish).
func (d *Decision) Pass(w http.ResponseWriter, r *http.Request, next http.Handler) {
	pass(d, w, r, next)
}

// pass is Pass (see calls.go).
func pass(d *Decision, w http.ResponseWriter, r *http.Request, next http.Handler) {
	if body := d.body; body != nil {
		d.body = nil
		if body.file != nil || body.upstream != nil {
			defer closeBody(body)
		} else if body.reserved > 0 {
			// The body's memory goes back to the budget whatever next
			// does, panics included, by a deferred call into the
			// standard library (closeBody, inline: see calls.go).
			defer atomic.AddInt64(&bodyMemory.held, -body.reserved)
			body.reserved = 0
		}
	}
	if d.replayCache == nil {
		next.ServeHTTP(w, r)
		return
	}
	rec := new(StatusRecorder) // (not a composite literal: see checkRequest)
	rec.ResponseWriter = w
	next.ServeHTTP(rec, r)
	// Not deferred: if next panics, the message stays remembered, as for
	// a status of 0 (see Finish). (Finish, inline: the body is done with
	// already.)
	if rec.status >= 500 {
		d.replayCache.forget(d.replayPartition, d.replayDigest)
		d.fleetForget()
	}
	d.replayCache = nil
}

// Finish ends an allowed request with the status the upstream answered
// and releases what the decision holds.
//
// status is the upstream's explicit answer, as StatusRecorder records it:
// the final status it wrote, 200 when it wrote or flushed a body without
// one, 101 when it switched protocols or took the connection (a WebSocket
// upgrade); or, from a host whose proxy reports failures as errors
// (Caddy), the status of that error, such as the reverse proxy's 502, 503
// or 504 when the upstream could not be reached. 0 means no answer was
// seen: the handler returned without writing (net/http then sends an
// implicit 200), it panicked, or the client went away.
//
// A signed message is forgotten by replay protection only when status is
// 5xx: the upstream explicitly failed or was never reached, so the
// sender's retry must get through. Anything else, 0 included, may have
// reached the function, and the message stays remembered: a replay of it
// is refused.
func (d *Decision) Finish(status int) {
	if status >= 500 && d.replayCache != nil {
		d.replayCache.forget(d.replayPartition, d.replayDigest)
		d.fleetForget()
	}
	d.replayCache = nil
	if d.body != nil {
		closeBody(d.body)
		d.body = nil
	}
}

// Close releases what the decision holds for the request, such as a spooled
// body's temporary file. Hosts call it (or Finish) once the upstream has
// answered.
func (d *Decision) Close() {
	if d.body != nil {
		closeBody(d.body)
		d.body = nil
	}
}
