#!/usr/bin/env bash
# Starts the funcauth demo on this machine: Caddy with funcauth on
# http://127.0.0.1:8080 in front of a demo function (a stand-in for an
# OpenFaaS gateway) on 127.0.0.1:8081. It builds both from this checkout
# (Go and the module proxy are all it needs), makes a fresh admin password
# and function key, shows an unsigned call refused and a signed one
# accepted, prints what to try, and runs until Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
port="${DEMO_PORT:-8080}"
fnport="${DEMO_FUNCTION_PORT:-8081}"
bin="${FUNCAUTH_CACHE:-$HOME/.cache/funcauth}/demo"
mkdir -p "$bin"

echo "building Caddy with funcauth and the demo function (the first build downloads modules)..."
(cd examples && go build -o "$bin/caddy" ./cmd/caddy && go build -o "$bin/demofn" ./cmd/demofn)

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
hash=$(printf '%s' "$password" | "$bin/caddy" funcauth hash)

cat > "$state/Caddyfile" <<CADDYFILE
{
	admin off
	auto_https off
	persist_config off
}

http://127.0.0.1:$port {
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

"$bin/demofn" -listen "127.0.0.1:$fnport" 2>"$state/demofn.log" &
pids+=($!)
XDG_DATA_HOME="$state/data" XDG_CONFIG_HOME="$state/config" \
  "$bin/caddy" run --config "$state/Caddyfile" --adapter caddyfile 2>"$state/caddy.log" &
pids+=($!)

for _ in $(seq 1 50); do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then break; fi
  sleep 0.2
done
if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
  echo "Caddy did not start:"; cat "$state/caddy.log"; exit 1
fi

url="http://127.0.0.1:$port"
sign() { printf '%s' "$1" | "$bin/caddy" funcauth sign --key-file "$state/payload-secret"; }

status() { curl -s -o /dev/null -w '%{http_code}' "$@"; }
echo
echo "funcauth demo running: Caddy on $url, demo function on 127.0.0.1:$fnport"
echo
check="demo self-check $(date +%s%N)"
echo "  unsigned call:  POST /function/env            -> $(status -X POST --data "$check" "$url/function/env")"
echo "  signed call:    POST /function/env (Hmac)     -> $(status -X POST --data "$check" -H "$(sign "$check")" "$url/function/env")"
echo "  same call again (a replay)                    -> $(status -X POST --data "$check" -H "$(sign "$check")" "$url/function/env")"
echo "  admin, no auth: GET  /system/functions        -> $(status "$url/system/functions")"
echo "  admin, auth:    GET  /system/functions        -> $(status -u "admin:$password" "$url/system/functions")"
echo
cat <<TRY
Try it yourself (the key and password live until you stop the demo):

  # refused: no signature
  curl -i -X POST --data 'hello' $url/function/env

  # accepted: signed as faas-cli invoke --sign Hmac --key <key> signs. faas-cli
  # signs the body only, so the same body again within 5 minutes is refused
  # as a replay: change the body to call again.
  curl -X POST --data 'hello' -H "\$(printf hello | $bin/caddy funcauth sign --key-file $state/payload-secret)" $url/function/env

  # the admin API needs Basic Auth (also: faas-cli login --gateway $url -u admin --password $password)
  curl -u admin:$password $url/system/functions

  # faas-cli itself, if you have it
  echo -n hello | faas-cli invoke env --gateway $url --sign Hmac --key \$(cat $state/payload-secret)

Caddy's log: $state/caddy.log    Press Ctrl-C to stop.
TRY
wait
