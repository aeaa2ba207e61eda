#!/usr/bin/env node
// Compiles ./contracts of the current package into ./artifacts and TypeChain types into ./src/generated.
const { compileContracts } = require("../dist/index.js");

compileContracts({
  contractsDir: "contracts",
  outDir: "artifacts",
  typesOutDir: "src/generated",
  force: process.argv.includes("--force"),
})
  .then((r) => {
    const names = r.artifacts.map((a) => a.contractName).join(", ");
    console.log(`${r.cached ? "up to date" : "compiled"} (solc ${r.solcVersion.split("+")[0]}): ${names}`);
  })
  .catch((e) => {
    console.error(`sidegrid-compile: ${e.shortMessage ?? e.message}`);
    if (e.details) console.error(e.details);
    process.exit(1);
  });
