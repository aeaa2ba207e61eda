// `sidegrid up` waits for a gateway it spawned; when the Redis or chain it needs dies meanwhile, the
// wait must end at once (the supervisor then restarts that first) and leave no stray gateway behind.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { freePort, sleep } from "@sidegrid/chain";
import { GatewayError } from "./errors";
import { gatewayConfigForSimulator, spawnGateway, spawnMeterSimulator } from "./spawn";

function processesNaming(marker: string): number[] {
  return fs
    .readdirSync("/proc")
    .filter((d) => /^\d+$/.test(d))
    .filter((d) => {
      try {
        return fs.readFileSync(`/proc/${d}/cmdline`, "utf8").includes(marker);
      } catch {
        return false;
      }
    })
    .map(Number);
}

describe("spawnGateway's abortIf", () => {
  it("kills the gateway it is waiting for and throws START_ABANDONED with the reason", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "sidegrid-abandon-"));
    const sim = await spawnMeterSimulator({ count: 1, speed: 60, stateFile: path.join(dir, "meters.json"), detached: false });
    try {
      const dead = `http://127.0.0.1:${await freePort()}`;
      const config = gatewayConfigForSimulator({
        dataDir: dir,
        redisUrl: `redis://127.0.0.1:${await freePort()}`,
        blocksec: { rpcUrl: dead, chainId: 31999, addresses: { policyMirror: `0x${"11".repeat(20)}`, meterDataLedger: `0x${"22".repeat(20)}`, accessLedger: `0x${"33".repeat(20)}`, tradeLog: `0x${"44".repeat(20)}` }, privateKey: `0x${"ab".repeat(32)}` },
        simulator: sim,
      });
      const stateFile = path.join(dir, "gateway", "state.json");
      const started = Date.now();
      let looks = 0;
      const err = await spawnGateway({ config, stateFile, abortIf: () => (++looks >= 2 ? "redis died meanwhile" : null) }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(GatewayError);
      expect((err as GatewayError).code).toBe("START_ABANDONED");
      expect((err as GatewayError).message).toBe("stopped waiting for the gateway to start: redis died meanwhile");
      expect(Date.now() - started).toBeLessThan(5000);
      // The gateway's config file is named on its command line: no process may still run it.
      await sleep(300);
      expect(processesNaming(path.join(dir, "gateway", "gateway.config.json"))).toEqual([]);
    } finally {
      process.kill(sim.pid, "SIGTERM");
      await sim.exited;
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
