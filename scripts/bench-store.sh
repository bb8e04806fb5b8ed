#!/usr/bin/env bash
# Measures what the shared store costs (issue 11), side by side in one run:
# faas-cli-signed POSTs of 1 KiB through Caddy with funcauth's state in
# memory and with it on Redis, and the same through the real Traefik
# v3.6.12 (plugin under Yaegi). One Caddy serves both Caddy cases on two
# ports, one Traefik both Traefik cases on two entry points, one
# redis-server on loopback holds the state; rounds are interleaved and the
# medians compared (Redis over memory). Redis's counters before and after
# each Redis run, over the run's requests, give the round trips per request
# (total_reads_processed: a round trip is one read event however many
# commands it pipelines), the EVALSHA calls, and every command run
# (total_commands_processed, which counts the commands inside Lua scripts).
# A store call slower than the store timeout (STORE_TIMEOUT, default the
# core's 250ms) is an outage: the deny policy answers 429 store_unavailable
# for a second, which loadgen counts as wrong decisions.
# The load generator's address is on the bans' allow list, so a message is
# claimed with a plain SET NX PX; with STORE_CLAIM=ban it is not, and
# every message's claim also asks for the client's ban (PTTL, then SET NX
# PX): funcauth's default. (STORE_CLAIM=script, its name when the two were
# one Lua script, until 2026-12-01, does the same.)
# With REDIS_CORE=n, redis-server runs on CPU n alone and everything else
# (proxies, upstream, load generator) on the other CPUs: Redis's own CPU
# is then not taken from the proxies, as when it runs on its own host,
# and the ratio is what the store costs the proxy itself.
# Usage: [STORE_TIMEOUT=250ms] [STORE_CLAIM=ban] [REDIS_CORE=n] scripts/bench-store.sh [seconds per run] [rounds] [connections]
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
. scripts/lib.sh
secs="${1:-10}"; rounds="${2:-3}"; conns="${3:-32}"
redis_server=$(scripts/ensure-redis.sh)
traefik=$(scripts/ensure-traefik.sh)
bench_tools

run_state
local_plugin "$state"

pbkdf2=$(printf '%s' "correct horse battery staple" | "$bin/caddy" funcauth hash)
fn=18281; rport=18289; cmem=18291; credis=18292; tmem=18293; tredis=18294
store="127.0.0.1:$rport"; timeout="${STORE_TIMEOUT:-250ms}"
allow='["127.0.0.1"]'
case "${STORE_CLAIM:-set}" in ban | script) allow='[]' ;; esac
redis_pin=(); cores="$(nproc) cores shared by load generator, proxies, Redis and upstream"
if [ -n "${REDIS_CORE:-}" ]; then
  others=$(python3 -c 'import os, sys; print(",".join(str(c) for c in sorted(os.sched_getaffinity(0)) if c != int(sys.argv[1])))' "$REDIS_CORE")
  [ -n "$others" ] || { echo "REDIS_CORE=$REDIS_CORE leaves no CPU for the proxies" >&2; exit 2; }
  taskset -pc "$others" $$ >/dev/null # inherited by every process started below
  redis_pin=(taskset -c "$REDIS_CORE")
  cores="Redis alone on CPU $REDIS_CORE; load generator, proxies and upstream on CPU $others"
fi

"${redis_pin[@]}" "$redis_server" --port "$rport" --bind 127.0.0.1 --save '' --appendonly no --daemonize no \
  --dir "$state" --logfile "$state/redis.log" &
redis_pid=$!
pids+=($redis_pid)
"$bin/demofn" -listen "127.0.0.1:$fn" 2>/dev/null &
pids+=($!)

# Caddy: the handler's configuration is the core's JSON form.
python3 - "$state/caddy.json" "$pbkdf2" "$fn" "$cmem" "$credis" "$store" "$timeout" "$allow" <<'PY'
import json, sys
path, pbkdf2, fn, cmem, credis, store, timeout, allow = sys.argv[1:]
def handler(with_store):
    h = {"handler": "funcauth", "preset": "openfaas",
         "basic_auth": {"users": [{"name": "admin", "password_hash": pbkdf2}]},
         "signatures": [{"scheme": "faas-cli", "keys": ["cookie"]}],
         "bans": {"allow_list": json.loads(allow)},
         # replay protection on, sized for every round of this benchmark
         "replay": {"max_entries": 2000000}}
    if with_store:
        h["store"] = {"address": store, "timeout": timeout}
    return h
def server(port, with_store):
    return {"listen": ["127.0.0.1:" + port], "automatic_https": {"disable": True},
            "routes": [{"handle": [handler(with_store),
                                   {"handler": "reverse_proxy", "upstreams": [{"dial": "127.0.0.1:" + fn}]}]}]}
json.dump({"admin": {"disabled": True}, "logging": {"logs": {"default": {"level": "ERROR"}}},
           "apps": {"http": {"servers": {"memory": server(cmem, False), "redis": server(credis, True)}}}},
          open(path, "w"))
PY
XDG_DATA_HOME="$state" XDG_CONFIG_HOME="$state" "$bin/caddy" run --config "$state/caddy.json" 2>"$state/caddy.log" &
caddy_pid=$!
pids+=($caddy_pid)

# Traefik: the plugin's options are the Go field names; the Redis
# middleware is the memory one (a YAML merge) with a store.
cat > "$state/dynamic.yml" <<YAML
http:
  routers:
    memory: {rule: "PathPrefix(\`/\`)", entryPoints: [memory], service: fn, middlewares: [funcauth-memory]}
    redis: {rule: "PathPrefix(\`/\`)", entryPoints: [redis], service: fn, middlewares: [funcauth-redis]}
  middlewares:
    funcauth-memory:
      plugin:
        funcauth: &funcauth
          preset: openfaas
          basicAuth: {users: [{name: admin, passwordHash: '$pbkdf2'}]}
          signatures: [{scheme: faas-cli, keys: [cookie]}]
          bans: {allowList: $allow}
          replay: {maxEntries: 2000000}
    funcauth-redis:
      plugin:
        funcauth:
          <<: *funcauth
          store: {address: '$store', timeout: '$timeout'}
  services:
    fn:
      loadBalancer:
        servers: [{url: "http://127.0.0.1:$fn"}]
YAML
(cd "$state" && exec "$traefik" \
  --entryPoints.memory.address=127.0.0.1:$tmem --entryPoints.redis.address=127.0.0.1:$tredis \
  --providers.file.filename="$state/dynamic.yml" \
  --experimental.localPlugins.funcauth.moduleName=github.com/funcauth/funcauth \
  --experimental.abortOnPluginFailure=true --log.level=ERROR > "$state/traefik.log" 2>&1) &
pids+=($!)
for port in $cmem $credis $tmem $tredis; do wait_http "$port" /healthz "200 401"; done
traefik_pid=$(pgrep -f "entryPoints.memory.address=127.0.0.1:$tmem" | head -1)

# counters prints Redis's total_commands_processed (the commands the Lua
# scripts call included), total_reads_processed (read events: one per
# round trip a client makes, whatever it pipelines) and the EVALSHA calls.
counters() {
  { redis-cli -p "$rport" INFO stats; redis-cli -p "$rport" INFO commandstats; } | tr -d '\r' |
    awk -F'[:=,]' '/^total_commands_processed:/{c=$2} /^total_reads_processed:/{r=$2} /^cmdstat_evalsha:/{e=$3} END{print c+0, r+0, e+0}'
}

# cpu_ms prints the CPU time (user and system) process $1 has used, in ms.
cpu_ms() { awk '{print ($14 + $15) * 1000 / '"$(getconf CLK_TCK)"'}' "/proc/$1/stat"; }

# cpurun is loadrun of label $1 on url $2, noting the CPU time that proxy
# process $3 and redis-server spent during the run: where a run's
# throughput went on these shared cores.
cpurun() {
  local p0 r0 line
  p0=$(cpu_ms "$3"); r0=$(cpu_ms "$redis_pid")
  line=$(loadrun "$1" "$2" signed /function/env)
  python3 -c '
import json, sys
r = json.loads(sys.argv[1])
print(json.dumps({"label": r["label"], "requests": r["requests"], "proxy": float(sys.argv[4]) - float(sys.argv[2]), "redis": float(sys.argv[5]) - float(sys.argv[3])}))' \
    "$line" "$p0" "$r0" "$(cpu_ms "$3")" "$(cpu_ms "$redis_pid")" >> "$state/cpu"
  echo "$line"
}

# storerun is loadrun on a Redis-backed port, noting what Redis did during
# the run (less the two INFO commands of the first count, and their reads).
storerun() { # label url proxy-pid
  local before after line
  before=$(counters)
  line=$(cpurun "$1" "$2" "$3")
  after=$(counters)
  echo "$line" >> "$state/results"
  python3 -c '
import json, sys
r = json.loads(sys.argv[1]); b = [int(x) for x in sys.argv[2].split()]; a = [int(x) for x in sys.argv[3].split()]
print(json.dumps({"label": r["label"], "requests": r["requests"], "commands": a[0] - b[0] - 2, "reads": a[1] - b[1] - 2, "evalsha": a[2] - b[2]}))' \
    "$line" "$before" "$after" >> "$state/trips"
}

echo "Caddy $("$bin/caddy" version | cut -d' ' -f1) and Traefik ${TRAEFIK_VERSION:-v3.6.12} with funcauth, state in memory or on redis-server $("$redis_server" --version | awk '{print $3}' | cut -d= -f2) (loopback, store timeout $timeout; messages claimed by $( [ "$allow" = '[]' ] && echo "the client's ban and SET NX PX" || echo "SET NX PX, the load generator allow-listed")); $conns connections, ${secs}s per run, $rounds rounds; $cores" >&2
: > "$state/results"; : > "$state/trips"; : > "$state/cpu"
for r in $(seq 1 "$rounds"); do
  cpurun "Caddy, state in memory" "http://127.0.0.1:$cmem" "$caddy_pid" >> "$state/results"
  storerun "Caddy, state on Redis" "http://127.0.0.1:$credis" "$caddy_pid"
  cpurun "Traefik, state in memory" "http://127.0.0.1:$tmem" "$traefik_pid" >> "$state/results"
  storerun "Traefik, state on Redis" "http://127.0.0.1:$tredis" "$traefik_pid"
done
status=0
python3 scripts/medians.py "$state/results" "$(peak_rss "$caddy_pid")" Caddy \
  "Caddy, state in memory=Caddy, state in memory" "Caddy, state on Redis=Caddy, state in memory" \
  "Traefik, state in memory=Traefik, state in memory" "Traefik, state on Redis=Traefik, state in memory" || status=$?
echo "Traefik peak resident memory: $(( $(peak_rss "$traefik_pid") / 1024 )) MiB"
python3 - "$state/trips" "$state/cpu" <<'PY'
import json, statistics, sys
def by_label(path):
    by = {}
    for line in open(path):
        row = json.loads(line)
        by.setdefault(row["label"], []).append(row)
    return by
def med(rows, key, scale=1):
    return statistics.median(scale * r[key] / r["requests"] for r in rows)
print("\n| case, per request (medians) | round trips (Redis read events) | EVALSHA | commands run (Lua's included) |")
print("|---|---:|---:|---:|")
for label, rows in by_label(sys.argv[1]).items():
    print(f"| {label} | {med(rows, 'reads'):.3f} | {med(rows, 'evalsha'):.3f} | {med(rows, 'commands'):.3f} |")
print("\n| case, CPU per request (medians; 10 ms ticks) | proxy µs | redis-server µs |")
print("|---|---:|---:|")
for label, rows in by_label(sys.argv[2]).items():
    print(f"| {label} | {med(rows, 'proxy', 1000):.0f} | {med(rows, 'redis', 1000):.1f} |")
PY
echo
redis-cli -p "$rport" INFO commandstats | tr -d '\r' | grep '^cmdstat_' | cut -d, -f1-3
if [ "$status" != 0 ]; then
  echo "wrong decisions or 5xx: the proxies' logs follow" >&2
  tail -n 40 "$state/caddy.log" "$state/traefik.log" >&2
fi
exit $status
