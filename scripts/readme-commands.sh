#!/usr/bin/env bash
# The commands the READMEs and docs show that no jest test runs itself, run as written. CI runs
# this after the test suite; test/readme-commands.test.ts says where every shown command runs.
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
step() { echo; echo "readme-commands: $* ($(( $(date +%s) - start )) s)"; }
cleanup() {
  [ -n "${meters:-}" ] && kill "$meters" 2>/dev/null || true
  [ -n "${gw:-}" ] && kill "$gw" 2>/dev/null || true
  node packages/cli/bin/sidegrid.js down >/dev/null 2>&1 || true
  rm -rf packages/meter-gateway/.data demo.json
}
trap cleanup EXIT

step "README quick start, command 1"
bash scripts/start.sh
node packages/cli/bin/sidegrid.js status
node packages/cli/bin/sidegrid.js demo --json > demo.json
node -e 'const r = require("./demo.json"); if (!r.ok) { console.error("demo --json: not ok"); process.exit(1); } console.log(`demo --json: ok, ${r.scenario2.trades.length} Table 3 trades`);'

step "docs/access-checkpoints.md: a court's audit of Alice (the demo's household 1) against two RPC endpoints"
pnpm sidegrid audit --consumer 0x8263Fce86B1b78F95Ab4dae11907d8AF88f841e7 --rpc http://127.0.0.1:31002 --rpc http://localhost:31002

step "packages/meter-gateway quick start, against the chains up started (its gateway's account, that gateway stopped)"
gwpid=$(node -e 'console.log(require("./.sidegrid/state.json").processes.find((p) => p.kind === "gateway").pid)')
kill "$gwpid"
cd packages/meter-gateway
rm -rf .data && mkdir -m 700 .data
node ../pi-meter/bin/sidegrid-meters.js --count 10 --speed 60 --control-port 0 --master-key-file .data/master.key --state-file .data/meters.json > .data/meters.log 2>&1 &
meters=$!
for _ in $(seq 1 100); do [ -s .data/meters.json ] && break; sleep 0.2; done
node -e '
  const fs = require("node:fs");
  const { gatewayConfigForSimulator } = require("./dist/index.js");
  const up = JSON.parse(fs.readFileSync("../../.sidegrid/gateway/gateway.config.json", "utf8"));
  const sim = JSON.parse(fs.readFileSync(".data/meters.json", "utf8"));
  const cfg = gatewayConfigForSimulator({ dataDir: ".data/gateway", redisUrl: up.redisUrl, blocksec: up.blocksec, simulator: sim, httpPort: 31099 });
  fs.writeFileSync(".data/gateway.json", JSON.stringify(cfg, null, 2), { mode: 0o600 });
'
node bin/sidegrid-gateway.js --config .data/gateway.json --progress > .data/gateway.log 2>&1 &
gw=$!
node -e '
  (async () => {
    for (let i = 0; i < 150; i++) {
      try {
        const r = await fetch("http://127.0.0.1:31099/healthz");
        const j = await r.json();
        if (r.ok && j.ok) { console.log("gateway from bin/sidegrid-gateway.js: healthy", JSON.stringify(j.checks)); return; }
      } catch {}
      await new Promise((r) => setTimeout(r, 200));
    }
    console.error("the gateway started from its bin never became healthy"); process.exit(1);
  })();
' || { tail -20 .data/gateway.log; exit 1; }
kill "$gw" "$meters"; wait "$gw" "$meters" 2>/dev/null || true
gw=; meters=
cd ../..
node packages/cli/bin/sidegrid.js down

step "benchmarks and fuzzing, as the READMEs show them"
pnpm bench
node packages/cli/bin/sidegrid.js bench --quick
pnpm bench:packages
pnpm --filter @sidegrid/osgp-codec run fuzz
pnpm --filter @sidegrid/dlms run fuzz

step "one package's tests, as the READMEs show them"
pnpm --filter @sidegrid/chain exec jest
npx jest packages/dlms

step "done"
