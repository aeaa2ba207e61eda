// Root run: every package's own jest config plus the cross-package scenarios in test/.
module.exports = {
  projects: ["<rootDir>/packages/*/jest.config.js", "<rootDir>/test/jest.config.js"],
};
