// `sidegrid chaos`: the whole local system under faults. Households that grant quarter-hourly data
// send readings through the gateway while preference changes and peg transfers flow; meanwhile each
// chosen process is killed with SIGKILL at a random point and brought back by `up` (which starts
// only what is dead). At the end the run settles and checks what a grid operator, a household and a
// court rely on (chaosChecks.ts): every reading anchored exactly once or reported lost by a gap
// alert, every federation message executed once, preferences mirrored in order, SGT conserved
// across the peg — and that nobody had to step in.
import fs from "node:fs";
import path from "node:path";
import { MaxUint256, Wallet, parseEther } from "ethers";
import { connectNetwork, operatorKey, rpcCall, sleep, type ConnectedNetwork, type NetworkName, type SidegridConfig } from "@sidegrid/chain";
import { BlockPriClient, type SetPreferenceParameters } from "@sidegrid/blockpri";
import { BlockSecClient } from "@sidegrid/blocksec";
import { BlockTstClient, ONE } from "@sidegrid/blocktst";
import { createPrng, shuffle } from "@sidegrid/dsm";
import { TokenPeg__factory } from "@sidegrid/federation";
import { meterIdToBytes32, meterSimulatorControl, type SpawnedMeterSimulator } from "@sidegrid/meter-gateway";
import { allLocal, boxPublicKeyHex, consumerKeys, roleKey, type ConsumerKeys } from "./accounts";
import { checkInvariants, chainHeads, type InvariantReport } from "./chaosChecks";
import { readDeployment, type SystemDeployment } from "./deploy-system";
import { CliError } from "./errors";
import { isOurs, probeStatus, readState } from "./system";
import { createUi, type Ui } from "./ui";

/** What `chaos` can kill. Anvil nodes are opt-in: see `ANVIL_FAULTS`. */
export type FaultName = "redis" | "redis-empty" | "gateway" | "meters" | "blockpri" | "blocksec" | "blocktst" | `${NetworkName}-rollback` | `member-${number}`;

/**
 * A local anvil killed with SIGKILL comes back from its last state dump (up to 2 s old): with
 * `confirmations: 0` and no `minBlockAgeMs` that undoes blocks the members may already have
 * relayed, which no relay can repair. In the default run only where `minBlockAgeMs` covers it
 * (see {@link rollbacksCovered}); otherwise by name or `all` (docs/faults.md).
 */
export const ANVIL_FAULTS: readonly FaultName[] = ["blockpri", "blocksec", "blocktst"];

/**
 * A rollback of the chain (`evm_snapshot`, then `evm_revert` 1–3 s later: the blocks mined in
 * between leave the chain, their transactions gone — what an anvil restarted from an older state
 * dump does; local anvils keep no history for `anvil_reorg`). Local chains relay with
 * `confirmations: 0`, so this is deeper than the confirmations. BlockSEC's is in the default run;
 * the sources' are opt-in like the anvil kills.
 */
export const ROLLBACK_FAULTS: readonly FaultName[] = ["blockpri-rollback", "blocksec-rollback", "blocktst-rollback"];
/** Rollbacks of the chains members relay from: in the default run only when every chain's `minBlockAgeMs` covers them. */
const SOURCE_ROLLBACKS: readonly FaultName[] = ["blockpri-rollback", "blocktst-rollback"];
/** The longest a chaos rollback lets blocks pile up before it reverts them. */
export const ROLLBACK_WINDOW_MS = 3000;

/**
 * Whether the members of `cfg`'s system wait out a chaos rollback and an anvil restarted from its
 * state dump (≤ 2 s old): every network's `minBlockAgeMs` is longer than {@link ROLLBACK_WINDOW_MS},
 * so no block either removes was relayed from.
 */
export function rollbacksCovered(cfg: SidegridConfig): boolean {
  return Object.values(cfg.networks).every((n) => n.minBlockAgeMs > ROLLBACK_WINDOW_MS);
}

export interface ChaosOptions {
  /**
   * Brings a killed process back (`up`: passed in, so this module does not import the command
   * tree); a no-op when a supervisor (`up --supervise`, `supervise()`) does it.
   */
  restart: (cfg: SidegridConfig, ui: Ui) => Promise<unknown>;
  /** Anchored readings the run waits for before it settles (default 20,000). */
  readings?: number;
  /** Faults in the order wanted (default: every member, the gateway, the meters, Redis, Redis emptied, a BlockSEC rollback; shuffled). */
  faults?: readonly FaultName[];
  /** Seeds the order and the timing of the faults, 0..2^32−1 (default: the clock). */
  seed?: number;
  /** How many households take part (default: every simulated OSGP meter free for it). */
  households?: number;
  say?: (line: string) => void;
  /** Upper bound on the whole run (default 20 min). */
  timeoutMs?: number;
}

export interface FaultRecord {
  name: FaultName;
  /** 0 for a rollback (nothing is killed). */
  pid: number;
  /** A rollback: how many blocks left the chain. */
  blocksRolledBack?: number;
  /** Since the start of the load. */
  killedAtMs: number;
  /** From the kill until `up` had every process back. */
  restartedAfterMs: number;
  /** From the kill until every component reported healthy again. */
  healthyAfterMs: number;
}

export interface ChaosReport extends InvariantReport {
  ok: boolean;
  seed: number;
  durationMs: number;
  households: number;
  faults: FaultRecord[];
  /**
   * Preference changes and peg transfers sent during the run, the sends a fault made fail (retried
   * later), and the households whose battery was commanded to discharge at the start.
   */
  streams: { preferenceChanges: number; pegLocks: number; pegBurns: number; failedSends: number; batteryCommands: number };
}

/**
 * Parses `--faults a,b,c` (or "default", "all"); unknown names are refused. The default adds the
 * anvil kills and the source chains' rollbacks when `chainFaultsCovered` (see {@link rollbacksCovered}).
 */
export function parseFaults(text: string, members: number, chainFaultsCovered = false): FaultName[] {
  const memberFaults = Array.from({ length: members }, (_, i) => `member-${i}` as FaultName);
  // BlockSEC is only a destination of relays in this system: a rollback there is repaired (the
  // gateway re-anchors, the members deliver again what it undid). Source rollbacks are not yet.
  const defaults: FaultName[] = [...memberFaults, "gateway", "meters", "redis", "redis-empty", "blocksec-rollback"];
  if (text === "default") return chainFaultsCovered ? [...defaults, ...ANVIL_FAULTS, ...SOURCE_ROLLBACKS] : defaults;
  if (text === "all") return [...defaults, ...ANVIL_FAULTS, ...SOURCE_ROLLBACKS];
  const known = new Set<string>([...defaults, ...ANVIL_FAULTS, ...ROLLBACK_FAULTS]);
  const out = text.split(",").map((s) => s.trim()).filter(Boolean);
  for (const f of out) if (!known.has(f)) throw new CliError("BAD_ARGUMENT", `--faults: unknown fault "${f}" (one of ${[...known].join(", ")}, or default, all)`);
  if (out.length === 0) throw new CliError("BAD_ARGUMENT", "--faults: name at least one fault");
  return out as FaultName[];
}

interface Household {
  keys: ConsumerKeys;
  pri: BlockPriClient;
}

const OTHER_UTILITY = "0x00000000000000000000000000000000c4a05000";

/**
 * Runs the chaos: set up households, start the load and the streams, kill and restart, settle, check.
 * @example
 * const report = await runChaos(cfg, { restart: up, readings: 20_000, seed: 7, say: console.log });
 * if (!report.ok) console.error(report.violations);
 */
export async function runChaos(cfg: SidegridConfig, opts: ChaosOptions): Promise<ChaosReport> {
  const say = opts.say ?? (() => {});
  const t0 = Date.now();
  const deadline = t0 + (opts.timeoutMs ?? 20 * 60_000);
  if (!allLocal(cfg)) throw new CliError("BAD_ARGUMENT", "chaos kills local processes and plays households with dev keys: it runs on local chains only");
  const state = readState(cfg);
  if (!state) throw new CliError("NOT_RUNNING", "nothing is running: start the system with `sidegrid up` first");
  const seed = opts.seed ?? Date.now() % 2 ** 31;
  const prng = createPrng(seed);
  const rnd = prng.next;
  const faults = shuffle([...(opts.faults ?? parseFaults("default", cfg.services.members, rollbacksCovered(cfg)))], prng);
  const target = opts.readings ?? 20_000;
  const d = readDeployment(cfg);
  const simStateFile = path.join(cfg.dataDir, "meters", "state.json");
  if (!fs.existsSync(simStateFile)) throw new CliError("NOT_RUNNING", "the meter simulator is not running: run `sidegrid up` again");
  const sim = JSON.parse(fs.readFileSync(simStateFile, "utf8")) as SpawnedMeterSimulator;
  const nets: ConnectedNetwork[] = [];
  const on = async (n: NetworkName, key: string) => {
    const c = await connectNetwork({ config: cfg, network: n, privateKey: key, requireFunds: false });
    nets.push(c);
    return c;
  };
  // The streams run until stopped; a run that fails must stop them too, or they keep the process alive.
  let stop = false;
  const loops: Promise<void>[] = [];
  try {
    say(`chaos: seed ${seed}; faults in this order: ${faults.join(", ")}`);
    const homes = await setUpHouseholds(cfg, d, sim, on, opts.households, say);
    if (homes.length === 0) throw new CliError("BAD_ARGUMENT", "no simulated OSGP meter is free for chaos households (all taken by other choices)");
    const secAddrs = { policyMirror: d.blocksec.policyMirror, meterDataLedger: d.blocksec.meterDataLedger, accessLedger: d.blocksec.accessLedger, tradeLog: d.blocksec.tradeLog };
    const sec = new BlockSecClient({ sender: (await on("blocksec", roleKey(cfg, "utility"))).sender, addresses: secAddrs });
    await waitFor(deadline, "the chaos households' consent to reach BlockSEC", async () => {
      for (const h of homes) {
        if (!(await sec.isPermitted({ consumer: h.keys.address, utility: d.accounts.utility, category: "CONSUMPTION", resolution: "QUARTER_HOURLY" }))) return false;
      }
      return true;
    });
    const startBlocks = await chainHeads(cfg);

    // The streams: a few households change an unrelated preference (their consumption grant stays),
    // and the trader moves SGT over the peg and back.
    const streams = { preferenceChanges: 0, pegLocks: 0, pegBurns: 0, failedSends: 0, batteryCommands: 0 };
    // Some households' batteries discharge (demand response): their export registers then hold
    // energy the load profile alone does not make, which a restarted simulator must not forget.
    const control = meterSimulatorControl(sim);
    for (const h of homes.slice(0, Math.min(10, homes.length))) {
      await control.request("POST", `/meters/${h.keys.meter}/appliances`, { device: "battery", action: "discharge" });
      streams.batteryCommands++;
    }
    const togglers = homes.slice(0, Math.min(3, homes.length));
    const prefLoop = (async () => {
      for (let i = 0; !stop; i++) {
        const h = togglers[i % togglers.length]!;
        try {
          await h.pri.setPreferences(chaosPrefs(d, i % 2 === 0 ? "HOURLY" : "DAILY"));
          streams.preferenceChanges++;
        } catch {
          streams.failedSends++;
        }
        await sleep(700);
      }
    })();
    loops.push(prefLoop);
    const peg = await pegStream(cfg, d, on);
    const pegLoop = (async () => {
      for (let i = 0; !stop; i++) {
        try {
          if (i % 3 === 2) {
            await peg.burn();
            streams.pegBurns++;
          } else {
            await peg.lock();
            streams.pegLocks++;
          }
        } catch {
          streams.failedSends++;
        }
        await sleep(900);
      }
    })();
    loops.push(pegLoop);

    // What a rollback must take with it: a preference change on BlockPRI, a peg lock on BlockTST, a
    // utility's recorded read on BlockSEC, sent after the snapshot (the streams and the gateway's
    // anchors may be between sends just then).
    const inWindow: Partial<Record<NetworkName, () => Promise<void>>> = {
      blocksec: async () => {
        await sec.getEnergyUsage(homes[0]!.keys.address);
      },
      blockpri: async () => {
        await togglers[0]!.pri.setPreferences(chaosPrefs(d, "HOURLY"));
        streams.preferenceChanges++;
      },
      blocktst: async () => {
        await peg.lock();
        streams.pegLocks++;
      },
    };
    // The faults, one at a time, each at a random point.
    const records: FaultRecord[] = [];
    const tLoad = Date.now();
    const ui = createUi(process.stderr, true);
    for (const f of faults) {
      await sleep(2000 + rnd() * 6000);
      const rec = await inject(cfg, f, tLoad, rnd, () => opts.restart(cfg, ui), deadline, inWindow);
      records.push(rec);
      say(`  ${rec.pid ? `killed ${f} (pid ${rec.pid})` : `${f} of ${rec.blocksRolledBack} blocks`} at ${(rec.killedAtMs / 1000).toFixed(1)} s; back after ${(rec.restartedAfterMs / 1000).toFixed(1)} s, all healthy after ${(rec.healthyAfterMs / 1000).toFixed(1)} s`);
    }
    // Keep the load on until the wanted number of readings is anchored.
    let anchored = 0;
    await waitFor(deadline, `${target} anchored readings`, async () => {
      anchored = await anchoredCount(sec, homes, d.blocksec.startBlock);
      return anchored >= target;
    }, 2000);
    stop = true;
    await Promise.all([prefLoop, pegLoop]);
    say(`  ${anchored} readings anchored; settling`);
    const inv = await checkInvariants({ cfg, d, sec, households: homes.map((h) => h.keys), togglers: togglers.map((h) => h.keys.address), startBlocks, simStateFile, deadline, trader: peg.trader });
    const report: ChaosReport = { ...inv, ok: inv.violations.length === 0, seed, durationMs: Date.now() - t0, households: homes.length, faults: records, streams };
    return report;
  } finally {
    stop = true;
    // Destroyed providers fail a send in flight, so the loops end within a sleep.
    for (const n of nets) n.provider.destroy();
    await Promise.race([Promise.allSettled(loops), new Promise((r) => setTimeout(r, 30_000).unref())]);
  }
}

/** The report as the lines a person reads: the counts first, then each violation. */
export function formatChaos(r: ChaosReport): string[] {
  const lines = [
    "",
    `chaos ${r.ok ? "PASSED" : "FAILED"} (seed ${r.seed}, ${(r.durationMs / 1000).toFixed(0)} s, ${r.households} households)`,
    `  killed and restarted: ${r.faults.length} (${r.faults.map((f) => f.name).join(", ")}); slowest back to healthy ${(Math.max(0, ...r.faults.map((f) => f.healthyAfterMs)) / 1000).toFixed(1)} s`,
    `  readings: ${r.readings.handedOver} handed over by the meters, ${r.readings.anchored} anchored, ${r.readings.duplicates} anchored twice, ${r.readings.lostWithAlert} lost with a gap alert, ${r.readings.lostSilently.reduce((n, l) => n + l.sequences.length, 0)} lost silently (${r.readings.ackBehind} meters' acknowledged position behind their newest anchored record)`,
    `  federation messages: ${r.messages.sent} sent, ${r.messages.executed} executed, ${r.messages.executedTwice} executed twice, ${r.messages.notExecuted} not executed`,
    `  preference changes: ${r.streams.preferenceChanges} sent, ${r.preferences.mirroredEvents} mirrored on BlockSEC, ${r.preferences.outOfOrder.length} out of order`,
    `  peg: ${r.streams.pegLocks} locks, ${r.streams.pegBurns} burns; locked ${r.peg.lockedOnBlockTst} = wSGT ${r.peg.wrappedOnBlockPri} + held ${r.peg.heldOnBlockPri}: ${r.peg.conserved ? "conserved" : "NOT conserved"}`,
    `  sends that a fault made fail (the streams went on): ${r.streams.failedSends}; batteries commanded to discharge: ${r.streams.batteryCommands}`,
    `  settled: the checks held after ${(r.settle.ms / 1000).toFixed(1)} s and ${r.settle.looks} look(s) at the chains`,
  ];
  for (const v of r.violations) lines.push(`  VIOLATION: ${v}`);
  return lines;
}

function chaosPrefs(d: SystemDeployment, other: "HOURLY" | "DAILY"): SetPreferenceParameters[] {
  return [
    { utility: d.accounts.utility, category: "CONSUMPTION", allowed: true, resolution: "QUARTER_HOURLY" },
    { utility: OTHER_UTILITY, category: "CONSUMPTION", allowed: true, resolution: other },
  ];
}

/**
 * Registers a household on each free OSGP meter (free: nobody registered, or a chaos household
 * from an earlier run) with quarter-hourly consent for the utility. Households with other choices
 * (the demo's) are left alone.
 */
async function setUpHouseholds(cfg: SidegridConfig, d: SystemDeployment, sim: SpawnedMeterSimulator, on: (n: NetworkName, k: string) => Promise<ConnectedNetwork>, limit: number | undefined, say: (l: string) => void): Promise<Household[]> {
  const dlms = new Set((sim.dlms ?? []).map((m) => m.meterId));
  const ids = Array.from({ length: sim.count }, (_, i) => sim.firstMeterId + i).filter((m) => !dlms.has(m));
  const operator = await on("blockpri", operatorKey(cfg, "blockpri"));
  const admin = new BlockPriClient({ sender: operator.sender, address: d.blockpri.ppc });
  const control = meterSimulatorControl(sim);
  const wanted = chaosPrefs(d, "DAILY")[0]!;
  const homes: Household[] = [];
  const toRegister: ConsumerKeys[] = [];
  for (const m of ids) {
    if (limit !== undefined && homes.length + toRegister.length >= limit) break;
    const keys = consumerKeys(m);
    const reg = await admin.registrationOf(keys.address);
    if (reg) {
      const prefs = await admin.getPreferences(keys.address);
      const mine = prefs.some((p) => p.utility.toLowerCase() === wanted.utility!.toLowerCase() && p.category === "CONSUMPTION" && p.allowed && p.resolution === "QUARTER_HOURLY");
      if (!mine || prefs.length !== 2) continue; // someone else's household
    }
    toRegister.push(keys);
  }
  const need: string[] = [];
  for (const k of toRegister) if ((await operator.provider.getBalance(k.address)) < parseEther("1")) need.push(k.address);
  if (need.length) await operator.sender.sendMany(need.map((to) => ({ to, value: parseEther("10") })));
  for (const keys of toRegister) {
    const pri = new BlockPriClient({ sender: (await on("blockpri", keys.privateKey)).sender, address: d.blockpri.ppc });
    const meterId = meterIdToBytes32(keys.meter);
    const existing = await pri.registrationOf(keys.address);
    if (!existing || existing.meterId !== meterId || existing.meterSigner !== keys.meterSigner) {
      const binding = await pri.meterBinding({ meterId, consumer: keys.address });
      const { signature } = await control.requestBinding(keys.meter, { consumer: keys.address, nonce: binding.nonce, expiry: binding.expiry, chainId: pri.chainId, ppc: pri.address });
      await pri.consumerRegister({ binding, signature, encryptionKey: boxPublicKeyHex(keys) });
      await pri.setPreferences(chaosPrefs(d, "DAILY"));
    }
    homes.push({ keys, pri });
  }
  say(`  ${homes.length} households grant quarter-hourly data (meters ${homes[0]?.keys.meter ?? "-"}…${homes.at(-1)?.keys.meter ?? "-"})`);
  return homes;
}

/** The trader's peg stream: lock 1 SGT on BlockTST for BlockPRI, burn 1 wSGT back. */
async function pegStream(cfg: SidegridConfig, d: SystemDeployment, on: (n: NetworkName, k: string) => Promise<ConnectedNetwork>) {
  const key = roleKey(cfg, "trader");
  const trader = new Wallet(key).address;
  const fedPri = d.federation.chains.find((c) => c.name === "blockpri")!;
  const fedTst = d.federation.chains.find((c) => c.name === "blocktst")!;
  const tst = new BlockTstClient({ sender: (await on("blocktst", key)).sender, addresses: d.blocktst });
  if ((await tst.balanceOf()) < 200n * ONE) await tst.faucet(200n * ONE);
  await tst.approve(fedTst.peg!, MaxUint256);
  const iface = TokenPeg__factory.createInterface();
  const tstNet = await on("blocktst", key);
  const priNet = await on("blockpri", key);
  return {
    trader,
    lock: () => tstNet.sender.sendAndWait({ to: fedTst.peg!, data: iface.encodeFunctionData("lock", [ONE, fedPri.chainId, trader]) }),
    burn: () => priNet.sender.sendAndWait({ to: fedPri.peg!, data: iface.encodeFunctionData("burn", [ONE, trader]) }),
  };
}

async function anchoredCount(sec: BlockSecClient, homes: readonly Household[], fromBlock: number): Promise<number> {
  let n = 0;
  for (const h of homes) n += (await sec.storedRecords({ consumer: h.keys.address, fromBlock })).length;
  return n;
}

/** Kills one process with SIGKILL, waits a moment, runs `up`, and waits until everything is healthy. */
async function inject(
  cfg: SidegridConfig,
  f: FaultName,
  tLoad: number,
  rnd: () => number,
  restart: () => Promise<unknown>,
  deadline: number,
  inWindow: Partial<Record<NetworkName, () => Promise<void>>>,
): Promise<FaultRecord> {
  if (f.endsWith("-rollback")) {
    const network = f.slice(0, -"-rollback".length) as NetworkName;
    const url = cfg.networks[network].rpcUrl;
    const tSnap = Date.now();
    const snapshot = await rpcCall<string>(url, "evm_snapshot", [], 10_000);
    const from = Number(BigInt(await rpcCall<string>(url, "eth_blockNumber", [], 10_000)));
    const window = 1000 + rnd() * (ROLLBACK_WINDOW_MS - 1000);
    // Bounded by the window: a send that takes longer is left to finish after the revert.
    const send = inWindow[network];
    if (send) await Promise.race([send().catch(() => undefined), sleep(window)]);
    await sleep(Math.max(0, tSnap + window - Date.now()));
    const to = Number(BigInt(await rpcCall<string>(url, "eth_blockNumber", [], 10_000)));
    if (!(await rpcCall<boolean>(url, "evm_revert", [snapshot], 10_000))) throw new CliError("CHAOS_FAILED", `chaos: ${f}: the node refused to revert to snapshot ${snapshot}`);
    // anvil's evm_revert also takes its clock back to the snapshot: every later block would be stamped
    // seconds in the past and look that much older to minBlockAgeMs. A reorg's new blocks carry the
    // time they are made: one block mined at the wall clock's second sets it right for those after.
    await rpcCall(url, "evm_mine", [Math.floor(Date.now() / 1000)], 10_000);
    await waitFor(deadline, "every component to report healthy", async () => (await probeStatus(cfg)).every((s) => s.ok), 250);
    return { name: f, pid: 0, killedAtMs: tSnap - tLoad, restartedAfterMs: 0, healthyAfterMs: Date.now() - tSnap, blocksRolledBack: to - from };
  }
  const name = f === "redis-empty" ? "redis" : f;
  const proc = readState(cfg)?.processes.find((p) => p.name === name);
  if (!proc) throw new CliError("NOT_RUNNING", `chaos: no running process named ${name} in this system`);
  if (f === "redis-empty") {
    // Redis comes back with nothing: its append-only files and snapshot are unlinked first (it
    // keeps writing to the open files, gone with it), so a supervisor cannot restart it from them.
    const dir = path.join(cfg.dataDir, "redis");
    for (const e of fs.readdirSync(dir)) if (e.startsWith("appendonly") || e.endsWith(".rdb")) fs.rmSync(path.join(dir, e), { recursive: true, force: true });
  }
  const tKill = Date.now();
  process.kill(proc.pid, "SIGKILL");
  await waitFor(deadline, `pid ${proc.pid} (${name}) to exit`, async () => !alive(proc.pid), 20);
  await sleep(500 + rnd() * 1500);
  await restart();
  // With a supervisor (`up --supervise`) `restart` does nothing and the supervisor brings it back.
  await waitFor(deadline, `${name} to run again`, async () => {
    const p = readState(cfg)?.processes.find((x) => x.name === name);
    return p !== undefined && p.pid !== proc.pid && isOurs(p);
  }, 100);
  const restartedAfterMs = Date.now() - tKill;
  await waitFor(deadline, "every component to report healthy", async () => (await probeStatus(cfg)).every((s) => s.ok), 250);
  return { name: f, pid: proc.pid, killedAtMs: tKill - tLoad, restartedAfterMs, healthyAfterMs: Date.now() - tKill };
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    // A zombie until its parent reaps it: dead for our purpose.
    return !/^State:\s+Z/m.test(fs.readFileSync(`/proc/${pid}/status`, "utf8"));
  } catch {
    return false;
  }
}

/** Polls `f` (errors count as "not yet": a chain may be restarting) until true or the deadline. */
export async function waitFor(deadline: number, what: string, f: () => Promise<boolean>, everyMs = 200): Promise<void> {
  let last: unknown;
  for (;;) {
    try {
      if (await f()) return;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new CliError("CHAOS_FAILED", `chaos: timed out waiting for ${what}${last ? ` (last error: ${(last as Error).message})` : ""}`);
    await sleep(everyMs);
  }
}
