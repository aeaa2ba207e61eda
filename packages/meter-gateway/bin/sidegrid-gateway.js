#!/usr/bin/env node
// One meter gateway process: sidegrid-gateway --config <file> [--progress]
require("../dist/cli/gateway.js").main().catch((e) => {
  console.error(`sidegrid-gateway: ${e.shortMessage ?? e.message}`);
  if (e.details) console.error(e.details);
  process.exit(1);
});
