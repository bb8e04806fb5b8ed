#!/usr/bin/env bash
# Drives Caddy with funcauth on loopback and prints requests per second and
# latency, side by side in one run, for: no auth, funcauth signature checks
# on 1 KiB bodies (for a client off the bans, and for one they apply to),
# funcauth Basic Auth (PBKDF2, cached), and Caddy's own basic_auth (bcrypt,
# cached). One Caddy process serves all five on five ports; the rounds are
# interleaved and the medians compared with the no-auth case. With FUNCAUTH_BEFORE naming another checkout of funcauth
# (an earlier commit), a second Caddy built from that checkout serves the
# two funcauth sites on two more ports, and its runs are interleaved with
# the others: before and after figures from one run.
# Usage: scripts/bench-caddy.sh [seconds per run] [rounds] [connections]
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
. scripts/lib.sh
secs="${1:-10}"; rounds="${2:-3}"; conns="${3:-32}"
bench_tools

run_state

password="correct horse battery staple"
pbkdf2=$(printf '%s' "$password" | "$bin/caddy" funcauth hash)
bcrypt=$("$bin/caddy" hash-password --plaintext "$password")
fn=18081; none=18090; sig=18091; basic=18092; cbasic=18093; sigbans=18096
global_options() {
	cat <<CADDYFILE
{
	admin off
	auto_https off
	persist_config off
	log default {
		level ERROR
	}
}
CADDYFILE
}
# funcauth_sites prints the two funcauth sites, on ports $1 (signatures)
# and $2 (Basic Auth).
funcauth_sites() {
	cat <<CADDYFILE
http://127.0.0.1:$1 {
	funcauth openfaas {
		user admin $pbkdf2
		signature faas-cli cookie
		bans {
			allow 127.0.0.1
		}
		# replay protection on, sized for every round of this benchmark
		replay {
			max_entries 2000000
		}
	}
	reverse_proxy 127.0.0.1:$fn
}
http://127.0.0.1:$2 {
	funcauth openfaas {
		user admin $pbkdf2
		# another key than the first site's: a State of its own (sites
		# that protect the same things share one)
		signature faas-cli basic-site
		# one client sends every request: off the failure budget, which
		# admits no more of its uncached password checks at once than
		# max_failures (the first requests of a run, 32 at once)
		bans {
			allow 127.0.0.1
		}
	}
	reverse_proxy 127.0.0.1:$fn
}
CADDYFILE
}
{
	global_options
	cat <<CADDYFILE
http://127.0.0.1:$none {
	reverse_proxy 127.0.0.1:$fn
}
http://127.0.0.1:$cbasic {
	basic_auth {
		admin $bcrypt
	}
	reverse_proxy 127.0.0.1:$fn
}
http://127.0.0.1:$sigbans {
	funcauth openfaas {
		user admin $pbkdf2
		signature faas-cli cookie
		# bans on, the load generator under them as any client: each body
		# read held in its failure budget, which admits as many at once
		bans {
			max_failures 64
		}
		replay {
			max_entries 2000000
		}
	}
	reverse_proxy 127.0.0.1:$fn
}
CADDYFILE
	funcauth_sites "$sig" "$basic"
} > "$state/Caddyfile"
"$bin/demofn" -listen "127.0.0.1:$fn" 2>/dev/null &
pids+=($!)
XDG_DATA_HOME="$state" XDG_CONFIG_HOME="$state" "$bin/caddy" run --config "$state/Caddyfile" --adapter caddyfile 2>"$state/caddy.log" &
caddy_pid=$!
pids+=($caddy_pid)
for port in $none $sig $basic $cbasic $sigbans; do wait_http "$port" /healthz "200 401 404 502"; done

before="${FUNCAUTH_BEFORE:-}"
bsig=18094; bbasic=18095
if [ -n "$before" ]; then
  (cd "$before/examples" && go build -o "$bin/caddy-before" ./cmd/caddy)
  mkdir -p "$state/before"
  { global_options; funcauth_sites "$bsig" "$bbasic"; } > "$state/before/Caddyfile"
  XDG_DATA_HOME="$state/before" XDG_CONFIG_HOME="$state/before" "$bin/caddy-before" run --config "$state/before/Caddyfile" --adapter caddyfile 2>"$state/before/caddy.log" &
  pids+=($!)
  for port in $bsig $bbasic; do wait_http "$port" /healthz "200 401 404 502"; done
fi

echo "Caddy $("$bin/caddy" version | cut -d' ' -f1) with funcauth; $conns connections, ${secs}s per run, $rounds rounds; $(nproc) cores shared by load generator, Caddy and upstream" >&2
: > "$state/results"
for r in $(seq 1 "$rounds"); do
  # Each case next to its baseline, and the before case next to its after.
  loadrun "no auth, POST 1 KiB" "http://127.0.0.1:$none" signed /function/env >> "$state/results"
  loadrun "funcauth signature, 1 KiB" "http://127.0.0.1:$sig" signed /function/env >> "$state/results"
  if [ -n "$before" ]; then
    loadrun "before: funcauth signature, 1 KiB" "http://127.0.0.1:$bsig" signed /function/env >> "$state/results"
  fi
  loadrun "funcauth signature, 1 KiB, bans on" "http://127.0.0.1:$sigbans" signed /function/env >> "$state/results"
  loadrun "no auth, GET" "http://127.0.0.1:$none" basic /system/functions >> "$state/results"
  loadrun "funcauth Basic Auth" "http://127.0.0.1:$basic" basic /system/functions >> "$state/results"
  if [ -n "$before" ]; then
    loadrun "before: funcauth Basic Auth" "http://127.0.0.1:$bbasic" basic /system/functions >> "$state/results"
  fi
  loadrun "Caddy basic_auth (bcrypt)" "http://127.0.0.1:$cbasic" basic /system/functions >> "$state/results"
done
extra=()
if [ -n "$before" ]; then
  extra=("before: funcauth signature, 1 KiB=no auth, POST 1 KiB" "before: funcauth Basic Auth=no auth, GET"
    "funcauth signature, 1 KiB=before: funcauth signature, 1 KiB" "funcauth Basic Auth=before: funcauth Basic Auth")
fi
python3 scripts/medians.py "$state/results" "$(peak_rss "$caddy_pid")" Caddy \
  "no auth, POST 1 KiB=no auth, POST 1 KiB" "funcauth signature, 1 KiB=no auth, POST 1 KiB" \
  "funcauth signature, 1 KiB, bans on=no auth, POST 1 KiB" \
  "no auth, GET=no auth, GET" "funcauth Basic Auth=no auth, GET" "Caddy basic_auth (bcrypt)=no auth, GET" "${extra[@]}"
