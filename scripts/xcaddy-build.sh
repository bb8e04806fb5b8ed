#!/usr/bin/env bash
# Builds Caddy with funcauth from this checkout exactly as users do with
# xcaddy, and prints the binary's path:
#   xcaddy build v2.11.9 --with github.com/funcauth/funcauth/caddyauth \
#     --replace github.com/funcauth/funcauth=<this checkout>
# The binary is cached by the hash of the module's sources under
# $HOME/.cache/funcauth/xcaddy-caddy/.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
caddy_version="${CADDY_VERSION:-v2.11.9}"
xcaddy=$("$root/scripts/ensure-xcaddy.sh")
sum=$(cd "$root" && { echo "$caddy_version"; find . \( -path ./examples -o -path ./integration \) -prune -o \( -name '*.go' -o -name go.mod -o -name go.sum \) -type f -print | LC_ALL=C sort | xargs sha256sum; } | sha256sum | cut -c1-16)
cache="${FUNCAUTH_CACHE:-$HOME/.cache/funcauth}/xcaddy-caddy"
bin="$cache/caddy-$caddy_version-$sum"
if [ -x "$bin" ]; then echo "$bin"; exit 0; fi
mkdir -p "$cache"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# The module proxy answers 403, not 404, for modules it does not know (this
# one is replaced by the checkout), so let the lookup fall through to off.
proxy="$(go env GOPROXY | cut -d, -f1)|off"
(
  cd "$work"
  GOPROXY="$proxy" XCADDY_SKIP_CLEANUP=0 "$xcaddy" build "$caddy_version" \
    --with github.com/funcauth/funcauth/caddyauth \
    --replace "github.com/funcauth/funcauth=$root" \
    --output "$bin.tmp" >&2
)
mv "$bin.tmp" "$bin"
# Keep the five newest builds.
ls -1t "$cache"/caddy-* 2>/dev/null | tail -n +6 | xargs -r rm -f
echo "$bin"
