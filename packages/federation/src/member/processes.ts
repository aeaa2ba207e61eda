// A whole federation as OS processes on this machine: one `sidegrid-federation-member` process per
// member key, started from the built package, for tests, benches and local runs.
import path from "node:path";
import { freePort, isAlive, stopPid } from "@sidegrid/chain";
import type { DeployFederationReturnType } from "../deploy";
import { writeMemberConfigs, type EventSourceConfig, type FederationCheckpointerConfig, type FederationCustodyConfig, type MemberTuning } from "./config";
import { spawnMember, waitForMember } from "./spawn";

/** The running member processes of {@link spawnFederation}. */
export interface MemberProcesses {
  configFile: string;
  urls: string[];
  pids: (number | undefined)[];
  logFile(i: number): string;
  /** SIGKILLs member `i` and waits until it is gone. */
  kill(i: number): Promise<void>;
  /** (Re)starts member `i` and waits until it is healthy. */
  start(i: number): Promise<void>;
  stopAll(): Promise<void>;
}

export interface SpawnFederationParameters {
  /** Directory for the federation file, the members' LevelDB stores and their logs. */
  dir: string;
  deployment: DeployFederationReturnType;
  /** RPC URL per chain name of the deployment (confirmations 0). */
  rpcUrls: Record<string, string>;
  /** Follow new heads over WebSocket (the RPC URL with ws://), default true; false = poll only. */
  subscribe?: boolean;
  memberKeys: readonly string[];
  tuning?: Partial<MemberTuning>;
  eventSources?: EventSourceConfig[];
  /** Key custody: the members release key shares on logged grants. */
  custody?: FederationCustodyConfig;
  /** AccessLedger checkpoints: the members vote BlockSEC's heads root on BlockPRI. */
  checkpointer?: FederationCheckpointerConfig;
  /** Per member start timeout (default 20 s); a member still making progress gets up to 6× that. */
  startTimeoutMs?: number;
  /** Told when a member's start goes past the timeout because it is still working (a loaded machine). */
  onSlowStart?: (message: string) => void;
}

/**
 * Writes the federation file and starts every member as its own process; waits until all are
 * healthy. The members watch this process (SIDEGRID_MEMBER_PARENT_PID) and exit when it dies.
 *
 * @example
 * const members = await spawnFederation({ dir, deployment: fed, rpcUrls: { blockpri: url0, blocksec: url1, blocktst: url2 }, memberKeys: localMemberKeys(3) });
 * await members.stopAll();
 */
export async function spawnFederation(params: SpawnFederationParameters): Promise<MemberProcesses> {
  const base = await freePort(params.memberKeys.length);
  const ports = params.memberKeys.map((_, i) => base + i);
  const configFile = path.join(params.dir, "federation.json");
  // anvil serves WebSocket on its HTTP port: members follow new heads by subscription.
  const networks: Record<string, { rpcUrl: string; wsUrl?: string; confirmations: number }> = {};
  for (const [name, rpcUrl] of Object.entries(params.rpcUrls)) networks[name] = { rpcUrl, ...(params.subscribe === false ? {} : { wsUrl: rpcUrl.replace(/^http/, "ws") }), confirmations: 0 };
  const cfg = writeMemberConfigs({
    file: configFile,
    deployment: params.deployment,
    networks,
    memberKeys: params.memberKeys,
    urls: ports.map((p) => `http://127.0.0.1:${p}`),
    ...(params.tuning ? { tuning: params.tuning } : {}),
    ...(params.eventSources ? { eventSources: params.eventSources } : {}),
    ...(params.custody ? { custody: params.custody } : {}),
    ...(params.checkpointer ? { checkpointer: params.checkpointer } : {}),
  });
  const urls = cfg.members.map((m) => m.url);
  const logFile = (i: number) => path.join(params.dir, `member-${i}.log`);
  const pids: (number | undefined)[] = [];
  const start = async (i: number): Promise<void> => {
    const nodeArgs = process.env.FEDERATION_PROFILE_DIR ? ["--cpu-prof", `--cpu-prof-dir=${process.env.FEDERATION_PROFILE_DIR}`] : [];
    pids[i] = spawnMember({ configFile, member: i, logFile: logFile(i), nodeArgs, env: { ...process.env, SIDEGRID_MEMBER_PARENT_PID: String(process.pid) } });
    await waitForMember(urls[i]!, params.startTimeoutMs ?? 20000, { member: i, pid: pids[i]!, logFile: logFile(i), ...(params.onSlowStart ? { onSlow: params.onSlowStart } : {}) });
  };
  const stopAll = async () => {
    await Promise.all(pids.map((pid) => (pid !== undefined ? stopPid(pid, 3000) : Promise.resolve())));
  };
  try {
    await Promise.all(urls.map((_, i) => start(i)));
  } catch (e) {
    // A member that did not come up must not leave the others running.
    await stopAll();
    throw e;
  }
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
    stopAll,
  };
}
