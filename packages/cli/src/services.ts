// The long-running processes `sidegrid up` starts on top of the chains and Redis: the federation
// members, the Pi-meter simulator and the gateway (HTTP API + portal). Each runs detached, logs to
// <dataDir>/logs and is recorded in the state file, so `down` stops exactly these.
import fs from "node:fs";
import path from "node:path";
import { NETWORK_NAMES, connectNetwork, isAlive, networkRpcUrls, redisClusterNodes, stopPid, type SidegridConfig } from "@sidegrid/chain";
import { BlockPriClient } from "@sidegrid/blockpri";
import { spawnMember, waitForMember, writeMemberConfigs } from "@sidegrid/federation";
import { gatewayConfigForSimulator, meterIdToBytes32, spawnGateway, spawnMeterSimulator, type DevAccount, type SpawnedMeterSimulator } from "@sidegrid/meter-gateway";
import { allLocal, consumerKeys, memberKeys, operatorPrivateKey, roleKey } from "./accounts";
import type { SystemDeployment } from "./deploy-system";
import { isOurs, writeState, type ProcessRecord, type SystemState } from "./system";
import type { Ui } from "./ui";

/** What the meters need to continue where they left off after a restart (same keys, same history). */
interface MetersMemo {
  /** Written by earlier versions; moved to the 0600 key file on the next start. */
  masterKeyHex?: string;
  simStartMs: number;
  realStartMs: number;
  speed: number;
  installedAtMs: number;
  count: number;
  capAtReal?: boolean;
  /** The last meters that speak DLMS (absent in memos of earlier versions: none). */
  dlmsMeters?: number;
}

/** Hours of 15-minute readings each simulated meter holds when first started. */
const INSTALLED_HOURS_AGO = 24;
/**
 * The simulated clock starts this far in the past and runs fast until it meets real time, then
 * keeps real time: readings are never stamped in the future, so a grant (whose range ends at the
 * moment it is made) covers everything anchored before it.
 */
const SIM_LEAD_MS = 2 * 86_400_000;

function memoFile(cfg: SidegridConfig): string {
  return path.join(cfg.dataDir, "meters", "memo.json");
}

export interface StartServicesReturnType {
  started: string[];
  reused: string[];
}

/**
 * Starts whatever service is not running. The three kinds depend on each other's state (the
 * gateway's meter sequence numbers, the simulator's keys), so a restart keeps both: the simulator
 * is restarted with its master key and a clock that continues the simulated time.
 */
export async function startServices(cfg: SidegridConfig, deployment: SystemDeployment, state: SystemState, ui: Ui): Promise<StartServicesReturnType> {
  const started: string[] = [];
  const reused: string[] = [];
  const running = (name: string) => state.processes.find((p) => p.name === name && isOurs(p));
  const record = (rec: ProcessRecord) => {
    state.processes = state.processes.filter((p) => p.name !== rec.name);
    state.processes.push(rec);
    started.push(rec.name);
    writeState(cfg, state);
  };
  const logs = path.join(cfg.dataDir, "logs");
  // A chain or Redis that dies while a service waits to come up: stop waiting (the service cannot get
  // healthy without it) so the supervisor's next look restarts it, instead of waiting out a minute.
  const infraDied = () => {
    const dead = state.processes.filter((p) => (p.kind === "anvil" || p.kind === "redis") && !isOurs(p)).map((p) => p.name);
    return dead.length ? `${dead.join(", ")} died meanwhile` : null;
  };

  // Federation members.
  const { keys, fromEnv } = memberKeys(cfg, cfg.services.members);
  // Local anvil nodes serve WebSocket on their HTTP port: members follow new heads by subscription
  // and poll only as a fallback (an idle system then costs little CPU).
  const networks: Record<string, { rpcUrl: string; rpcUrls: string[]; quorum: number; wsUrl?: string; confirmations: number; minBlockAgeMs: number }> = {};
  for (const n of NETWORK_NAMES) {
    const net = cfg.networks[n];
    networks[n] = { rpcUrl: net.rpcUrl, rpcUrls: networkRpcUrls(net), quorum: net.quorum, ...(net.local ? { wsUrl: net.rpcUrl.replace(/^http/, "ws") } : {}), confirmations: net.confirmations, minBlockAgeMs: net.minBlockAgeMs };
  }
  const configFile = path.join(cfg.dataDir, "federation", "federation.json");
  const fedCfg = writeMemberConfigs({
    file: configFile,
    deployment: deployment.federation,
    networks,
    memberKeys: keys,
    basePort: cfg.services.memberBasePort,
    ...(fromEnv ? { keyEnvPrefix: "SIDEGRID_MEMBER_KEY_" } : {}),
    // Every member releases its key shares on logged grants (KeyCustody on BlockSEC).
    custody: {
      keyCustody: deployment.blocksec.keyCustody,
      accessLedger: deployment.blocksec.accessLedger,
      policyMirror: deployment.blocksec.policyMirror,
      startBlock: deployment.blocksec.startBlock,
      // Woken by every new BlockSEC head the member's watcher sees (its own fallback poll included):
      // this timer is only a last resort, and each tick costs three RPC calls per member.
      pollMs: 30_000,
    },
    // Every member votes the AccessLedger heads' root on BlockPRI (courts compare nodes against it).
    ...(deployment.checkpoints
      ? {
          checkpointer: {
            accessCheckpoints: deployment.checkpoints.accessCheckpoints,
            accessLedger: deployment.blocksec.accessLedger,
            startBlock: deployment.blocksec.startBlock,
            intervalBlocks: deployment.checkpoints.intervalBlocks,
            pollMs: 30_000,
          },
        }
      : {}),
  });
  for (let i = 0; i < fedCfg.members.length; i++) {
    const name = `member-${i}`;
    if (running(name)) {
      reused.push(name);
      continue;
    }
    const url = fedCfg.members[i]!.url;
    const pid = await ui.step(
      `starting federation member ${i} (${fedCfg.members[i]!.address.slice(0, 10)}…)`,
      async () => {
        const logFile = path.join(logs, `${name}.log`);
        const pid = spawnMember({ configFile, member: i, logFile });
        try {
          await waitForMember(url, 30_000, { member: i, pid, logFile, abortIf: infraDied });
        } catch (e) {
          // Not recorded yet: nobody else would stop it.
          if (isAlive(pid)) process.kill(pid, "SIGKILL");
          throw e;
        }
        return pid;
      },
      () => url,
    );
    record({ name, kind: "member", pid, url, startedAt: new Date().toISOString() });
  }

  if (cfg.services.meters === 0) return { started, reused };

  // Simulated Pi meters.
  let sim: Pick<SpawnedMeterSimulator, "host" | "port" | "count" | "firstMeterId" | "clock" | "masterKeyFile" | "dlms" | "controlUrl" | "controlTokenFile">;
  const simState = path.join(cfg.dataDir, "meters", "state.json");
  const masterKeyFile = path.join(cfg.dataDir, "meters", "master.key");
  const deviceKeysFile = path.join(cfg.dataDir, "meters", "device-keys.json");
  const meters = running("meters");
  if (meters && fs.existsSync(simState)) {
    sim = JSON.parse(fs.readFileSync(simState, "utf8")) as SpawnedMeterSimulator;
    reused.push("meters");
  } else {
    const memo = fs.existsSync(memoFile(cfg)) ? (JSON.parse(fs.readFileSync(memoFile(cfg), "utf8")) as MetersMemo) : undefined;
    const now = Date.now();
    const capAtReal = memo ? memo.capAtReal === true : true;
    const continued = memo ? memo.simStartMs + (now - memo.realStartMs) * memo.speed : now - SIM_LEAD_MS;
    const simStartMs = capAtReal ? Math.min(continued, now) : continued;
    const installedAtMs = memo?.installedAtMs ?? simStartMs - INSTALLED_HOURS_AGO * 3600_000;
    const count = memo?.count ?? cfg.services.meters;
    const dlmsMeters = Math.min(count, memo ? (memo.dlmsMeters ?? 0) : cfg.services.dlmsMeters);
    // Appliance commands and log positions belong to the meters they were given to: a new installation starts without.
    const commandsFile = path.join(cfg.dataDir, "meters", "commands.jsonl");
    const acksFile = path.join(cfg.dataDir, "meters", "acks.json");
    if (!memo) for (const f of [commandsFile, acksFile]) fs.rmSync(f, { force: true });
    if (memo?.masterKeyHex && !fs.existsSync(masterKeyFile)) writeSecret(masterKeyFile, memo.masterKeyHex);
    // The meters' device keys (the keys the installer commissions): the meters sign bindings with them.
    writeSecret(deviceKeysFile, JSON.stringify(Object.fromEntries(simulatedMeterIds(count).map((id) => [id, consumerKeys(id).meterKey]))));
    const spawned = await ui.step(
      `starting ${count} simulated meters (${count - dlmsMeters} Pi meters on OSGP over TCP${dlmsMeters ? `, ${dlmsMeters} DLMS/COSEM over the IP wrapper and HDLC` : ""}; clock ×${cfg.services.meterSpeed})`,
      () =>
        spawnMeterSimulator({
          count,
          speed: memo?.speed ?? cfg.services.meterSpeed,
          simStartMs,
          capAtReal,
          installedHoursAgo: (simStartMs - installedAtMs) / 3600_000,
          controlPort: 0,
          stateFile: simState,
          logFile: path.join(logs, "meters.log"),
          masterKeyFile,
          deviceKeysFile,
          commandsFile,
          acksFile,
          ...(dlmsMeters > 0 ? { dlms: { count: dlmsMeters, transport: "mixed" as const } } : {}),
        }),
      (s) => `${s.host}:${s.port}`,
    );
    const next: MetersMemo = {
      simStartMs: spawned.clock.simStartMs,
      realStartMs: spawned.clock.realStartMs,
      speed: spawned.clock.speed,
      installedAtMs,
      count: spawned.count,
      capAtReal,
      dlmsMeters,
    };
    fs.writeFileSync(memoFile(cfg), JSON.stringify(next, null, 2), { mode: 0o600 });
    sim = spawned;
    record({ name: "meters", kind: "meters", pid: spawned.pid, url: `tcp://${spawned.host}:${spawned.port}`, startedAt: new Date().toISOString() });
  }

  await commissionMeters(cfg, deployment, sim, ui);

  // The gateway follows the simulator: a restarted simulator means a new clock in its config.
  if (running("gateway") && !started.includes("meters")) {
    reused.push("gateway");
    return { started, reused };
  }
  const old = running("gateway");
  if (old) await stopPid(old.pid, 10_000);
  const config = gatewayConfigForSimulator({
    dataDir: path.join(cfg.dataDir, "gateway"),
    redisUrl: cfg.redis.url,
    ...(redisClusterNodes(cfg.redis) ? { redisCluster: redisClusterNodes(cfg.redis)! } : {}),
    blocksec: {
      rpcUrl: cfg.networks.blocksec.rpcUrl,
      // A local anvil serves WebSocket on its HTTP port: the gateway follows new heads instead of polling.
      ...(cfg.networks.blocksec.local ? { wsUrl: cfg.networks.blocksec.rpcUrl.replace(/^http/, "ws") } : {}),
      chainId: deployment.networks.blocksec.chainId,
      addresses: {
        policyMirror: deployment.blocksec.policyMirror,
        meterDataLedger: deployment.blocksec.meterDataLedger,
        accessLedger: deployment.blocksec.accessLedger,
        tradeLog: deployment.blocksec.tradeLog,
        keyCustody: deployment.blocksec.keyCustody,
      },
      privateKey: roleKey(cfg, "gateway"),
      startBlock: deployment.blocksec.startBlock,
    },
    blockpri: { rpcUrl: cfg.networks.blockpri.rpcUrl, chainId: deployment.networks.blockpri.chainId, ppc: deployment.blockpri.ppc },
    simulator: sim,
    httpPort: cfg.services.gatewayPort,
    // The operator's own wallet may use the fleet view; on local chains the portal lists the dev keys.
    operators: [deployment.accounts.operator],
    ...(allLocal(cfg) ? { devAccounts: devAccounts(cfg, sim.count) } : {}),
  });
  // Households' demand-response rules run at their meters' reports, on the simulator's appliances.
  if (deployment.blocktst.demandResponse && sim.controlUrl && sim.controlTokenFile) {
    config.demandResponse = {
      blocktst: { rpcUrl: cfg.networks.blocktst.rpcUrl, chainId: deployment.networks.blocktst.chainId, demandResponse: deployment.blocktst.demandResponse },
      control: { url: sim.controlUrl, tokenFile: sim.controlTokenFile },
    };
  }
  // Court audits served by the gateway are checked against the federation's checkpoints too.
  if (deployment.checkpoints) config.checkpoints = { accessCheckpoints: deployment.checkpoints.accessCheckpoints, members: [...deployment.federation.members], threshold: deployment.federation.threshold };
  const gw = await ui.step(
    "starting the gateway (polling, PPC-enforced ingest, anchoring, HTTP API, portal)",
    () => spawnGateway({ config, stateFile: path.join(cfg.dataDir, "gateway", "state.json"), logFile: path.join(logs, "gateway.log"), abortIf: infraDied }),
    (g) => g.url,
  );
  record({ name: "gateway", kind: "gateway", pid: gw.pid, url: gw.url, startedAt: new Date().toISOString() });
  return { started, reused };
}

const HOUSEHOLD_NAMES = ["Alice", "Bob", "Carol", "Dave", "Erin", "Frank", "Grace", "Heidi"];

/** The accounts the portal offers on local chains: the demo's households and every role that has a view. */
export function devAccounts(cfg: SidegridConfig, meters: number): DevAccount[] {
  const homes = Array.from({ length: Math.min(meters, HOUSEHOLD_NAMES.length) }, (_, i) => ({
    label: `${HOUSEHOLD_NAMES[i]} (household, meter ${i + 1})`,
    role: "household" as const,
    privateKey: consumerKeys(i + 1).privateKey,
  }));
  return [
    ...homes,
    { label: "Utility (distributor)", role: "utility", privateKey: roleKey(cfg, "utility") },
    { label: "Energy company (distributor)", role: "company", privateKey: roleKey(cfg, "company") },
    { label: "Court (auditor)", role: "court", privateKey: roleKey(cfg, "court") },
    { label: "Operator (gateway operations)", role: "operator", privateKey: operatorPrivateKey(cfg) },
  ];
}

/** Simulated meter ids: the simulator numbers its meters 1..count. */
function simulatedMeterIds(count: number): number[] {
  return Array.from({ length: count }, (_, i) => i + 1);
}

function writeSecret(file: string, content: string): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, content, { mode: 0o600 });
  fs.chmodSync(file, 0o600);
}

/**
 * The utility's installer records every simulated meter's device key on BlockPRI (idempotent): only
 * then can a household bind the meter, with a binding the meter itself signs.
 */
async function commissionMeters(cfg: SidegridConfig, deployment: SystemDeployment, sim: { count: number; firstMeterId: number }, ui: Ui): Promise<void> {
  const ids = Array.from({ length: sim.count }, (_, i) => sim.firstMeterId + i);
  const net = await connectNetwork({ config: cfg, network: "blockpri", privateKey: roleKey(cfg, "installer") });
  try {
    const installer = new BlockPriClient({ sender: net.sender, address: deployment.blockpri.ppc });
    await ui.step(
      `commissioning ${ids.length} meters on BlockPRI (installer ${net.wallet.address.slice(0, 10)}…)`,
      () => installer.commissionMeters(ids.map((id) => ({ meterId: meterIdToBytes32(id), deviceKey: consumerKeys(id).meterSigner }))),
      (r) => (r.length ? `${r.length} transaction(s)` : "already commissioned"),
    );
  } finally {
    net.provider.destroy();
  }
}
