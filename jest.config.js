// Root run: every package's own jest config plus the cross-package scenarios in test/.
// testTimeout is a global option: jest ignores the projects' own value in a multi-project run.
module.exports = {
  projects: ["<rootDir>/packages/*/jest.config.js", "<rootDir>/test/jest.config.js"],
  testTimeout: 120000,
};
