#!/usr/bin/env bash
# Quick start, command 1: install, start the whole system locally on embedded defaults, show it working.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
node packages/cli/bin/sidegrid.js up
node packages/cli/bin/sidegrid.js demo
echo
echo "The system keeps running: 'node packages/cli/bin/sidegrid.js status' shows it, '... down' stops it."
