#!/usr/bin/env bash
# Installs everything Sidegrid needs on a fresh Debian machine with Node 20 (run as root):
# Debian packages (redis-server; chromium, docker-compose and iproute2 for the tests), pnpm, the workspace, and the build.
set -euo pipefail
cd "$(dirname "$0")/.."

apt_missing=()
command -v redis-server >/dev/null 2>&1 || apt_missing+=(redis-server)
if [ "${SIDEGRID_NEEDS_CHROMIUM:-0}" = 1 ] && ! command -v chromium >/dev/null 2>&1; then apt_missing+=(chromium); fi
# The test suite also validates docker/compose.yaml (docker-compose config) and runs federation
# members in network namespaces (iproute2's ip netns; without it they fall back to loopback addresses).
if [ "${SIDEGRID_NEEDS_TEST_TOOLS:-0}" = 1 ]; then
  command -v docker-compose >/dev/null 2>&1 || apt_missing+=(docker-compose)
  command -v ip >/dev/null 2>&1 || apt_missing+=(iproute2)
fi
if [ ${#apt_missing[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${apt_missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${apt_missing[@]}" >/dev/null
fi

PNPM_VERSION=9.15.9
if ! command -v pnpm >/dev/null 2>&1 || [ "$(pnpm --version 2>/dev/null)" != "$PNPM_VERSION" ]; then
  echo "setup: installing pnpm $PNPM_VERSION"
  npm install -g "pnpm@$PNPM_VERSION" --silent 2>/dev/null
fi

echo "setup: installing the workspace (frozen lockfile)"
pnpm install --frozen-lockfile --reporter=append-only 2>&1 | grep -vE 'nodedir|^$' | tail -n 3
echo "setup: building (contracts with solc-js, TypeScript)"
log=$(mktemp)
if ! pnpm -r --reporter=append-only run build >"$log" 2>&1; then
  grep -v nodedir "$log"; rm -f "$log"; echo "setup: build failed" >&2; exit 1
fi
grep -E 'compiled \(|up to date' "$log" | sed 's/^/  /' || true
rm -f "$log"
