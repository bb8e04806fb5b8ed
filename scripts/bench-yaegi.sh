#!/usr/bin/env bash
# Runs BenchmarkUnderYaegi (integration/traefik) in interleaved rounds and
# prints the medians: funcauth's signature (1 KiB, replay protection on;
# for a client off the bans, and for one they apply to) and cached Basic
# Auth checks interpreted as Traefik runs them, beside
# the interpreter's floor (a minimal interpreted HMAC middleware), with the
# interpreted calls and the allocations of one request. With
# FUNCAUTH_BEFORE naming another checkout of funcauth, its plugin runs the
# same cases in the same rounds (before-*).
# Usage: scripts/bench-yaegi.sh [rounds] [requests per run]
set -euo pipefail
cd "$(dirname "$0")/.."
rounds="${1:-5}"; n="${2:-3000}"
out=$(mktemp)
trap 'rm -f "$out"' EXIT
cases='floor-signature|signature-1KiB|basic-cached'
for r in $(seq 1 "$rounds"); do
  (cd integration && FUNCAUTH_BENCH_BEFORE="${FUNCAUTH_BEFORE:-}" go test -run '^$' -bench "UnderYaegi/(before-)?($cases)" \
    -benchtime "${n}x" -count 1 -benchmem ./traefik/) | grep '^BenchmarkUnderYaegi/' >> "$out"
done
python3 - "$out" <<'PY'
import re, statistics, sys
rows = {}
for line in open(sys.argv[1]):
    name = re.match(r"BenchmarkUnderYaegi/(\S+?)-\d+\s", line).group(1)
    f = dict((unit, float(v)) for v, unit in re.findall(r"([\d.]+) (ns/op|calls/op|allocs/op)", line))
    rows.setdefault(name, []).append(f)
def med(name, unit):
    vals = [r[unit] for r in rows.get(name, []) if unit in r]
    return statistics.median(vals) if vals else None
floor = med("floor-signature-1KiB", "ns/op")
print("| case | µs per request (median) | × floor | × before | interpreted calls | allocations |")
print("|---|---:|---:|---:|---:|---:|")
for name in ["floor-signature-1KiB", "before-signature-1KiB", "signature-1KiB", "before-signature-1KiB-bans", "signature-1KiB-bans",
             "before-basic-cached", "basic-cached"]:
    if name not in rows:
        continue
    ns = med(name, "ns/op")
    before = med("before-" + name, "ns/op") if not name.startswith(("before-", "floor")) else None
    calls = med(name, "calls/op")
    print(f"| {name} | {ns/1000:.1f} | {ns/floor:.2f} | {'' if before is None else f'{ns/before:.2f}'} | "
          f"{'' if calls is None else int(calls)} | {int(med(name, 'allocs/op'))} |")
print(f"\n{len(rows['floor-signature-1KiB'])} rounds")
PY
