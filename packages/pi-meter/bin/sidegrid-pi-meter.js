#!/usr/bin/env node
// The Pi agent beside a meter: sidegrid-pi-meter --meter-id N --serial /dev/ttyUSB0 ... (see src/agentCli.ts)
require("../dist/agentCli.js").main().catch((e) => {
  console.error(`sidegrid-pi-meter: ${e.shortMessage ?? e.message}`);
  process.exit(1);
});
