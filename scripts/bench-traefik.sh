#!/usr/bin/env bash
# Drives the real Traefik v3.6.12 on loopback and prints requests per
# second and latency, side by side in one run, for: no middleware,
# Traefik's own basicAuth (bcrypt cost 5, htpasswd's default; Traefik
# checks the hash on every request), funcauth signature checks on 1 KiB
# bodies (for a client off the bans, and for one they apply to), and
# funcauth Basic Auth (PBKDF2, cached). One Traefik process serves all
# five on five entry points; rounds are interleaved and the medians
# compared with no middleware.
# With FUNCAUTH_BEFORE naming another checkout of funcauth (an earlier
# commit), a second Traefik runs that checkout's plugin on two more entry
# points, and its signature and Basic Auth runs are interleaved with the
# others: before and after figures from one run.
# Usage: scripts/bench-traefik.sh [seconds per run] [rounds] [connections]
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
. scripts/lib.sh
secs="${1:-10}"; rounds="${2:-3}"; conns="${3:-32}"
traefik=$(scripts/ensure-traefik.sh)
bench_tools

run_state
local_plugin "$state"

password="correct horse battery staple"
pbkdf2=$(printf '%s' "$password" | "$bin/caddy" funcauth hash)
bcrypt=$("$bin/caddy" hash-password --plaintext "$password" --bcrypt-cost 5)
fn=18181; none=18190; sig=18191; basic=18192; tbasic=18193; sigbans=18196
# funcauth_middleware prints a funcauth middleware of the dynamic
# configuration: $1 its name, $2 its bans, $3 its replay options ("" for
# the defaults).
funcauth_middleware() {
  cat <<YAML
    $1:
      plugin:
        funcauth:
          preset: openfaas
          basicAuth: {users: [{name: admin, passwordHash: '$pbkdf2'}]}
          signatures: [{scheme: faas-cli, keys: [cookie]}]
          bans: $2
YAML
  if [ -n "$3" ]; then echo "          replay: $3"; fi
}
{
  cat <<YAML
http:
  routers:
    none: {rule: "PathPrefix(\`/\`)", entryPoints: [none], service: fn}
    sig: {rule: "PathPrefix(\`/\`)", entryPoints: [sig], service: fn, middlewares: [funcauth-loopback]}
    sigbans: {rule: "PathPrefix(\`/\`)", entryPoints: [sigbans], service: fn, middlewares: [funcauth-bans]}
    basic: {rule: "PathPrefix(\`/\`)", entryPoints: [basic], service: fn, middlewares: [funcauth]}
    tbasic: {rule: "PathPrefix(\`/\`)", entryPoints: [tbasic], service: fn, middlewares: [traefik-basic]}
  middlewares:
YAML
  # One client sends every request: off the failure budget, which admits
  # no more of its uncached password checks at once than
  # bans.max_failures (the first requests of a run, 32 at once).
  funcauth_middleware funcauth "{allowList: [127.0.0.1]}" ""
  funcauth_middleware funcauth-loopback "{allowList: [127.0.0.1]}" "{maxEntries: 2000000}"
  # Bans on, the load generator under them as any client: each body read
  # held in its failure budget, which admits as many at once.
  funcauth_middleware funcauth-bans "{maxFailures: 64}" "{maxEntries: 2000000}"
  cat <<YAML
    traefik-basic:
      basicAuth:
        users: ['admin:$bcrypt']
  services:
    fn:
      loadBalancer:
        servers: [{url: "http://127.0.0.1:$fn"}]
YAML
} > "$state/dynamic.yml"
"$bin/demofn" -listen "127.0.0.1:$fn" 2>/dev/null &
pids+=($!)
(cd "$state" && exec "$traefik" \
  --entryPoints.none.address=127.0.0.1:$none --entryPoints.sig.address=127.0.0.1:$sig \
  --entryPoints.basic.address=127.0.0.1:$basic --entryPoints.tbasic.address=127.0.0.1:$tbasic \
  --entryPoints.sigbans.address=127.0.0.1:$sigbans \
  --providers.file.filename="$state/dynamic.yml" \
  --experimental.localPlugins.funcauth.moduleName=github.com/funcauth/funcauth \
  --experimental.abortOnPluginFailure=true --log.level=ERROR > "$state/traefik.log" 2>&1) &
pids+=($!)
for port in $none $sig $basic $tbasic $sigbans; do wait_http "$port" /healthz "200 401"; done
traefik_pid=$(pgrep -f "entryPoints.none.address=127.0.0.1:$none" | head -1)

before="${FUNCAUTH_BEFORE:-}"
bsig=18194; bbasic=18195
if [ -n "$before" ]; then
  mkdir -p "$state/before"
  (cd "$root/integration" && go run ./cmd/copyplugin "$before" "$state/before/plugins-local/src/github.com/funcauth/funcauth")
  sed -e 's/entryPoints: \[sig\]/entryPoints: [bsig]/; s/entryPoints: \[basic\]/entryPoints: [bbasic]/' \
    -e '/^    none:/d; /^    tbasic:/d; /^    sigbans:/d' "$state/dynamic.yml" > "$state/before/dynamic.yml"
  (cd "$state/before" && exec "$traefik" \
    --entryPoints.bsig.address=127.0.0.1:$bsig --entryPoints.bbasic.address=127.0.0.1:$bbasic \
    --providers.file.filename="$state/before/dynamic.yml" \
    --experimental.localPlugins.funcauth.moduleName=github.com/funcauth/funcauth \
    --experimental.abortOnPluginFailure=true --log.level=ERROR > "$state/before/traefik.log" 2>&1) &
  pids+=($!)
  for port in $bsig $bbasic; do wait_http "$port" /healthz "200 401"; done
fi

echo "Traefik ${TRAEFIK_VERSION:-v3.6.12} with funcauth under Yaegi; $conns connections, ${secs}s per run, $rounds rounds; $(nproc) cores shared by load generator, Traefik and upstream" >&2
: > "$state/results"
for r in $(seq 1 "$rounds"); do
  # Each case next to its baseline, and the before case next to its after.
  loadrun "no middleware, POST 1 KiB" "http://127.0.0.1:$none" signed /function/env >> "$state/results"
  loadrun "funcauth signature, 1 KiB" "http://127.0.0.1:$sig" signed /function/env >> "$state/results"
  if [ -n "$before" ]; then
    loadrun "before: funcauth signature, 1 KiB" "http://127.0.0.1:$bsig" signed /function/env >> "$state/results"
  fi
  loadrun "funcauth signature, 1 KiB, bans on" "http://127.0.0.1:$sigbans" signed /function/env >> "$state/results"
  loadrun "no middleware, GET" "http://127.0.0.1:$none" basic /system/functions >> "$state/results"
  loadrun "funcauth Basic Auth" "http://127.0.0.1:$basic" basic /system/functions >> "$state/results"
  if [ -n "$before" ]; then
    loadrun "before: funcauth Basic Auth" "http://127.0.0.1:$bbasic" basic /system/functions >> "$state/results"
  fi
  loadrun "Traefik basicAuth (bcrypt 5)" "http://127.0.0.1:$tbasic" basic /system/functions >> "$state/results"
done
extra=()
if [ -n "$before" ]; then
  extra=("before: funcauth signature, 1 KiB=no middleware, POST 1 KiB" "before: funcauth Basic Auth=no middleware, GET"
    "funcauth signature, 1 KiB=before: funcauth signature, 1 KiB" "funcauth Basic Auth=before: funcauth Basic Auth")
fi
python3 scripts/medians.py "$state/results" "$(peak_rss "$traefik_pid")" Traefik \
  "no middleware, POST 1 KiB=no middleware, POST 1 KiB" "funcauth signature, 1 KiB=no middleware, POST 1 KiB" \
  "funcauth signature, 1 KiB, bans on=no middleware, POST 1 KiB" \
  "no middleware, GET=no middleware, GET" "funcauth Basic Auth=no middleware, GET" "Traefik basicAuth (bcrypt 5)=no middleware, GET" "${extra[@]}"
