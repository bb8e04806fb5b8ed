package caddy

import (
	"fmt"
	"testing"
	"time"

	"github.com/funcauth/funcauth/integration/internal/e2e"
)

// TestHTTPSRenewalKeepsBansAndReplays has Caddy renew a short-lived
// certificate from Pebble while funcauth holds a ban and a remembered
// signed call: after the renewal, the replay is still refused and the
// banned client still banned.
func TestHTTPSRenewalKeepsBansAndReplays(t *testing.T) {
	const name = "renew.funcauth.test"
	c := startAutomaticHTTPS(t, name, time.Minute, `servers {
		trusted_proxies static 127.0.0.1/32
		client_ip_headers X-Forwarded-For
	}`)
	addr := fmt.Sprintf("127.0.0.1:%d", c.httpsPort)
	first := c.pebble.Served(t, addr, name)
	site := &e2e.StateSite{Client: c.client, Base: c.base, Key: "cookie", User: "admin", Password: "correct horse battery staple"}
	site.MakeState(t)
	renewed := c.pebble.WaitRenewal(t, addr, name, first, 90*time.Second)
	t.Logf("renewed: %s until %v, then %s until %v", first.SerialNumber, first.NotAfter.Format(time.TimeOnly), renewed.SerialNumber, renewed.NotAfter.Format(time.TimeOnly))
	c.client.CloseIdleConnections() // what follows comes over connections with the new certificate
	site.CheckState(t)
}
