package caddyauth

import (
	"strings"
	"sync"

	"go.uber.org/zap"
)

// Caddy's access log records the request headers as the client sent them:
// the server copies the request for the log before any handler runs, so a
// handler cannot remove a header from it. It redacts Authorization (unless
// log_credentials is on), but not the signature and token headers such as
// Hmac, X-Hub-Signature-256 or X-Gitlab-Token. A site that logs needs a log
// filter that deletes them, which the handler prints when it starts.

// AccessLogFilter returns the Caddyfile log block that keeps the given
// request headers out of a site's access log, for the headers of
// funcauth.Guard.SensitiveHeaders. Authorization is left out: Caddy redacts
// it already. It returns "" when no header needs filtering.
func AccessLogFilter(headers []string) string {
	var b strings.Builder
	for _, name := range headers {
		if name == "Authorization" {
			continue
		}
		b.WriteString("\t\trequest>headers>" + name + " delete\n")
	}
	if b.Len() == 0 {
		return ""
	}
	return "log {\n\tformat filter {\n\t\twrap json\n" + b.String() + "\t}\n}\n"
}

// warnedFilters holds the filters already printed, so that a reload does
// not repeat the warning.
var warnedFilters sync.Map

// warnAccessLog prints, once per process for each set of headers, the log
// filter a site that logs requests needs.
func (h *Handler) warnAccessLog() {
	filter := AccessLogFilter(h.sensitive)
	if filter == "" {
		return
	}
	if _, seen := warnedFilters.LoadOrStore(filter, true); seen {
		return
	}
	h.logger.Warn("Caddy's access log records request headers as sent, signatures and tokens included: if this site logs requests, add this filter to its log block (docs/configuration.md, Caddy access log)",
		zap.Strings("headers", h.sensitive),
		zap.String("caddyfile", filter))
}
