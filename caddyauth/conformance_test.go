package caddyauth

import (
	"testing"

	"github.com/funcauth/funcauth/internal/conformance"
)

// TestConformance runs the shared conformance suite through a real Caddy
// (in-process, through caddytest): funcauth in a route in front of Caddy's
// reverse proxy, with Caddy's client address from X-Forwarded-For of the
// trusted local proxy.
func TestConformance(t *testing.T) {
	conformance.Run(t, "../testdata/conformance", "caddy", func(t *testing.T, in *conformance.Instance) conformance.Target {
		return startCaddy(t, in.Config, serverOptions{})
	})
}
