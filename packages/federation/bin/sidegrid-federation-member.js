#!/usr/bin/env node
// One federation member process: sidegrid-federation-member --member <k> --config <file>
require("../dist/cli.js").run();
