#!/usr/bin/env bash
# Builds the real Traefik binary from the Go module proxy and caches it under
# $HOME/.cache/funcauth/traefik-<version>/traefik. Prints the binary's path.
# Traefik's go.mod has replace directives, so `go install` refuses it: this
# downloads the module, copies it and builds ./cmd/traefik inside the copy.
set -euo pipefail
version="${TRAEFIK_VERSION:-v3.6.12}"
cache="${FUNCAUTH_CACHE:-$HOME/.cache/funcauth}/traefik-$version"
bin="$cache/traefik"
if [ -x "$bin" ] && "$bin" version >/dev/null 2>&1; then
  echo "$bin"
  exit 0
fi
mkdir -p "$cache"
work=$(mktemp -d)
trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT
echo "building Traefik $version (about 10 minutes on 2 cores; cached in $cache)" >&2
dir=$(cd "$work" && GOFLAGS=-mod=mod go mod download -json "github.com/traefik/traefik/v3@$version" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
[ -n "$dir" ] || { echo "could not download github.com/traefik/traefik/v3@$version" >&2; exit 1; }
cp -r "$dir" "$work/src"
chmod -R u+w "$work/src"
(cd "$work/src" && go build -trimpath -o "$bin.tmp" ./cmd/traefik)
mv "$bin.tmp" "$bin"
"$bin" version >&2
echo "$bin"
