package funcauth

import (
	"bytes"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/funcauth/funcauth/internal/conformance"
)

// TestConformance runs the shared conformance suite against the core's
// net/http middleware.
func TestConformance(t *testing.T) {
	runCoreConformance(t, false)
}

// TestConformanceGeneralPath runs the suite again with checkOneMAC off, so
// that every signed request takes checkSignature: the two paths must give
// the same outcomes.
func TestConformanceGeneralPath(t *testing.T) {
	runCoreConformance(t, true)
}

func runCoreConformance(t *testing.T, generalPath bool) {
	conformance.Run(t, "testdata/conformance", "core", func(t *testing.T, in *conformance.Instance) conformance.Target {
		var cfg Config
		dec := json.NewDecoder(bytes.NewReader(in.Config))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&cfg); err != nil {
			t.Fatalf("decoding the configuration: %v", err)
		}
		// Requests with forwarded_for come from the runners' trusted proxy.
		if cfg.ClientAddress == nil {
			cfg.ClientAddress = &ClientAddress{}
		}
		if len(cfg.ClientAddress.TrustedProxies) == 0 {
			cfg.ClientAddress.TrustedProxies = []string{conformance.TrustedProxy}
		}
		g, err := New(&cfg, Options{})
		if err != nil {
			t.Fatalf("New: %v", err)
		}
		if generalPath {
			for _, rl := range g.rules {
				rl.oneMAC = nil
			}
		}
		return &coreTarget{guard: g}
	})
}

type coreTarget struct {
	guard *Guard
}

// ReportsReasons: the core hands every decision to the runner.
func (c *coreTarget) ReportsReasons() bool { return true }

func (c *coreTarget) Do(t testing.TB, req *http.Request, client string) (*http.Response, string) {
	var reason Reason
	h := seeingAll(c.guard, conformance.Upstream, func(d *Decision) { reason = d.Reason })
	resp := conformance.ServeDirect(t, h, req, client)
	return resp, string(reason)
}
