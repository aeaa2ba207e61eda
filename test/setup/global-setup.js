// Starts one real redis-server for the whole jest run (on a free port, in a temp dir) and
// exports its URL as SIDEGRID_TEST_REDIS_URL. Chains are started per test file (see
// @sidegrid/chain startTestChains) so files running in parallel never share nonces.
// Idempotent: with several jest projects in one run, the first setup starts it, the rest reuse it.
const { spawn, execFileSync } = require("node:child_process");
const fs = require("node:fs");
const net = require("node:net");
const os = require("node:os");
const path = require("node:path");

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

async function waitForPing(port, ms) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const ok = await new Promise((resolve) => {
      const s = net.connect(port, "127.0.0.1");
      s.on("connect", () => s.write("PING\r\n"));
      s.on("data", (d) => { s.destroy(); resolve(d.toString().startsWith("+PONG")); });
      s.on("error", () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`redis-server on port ${port} did not answer PING within ${ms} ms`);
}

module.exports = async function globalSetup() {
  if (process.env.SIDEGRID_TEST_REDIS_URL) return;
  let bin;
  try {
    bin = execFileSync("sh", ["-c", "command -v redis-server"]).toString().trim();
  } catch {
    throw new Error("redis-server not found: install it with `apt-get install -y redis-server` (scripts/setup.sh does)");
  }
  const port = await freePort();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "sidegrid-test-redis-"));
  const child = spawn(bin, ["--port", String(port), "--bind", "127.0.0.1", "--dir", dir, "--save", "", "--appendonly", "no"], {
    stdio: "ignore",
    detached: false,
  });
  await waitForPing(port, 10000);
  process.env.SIDEGRID_TEST_REDIS_URL = `redis://127.0.0.1:${port}`;
  globalThis.__SIDEGRID_REDIS__ = { child, dir };
};
