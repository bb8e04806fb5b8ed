package funcauth

import (
	"net/http"
	"strconv"
	"time"
)

// Reason is the machine-readable cause of a decision. It appears in logs and
// metrics, never in the response, which only carries the status.
type Reason string

// The reasons a Guard gives.
const (
	ReasonOpen               Reason = "open"                // allowed by an "open" rule
	ReasonAuthenticated      Reason = "authenticated"       // valid Basic Auth credentials
	ReasonSigned             Reason = "signed"              // valid signature
	ReasonMissingCredentials Reason = "missing_credentials" // no Basic Auth credentials
	ReasonBadCredentials     Reason = "bad_credentials"     // unknown user or wrong password
	ReasonMissingSignature   Reason = "missing_signature"   // no signature header of any allowed verifier
	ReasonBadSignature       Reason = "bad_signature"       // malformed signature, or no key verifies it
	ReasonKeyUnavailable     Reason = "key_unavailable"     // the key file is missing or empty: fail closed
	ReasonExpired            Reason = "expired_timestamp"   // the signed timestamp is older than the tolerance
	ReasonFuture             Reason = "future_timestamp"    // the signed timestamp is further ahead than the tolerance
	ReasonReplayed           Reason = "replayed"            // the message was already accepted within the tolerance
	ReasonReplayCacheFull    Reason = "replay_cache_full"   // too many recent messages to remember one more
	ReasonBodyTooLarge       Reason = "body_too_large"      // the body exceeds Body.MaxSize
	ReasonBodyUnreadable     Reason = "body_unreadable"     // the client stopped sending the body
	ReasonSpoolFailed        Reason = "spool_failed"        // a large body could not be spooled to disk
	ReasonBadRequest         Reason = "bad_request"         // a path or header funcauth refuses to interpret
	ReasonDenied             Reason = "denied"              // a "deny" rule matched
	ReasonNoRule             Reason = "no_rule"             // no rule matched: denied
	ReasonBanned             Reason = "banned"              // the client address or user name is banned
	ReasonRateLimited        Reason = "rate_limited"        // a rate limit is exhausted
)

// Status returns the HTTP status a host should answer with for r.
func (r Reason) Status() int {
	switch r {
	case ReasonOpen, ReasonAuthenticated, ReasonSigned:
		return http.StatusOK
	case ReasonMissingCredentials, ReasonBadCredentials, ReasonMissingSignature,
		ReasonBadSignature, ReasonKeyUnavailable, ReasonExpired, ReasonFuture, ReasonReplayed:
		return http.StatusUnauthorized
	case ReasonBodyTooLarge:
		return http.StatusRequestEntityTooLarge
	case ReasonBodyUnreadable, ReasonBadRequest:
		return http.StatusBadRequest
	case ReasonBanned, ReasonRateLimited, ReasonReplayCacheFull:
		return http.StatusTooManyRequests
	case ReasonSpoolFailed:
		return http.StatusServiceUnavailable
	}
	return http.StatusForbidden
}

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

	body *spooledBody

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
	replayCache    *replayCache
	replayVerifier string
	replayID       string
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
	if d.replayCache == nil {
		defer d.Close()
		next.ServeHTTP(w, r)
		return
	}
	rec := &statusRecorder{ResponseWriter: w}
	defer func() { d.Finish(rec.status) }() // status 0 if next panics
	next.ServeHTTP(rec, r)
}

// statusRecorder notes the status an upstream answered with.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.status == 0 && code >= 200 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(p []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(p)
}

// Flush passes streaming responses on.
func (s *statusRecorder) Flush() {
	http.NewResponseController(s.ResponseWriter).Flush()
}

// Unwrap lets http.ResponseController reach the host's writer.
func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// Finish ends an allowed request with the status the upstream answered
// (0 when it failed without one) and releases what the decision holds. A
// signed message the upstream failed on (0 or 5xx) is forgotten by replay
// protection, so that the sender's retry is not refused as a replay.
func (d *Decision) Finish(status int) {
	if d.replayCache != nil && (status == 0 || status >= 500) {
		d.replayCache.forget(d.replayVerifier, d.replayID)
	}
	d.replayCache = nil
	d.Close()
}

// Close releases what the decision holds for the request, such as a spooled
// body's temporary file. Hosts call it (or Finish) once the upstream has
// answered.
func (d *Decision) Close() {
	if d.body != nil {
		d.body.Close()
		d.body = nil
	}
}
