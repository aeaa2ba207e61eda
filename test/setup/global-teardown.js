const fs = require("node:fs");

module.exports = async function globalTeardown() {
  const r = globalThis.__SIDEGRID_REDIS__;
  if (!r) return;
  globalThis.__SIDEGRID_REDIS__ = undefined;
  r.child.kill("SIGTERM");
  await new Promise((resolve) => {
    if (r.child.exitCode !== null) return resolve();
    r.child.once("exit", resolve);
    setTimeout(resolve, 3000).unref();
  });
  fs.rmSync(r.dir, { recursive: true, force: true });
};
