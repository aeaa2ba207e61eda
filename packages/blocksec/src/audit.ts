import { blockNumber, retryRead, uncachedRunner } from "@sidegrid/chain";
import { getAddress, type JsonRpcProvider } from "ethers";
import { verifyAccessChain, type AccessChainProblem, type AccessEntry } from "./access";
import { readAccessLog, type BlockSecClient } from "./client";
import { KeyCustodyClient } from "./custody";
import { AccessLedger__factory } from "./generated";
import { checkAddress } from "./types";

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
  recordWith?: BlockSecClient;
  /** BlockSEC's KeyCustody: when given, the report lists the key shares released for each grant. */
  keyCustody?: string;
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
  /** Key shares released per grant, oldest first, when `keyCustody` was given; each must match a granted CONSUMPTION entry. */
  releases?: AuditedRelease[];
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
  const auditedAtBlock = await blockNumber(provider);
  const ledger = AccessLedger__factory.connect(accessLedger, uncachedRunner(provider));
  const [headHash, countBig] = await retryRead(() => ledger.accessHead(consumer, { blockTag: auditedAtBlock }));
  const count = Number(countBig);
  const hashes: string[] = [];
  for (let i = 0; i < count; i += 50) {
    hashes.push(...(await Promise.all(Array.from({ length: Math.min(50, count - i) }, (_, k) => retryRead(() => ledger.entryHashAt(consumer, i + k, { blockTag: auditedAtBlock }))))));
  }
  const entries = await readAccessLog(provider, accessLedger, consumer, params.fromBlock ?? 0, auditedAtBlock);
  const v = verifyAccessChain(entries, { head: headHash, count, hashes });
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
      if (!e || !e.granted || e.category !== "CONSUMPTION" || e.requester !== r.requester) {
        v.problems.push({ kind: "release-without-grant", index: r.entryIndex, message: `member ${r.member} released ${r.keyIds.length} key share(s) for entry #${r.entryIndex}, which is not a granted consumption entry of ${r.requester} (tx ${r.transactionHash})` });
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
  return {
    consumer,
    accessLedger,
    chainId,
    auditedAtBlock,
    head: headHash,
    count,
    ok: v.ok,
    entries,
    problems: v.problems,
    summary: {
      granted: entries.filter((e) => e.granted).length,
      denied: entries.filter((e) => !e.granted).length,
      requesters: [...byRequester.values()],
    },
    ...(courtRead ? { courtRead } : {}),
    ...(releases ? { releases } : {}),
  };
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
    if (r.releases && e.granted && e.category === "CONSUMPTION") {
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
  return `${lines.join("\n")}\n`;
}

function range(from: number, to: number): string {
  const d = (s: number) => new Date(s * 1000).toISOString().slice(0, 16).replace("T", " ");
  return from === 0 ? `everything up to ${d(to)}` : `${d(from)} to ${d(to)}`;
}
