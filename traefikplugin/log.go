package traefikplugin

import (
	"fmt"
	"log"
	"net/http"
	"strconv"
	"strings"

	"github.com/funcauth/funcauth"
)

// Under Yaegi, Traefik hands what the plugin prints with fmt.Print to its
// debug log and what it logs with the standard log package to its error
// log; os.Stdout and os.Stderr would bypass Traefik's logger. Every refusal
// goes to the debug log; the start of a ban and a key or disk that fails
// also go to the error log, which is on by default, so fail2ban or an
// operator sees them.
func logRefusal(name string, r *http.Request, d *funcauth.Decision) {
	line := refusalLine(name, r, d)
	fmt.Print(line)
	if d.BanStarted() || d.Reason == funcauth.ReasonKeyUnavailable || d.Reason == funcauth.ReasonSpoolFailed {
		log.Print(line)
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
