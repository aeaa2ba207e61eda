import { blockNumber, retryRead, uncachedRunner } from "@sidegrid/chain";
import { ZeroHash, getAddress, type JsonRpcProvider } from "ethers";
import { verifyAccessChain, type AccessChainProblem } from "./access";
import type { AccessEntry } from "./types";
import { readAccessLog } from "./accessLog";
import { KeyCustodyClient } from "./custody";
import { AccessLedger__factory } from "./generated";
import { checkAddress } from "./validate";
import { readAccessHeads, type AccessHead, type AccessHeadsSnapshot } from "./accessHeads";
import { isBlockSecError } from "./errors";

export interface AuditConsumerParameters {
  provider: JsonRpcProvider;
  /** The AccessLedger contract. */
  accessLedger: string;
  consumer: string;
  /** First block to read events from (the AccessLedger's deployment block is enough). */
  fromBlock?: number;
  /**
   * The court's client: when given, the court's read is recorded first (`readAccessLog`), so the
   * consumer sees that a court looked, and the report covers that entry too.
   */
  recordWith?: { readAccessLog(consumer: string): Promise<{ entry: { index: number }; receipt: { transactionHash: string } }> };
  /** BlockSEC's KeyCustody: when given, the report lists the key shares released for each grant. */
  keyCustody?: string;
  /**
   * The federation's latest checkpoint of the AccessLedger (read on BlockPRI): when given, each of
   * `endpoints` is checked against it (see {@link auditCheckpoint}); null: the court looked and the
   * federation has made none yet (the report says so; nothing fails).
   */
  checkpoint?: AccessCheckpointClaim | null;
  /** BlockSEC nodes to check against the checkpoint (default: `provider` alone). */
  endpoints?: AuditEndpoint[];
}

/** A checkpoint of the AccessLedger's heads as the federation finalized it on BlockPRI. */
export interface AccessCheckpointClaim {
  /** Its number (0 = the first). */
  index: number;
  /** The BlockSEC block whose end state it covers. */
  secBlock: number;
  root: string;
  consumers: number;
  entries: number;
  /** Where it was read, for the report (e.g. "AccessCheckpoints 0x… on BlockPRI"). */
  source?: string;
  /**
   * The members whose signed vote transactions for exactly this tuple were checked (so the BlockPRI
   * node that served it need not be trusted), against the court's list and threshold.
   */
  attestation?: { ok: boolean; signers: string[]; threshold: number; problems: string[] };
}

/** One BlockSEC node a court asks. */
export interface AuditEndpoint {
  /** How the report names it (its URL). */
  label: string;
  provider: JsonRpcProvider;
}

/** What one node's events say about the checkpoint. */
export type EndpointCheckStatus =
  | "consistent" // its events rebuild the checkpoint's root
  | "mismatch" // they rebuild another root: the node trims, adds or forks
  | "behind" // the node has not reached the checkpoint's block
  | "inconsistent-log" // its events do not even form valid hash chains
  | "wrong-chain" // another chain id than the audited BlockSEC
  | "unreachable";

export interface EndpointCheck {
  endpoint: string;
  status: EndpointCheckStatus;
  /** One line for the report. */
  message: string;
  chainId?: number;
  /** The node's latest block. */
  headBlock?: number;
  /** Root, consumers and entries the node's events give at the checkpoint's block. */
  computed?: { root: string; consumers: number; entries: number };
  /** The old per-node check (events against this node's own state) for the audited consumer. */
  perNodeVerified?: boolean;
  /** The audited consumer's head at the checkpoint's block, per this node. */
  consumerAtCheckpoint?: AccessHead;
  /** The consumer's entries on this node now, and how many of them are newer than the checkpoint (not covered yet). */
  consumerCount?: number;
  newerThanCheckpoint?: number;
  /**
   * On a mismatch, when another node matches the checkpoint (so its leaves are the federation's):
   * every consumer whose leaf differs, and whether the audited consumer is one of them.
   */
  differingConsumers?: { consumer: string; here: AccessHead; checkpoint: AccessHead }[];
  consumerAffected?: boolean;
}

/** The checkpoint part of an audit. */
export interface CheckpointAudit {
  /** Null when the federation has made no checkpoint yet. */
  checkpoint: AccessCheckpointClaim | null;
  endpoints: EndpointCheck[];
  /** Pairs of reachable nodes whose heads at the checkpoint's block differ, with the consumers that differ. */
  disagreements: { a: string; b: string; consumers: { consumer: string; a: AccessHead; b: AccessHead }[] }[];
  /** No node mismatches the checkpoint or serves an inconsistent log, and at least one matches it. */
  ok: boolean;
}

/** Key shares one member released for one access entry (KeyCustody's `SharesReleased`). */
export interface AuditedRelease {
  entryIndex: number;
  member: string;
  requester: string;
  keyIds: number[];
  blockNumber: number;
  transactionHash: string;
}

/** A court's view of one consumer's access history, verified against the chain. */
export interface AuditReport {
  consumer: string;
  accessLedger: string;
  chainId: number;
  /** The block at which head, hashes and events were read. */
  auditedAtBlock: number;
  head: string;
  count: number;
  /** True if the events rebuild exactly the chain the contract holds. */
  ok: boolean;
  /** Every attempt, granted or denied, oldest first, with tx hash and block. */
  entries: AccessEntry[];
  problems: AccessChainProblem[];
  summary: {
    granted: number;
    denied: number;
    requesters: { requester: string; granted: number; denied: number }[];
  };
  /** The entry recording this audit's own read, when `recordWith` was given. */
  courtRead?: { index: number; transactionHash: string };
  /** Key shares released per grant, oldest first, when `keyCustody` was given; each must match a granted CONSUMPTION or TRADES entry. */
  releases?: AuditedRelease[];
  /** Each node against the federation's checkpoint, when `checkpoint` was given. */
  checkpoint?: CheckpointAudit;
}

/**
 * Rebuilds a consumer's access chain from the AccessLedger's events, checks it against the head
 * and every entry hash held on chain, and lists every attempt with its transaction and block.
 *
 * @example
 * const report = await auditConsumer({ provider, accessLedger, consumer });
 * console.log(formatAuditReport(report));
 */
export async function auditConsumer(params: AuditConsumerParameters): Promise<AuditReport> {
  const consumer = checkAddress("consumer", params.consumer);
  const accessLedger = getAddress(params.accessLedger);
  let courtRead: AuditReport["courtRead"];
  if (params.recordWith) {
    const g = await params.recordWith.readAccessLog(consumer);
    courtRead = { index: g.entry.index, transactionHash: g.receipt.transactionHash };
  }
  const provider = params.provider;
  const { auditedAtBlock, head: headHash, count, entries, verification: v } = await verifyOnNode(provider, accessLedger, consumer, params.fromBlock ?? 0);
  let releases: AuditedRelease[] | undefined;
  if (params.keyCustody) {
    const custody = new KeyCustodyClient({ address: params.keyCustody, provider });
    releases = (await custody.releases({ consumer, fromBlock: params.fromBlock ?? 0, toBlock: auditedAtBlock })).map((r) => ({
      entryIndex: r.entryIndex,
      member: r.member,
      requester: r.requester,
      keyIds: r.keyIds,
      blockNumber: r.blockNumber,
      transactionHash: r.transactionHash,
    }));
    // KeyCustody refuses such releases; a court checks it anyway, from the events alone.
    const byIndex = new Map(entries.map((e) => [e.index, e]));
    for (const r of releases) {
      const e = byIndex.get(r.entryIndex);
      if (!e || !e.granted || (e.category !== "CONSUMPTION" && e.category !== "TRADES") || e.requester !== r.requester) {
        v.problems.push({ kind: "release-without-grant", index: r.entryIndex, message: `member ${r.member} released ${r.keyIds.length} key share(s) for entry #${r.entryIndex}, which is not a granted consumption or trades entry of ${r.requester} (tx ${r.transactionHash})` });
        v.ok = false;
      }
    }
  }
  const byRequester = new Map<string, { requester: string; granted: number; denied: number }>();
  for (const e of entries) {
    const r = byRequester.get(e.requester) ?? { requester: e.requester, granted: 0, denied: 0 };
    if (e.granted) r.granted++;
    else r.denied++;
    byRequester.set(e.requester, r);
  }
  const chainId = Number(BigInt((await provider.send("eth_chainId", [])) as string));
  const checkpoint: CheckpointAudit | undefined = params.checkpoint === null
    ? { checkpoint: null, endpoints: [], disagreements: [], ok: true }
    : params.checkpoint
    ? await auditCheckpoint({
        checkpoint: params.checkpoint,
        endpoints: params.endpoints ?? [{ label: "configured node", provider }],
        accessLedger,
        consumer,
        chainId,
        fromBlock: params.fromBlock ?? 0,
      })
    : undefined;
  return {
    consumer,
    accessLedger,
    chainId,
    auditedAtBlock,
    head: headHash,
    count,
    ok: v.ok && (checkpoint?.ok ?? true),
    entries,
    problems: v.problems,
    summary: {
      granted: entries.filter((e) => e.granted).length,
      denied: entries.filter((e) => !e.granted).length,
      requesters: [...byRequester.values()],
    },
    ...(courtRead ? { courtRead } : {}),
    ...(releases ? { releases } : {}),
    ...(checkpoint ? { checkpoint } : {}),
  };
}

/**
 * The per-node check: the consumer's events against the head and every entry hash the node's state
 * holds. Nothing is read at a pinned block (a node without past states, anvil --prune-history or a
 * pruned geth, answers those only for its latest block): the head and count come in one call at
 * the latest block, entry hashes below the count never change (AccessLedger only appends), and the
 * events are read up to a block taken after the head, keeping the first `count`.
 */
async function verifyOnNode(provider: JsonRpcProvider, accessLedger: string, consumer: string, fromBlock: number) {
  const ledger = AccessLedger__factory.connect(accessLedger, uncachedRunner(provider));
  const [head, countBig] = await retryRead(() => ledger.accessHead(consumer));
  const count = Number(countBig);
  const hashes: string[] = [];
  for (let i = 0; i < count; i += 50) {
    hashes.push(...(await Promise.all(Array.from({ length: Math.min(50, count - i) }, (_, k) => retryRead(() => ledger.entryHashAt(consumer, i + k))))));
  }
  const auditedAtBlock = await blockNumber(provider);
  const entries = (await readAccessLog(provider, accessLedger, consumer, fromBlock, auditedAtBlock)).filter((e) => e.index < count);
  return { auditedAtBlock, head, count, entries, verification: verifyAccessChain(entries, { head, count, hashes }) };
}

export interface AuditCheckpointParameters {
  checkpoint: AccessCheckpointClaim;
  endpoints: AuditEndpoint[];
  accessLedger: string;
  consumer: string;
  /** BlockSEC's chain id: a node on another chain is reported, not compared. */
  chainId: number;
  /** The AccessLedger's deployment block. */
  fromBlock: number;
}

/**
 * Checks each BlockSEC node against the federation's checkpoint: rebuilds every consumer's head at
 * the checkpoint's block from that node's events and compares the root. A node that serves a
 * trimmed or forked log (consistent with itself, so the per-node check passes) gives another root.
 *
 * @example
 * const c = await auditCheckpoint({ checkpoint, endpoints, accessLedger, consumer, chainId, fromBlock });
 * if (!c.ok) process.exitCode = 1;
 */
export async function auditCheckpoint(p: AuditCheckpointParameters): Promise<CheckpointAudit & { checkpoint: AccessCheckpointClaim }> {
  const consumer = checkAddress("consumer", p.consumer);
  const cp = p.checkpoint;
  const snaps = new Map<string, AccessHeadsSnapshot>();
  const checks: EndpointCheck[] = [];
  for (const ep of p.endpoints) {
    const check: EndpointCheck = { endpoint: ep.label, status: "unreachable", message: "" };
    checks.push(check);
    try {
      check.chainId = Number(BigInt((await ep.provider.send("eth_chainId", [])) as string));
      if (check.chainId !== p.chainId) {
        check.status = "wrong-chain";
        check.message = `chain ${check.chainId}, not BlockSEC (${p.chainId}): not compared`;
        continue;
      }
      check.headBlock = await blockNumber(ep.provider);
      const node = await verifyOnNode(ep.provider, p.accessLedger, consumer, p.fromBlock);
      check.perNodeVerified = node.verification.ok;
      check.consumerCount = node.count;
      if (check.headBlock < cp.secBlock) {
        check.status = "behind";
        check.message = `at block ${check.headBlock}, before the checkpoint's block ${cp.secBlock}: cannot be compared yet`;
        continue;
      }
      const snap = await readAccessHeads({ provider: ep.provider, accessLedger: p.accessLedger, fromBlock: p.fromBlock, toBlock: cp.secBlock });
      snaps.set(ep.label, snap);
      check.computed = { root: snap.root, consumers: snap.consumers, entries: snap.entries };
      check.consumerAtCheckpoint = headIn(snap, consumer);
      check.newerThanCheckpoint = node.count - check.consumerAtCheckpoint.count;
      if (snap.root.toLowerCase() === cp.root.toLowerCase()) {
        check.status = "consistent";
        check.message = `consistent with checkpoint #${cp.index} at block ${cp.secBlock} (${cp.consumers} consumers, ${cp.entries} entries)`;
      } else {
        check.status = "mismatch";
        check.message = `TRIMMED OR FORKED: root differs from the federation's checkpoint #${cp.index} at block ${cp.secBlock} (this node: ${snap.consumers} consumers, ${snap.entries} entries; checkpoint: ${cp.consumers} consumers, ${cp.entries} entries)`;
      }
    } catch (e) {
      if (isBlockSecError(e, "ACCESS_LOG_INCONSISTENT")) {
        check.status = "inconsistent-log";
        check.message = `its events do not form valid hash chains: ${e.shortMessage}`;
      } else {
        check.status = "unreachable";
        check.message = `no answer: ${((e as Error).message ?? String(e)).split("\n")[0]!.slice(0, 200)}`;
      }
    }
  }
  // A node that matches the checkpoint holds the federation's leaves: the others are diffed against it.
  const reference = checks.find((c) => c.status === "consistent");
  const refSnap = reference ? snaps.get(reference.endpoint) : undefined;
  for (const c of checks) {
    if (c.status !== "mismatch" || !refSnap) continue;
    const diff = diffHeads(snaps.get(c.endpoint)!, refSnap);
    c.differingConsumers = diff.map((d) => ({ consumer: d.consumer, here: d.a, checkpoint: d.b }));
    c.consumerAffected = diff.some((d) => d.consumer === consumer);
    const names = diff.map((d) => `${d.consumer} (${d.a.count} entries here, ${d.b.count} in the checkpoint)`).join(", ");
    c.message += `; leaves that differ: ${names}${c.consumerAffected ? ": the audited consumer's log is affected" : ""}`;
  }
  const labels = [...snaps.keys()];
  const disagreements: CheckpointAudit["disagreements"] = [];
  for (let i = 0; i < labels.length; i++) {
    for (let j = i + 1; j < labels.length; j++) {
      const a = snaps.get(labels[i]!)!;
      const b = snaps.get(labels[j]!)!;
      if (a.root === b.root) continue;
      disagreements.push({ a: labels[i]!, b: labels[j]!, consumers: diffHeads(a, b) });
    }
  }
  const ok =
    (cp.attestation?.ok ?? true) && checks.every((c) => c.status !== "mismatch" && c.status !== "inconsistent-log") && checks.some((c) => c.status === "consistent");
  return { checkpoint: cp, endpoints: checks, disagreements, ok };
}

function headIn(s: AccessHeadsSnapshot, consumer: string): AccessHead {
  return s.heads.find((h) => h.consumer === consumer) ?? { consumer, count: 0, head: ZeroHash };
}

function diffHeads(a: AccessHeadsSnapshot, b: AccessHeadsSnapshot): { consumer: string; a: AccessHead; b: AccessHead }[] {
  const all = new Set([...a.heads.map((h) => h.consumer), ...b.heads.map((h) => h.consumer)]);
  const out: { consumer: string; a: AccessHead; b: AccessHead }[] = [];
  for (const c of [...all].sort((x, y) => (x.toLowerCase() < y.toLowerCase() ? -1 : 1))) {
    const x = headIn(a, c);
    const y = headIn(b, c);
    if (x.count !== y.count || x.head.toLowerCase() !== y.head.toLowerCase()) out.push({ consumer: c, a: x, b: y });
  }
  return out;
}


/**
 * A readable text version of an audit report, one line per attempt.
 *
 * @example
 * process.stdout.write(formatAuditReport(await auditConsumer({ provider, accessLedger, consumer })));
 */
export function formatAuditReport(r: AuditReport): string {
  const lines: string[] = [];
  lines.push(`Access audit of consumer ${r.consumer}`);
  lines.push(`AccessLedger ${r.accessLedger} on chain ${r.chainId}, read at block ${r.auditedAtBlock}`);
  lines.push(
    r.ok
      ? `Chain VERIFIED: ${r.count} entries, head ${r.head}`
      : `Chain NOT VERIFIED: ${r.problems.length} problem(s); the chain holds ${r.count} entries, head ${r.head}`,
  );
  lines.push("");
  if (r.entries.length === 0) lines.push("No access attempts recorded.");
  for (const e of r.entries) {
    const when = new Date(e.timestamp * 1000).toISOString().replace("T", " ").replace(/\.\d+Z$/, " UTC");
    const what =
      e.category === "ACCESS_LOG"
        ? "the access log"
        : `${e.category.toLowerCase().replace(/_/g, " ")}${e.resolution !== "NONE" ? ` at ${e.resolution.toLowerCase().replace(/_/g, "-")}` : ""} for ${range(e.from, e.to)}`;
    const decision = e.granted ? "GRANTED" : `DENIED (${e.reason.toLowerCase().replace(/_/g, " ")})`;
    lines.push(`#${e.index}  ${when}  ${e.requester} asked for ${what}: ${decision}`);
    lines.push(`     block ${e.blockNumber}, tx ${e.transactionHash ?? "?"}, entry ${e.entryHash}`);
    const rel = r.releases?.filter((x) => x.entryIndex === e.index) ?? [];
    if (r.releases && e.granted && (e.category === "CONSUMPTION" || e.category === "TRADES")) {
      lines.push(rel.length ? `     key shares released by ${rel.length} member(s): ${rel.map((x) => `${x.member} (${x.keyIds.length} key${x.keyIds.length === 1 ? "" : "s"}, tx ${x.transactionHash.slice(0, 12)}…)`).join(", ")}` : "     no key shares released (yet)");
    }
  }
  if (r.problems.length > 0) {
    lines.push("");
    lines.push("Problems:");
    for (const p of r.problems) lines.push(`  - [${p.kind}] ${p.message}`);
  }
  lines.push("");
  lines.push(`Summary: ${r.summary.granted} granted, ${r.summary.denied} denied.`);
  for (const q of r.summary.requesters) lines.push(`  ${q.requester}: ${q.granted} granted, ${q.denied} denied`);
  if (r.courtRead) lines.push(`This audit's own read is entry #${r.courtRead.index} (tx ${r.courtRead.transactionHash}).`);
  if (r.checkpoint) lines.push("", ...formatCheckpointAudit(r.checkpoint));
  return `${lines.join("\n")}\n`;
}

function range(from: number, to: number): string {
  const d = (s: number) => new Date(s * 1000).toISOString().slice(0, 16).replace("T", " ");
  return from === 0 ? `everything up to ${d(to)}` : `${d(from)} to ${d(to)}`;
}

/** The checkpoint part of the report: one line per node, then where nodes disagree. */
function formatCheckpointAudit(c: CheckpointAudit): string[] {
  const cp = c.checkpoint;
  if (!cp) return ["No federation checkpoint of the access log yet: nodes not compared (only the per-node check above)."];
  const lines = [`Federation checkpoint #${cp.index}${cp.source ? ` (${cp.source})` : ""}: BlockSEC block ${cp.secBlock}, ${cp.consumers} consumers, ${cp.entries} entries, root ${cp.root}`];
  const a = cp.attestation;
  if (a) {
    lines.push(
      a.ok
        ? `  signed by ${a.signers.length} member(s) (threshold ${a.threshold}): their vote transactions' signatures checked`
        : `  NOT ATTESTED: ${a.signers.length} member-signed vote(s) for this tuple, ${a.threshold} needed${a.problems.length ? ` (${a.problems.join("; ")})` : ""}`,
    );
  }
  for (const e of c.endpoints) {
    lines.push(`  ${e.endpoint}: ${e.message}`);
    if (e.perNodeVerified !== undefined) lines.push(`     per-node check (events against this node's own state): ${e.perNodeVerified ? "verified" : "NOT verified"}`);
    if (e.newerThanCheckpoint !== undefined && e.consumerAtCheckpoint) {
      lines.push(`     this consumer: ${e.consumerAtCheckpoint.count} entries at the checkpoint, ${e.newerThanCheckpoint} newer (not yet covered by a checkpoint)`);
    }
  }
  if (c.disagreements.length > 0) {
    lines.push("Nodes disagree:");
    for (const d of c.disagreements) {
      lines.push(`  ${d.a} vs ${d.b}:`);
      for (const x of d.consumers) lines.push(`    ${x.consumer}: ${x.a.count} entries (head ${x.a.head.slice(0, 10)}…) vs ${x.b.count} entries (head ${x.b.head.slice(0, 10)}…)`);
    }
  }
  lines.push(c.ok ? "Checkpoint: CONSISTENT" : "Checkpoint: NOT CONSISTENT (see above)");
  return lines;
}
