package funcauth

import (
	"net/http"
	"time"
)

// Reason is the machine-readable cause of a decision. It appears in logs and
// metrics, and in its public form (Public) in the body of a refusal unless
// RefusalBody is "status".
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
	ReasonEmptyBody          Reason = "empty_body"          // a body-only signature over an empty body, refused unless allow_empty_body
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
	ReasonStoreUnavailable   Reason = "store_unavailable"   // the shared store cannot be reached and its on_error policy is deny
)

// Status returns the HTTP status a host should answer with for r.
func (r Reason) Status() int {
	switch r {
	case ReasonOpen, ReasonAuthenticated, ReasonSigned:
		return http.StatusOK
	case ReasonMissingCredentials, ReasonBadCredentials, ReasonMissingSignature,
		ReasonBadSignature, ReasonEmptyBody, ReasonKeyUnavailable, ReasonExpired, ReasonFuture, ReasonReplayed:
		return http.StatusUnauthorized
	case ReasonBodyTooLarge:
		return http.StatusRequestEntityTooLarge
	case ReasonBodyUnreadable, ReasonBadRequest:
		return http.StatusBadRequest
	case ReasonBanned, ReasonRateLimited, ReasonReplayCacheFull, ReasonStoreUnavailable:
		return http.StatusTooManyRequests
	case ReasonSpoolFailed:
		return http.StatusServiceUnavailable
	}
	return http.StatusForbidden
}

// Public is the reason as a refused client is told it. It is the reason
// itself except for key_unavailable, which a client sees as bad_signature:
// otherwise a garbage signature would tell which functions have a key file.
// No public reason tells an unknown user from a wrong password
// (bad_credentials covers both) or names a key.
func (r Reason) Public() Reason {
	if r == ReasonKeyUnavailable {
		return ReasonBadSignature
	}
	return r
}

// refusal is why a step of a check refuses a request: the reason code
// and its detail for the operator's log (see Decision.Detail). Steps
// return nil to let the request go on.
type refusal struct {
	reason Reason
	detail string
	retry  time.Duration // how long the client should wait, for Retry-After; 0 for none
}

// refuse returns the refusal for reason with detail.
func refuse(reason Reason, detail string) *refusal {
	return &refusal{reason: reason, detail: detail}
}
