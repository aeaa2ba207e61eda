#!/usr/bin/env node
// A Pi-meter simulator process: sidegrid-meters --count N [--port P] [--speed X] ...
require("../dist/cli.js").main().catch((e) => {
  console.error(`sidegrid-meters: ${e.shortMessage ?? e.message}`);
  process.exit(1);
});
