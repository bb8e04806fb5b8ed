// Package caddyauth is funcauth as a Caddy v2 HTTP handler,
// http.handlers.funcauth, with a funcauth Caddyfile directive and the
// `caddy funcauth` subcommands. Build it into Caddy from a checkout with
//
//	xcaddy build v2.11.9 --with github.com/funcauth/funcauth/caddyauth \
//		--replace github.com/funcauth/funcauth=.
//
// (or scripts/xcaddy-build.sh), and from the first release (v0.1.0) on with
//
//	xcaddy build --with github.com/funcauth/funcauth/caddyauth@v0.1.0
//
// The handler's JSON configuration is the funcauth core's Config. Secrets
// may be given as {env.NAME} or {file./path} placeholders: they stay
// placeholders in Caddy's JSON configuration (and so at its admin API) and
// are expanded when the handler is provisioned; one that expands to nothing,
// or one Caddy does not know (a misspelt {envv.X}), stops Caddy from loading
// the configuration.
package caddyauth

import (
	"errors"
	"net"
	"net/http"
	"strconv"
	"strings"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	caddybasic "github.com/caddyserver/caddy/v2/modules/caddyhttp/caddyauth"
	"go.uber.org/zap"

	"github.com/funcauth/funcauth"
	"github.com/funcauth/funcauth/internal/cli"
)

func init() {
	caddy.RegisterModule(Handler{})
}

// Handler locks down the routes it is placed on: Basic Auth for the admin
// API and UI, signatures for functions and webhooks, bans, rate limits and
// bounded bodies, as its rules say. A request no rule allows is refused.
//
// Refusals carry the status of the refusal (401 with a WWW-Authenticate
// challenge, 403, 413 or 429 with Retry-After). When the server has
// handle_errors routes they are returned as Caddy HTTP errors, so
// handle_errors shapes the response ({http.error.message} is
// "funcauth: <reason>", the reason as the body would show it); the refused
// request reaches the error routes without its body, credentials,
// signatures or trailers (see disarm). Otherwise the handler writes the
// body that refusal_body asks for, as the other hosts do, where Caddy
// would send an empty one. On success
// {http.auth.user.id} holds the Basic Auth user, or "<verifier>/<key id>"
// for a signed request.
type Handler struct {
	funcauth.Config

	logger    *zap.Logger
	guard     *funcauth.Guard
	sensitive []string // the guard's SensitiveHeaders
	poolKey   string
	metrics   *metrics
}

// CaddyModule returns the Caddy module information.
func (Handler) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "http.handlers.funcauth",
		New: func() caddy.Module { return new(Handler) },
	}
}

// hashComparers are Caddy's own password hash modules, in the forms
// `caddy hash-password` writes.
func hashComparers() map[string]funcauth.HashComparer {
	bcrypt := caddybasic.BcryptHash{}
	argon2id := caddybasic.Argon2idHash{}
	return map[string]funcauth.HashComparer{
		"$2a$":       bcrypt,
		"$2b$":       bcrypt,
		"$2y$":       bcrypt,
		"$argon2id$": argon2id,
	}
}

// Provision expands the placeholders in a copy of the configuration,
// compiles it and attaches the state kept across reloads.
func (h *Handler) Provision(ctx caddy.Context) error {
	h.logger = ctx.Logger()
	if err := cli.CaddyRules(&h.Config); err != nil {
		return err
	}
	cfg, err := expandPlaceholders(&h.Config, caddy.NewReplacer())
	if err != nil {
		return err
	}
	key, state, err := loadState(&h.Config, cfg)
	if err != nil {
		return err
	}
	h.poolKey = key
	guard, err := funcauth.New(cfg, funcauth.Options{
		HashComparers: hashComparers(),
		State:         state,
		// Sites whose rules, users and verifiers are the same share the
		// state, each with its own sizes: the tables take the largest.
		StateOwner: "handler " + strconv.FormatUint(handlerIDs.Add(1), 10),
	})
	if err != nil {
		releaseState(key)
		h.poolKey = ""
		return err
	}
	h.guard = guard
	h.sensitive = guard.SensitiveHeaders()
	h.metrics = registerMetrics(ctx)
	h.warnAccessLog()
	h.checkStore()
	return nil
}

// Validate reports a handler that was not provisioned.
func (h *Handler) Validate() error {
	if h.guard == nil {
		return errors.New("funcauth: not provisioned")
	}
	return nil
}

// Cleanup releases the shared state this instance holds, and its claim on
// the sizes of the state's tables.
func (h *Handler) Cleanup() error {
	if h.guard != nil {
		h.guard.Release()
	}
	if h.poolKey != "" {
		releaseState(h.poolKey)
		h.poolKey = ""
	}
	return nil
}

// ServeHTTP checks the request and hands it to next when it is allowed.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) error {
	// Caddy's trusted_proxies decide both the client address and whether
	// the peer's X-Forwarded-Proto is believed.
	trusted, _ := caddyhttp.GetVar(r.Context(), caddyhttp.TrustedProxyVarKey).(bool)
	d := h.guard.CheckBehindProxy(r, clientIP(r), trusted)
	h.metrics.observe(d)
	if d.StoreEvent != "" {
		h.logStoreEvent(d)
	}
	if !d.Allowed {
		d.Close()
		h.disarm(r)
		h.logRefusal(r, d)
		if !hasErrorRoutes(r) {
			// Caddy answers an error no handle_errors route takes with an
			// empty body: write funcauth's body instead.
			h.guard.WriteRefusal(w, d)
			return nil
		}
		d.WriteHeaders(w.Header())
		return caddyhttp.Error(d.Status, refusal(d.Reason.Public()))
	}
	if repl, ok := r.Context().Value(caddy.ReplacerCtxKey).(*caddy.Replacer); ok {
		switch {
		case d.User != "":
			repl.Set("http.auth.user.id", d.User)
		case d.Verifier != "":
			repl.Set("http.auth.user.id", d.Verifier+"/"+d.KeyID)
		}
	}
	if !d.RemembersMessage() {
		defer d.Close()
		return next.ServeHTTP(w, r)
	}
	// Replay protection forgets a message only when the upstream failed
	// (a 5xx it wrote, or the reverse proxy's 502, 503 or 504 error when
	// it could not be reached), so the sender's retry gets through: that
	// needs the upstream's answer. The recorder keeps Hijack (WebSocket
	// upgrades), Flush and ReadFrom, and Unwrap for Caddy's controllers.
	rec := funcauth.NewStatusRecorder(w)
	status := 0
	defer func() { d.Finish(status) }() // 0 if the route panics: kept
	err := next.ServeHTTP(rec, r)
	status = rec.Status()
	if status == 0 && err != nil {
		// Nothing was written: Caddy answers with the error's status.
		status = http.StatusInternalServerError
		var he caddyhttp.HandlerError
		if errors.As(err, &he) && he.StatusCode != 0 {
			status = he.StatusCode
		}
	}
	return err
}

// disarm makes a refused request safe for the handle_errors routes, which
// run with the same request: its body is closed and replaced by an empty
// one, and its credentials, signatures and trailers are removed, so that an
// error route that proxies forwards none of them.
func (h *Handler) disarm(r *http.Request) {
	// With Expect: 100-continue the client sends the body only once told
	// to; closing would wait for it (net/http drops it after the reply).
	if r.Body != nil && r.Body != http.NoBody && !strings.EqualFold(r.Header.Get("Expect"), "100-continue") {
		r.Body.Close()
	}
	r.Body = http.NoBody
	r.ContentLength = 0
	r.TransferEncoding = nil
	r.Trailer = nil
	for _, name := range []string{"Content-Length", "Transfer-Encoding", "Trailer", "Expect", "Authorization", "Proxy-Authorization"} {
		r.Header.Del(name)
	}
	for _, name := range h.sensitive {
		r.Header.Del(name)
	}
}

// hasErrorRoutes reports whether the server handling r has handle_errors
// routes, which then shape funcauth's refusals.
func hasErrorRoutes(r *http.Request) bool {
	srv, ok := r.Context().Value(caddyhttp.ServerCtxKey).(*caddyhttp.Server)
	return ok && srv != nil && srv.Errors != nil && len(srv.Errors.Routes) > 0
}

// refusal is the error of a refused request: its public reason code
// (funcauth.Reason.Public), which handle_errors sees as {err.message}.
type refusal funcauth.Reason

func (r refusal) Error() string { return "funcauth: " + string(r) }

// clientIP is Caddy's client address, which honours the server's
// trusted_proxies, or the peer's address where Caddy set none.
func clientIP(r *http.Request) string {
	if ip, ok := caddyhttp.GetVar(r.Context(), caddyhttp.ClientIPVarKey).(string); ok && ip != "" {
		return ip
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// checkStore logs what the store's Redis server does wrong for funcauth
// (WARN), or why it could not be asked (INFO): see Guard.CheckStore.
func (h *Handler) checkStore() {
	warning, err := h.guard.CheckStore()
	switch {
	case err != nil:
		h.logger.Info("funcauth store settings not checked", zap.String("detail", err.Error()))
	case warning != "":
		h.logger.Warn("funcauth store settings", zap.String("detail", warning))
	}
}

// logStoreEvent logs the start of a store outage (WARN) and its end (INFO),
// once each.
func (h *Handler) logStoreEvent(d *funcauth.Decision) {
	if d.StoreOutage {
		h.logger.Warn("funcauth store outage", zap.String("detail", d.StoreEvent))
		return
	}
	h.logger.Info("funcauth store recovered", zap.String("detail", d.StoreEvent))
}

// logRefusal writes one line per refused request: reason, client, route
// and user name, never a secret. The start of a ban and a key or disk that
// fails are warnings, the latter at most once a minute each (Decision.Warn).
func (h *Handler) logRefusal(r *http.Request, d *funcauth.Decision) {
	fields := []zap.Field{
		zap.String("reason", string(d.Reason)),
		zap.Int("status", d.Status),
		zap.String("client_ip", d.Client),
		zap.String("method", r.Method),
		zap.String("path", r.URL.Path),
	}
	if d.RulePath != "" {
		fields = append(fields, zap.String("rule", d.RulePath))
	}
	if d.User != "" {
		fields = append(fields, zap.String("user", d.User))
	}
	if d.Detail != "" {
		fields = append(fields, zap.String("detail", d.Detail))
	}
	if d.BanStarted() {
		h.logger.Warn("ban started", append(fields, zap.String("banned_client", d.BannedClient), zap.String("banned_user", d.BannedUser))...)
		return
	}
	if d.Warn() {
		h.logger.Warn("request refused", fields...)
		return
	}
	h.logger.Info("request refused", fields...)
}

// Interface guards
var (
	_ caddy.Provisioner           = (*Handler)(nil)
	_ caddy.Validator             = (*Handler)(nil)
	_ caddy.CleanerUpper          = (*Handler)(nil)
	_ caddyhttp.MiddlewareHandler = (*Handler)(nil)
)
