#!/usr/bin/env bash
# Starts the funcauth demo on this machine: Caddy (or Traefik) with
# funcauth on http://127.0.0.1:9080 in front of a demo function (a stand-in
# for an OpenFaaS gateway) on 127.0.0.1:9081, both bound to loopback only.
# It builds them from this checkout (Go and the module proxy are all it
# needs), makes a fresh admin password and function key, shows an unsigned
# call refused and a signed one accepted, prints what to try, and runs
# until Ctrl-C.
#
#   scripts/demo.sh [--proxy caddy|traefik] [--port N] [--function-port N]
#
# --proxy traefik runs the real Traefik v3.6.12 (scripts/ensure-traefik.sh
# builds it once, about 10 minutes, and caches it) with funcauth as a local
# plugin. It stops with an error when a port is taken or a process it
# started exits, and checks that every answer it prints came from its own
# proxy.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
. scripts/lib.sh
port="${DEMO_PORT:-9080}"
fnport="${DEMO_FUNCTION_PORT:-9081}"
proxy=caddy
while [ $# -gt 0 ]; do
  case "$1" in
    --port) port="$2"; shift 2 ;;
    --function-port) fnport="$2"; shift 2 ;;
    --proxy) proxy="$2"; shift 2 ;;
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
    *) echo "unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
case "$proxy" in
  caddy) name=Caddy ;;
  traefik) name=Traefik ;;
  *) echo "--proxy $proxy: choose caddy or traefik" >&2; exit 2 ;;
esac
for p in "$port" "$fnport"; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
    echo "port $p on 127.0.0.1 is taken by another program: choose another with --port or --function-port" >&2
    exit 1
  fi
done
bin="${FUNCAUTH_CACHE:-$HOME/.cache/funcauth}/demo"
mkdir -p "$bin"

if [ "$proxy" = caddy ]; then
  echo "building Caddy with funcauth and the demo function (the first build downloads modules)..."
  (cd examples && go build -o "$bin/caddy" ./cmd/caddy && go build -o "$bin/demofn" ./cmd/demofn)
  cli=("$bin/caddy" funcauth)
else
  traefik=$(scripts/ensure-traefik.sh)
  echo "building the funcauth command and the demo function (the first build downloads modules)..."
  go build -o "$bin/funcauth" ./cmd/funcauth
  (cd examples && go build -o "$bin/demofn" ./cmd/demofn)
  cli=("$bin/funcauth")
fi

state=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  rm -rf "$state"
}
trap cleanup EXIT INT TERM

# A fresh function key and admin password for this run.
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$state/payload-secret"
password=$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
hash=$(printf '%s' "$password" | "${cli[@]}" hash)
nonce=$(head -c 8 /dev/urandom | od -An -tx1 | tr -d ' \n')

"$bin/demofn" -listen "127.0.0.1:$fnport" 2>"$state/demofn.log" &
fnpid=$!
pids+=($fnpid)

if [ "$proxy" = caddy ]; then
log="$state/caddy.log"
cat > "$state/Caddyfile" <<CADDYFILE
{
	admin off
	auto_https off
	persist_config off
}

http://127.0.0.1:$port {
	bind 127.0.0.1
	# Marks this demo's answers, so the script can tell them from another server's.
	header X-Funcauth-Demo $nonce
	# The OpenFaaS lock-down: Basic Auth on /system/* and /ui/, faas-cli
	# signatures on /function/*, /healthz open, everything else denied.
	funcauth openfaas {
		user admin $hash
		signature faas-cli {
			key_file $state/payload-secret
		}
	}
	reverse_proxy 127.0.0.1:$fnport
}
CADDYFILE
XDG_DATA_HOME="$state/data" XDG_CONFIG_HOME="$state/config" \
  "$bin/caddy" run --config "$state/Caddyfile" --adapter caddyfile 2>"$log" &
proxypid=$!
else
log="$state/traefik.log"
local_plugin "$state"
cat > "$state/dynamic.yml" <<YAML
http:
  routers:
    demo:
      rule: "PathPrefix(\`/\`)"
      entryPoints: [web]
      # mark before funcauth: after it, funcauth's own refusals (401) would lack the mark.
      middlewares: [mark, funcauth]
      service: fn
  middlewares:
    # Marks this demo's answers, so the script can tell them from another server's.
    mark:
      headers:
        customResponseHeaders:
          X-Funcauth-Demo: "$nonce"
    # The OpenFaaS lock-down: Basic Auth on /system/* and /ui/, faas-cli
    # signatures on /function/*, /healthz open, everything else denied.
    funcauth:
      plugin:
        funcauth:
          preset: openfaas
          basicAuth:
            users: [{name: admin, passwordHash: '$hash'}]
          signatures:
            - scheme: faas-cli
              keyFiles: ["$state/payload-secret"]
  services:
    fn:
      loadBalancer:
        servers: [{url: "http://127.0.0.1:$fnport"}]
YAML
# Traefik finds local plugins under plugins-local/ in its working directory.
(cd "$state" && exec "$traefik" \
  --entryPoints.web.address="127.0.0.1:$port" \
  --providers.file.filename="$state/dynamic.yml" \
  --experimental.localPlugins.funcauth.moduleName=github.com/funcauth/funcauth \
  --experimental.abortOnPluginFailure=true \
  --global.checkNewVersion=false --global.sendAnonymousUsage=false \
  --log.level=INFO --log.noColor=true >"$log" 2>&1) &
proxypid=$!
fi
pids+=($proxypid)

# alive fails loudly when a process of the demo has exited.
alive() {
  if ! kill -0 "$proxypid" 2>/dev/null; then echo "$name exited:" >&2; cat "$log" >&2; exit 1; fi
  if ! kill -0 "$fnpid" 2>/dev/null; then echo "the demo function exited:" >&2; cat "$state/demofn.log" >&2; exit 1; fi
}
url="http://127.0.0.1:$port"
# Ready when /healthz (open in the preset) answers with this run's mark:
# for Traefik, that is once its router and the plugin are loaded.
for _ in $(seq 1 600); do
  alive
  # Traefik drops a router whose plugin refuses its configuration and runs on.
  if [ "$proxy" = traefik ] && grep -q ' ERR .*routerName=demo@file' "$log"; then
    echo "Traefik refused the demo's router:" >&2; cat "$log" >&2; exit 1
  fi
  if curl -s -o /dev/null -D - "$url/healthz" 2>/dev/null | tr -d '\r' | grep -qi "^X-Funcauth-Demo: $nonce\$"; then
    ready=1; break
  fi
  sleep 0.2
done
alive
if [ -z "${ready:-}" ]; then
  echo "$name did not start within 2 minutes:" >&2; cat "$log" >&2; exit 1
fi

sign() { printf '%s' "$1" | "${cli[@]}" sign --key-file "$state/payload-secret"; }

# status prints the status of a request, after checking that the answer
# carries this run's mark: it came from this demo's proxy.
status() {
  local headers code
  headers=$(curl -s -o /dev/null -D - "$@")
  code=$(printf '%s' "$headers" | awk 'NR==1{print $2}')
  if ! printf '%s' "$headers" | tr -d '\r' | grep -qi "^X-Funcauth-Demo: $nonce\$"; then
    echo "the answer ($code) did not come from this demo's $name: is another server on port $port?" >&2
    exit 1
  fi
  alive
  printf '%s' "$code"
}
echo
echo "funcauth demo running: $name on $url, demo function on 127.0.0.1:$fnport"
echo
check="demo self-check $(date +%s%N)"
# Each status is taken first, so that one that fails stops the demo.
unsigned=$(status -X POST --data "$check" "$url/function/env")
signed=$(status -X POST --data "$check" -H "$(sign "$check")" "$url/function/env")
replayed=$(status -X POST --data "$check" -H "$(sign "$check")" "$url/function/env")
noauth=$(status "$url/system/functions")
auth=$(status -u "admin:$password" "$url/system/functions")
echo "  unsigned call:  POST /function/env            -> $unsigned"
echo "  signed call:    POST /function/env (Hmac)     -> $signed"
echo "  same call again (a replay)                    -> $replayed"
echo "  admin, no auth: GET  /system/functions        -> $noauth"
echo "  admin, auth:    GET  /system/functions        -> $auth"
echo
cat <<TRY
Try it yourself (the key and password live until you stop the demo):

  # refused: no signature
  curl -i -X POST --data 'hello' $url/function/env

  # accepted: signed as faas-cli invoke --sign Hmac --key <key> signs. faas-cli
  # signs the body only, so the same body again within 5 minutes is refused
  # as a replay: change the body to call again.
  curl -X POST --data 'hello' -H "\$(printf hello | ${cli[*]} sign --key-file $state/payload-secret)" $url/function/env

  # the admin API needs Basic Auth
  curl -u admin:$password $url/system/functions

  # faas-cli itself (scripts/ensure-faas-cli.sh builds one): log in, list, invoke signed
  echo -n $password | faas-cli login --gateway $url -u admin --password-stdin
  faas-cli list --gateway $url
  echo -n 'hello from faas-cli' | faas-cli invoke env --gateway $url --sign hmac --key \$(cat $state/payload-secret)

$name's log: $log    Press Ctrl-C to stop.
TRY
# Runs until Ctrl-C, or fails loudly when the proxy or the function exits.
while true; do
  alive
  sleep 1
done
