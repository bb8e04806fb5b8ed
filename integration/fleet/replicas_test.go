// Package fleet holds the end-to-end tests of the shared store (issue 11):
// replicas of both proxies, real binaries, sharing one real redis-server.
package fleet

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/funcauth/funcauth/integration/internal/e2e"
	"github.com/funcauth/funcauth/integration/traefik"
	"github.com/funcauth/funcauth/internal/conformance"
)

// replica is one proxy process of the fleet.
type replica struct {
	name string
	addr string // 127.0.0.1:port
	proc *e2e.Process
	// log is the file funcauth logs to (Caddy: its funcauth log; Traefik:
	// the process's output), and outage and recovered the texts of its
	// lines for the start and the end of a store outage.
	log, outage, recovered string
	// admin is Caddy's admin address, which serves its metrics ("" for
	// Traefik).
	admin string
}

// startCaddyReplica runs the xcaddy-built Caddy (scripts/xcaddy-build.sh,
// cached) with funcauthJSON, the core's JSON form, as its handler's
// configuration, in front of upstream (host:port).
func startCaddyReplica(t *testing.T, name, funcauthJSON, upstream string) *replica {
	t.Helper()
	bin := e2e.Script(t, "xcaddy-build.sh")
	dir := t.TempDir()
	site := &conformance.CaddySite{
		Funcauth:    []byte(funcauthJSON),
		Upstream:    upstream,
		HTTPPort:    e2e.FreePort(t),
		AdminListen: fmt.Sprintf("127.0.0.1:%d", e2e.FreePort(t)),
		LogPath:     filepath.Join(dir, "funcauth.log"),
	}
	data, err := site.JSON()
	if err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "caddy.json")
	if err := os.WriteFile(cfg, data, 0o600); err != nil {
		t.Fatal(err)
	}
	p := e2e.Start(t, dir, []string{"XDG_DATA_HOME=" + dir, "XDG_CONFIG_HOME=" + dir}, bin, "run", "--config", cfg)
	return &replica{name: name, addr: fmt.Sprintf("127.0.0.1:%d", site.HTTPPort), proc: p,
		log: site.LogPath, outage: `"msg":"funcauth store outage"`, recovered: `"msg":"funcauth store recovered"`,
		admin: site.AdminListen}
}

// startTraefikReplica runs the real Traefik v3.6.12 (scripts/ensure-traefik.sh,
// cached) with the plugin as a local plugin, configured by the same core
// JSON turned into Traefik's options (Go field names), in front of
// upstream (a URL). X-Forwarded-For from loopback is believed, by Traefik
// and by the plugin.
func startTraefikReplica(t *testing.T, name, funcauthJSON, upstream string) *replica {
	t.Helper()
	bin := e2e.Script(t, "ensure-traefik.sh")
	dir := t.TempDir()
	if err := e2e.CopyPlugin(e2e.RepoRoot(t), filepath.Join(dir, "plugins-local", "src", "github.com", "funcauth", "funcauth")); err != nil {
		t.Fatal(err)
	}
	options, err := traefik.OptionsFromJSON([]byte(funcauthJSON))
	if err != nil {
		t.Fatal(err)
	}
	options["clientAddress"] = map[string]interface{}{"trustedProxies": []interface{}{"127.0.0.1"}}
	dynamic := map[string]interface{}{"http": map[string]interface{}{
		"routers": map[string]interface{}{"functions": map[string]interface{}{
			"rule": "PathPrefix(`/`)", "entryPoints": []string{"web"}, "middlewares": []string{"funcauth"}, "service": "upstream",
		}},
		"middlewares": map[string]interface{}{
			"funcauth": map[string]interface{}{"plugin": map[string]interface{}{"funcauth": options}},
		},
		"services": map[string]interface{}{"upstream": map[string]interface{}{"loadBalancer": map[string]interface{}{
			"servers": []interface{}{map[string]interface{}{"url": upstream}},
		}}},
	}}
	data, _ := json.MarshalIndent(dynamic, "", "  ")
	if err := os.WriteFile(filepath.Join(dir, "dynamic.yml"), data, 0o600); err != nil { // JSON is YAML
		t.Fatal(err)
	}
	port := e2e.FreePort(t)
	p := e2e.Start(t, dir, nil, bin,
		fmt.Sprintf("--entryPoints.web.address=127.0.0.1:%d", port),
		"--entryPoints.web.forwardedHeaders.trustedIPs=127.0.0.1",
		"--providers.file.filename="+filepath.Join(dir, "dynamic.yml"),
		"--experimental.localPlugins.funcauth.moduleName=github.com/funcauth/funcauth",
		"--experimental.abortOnPluginFailure=true",
		"--log.level=ERROR",
	)
	return &replica{name: name, addr: fmt.Sprintf("127.0.0.1:%d", port), proc: p,
		log: p.Log, outage: "funcauth store: middleware=\"funcauth@file\" event=outage", recovered: "funcauth store: middleware=\"funcauth@file\" event=recovered"}
}

// storeEvents counts the lines r has logged for the start and for the end
// of a store outage.
func (r *replica) storeEvents(t *testing.T) (outages, recoveries int) {
	t.Helper()
	data, err := os.ReadFile(r.log)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Count(string(data), r.outage), strings.Count(string(data), r.recovered)
}

// storeErrors is Caddy's funcauth_store_errors_total: the requests that
// met a store outage.
func (r *replica) storeErrors(t *testing.T) int {
	t.Helper()
	resp, err := http.Get("http://" + r.admin + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	for _, line := range strings.Split(string(data), "\n") {
		if value, ok := strings.CutPrefix(line, "funcauth_store_errors_total "); ok {
			n, _ := strconv.ParseFloat(value, 64)
			return int(n)
		}
	}
	return 0
}

// waitServing waits until the replica answers an unsigned call of a
// function with funcauth's 401 (before, the proxy is down or answers 404).
func (r *replica) waitServing(t *testing.T, timeout time.Duration) {
	t.Helper()
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(timeout)
	last := "no answer"
	for time.Now().Before(deadline) {
		resp, err := client.Post("http://"+r.addr+"/function/env", "text/plain", strings.NewReader("x"))
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusUnauthorized {
				return
			}
			last = resp.Status
		}
		if r.proc.Cmd.ProcessState != nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("%s did not serve funcauth within %v (last: %s)\n%s", r.name, timeout, last, r.proc.Output())
}

// startFleet starts two Caddy and two Traefik replicas, concurrently, all
// with funcauthJSON and in front of one upstream (the conformance
// upstream, which describes what reached it).
func startFleet(t *testing.T, funcauthJSON string) []*replica {
	t.Helper()
	upstream := httptest.NewServer(conformance.Upstream)
	t.Cleanup(upstream.Close)
	// Build (or find cached) both binaries first: Script runs one at a time.
	e2e.Script(t, "xcaddy-build.sh")
	e2e.Script(t, "ensure-traefik.sh")
	fleet := []*replica{
		startCaddyReplica(t, "caddy-1", funcauthJSON, strings.TrimPrefix(upstream.URL, "http://")),
		startTraefikReplica(t, "traefik-1", funcauthJSON, upstream.URL),
		startCaddyReplica(t, "caddy-2", funcauthJSON, strings.TrimPrefix(upstream.URL, "http://")),
		startTraefikReplica(t, "traefik-2", funcauthJSON, upstream.URL),
	}
	for _, r := range fleet {
		r.waitServing(t, 60*time.Second)
	}
	return fleet
}
