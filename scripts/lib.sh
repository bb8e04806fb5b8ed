# Shared by the benchmark and load scripts: source it from scripts/.
# shellcheck shell=bash

# bench_tools builds Caddy with funcauth and the demo function (examples/)
# and the load generator (integration/) from this checkout into $bin.
bench_tools() {
  bin="${FUNCAUTH_CACHE:-$HOME/.cache/funcauth}/bench"
  mkdir -p "$bin"
  (cd "$root/examples" && go build -o "$bin/caddy" ./cmd/caddy && go build -o "$bin/demofn" ./cmd/demofn)
  (cd "$root/integration" && go build -o "$bin/loadgen" ./cmd/loadgen)
}

# local_plugin lays the module out as a Traefik local plugin under $1:
# plugins-local/src/github.com/funcauth/funcauth, with the packages Traefik
# interprets as the end-to-end tests copy them (integration/cmd/copyplugin
# derives them from .traefik.yml's import).
local_plugin() {
  (cd "$root/integration" && go run ./cmd/copyplugin "$root" "$1/plugins-local/src/github.com/funcauth/funcauth")
}

# run_state makes $state, a temporary directory, and $pids, the processes
# the script starts: when the script exits, they are stopped and the
# directory removed.
run_state() {
  state=$(mktemp -d)
  pids=()
  trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$state" || true' EXIT
}

# wait_http waits until http://127.0.0.1:$1$2 answers with one of the
# statuses in $3 (default 200).
wait_http() {
  local code
  for _ in $(seq 1 300); do
    code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$1${2:-/healthz}" || true)
    case " ${3:-200} " in *" $code "*) return 0 ;; esac
    sleep 0.1
  done
  echo "nothing answered on port $1" >&2
  return 1
}

# peak_rss prints a process's peak resident memory in KiB.
peak_rss() { awk '/VmHWM/{print $2}' "/proc/$1/status"; }

# loadrun runs the load generator for $secs seconds with $conns
# connections on 1 KiB bodies: loadrun <label> <url> <scenario> [<path>].
loadrun() {
  "$bin/loadgen" -json -label "$1" -url "$2" -scenario "$3" ${4:+-path "$4"} -c "$conns" -d "${secs}s" -size 1024
}
