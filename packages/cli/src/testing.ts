// Test configs: a system on free ports in a temp dir, so tests never touch a developer's
// `sidegrid up` on the default ports.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { freePort } from "@sidegrid/chain";

/** The first of `n` consecutive free ports (claimed, outside the ephemeral range: see `freePort`). */
export function freePortRange(n: number): Promise<number> {
  return freePort(n);
}

export interface TestSystemConfig {
  dir: string;
  file: string;
}

/**
 * Writes a sidegrid.config.json for a local system with the given chain ids on free ports.
 * `network` is merged into each of the three networks (e.g. `{ minBlockAgeMs: 4000 }`).
 */
export async function writeTestConfig(chainIds: [number, number, number], services: Record<string, number> = {}, network: Record<string, number> = {}): Promise<TestSystemConfig> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "sidegrid-sys-"));
  const ports = [await freePort(), await freePort(), await freePort(), await freePort()];
  const cfg = {
    dataDir: "data",
    networks: {
      blockpri: { rpcUrl: `http://127.0.0.1:${ports[0]}`, chainId: chainIds[0], port: ports[0], local: true, ...network },
      blocksec: { rpcUrl: `http://127.0.0.1:${ports[1]}`, chainId: chainIds[1], port: ports[1], local: true, ...network },
      blocktst: { rpcUrl: `http://127.0.0.1:${ports[2]}`, chainId: chainIds[2], port: ports[2], local: true, ...network },
    },
    redis: { url: `redis://127.0.0.1:${ports[3]}`, port: ports[3], local: true },
    // No DLMS meters unless asked: the system tests' households keep their OSGP meters.
    services: { memberBasePort: await freePortRange(3), gatewayPort: await freePort(), dlmsMeters: 0, ...services },
  };
  const file = path.join(dir, "sidegrid.config.json");
  fs.writeFileSync(file, JSON.stringify(cfg, null, 2));
  return { dir, file };
}
