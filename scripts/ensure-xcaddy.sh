#!/usr/bin/env bash
# Builds xcaddy from the module proxy (`go run ...@version` is refused here)
# and caches it under $HOME/.cache/funcauth/xcaddy-<version>/. Prints its path.
set -euo pipefail
version="${XCADDY_VERSION:-v0.4.5}"
cache="${FUNCAUTH_CACHE:-$HOME/.cache/funcauth}/xcaddy-$version"
bin="$cache/xcaddy"
if [ -x "$bin" ]; then echo "$bin"; exit 0; fi
mkdir -p "$cache"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(
  cd "$work"
  go mod init xcaddy-build >/dev/null 2>&1
  go get "github.com/caddyserver/xcaddy/cmd/xcaddy@$version" >&2
  go build -o "$bin.tmp" github.com/caddyserver/xcaddy/cmd/xcaddy
)
mv "$bin.tmp" "$bin"
echo "$bin"
