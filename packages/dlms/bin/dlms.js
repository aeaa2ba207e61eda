#!/usr/bin/env node
// The dlms command (see README): a wrapper so pnpm can link it before dist/ is built.
require("../dist/cli.js").main();
