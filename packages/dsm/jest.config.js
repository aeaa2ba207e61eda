// A pure package: no chain and no Redis, so the preset's Redis global setup is switched off here.
module.exports = require("../../jest.preset.js")(__dirname, { globalSetup: undefined, globalTeardown: undefined });
