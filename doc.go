// Package funcauth is the core of funcauth: it decides whether a request may
// reach a serverless function or its admin API.
//
// A [Config] names the rules (first match wins), the Basic Auth users and the
// signature verifiers. [New] validates it once and compiles it into a [Guard];
// every request is then checked by [Guard.Check], which returns a [Decision]
// with a machine-readable [Reason]. [Guard.Handler] wraps any http.Handler with
// that check, so Go programs can use funcauth without a proxy; the Caddy module
// (package caddyauth) and the Traefik plugin (package traefikplugin) are thin
// adapters around the same Guard.
//
// The package imports the standard library only and runs unchanged under the
// Yaegi interpreter that Traefik uses for plugins.
package funcauth
