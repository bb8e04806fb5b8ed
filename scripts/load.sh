#!/usr/bin/env bash
# Load and fault run: drives Caddy and Traefik with funcauth on loopback
# for a fixed time at high concurrency with a mix of valid (60%), forged
# (20%), replayed (10%) and unsigned (10%) function calls, then rotates the
# function key under load. Reports requests per second, p50/p99 latency,
# the proxy's peak resident memory, wrong decisions (must be 0) and 5xx
# answers (must be 0). Exits non-zero if either is not 0.
# Usage: scripts/load.sh [seconds] [connections]
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
. scripts/lib.sh
secs="${1:-20}"; conns="${2:-64}"
traefik=$(scripts/ensure-traefik.sh)
bench_tools

run_state
mkdir -p "$state/keys" "$state/spool"
put() { printf '%s' "$2" > "$1.tmp" && mv "$1.tmp" "$1"; } # atomic, as Kubernetes swaps secrets
put "$state/keys/current" key-A
put "$state/keys/next" key-A
put "$state/client-key" key-A

fn=18281; caddy_port=18290; traefik_port=18291
password="correct horse battery staple"
pbkdf2=$(printf '%s' "$password" | "$bin/caddy" funcauth hash)

# One funcauth configuration for both proxies: the openfaas preset, two key
# files (the current and the next key), replay protection on (faas-cli's
# default 5 minutes, its memory sized for this load: 2 million entries,
# about 260 MiB at most), bodies spooled past 64 KiB, loopback never
# banned (the load generator forges signatures on purpose).
cat > "$state/Caddyfile" <<CADDYFILE
{
	admin off
	auto_https off
	persist_config off
	log default {
		level ERROR
	}
}
http://127.0.0.1:$caddy_port {
	funcauth openfaas {
		user admin $pbkdf2
		signature faas-cli {
			key_file $state/keys/current $state/keys/next
		}
		body {
			memory_size 64KiB
			temp_dir $state/spool
		}
		bans {
			allow 127.0.0.1
		}
		replay {
			max_entries 2000000
		}
	}
	reverse_proxy 127.0.0.1:$fn
}
CADDYFILE

local_plugin "$state"
cat > "$state/dynamic.yml" <<YAML
http:
  routers:
    all: {rule: "PathPrefix(\`/\`)", entryPoints: [web], service: fn, middlewares: [funcauth]}
  middlewares:
    funcauth:
      plugin:
        funcauth:
          preset: openfaas
          basicAuth: {users: [{name: admin, passwordHash: '$pbkdf2'}]}
          signatures: [{scheme: faas-cli, keyFiles: ["$state/keys/current", "$state/keys/next"]}]
          body: {memorySize: 64KiB, tempDir: "$state/spool"}
          bans: {allowList: [127.0.0.1]}
          replay: {maxEntries: 2000000}
  services:
    fn:
      loadBalancer:
        servers: [{url: "http://127.0.0.1:$fn"}]
YAML

"$bin/demofn" -listen "127.0.0.1:$fn" 2>/dev/null &
pids+=($!)
XDG_DATA_HOME="$state" XDG_CONFIG_HOME="$state" "$bin/caddy" run --config "$state/Caddyfile" --adapter caddyfile 2>"$state/caddy.log" &
caddy_pid=$!
pids+=($caddy_pid)
(cd "$state" && exec "$traefik" --entryPoints.web.address=127.0.0.1:$traefik_port \
  --providers.file.filename="$state/dynamic.yml" \
  --experimental.localPlugins.funcauth.moduleName=github.com/funcauth/funcauth \
  --experimental.abortOnPluginFailure=true --log.level=ERROR > "$state/traefik.log" 2>&1) &
pids+=($!)
for port in $caddy_port $traefik_port; do wait_http "$port"; done
traefik_pid=$(pgrep -f "entryPoints.web.address=127.0.0.1:$traefik_port" | head -1)

: > "$state/results"
for target in "Caddy:$caddy_port:$caddy_pid" "Traefik:$traefik_port:$traefik_pid"; do
  IFS=: read -r name port pid <<<"$target"
  "$bin/loadgen" -json -label "$name, mix" -url "http://127.0.0.1:$port" -scenario mix -key-file "$state/client-key" \
    -c "$conns" -d "${secs}s" -size 1024 >> "$state/results" || true
  echo "$name peak_rss_kib $(peak_rss "$pid")" >> "$state/memory"

  # Rotate the key under load: the next key file gets key B, then the
  # client switches to B, then the current key file drops A.
  "$bin/loadgen" -json -label "$name, key rotation under load" -url "http://127.0.0.1:$port" -scenario signed \
    -key-file "$state/client-key" -c "$conns" -d 12s -size 1024 >> "$state/results" &
  gen=$!
  sleep 3; put "$state/keys/next" key-B
  sleep 3; put "$state/client-key" key-B
  sleep 3; put "$state/keys/current" key-B
  wait $gen || true
  put "$state/keys/current" key-A; put "$state/keys/next" key-A; put "$state/client-key" key-A
  sleep 2.5 # both proxies re-read key files within 2 s
done
leftover=$(ls -A "$state/spool" | wc -l)

python3 - "$state/results" "$state/memory" "$leftover" "$secs" "$conns" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
mem = dict(l.split(" peak_rss_kib ") for l in open(sys.argv[2]).read().split("\n") if l)
print(f"{sys.argv[5]} connections, {sys.argv[4]} s mix runs, 12 s rotation runs; load generator, proxy and upstream share the machine's cores\n")
print("| run | req/s | p50 ms | p99 ms | requests | wrong decisions | 5xx | transport errors | statuses | proxy peak RSS |")
print("|---|---:|---:|---:|---:|---:|---:|---:|---|---:|")
bad = 0
for r in rows:
    proxy = r["label"].split(",")[0]
    rss = f'{int(mem[proxy]) / 1024:.0f} MiB' if "mix" in r["label"] else ""
    print(f'| {r["label"]} | {r["rps"]:.0f} | {r["p50_ms"]:.2f} | {r["p99_ms"]:.2f} | {r["requests"]} | {r["wrong_decisions"]} | {r["server_errors"]} | {r["transport_errors"]} | {r["statuses"]} | {rss} |')
    bad += r["wrong_decisions"] + r["server_errors"]
print(f"\nspooled body files left behind: {sys.argv[3]}")
sys.exit(1 if bad or sys.argv[3] != "0" else 0)
PY
