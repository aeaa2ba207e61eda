// `up` with `redis.cluster: true`: a local 3-master Redis Cluster from Debian's redis-server,
// recorded in the state file, probed by `status`, reused by a second `up` and stopped by `down`.
// The chains here are remote (nothing to start), so only Redis is exercised.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { execFileSync } from "node:child_process";
import { loadConfig } from "@sidegrid/chain";
import { freeRedisClusterPorts } from "@sidegrid/meter-gateway";
import { probeStatus, readState, startInfrastructure, stopAll } from "./system";
import { createUi } from "./ui";

jest.setTimeout(60_000);

describe("up with redis.cluster", () => {
  it("starts a 3-master cluster, reuses it on the next up, reports every node and stops them", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "sg-cluster-up-"));
    const base = await freeRedisClusterPorts(3, 24000 + (process.pid % 300) * 10);
    const file = path.join(dir, "sidegrid.config.json");
    const remote = (id: number) => ({ rpcUrl: `http://127.0.0.1:1/${id}`, chainId: id, local: false });
    fs.writeFileSync(file, JSON.stringify({ dataDir: "data", networks: { blockpri: remote(1), blocksec: remote(2), blocktst: remote(3) }, redis: { url: `redis://127.0.0.1:${base}`, port: base, cluster: true } }));
    const cfg = loadConfig({ file, env: {} });
    const ui = createUi(process.stderr, true);
    try {
      const first = await startInfrastructure(cfg, ui);
      expect(first.started).toEqual(["redis-cluster"]);
      expect(first.state.processes.map((p) => p.name)).toEqual([0, 1, 2].map((i) => `redis-${base + i}`));
      const info = execFileSync("redis-cli", ["-p", String(base + 1), "cluster", "info"]).toString();
      expect(info).toContain("cluster_state:ok");
      expect(info).toMatch(/cluster_size:3/);
      const status = await probeStatus(cfg);
      expect(status.filter((s) => s.kind === "redis-server (cluster)").map((s) => [s.name, s.ok])).toEqual([0, 1, 2].map((i) => [`Redis ${base + i}`, true]));
      // A second up finds the cluster running and starts nothing.
      const again = await startInfrastructure(cfg, ui);
      expect(again.started).toEqual([]);
      expect(readState(cfg)!.processes.map((p) => p.pid)).toEqual(first.state.processes.map((p) => p.pid));
    } finally {
      const stopped = await stopAll(cfg, ui);
      expect(stopped.sort()).toEqual([0, 1, 2].map((i) => `redis-${base + i}`));
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
