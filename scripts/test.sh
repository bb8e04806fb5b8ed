#!/usr/bin/env bash
# Runs every test of funcauth: the core and the adapters (race detector on),
# the fuzz targets briefly, and the integration module's end-to-end tests
# against real components (Yaegi as Traefik loads plugins, Caddy in-process
# and as an xcaddy build, Pebble, the Traefik binary, redis-server). Whatever those need
# is built or installed by the scripts here and cached in ~/.cache/funcauth.
set -euo pipefail
cd "$(dirname "$0")/.."
export FUNCAUTH_CACHE="${FUNCAUTH_CACHE:-$HOME/.cache/funcauth}"
step() { printf '\n=== %s\n' "$*"; }

step "format and vet"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$unformatted" ]; then echo "gofmt would change: $unformatted"; exit 1; fi
go vet ./...
(cd examples && go vet ./...)
(cd integration && go vet ./...)

step "tools the tests drive: redis-server (Debian's package)"
./scripts/ensure-redis.sh

step "root module: the core, caddyauth and traefikplugin (race detector on)"
go test -race -count=1 ./...

step "the core with its test clock decades from the system clock (no test may depend on today's date)"
for at in 1970-01-02T00:00:00Z 2099-06-30T12:00:00Z; do
  if ! out=$(FUNCAUTH_TEST_NOW=$at go test -count=1 . 2>&1); then echo "$out"; exit 1; fi
  echo "ok   core with the test clock at $at"
done

# An execution count, not a duration: go1.26's fuzz coordinator can fail a
# duration-bounded run with a bare "context deadline exceeded" as the time
# runs out on a loaded machine, with nothing found (golang/go#75804, fixed
# in go1.27).
step "fuzz targets, ${FUZZTIME:=30000x} each"
for pkg in $(go list ./...); do
  for target in $(go test -list '^Fuzz' "$pkg" | grep '^Fuzz' || true); do
    if ! out=$(go test -run '^$' -fuzz "^${target}\$" -fuzztime "$FUZZTIME" "$pkg" 2>&1); then echo "$out"; exit 1; fi
    echo "ok   $pkg $target"
  done
done

step "integration module: Yaegi rules, faas-cli's signer, end-to-end tests"
(cd integration && go test -count=1 -timeout 60m ./...)

echo
echo "all tests passed"
