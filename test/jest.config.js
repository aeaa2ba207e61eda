// Cross-package scenarios (test/*.test.ts) share the package preset.
const path = require("node:path");
module.exports = {
  ...require("../jest.preset.js")(path.join(__dirname, "..")),
  displayName: "scenarios",
  testMatch: ["<rootDir>/test/**/*.test.ts"],
};
