#!/usr/bin/env node
import { run } from "./program";

run(process.argv.slice(2), { stdout: (s) => process.stdout.write(`${s}\n`), stderr: process.stderr }).then((code) => {
  process.exitCode = code;
});
