// Shared jest settings: TypeScript through @swc/jest (type checking is `pnpm typecheck`),
// workspace packages resolved to their source entry so tests need no prior build of siblings.
const path = require("node:path");

/** @param {string} dir package directory */
module.exports = function preset(dir, extra = {}) {
  return {
    rootDir: dir,
    testEnvironment: "node",
    transform: {
      "^.+\\.(t|j)sx?$": [
        "@swc/jest",
        { jsc: { parser: { syntax: "typescript" }, target: "es2022" }, module: { type: "commonjs" } },
      ],
    },
    moduleNameMapper: {
      "^@sidegrid/([a-z-]+)$": path.join(__dirname, "packages/$1/src/index.ts"),
    },
    testMatch: ["<rootDir>/src/**/*.test.ts", "<rootDir>/test/**/*.test.ts"],
    testPathIgnorePatterns: ["/node_modules/", "/dist/"],
    globalSetup: path.join(__dirname, "test/setup/global-setup.js"),
    globalTeardown: path.join(__dirname, "test/setup/global-teardown.js"),
    testTimeout: 60000,
    ...extra,
  };
};
