// What a chaos run must leave true, checked on the chains themselves once the run has settled:
// readings (anchored once, or reported lost by a gap alert), federation messages (each sent one
// executed exactly once), preferences (mirrored in BlockPRI's order, the latest one held on both
// mirrors) and the peg (what is locked on BlockTST is what exists as wSGT on BlockPRI, or is held).
import fs from "node:fs";
import { Contract, Wallet, id, type JsonRpcProvider } from "ethers";
import { NETWORK_NAMES, connectNetwork, getLogs, rpcCall, sleep, type NetworkName, type SidegridConfig } from "@sidegrid/chain";
import { BlockPriClient } from "@sidegrid/blockpri";
import { PolicyMirror__factory, type BlockSecClient } from "@sidegrid/blocksec";
import { MarketMirror__factory } from "@sidegrid/blocktst";
import { FederationInbox__factory, TokenPeg__factory } from "@sidegrid/federation";
import { meterIdToBytes32, meterSimulatorControl, signRequest, type SpawnedMeterSimulator } from "@sidegrid/meter-gateway";
import { operatorPrivateKey, type ConsumerKeys } from "./accounts";
import type { SystemDeployment } from "./deploy-system";
import { readState } from "./system";

export interface InvariantReport {
  readings: {
    /** Sequence numbers the households' meters handed over (acknowledged or anchored), from each meter's first anchored one. */
    handedOver: number;
    anchored: number;
    /** Anchored more than once (must be 0). */
    duplicates: number;
    /** Not anchored but covered by a gap alert of the gateway. */
    lostWithAlert: number;
    /** Not anchored and no alert says so (must be 0). */
    lostSilently: { meterId: number; sequences: number[] }[];
    /** Meters whose acknowledged position is below their newest anchored record (a restarted simulator starts its meters' at 0). */
    ackBehind: number;
  };
  messages: { sent: number; executed: number; executedTwice: number; notExecuted: number };
  preferences: { mirroredEvents: number; outOfOrder: string[]; behind: string[] };
  peg: { lockedOnBlockTst: string; wrappedOnBlockPri: string; heldOnBlockPri: string; conserved: boolean };
  /** Everything that must not happen, in words; empty when the run passed. */
  violations: string[];
  /** How long the checks waited for what was in flight, and how many looks they took. */
  settle: { ms: number; looks: number };
}

export interface CheckParameters {
  cfg: SidegridConfig;
  d: SystemDeployment;
  sec: BlockSecClient;
  households: readonly ConsumerKeys[];
  togglers: readonly string[];
  startBlocks: Record<NetworkName, number>;
  /** The simulator's state file (its control URL changes when it restarts). */
  simStateFile: string;
  deadline: number;
  trader: string;
}

/** Every chain's head block number now (where the run's event scans start). */
export async function chainHeads(cfg: SidegridConfig): Promise<Record<NetworkName, number>> {
  const out = {} as Record<NetworkName, number>;
  for (const n of NETWORK_NAMES) out[n] = Number(BigInt(await rpcCall<string>(cfg.networks[n].rpcUrl, "eth_blockNumber", [], 5000)));
  return out;
}

const SETTLE_MS = 180_000;
const EXECUTED_TOPIC = id("MessageExecuted(uint256,uint64,address,bytes32)");
const SENT_TOPIC = id("MessageSent(uint256,uint64,address,address,bytes)");

/**
 * Waits (up to 3 min) until nothing is in flight any more, then reports what is true.
 * The meters go on producing while it waits (a simulated clock catches up with the wall clock), so
 * what must be anchored is fixed at the first look: each meter's records up to its acknowledged
 * position (or newest anchored record) then. A later look that read the acknowledgements afresh would
 * always find the newest ones in flight.
 */
export async function checkInvariants(p: CheckParameters): Promise<InvariantReport> {
  const started = Date.now();
  const until = Math.min(p.deadline, started + SETTLE_MS);
  const tops = new Map<number, number>();
  let last: InvariantReport | undefined;
  for (let looks = 1; ; looks++) {
    try {
      last = await measure(p, tops);
      last.settle = { ms: Date.now() - started, looks };
      if (last.violations.length === 0 || Date.now() > until) return last;
    } catch (e) {
      if (Date.now() > until) throw e;
    }
    await sleep(2000);
  }
}

async function measure(p: CheckParameters, tops: Map<number, number>): Promise<InvariantReport> {
  const violations: string[] = [];
  const readings = await checkReadings(p, tops);
  if (readings.duplicates > 0) violations.push(`${readings.duplicates} readings anchored more than once`);
  for (const l of readings.lostSilently) violations.push(`meter ${l.meterId}: sequences ${compact(l.sequences)} neither anchored nor reported lost`);
  const messages = await checkMessages(p);
  if (messages.executedTwice > 0) violations.push(`${messages.executedTwice} federation messages executed twice`);
  if (messages.notExecuted > 0) violations.push(`${messages.notExecuted} of ${messages.sent} federation messages not executed`);
  const preferences = await checkPreferences(p);
  violations.push(...preferences.outOfOrder, ...preferences.behind);
  const peg = await checkPeg(p);
  if (!peg.conserved) violations.push(`peg: ${peg.lockedOnBlockTst} SGT locked on BlockTST against ${peg.wrappedOnBlockPri} wSGT + ${peg.heldOnBlockPri} held on BlockPRI`);
  return { readings, messages, preferences, peg, violations, settle: { ms: 0, looks: 0 } };
}

/**
 * `tops`: each meter's last sequence that must be anchored or alerted, set at its first look and
 * kept: the acknowledged position (a meter's "handed over") or the newest anchored record, whichever
 * is higher. Records above it are counted when anchored, never required.
 */
async function checkReadings(p: CheckParameters, tops: Map<number, number>): Promise<InvariantReport["readings"]> {
  // Read again each time: a restarted simulator listens on a new control port.
  const sim = JSON.parse(fs.readFileSync(p.simStateFile, "utf8")) as SpawnedMeterSimulator;
  const status = await meterSimulatorControl(sim).request<{ meterId: number; ackedSeq: number }[]>("GET", `/meters?limit=${sim.count}`);
  const acked = new Map(status.map((s) => [s.meterId, s.ackedSeq]));
  const gaps = await gapAlerts(p.cfg);
  let handedOver = 0;
  let anchored = 0;
  let duplicates = 0;
  let lostWithAlert = 0;
  let ackBehind = 0;
  const lostSilently: { meterId: number; sequences: number[] }[] = [];
  for (const h of p.households) {
    const recs = await p.sec.storedRecords({ consumer: h.address, meterId: meterIdToBytes32(h.meter), fromBlock: p.d.blocksec.startBlock });
    const m = meterReadings(recs.map((r) => Number(r.record.sequence)), acked.get(h.meter) ?? 0, gaps.get(h.meter) ?? [], tops, h.meter);
    handedOver += m.handedOver;
    anchored += m.anchored;
    duplicates += m.duplicates;
    lostWithAlert += m.lostWithAlert;
    if (m.ackBehind) ackBehind++;
    if (m.missing.length) lostSilently.push({ meterId: h.meter, sequences: m.missing });
  }
  return { handedOver, anchored, duplicates, lostWithAlert, lostSilently, ackBehind };
}

/**
 * One meter's account: `sequences` anchored (a repeat is a duplicate), `ack` its acknowledged
 * position now, `gaps` the gateway's alerts for it. The sequences it must account for run from its
 * first anchored one to its top in `tops`, set at the meter's first look.
 */
export function meterReadings(sequences: readonly number[], ack: number, gaps: readonly (readonly [number, number])[], tops: Map<number, number>, meter: number) {
  const seen = new Map<number, number>();
  for (const s of sequences) seen.set(s, (seen.get(s) ?? 0) + 1);
  let duplicates = 0;
  for (const c of seen.values()) duplicates += c - 1;
  const out = { handedOver: 0, anchored: seen.size, duplicates, lostWithAlert: 0, ackBehind: false, missing: [] as number[] };
  if (seen.size === 0) return out;
  const first = Math.min(...seen.keys());
  // A restarted simulator forgets its meters' acknowledged positions (they start again at 0 and
  // the gateway skips what it already has): what was anchored counts as handed over too.
  const newest = Math.max(...seen.keys());
  out.ackBehind = ack < newest;
  if (!tops.has(meter)) tops.set(meter, Math.max(ack, newest));
  const top = tops.get(meter)!;
  for (let s = first; s <= top; s++) {
    out.handedOver++;
    if (seen.has(s)) continue;
    if (gaps.some(([a, b]) => s >= a && s <= b)) out.lostWithAlert++;
    else out.missing.push(s);
  }
  // Anchored after the first look: handed over as well.
  for (const s of seen.keys()) if (s > top) out.handedOver++;
  return out;
}

/** The gateway's gap alerts per meter, as [from, to] ranges (read as the operator). */
async function gapAlerts(cfg: SidegridConfig): Promise<Map<number, [number, number][]>> {
  const url = readState(cfg)?.processes.find((x) => x.kind === "gateway")?.url;
  const out = new Map<number, [number, number][]>();
  if (!url) return out;
  const pathname = "/v1/operator/alerts?kind=gap&limit=1000";
  const headers = await signRequest({ signer: new Wallet(operatorPrivateKey(cfg)), method: "GET", path: pathname });
  const res = await fetch(`${url}${pathname}`, { headers, signal: AbortSignal.timeout(5000) });
  if (!res.ok) throw new Error(`gateway alerts: HTTP ${res.status}`);
  const { alerts } = (await res.json()) as { alerts: { meterId: number; details: { from?: number; to?: number } }[] };
  for (const a of alerts) {
    if (a.details.from === undefined || a.details.to === undefined) continue;
    out.set(a.meterId, [...(out.get(a.meterId) ?? []), [a.details.from, a.details.to]]);
  }
  return out;
}

async function checkMessages(p: CheckParameters): Promise<InvariantReport["messages"]> {
  const chains = p.d.federation.chains;
  const providers = new Map<string, JsonRpcProvider>();
  const providerOf = async (name: NetworkName) => {
    let pr = providers.get(name);
    if (!pr) {
      pr = (await connectNetwork({ config: p.cfg, network: name, privateKey: operatorPrivateKey(p.cfg), requireFunds: false })).provider;
      providers.set(name, pr);
    }
    return pr;
  };
  let sent = 0;
  let executed = 0;
  let executedTwice = 0;
  let notExecuted = 0;
  try {
    for (const src of chains) {
      const srcName = src.name as NetworkName;
      const logs = await getLogs(await providerOf(srcName), { address: src.outbox, topics: [SENT_TOPIC], fromBlock: p.startBlocks[srcName], toBlock: "latest" });
      const byDst = new Map<number, bigint[]>();
      for (const l of logs) {
        const dst = Number(BigInt(l.topics[1]!));
        byDst.set(dst, [...(byDst.get(dst) ?? []), BigInt(l.topics[2]!)]);
      }
      for (const [dstId, nonces] of byDst) {
        const dst = chains.find((c) => Number(c.chainId) === dstId);
        if (!dst) continue;
        const dstName = dst.name as NetworkName;
        const inbox = FederationInbox__factory.connect(dst.inbox, await providerOf(dstName));
        sent += nonces.length;
        for (let i = 0; i < nonces.length; i += 200) {
          const part = nonces.slice(i, i + 200);
          const done = await inbox.areExecuted(part.map(() => src.chainId), part);
          for (const x of done) x ? executed++ : notExecuted++;
        }
        const execLogs = await getLogs(await providerOf(dstName), { address: dst.inbox, topics: [EXECUTED_TOPIC, `0x${BigInt(src.chainId).toString(16).padStart(64, "0")}`], fromBlock: p.startBlocks[dstName], toBlock: "latest" });
        const count = new Map<string, number>();
        for (const l of execLogs) count.set(l.topics[2]!, (count.get(l.topics[2]!) ?? 0) + 1);
        for (const c of count.values()) if (c > 1) executedTwice++;
      }
    }
  } finally {
    for (const pr of providers.values()) pr.destroy();
  }
  return { sent, executed, executedTwice, notExecuted };
}

async function checkPreferences(p: CheckParameters): Promise<InvariantReport["preferences"]> {
  const pri = await connectNetwork({ config: p.cfg, network: "blockpri", privateKey: operatorPrivateKey(p.cfg), requireFunds: false });
  const tst = await connectNetwork({ config: p.cfg, network: "blocktst", privateKey: operatorPrivateKey(p.cfg), requireFunds: false });
  try {
    const ppc = new BlockPriClient({ sender: pri.sender, address: p.d.blockpri.ppc });
    const mirror = PolicyMirror__factory.connect(p.d.blocksec.policyMirror, p.sec.provider);
    const market = MarketMirror__factory.connect(p.d.blocktst.mirror, tst.provider);
    const outOfOrder: string[] = [];
    const behind: string[] = [];
    let mirroredEvents = 0;
    for (const c of p.togglers) {
      const logs = await getLogs(p.sec.provider, { address: p.d.blocksec.policyMirror, topics: [mirror.interface.getEvent("PreferencesMirrored")!.topicHash, `0x${c.slice(2).toLowerCase().padStart(64, "0")}`], fromBlock: p.startBlocks.blocksec, toBlock: "latest" });
      mirroredEvents += logs.length;
      const versions = logs.map((l) => BigInt(l.topics[2]!));
      for (let i = 1; i < versions.length; i++) if (versions[i]! <= versions[i - 1]!) outOfOrder.push(`${c}: preferences v${versions[i]} mirrored after v${versions[i - 1]}`);
      const [want, onSec, onTst] = await Promise.all([ppc.versionOf(c), mirror.preferencesVersionOf(c), market.preferencesVersionOf(c)]);
      // BlockPRI counts registrations and preferences together; the last change of a toggler is a preference change.
      if (onSec !== want) behind.push(`${c}: BlockSEC holds preferences v${onSec}, BlockPRI is at v${want}`);
      if (onTst !== want) behind.push(`${c}: BlockTST holds preferences v${onTst}, BlockPRI is at v${want}`);
    }
    return { mirroredEvents, outOfOrder, behind };
  } finally {
    pri.provider.destroy();
    tst.provider.destroy();
  }
}

async function checkPeg(p: CheckParameters): Promise<InvariantReport["peg"]> {
  const fedPri = p.d.federation.chains.find((c) => c.name === "blockpri")!;
  const fedTst = p.d.federation.chains.find((c) => c.name === "blocktst")!;
  const pri = await connectNetwork({ config: p.cfg, network: "blockpri", privateKey: operatorPrivateKey(p.cfg), requireFunds: false });
  const tst = await connectNetwork({ config: p.cfg, network: "blocktst", privateKey: operatorPrivateKey(p.cfg), requireFunds: false });
  try {
    const locked = await TokenPeg__factory.connect(fedTst.peg!, tst.provider).lockedFor(fedPri.chainId);
    const held = await TokenPeg__factory.connect(fedPri.peg!, pri.provider).heldFor(fedTst.chainId);
    const wrapped = (await new Contract(fedPri.wrappedToken!, ["function totalSupply() view returns (uint256)"], pri.provider).totalSupply!()) as bigint;
    return { lockedOnBlockTst: locked.toString(), wrappedOnBlockPri: wrapped.toString(), heldOnBlockPri: held.toString(), conserved: locked === wrapped + held };
  } finally {
    pri.provider.destroy();
    tst.provider.destroy();
  }
}

/** 3,4,5,9 → "3–5, 9". */
function compact(seqs: readonly number[]): string {
  const out: string[] = [];
  for (let i = 0; i < seqs.length; i++) {
    let j = i;
    while (j + 1 < seqs.length && seqs[j + 1] === seqs[j]! + 1) j++;
    out.push(i === j ? `${seqs[i]}` : `${seqs[i]}–${seqs[j]}`);
    i = j;
  }
  return out.slice(0, 20).join(", ") + (out.length > 20 ? ", …" : "");
}
