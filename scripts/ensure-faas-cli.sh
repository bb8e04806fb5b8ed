#!/usr/bin/env bash
# Builds the real faas-cli from the Go module proxy and caches it under
# $HOME/.cache/funcauth/faas-cli-<version>/faas-cli. Prints the binary's path.
# faas-cli tags its releases without a "v" (0.13.14), so the proxy knows them
# only by pseudo-version; the one it serves here is faas-cli 0.13.14 (its
# go.mod has a replace directive, so `go install` refuses it: this downloads
# the module, copies it and builds it inside the copy, as the release does,
# with the version stamped in).
set -euo pipefail
version="${FAAS_CLI_VERSION:-0.13.14}"
case "$version" in
  0.13.14) module_version=v0.0.0-20211012083206-08e3e965c831 ;;
  *) module_version="${FAAS_CLI_MODULE_VERSION:?set FAAS_CLI_MODULE_VERSION to the module version of faas-cli $version}" ;;
esac
cache="${FUNCAUTH_CACHE:-$HOME/.cache/funcauth}/faas-cli-$version"
bin="$cache/faas-cli"
# --warn-update=false: faas-cli would otherwise ask GitHub for its latest release.
if [ -x "$bin" ] && [ "$("$bin" version --short-version --warn-update=false 2>/dev/null)" = "$version" ]; then
  echo "$bin"
  exit 0
fi
mkdir -p "$cache"
work=$(mktemp -d)
trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT
echo "building faas-cli $version (cached in $cache)" >&2
dir=$(cd "$work" && GOFLAGS=-mod=mod go mod download -json "github.com/openfaas/faas-cli@$module_version" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
[ -n "$dir" ] || { echo "could not download github.com/openfaas/faas-cli@$module_version" >&2; exit 1; }
cp -r "$dir" "$work/src"
chmod -R u+w "$work/src"
(cd "$work/src" && GOFLAGS=-mod=mod CGO_ENABLED=0 go build -trimpath -o "$bin.tmp" \
  -ldflags "-s -w -X github.com/openfaas/faas-cli/version.Version=$version -X github.com/openfaas/faas-cli/version.GitCommit=${module_version##*-}" .)
[ "$("$bin.tmp" version --short-version --warn-update=false)" = "$version" ] || { echo "the faas-cli built is not $version" >&2; exit 1; }
mv "$bin.tmp" "$bin"
echo "faas-cli $version built" >&2
echo "$bin"
