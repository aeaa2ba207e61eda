// Test harness: real member processes (spawned from the built package) on a deployed federation.
import path from "node:path";
import { freePort, isAlive, stopPid } from "@sidegrid/chain";
import type { DeployFederationReturnType } from "../deploy";
import { writeMemberConfigs, type EventSourceConfig, type MemberTuning } from "../member/config";
import { spawnMember, waitForMember } from "../member/spawn";
import type { World } from "./world";

export interface MemberProcesses {
  configFile: string;
  urls: string[];
  pids: (number | undefined)[];
  logFile(i: number): string;
  kill(i: number): Promise<void>;
  start(i: number): Promise<void>;
  stopAll(): Promise<void>;
}

export interface SpawnFederationParameters {
  dir: string;
  deployment: DeployFederationReturnType;
  /** RPC URL per chain name of the deployment (confirmations 0). */
  rpcUrls: Record<string, string>;
  memberKeys: readonly string[];
  tuning?: Partial<MemberTuning>;
  eventSources?: EventSourceConfig[];
}

/** Writes the federation file and starts every member as its own process; waits until all are healthy. */
export async function spawnFederation(params: SpawnFederationParameters): Promise<MemberProcesses> {
  const ports: number[] = [];
  while (ports.length < params.memberKeys.length) {
    const p = await freePort();
    if (!ports.includes(p)) ports.push(p);
  }
  const configFile = path.join(params.dir, "federation.json");
  const networks: Record<string, { rpcUrl: string; confirmations: number }> = {};
  for (const [name, rpcUrl] of Object.entries(params.rpcUrls)) networks[name] = { rpcUrl, confirmations: 0 };
  const cfg = writeMemberConfigs({
    file: configFile,
    deployment: params.deployment,
    networks,
    memberKeys: params.memberKeys,
    urls: ports.map((p) => `http://127.0.0.1:${p}`),
    ...(params.tuning ? { tuning: params.tuning } : {}),
    ...(params.eventSources ? { eventSources: params.eventSources } : {}),
  });
  const urls = cfg.members.map((m) => m.url);
  const logFile = (i: number) => path.join(params.dir, `member-${i}.log`);
  const pids: (number | undefined)[] = [];
  const start = async (i: number): Promise<void> => {
    const nodeArgs = process.env.FEDERATION_PROFILE_DIR ? ["--cpu-prof", `--cpu-prof-dir=${process.env.FEDERATION_PROFILE_DIR}`] : [];
    pids[i] = spawnMember({ configFile, member: i, logFile: logFile(i), nodeArgs, env: { ...process.env, SIDEGRID_MEMBER_PARENT_PID: String(process.pid) } });
    await waitForMember(urls[i]!, 20000);
  };
  await Promise.all(urls.map((_, i) => start(i)));
  return {
    configFile,
    urls,
    pids,
    logFile,
    async kill(i: number) {
      const pid = pids[i];
      if (pid === undefined) return;
      process.kill(pid, "SIGKILL");
      while (isAlive(pid)) await new Promise((r) => setTimeout(r, 10));
      pids[i] = undefined;
    },
    start,
    async stopAll() {
      await Promise.all(pids.map((pid) => (pid !== undefined ? stopPid(pid, 3000) : Promise.resolve())));
    },
  };
}

/** {@link spawnFederation} on a test World. */
export function startMemberProcesses(w: World, tuning: Partial<MemberTuning> = {}, eventSources?: EventSourceConfig[]): Promise<MemberProcesses> {
  const rpcUrls: Record<string, string> = {};
  w.fed.chains.forEach((c, i) => (rpcUrls[c.name] = w.chains[i]!.node.url));
  return spawnFederation({ dir: w.dir, deployment: w.fed, rpcUrls, memberKeys: w.memberKeys, tuning, ...(eventSources ? { eventSources } : {}) });
}
