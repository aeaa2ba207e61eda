#!/usr/bin/env bash
# Quick start, command 2: install and run the whole test suite (type checks, then jest on real
# anvil chains and a real redis-server that the tests start themselves).
set -euo pipefail
cd "$(dirname "$0")/.."
SIDEGRID_NEEDS_CHROMIUM=1 SIDEGRID_NEEDS_TEST_TOOLS=1 bash scripts/setup.sh
pnpm test
