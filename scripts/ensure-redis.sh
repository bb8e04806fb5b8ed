#!/usr/bin/env bash
# Installs Debian's redis-server when it is missing (the tests of the shared
# store start their own servers on loopback; nothing is run through systemd).
# Prints the binary's path.
set -euo pipefail
if ! command -v redis-server >/dev/null 2>&1; then
  echo "installing redis-server from Debian's packages" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq redis-server >&2
fi
command -v redis-server
