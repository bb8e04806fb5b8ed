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
// operator sees them (a repeated key or disk failure once a minute:
// Decision.Warn).
func logRefusal(name string, r *http.Request, d *funcauth.Decision) {
	line := refusalLine(name, r, d)
	fmt.Print(line)
	if d.Warn() {
		log.Print(line)
	}
}

// logStoreEvent writes the start and the end of a store outage to
// Traefik's error log, once each.
func logStoreEvent(name string, d *funcauth.Decision) {
	var b strings.Builder
	b.WriteString("funcauth store:")
	field(&b, "middleware", strconv.Quote(name))
	if d.StoreOutage {
		field(&b, "event", "outage")
	} else {
		field(&b, "event", "recovered")
	}
	field(&b, "detail", strconv.Quote(d.StoreEvent))
	b.WriteString("\n")
	log.Print(b.String())
}

// logStoreCheck writes to Traefik's error log what the store's Redis
// server does wrong for funcauth, or why it could not be asked (see
// funcauth.Guard.CheckStore).
func logStoreCheck(name, warning string, err error) {
	var b strings.Builder
	b.WriteString("funcauth store settings:")
	field(&b, "middleware", strconv.Quote(name))
	if err != nil {
		field(&b, "not_checked", strconv.Quote(err.Error()))
	} else {
		field(&b, "detail", strconv.Quote(warning))
	}
	b.WriteString("\n")
	log.Print(b.String())
}

func refusalLine(name string, r *http.Request, d *funcauth.Decision) string {
	var b strings.Builder
	b.WriteString("funcauth refused:")
	field(&b, "middleware", strconv.Quote(name))
	field(&b, "reason", string(d.Reason))
	field(&b, "status", strconv.Itoa(d.Status))
	field(&b, "client", strconv.Quote(d.Client))
	field(&b, "method", strconv.Quote(r.Method))
	field(&b, "path", strconv.Quote(r.URL.Path))
	optionalField(&b, "rule", d.RulePath)
	optionalField(&b, "user", d.User)
	optionalField(&b, "banned_client", d.BannedClient)
	optionalField(&b, "banned_user", d.BannedUser)
	optionalField(&b, "detail", d.Detail)
	b.WriteString("\n")
	return b.String()
}

func field(b *strings.Builder, name, value string) {
	b.WriteString(" ")
	b.WriteString(name)
	b.WriteString("=")
	b.WriteString(value)
}

// optionalField writes a quoted field when it has a value.
func optionalField(b *strings.Builder, name, value string) {
	if value != "" {
		field(b, name, strconv.Quote(value))
	}
}
