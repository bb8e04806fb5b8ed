package traefikplugin

import (
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"

	"github.com/funcauth/funcauth"
)

// Traefik sends the plugin's standard output to its debug log and standard
// error to its error log. Every refusal goes to the debug log; the start of
// a ban and a key that cannot be read go to the error log, which is on by
// default, so fail2ban or an operator sees them.
var (
	debugLog io.Writer = os.Stdout
	errorLog io.Writer = os.Stderr
)

// logRefusal writes one line per refused request: reason codes and
// addresses, quoted, never a secret.
func logRefusal(name string, r *http.Request, d *funcauth.Decision) {
	line := refusalLine(name, r, d)
	io.WriteString(debugLog, line)
	if d.BanStarted() || d.Reason == funcauth.ReasonKeyUnavailable || d.Reason == funcauth.ReasonSpoolFailed {
		io.WriteString(errorLog, line)
	}
}

func refusalLine(name string, r *http.Request, d *funcauth.Decision) string {
	var b strings.Builder
	b.WriteString("funcauth refused: middleware=")
	b.WriteString(strconv.Quote(name))
	b.WriteString(" reason=")
	b.WriteString(string(d.Reason))
	b.WriteString(" status=")
	b.WriteString(strconv.Itoa(d.Status))
	b.WriteString(" client=")
	b.WriteString(strconv.Quote(d.Client))
	b.WriteString(" method=")
	b.WriteString(strconv.Quote(r.Method))
	b.WriteString(" path=")
	b.WriteString(strconv.Quote(r.URL.Path))
	if d.RulePath != "" {
		b.WriteString(" rule=")
		b.WriteString(strconv.Quote(d.RulePath))
	}
	if d.User != "" {
		b.WriteString(" user=")
		b.WriteString(strconv.Quote(d.User))
	}
	if d.BannedClient != "" {
		b.WriteString(" banned_client=")
		b.WriteString(strconv.Quote(d.BannedClient))
	}
	if d.BannedUser != "" {
		b.WriteString(" banned_user=")
		b.WriteString(strconv.Quote(d.BannedUser))
	}
	if d.Detail != "" {
		b.WriteString(" detail=")
		b.WriteString(strconv.Quote(d.Detail))
	}
	b.WriteString("\n")
	return b.String()
}
