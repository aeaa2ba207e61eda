// A saved audit report (what a court downloads from the portal, or `sidegrid audit --json` printed)
// checked against a fresh audit of the same consumer: a report is accepted only if every entry it
// lists is, field for field, the entry the AccessLedger holds at that index, and its head is the
// chain's hash after its last entry. The chain may have grown since; a report can lag, never lie.
import { getAddress, isAddress } from "ethers";
import { accessEntryHash } from "./access";
import { InvalidArgumentError } from "./errors";
import type { AuditReport } from "./audit";
import type { AccessEntry } from "./types";

export interface ReportCheck {
  ok: boolean;
  /** Entries of the report that match the chain. */
  matched: number;
  /** Entries on the chain after the report's last one. */
  newer: number;
  problems: string[];
}

const ZERO = `0x${"00".repeat(32)}`;
const FIELDS = ["index", "requester", "category", "resolution", "from", "to", "granted", "reason", "blockNumber", "timestamp", "requesterKey", "prevHash", "entryHash"] as const;

function norm(v: unknown): string {
  return typeof v === "string" ? v.toLowerCase() : String(v);
}

/**
 * Parses a saved report (JSON text or object) just enough to check it: a consumer, a head, a count
 * and the entries. Throws InvalidArgumentError on anything else.
 */
export function parseAuditReport(input: string | unknown): Pick<AuditReport, "consumer" | "accessLedger" | "chainId" | "head" | "count" | "ok" | "entries"> {
  let o: unknown = input;
  if (typeof input === "string") {
    try {
      o = JSON.parse(input);
    } catch {
      throw new InvalidArgumentError("report", input.slice(0, 40), "must be JSON (an audit report)");
    }
  }
  const r = o as Partial<AuditReport>;
  if (!r || typeof r !== "object" || typeof r.consumer !== "string" || !isAddress(r.consumer)) throw new InvalidArgumentError("report.consumer", r?.consumer, "must be the consumer's address");
  if (typeof r.head !== "string" || !/^0x[0-9a-fA-F]{64}$/.test(r.head)) throw new InvalidArgumentError("report.head", r.head, "must be a bytes32 head");
  if (!Number.isInteger(r.count) || (r.count as number) < 0) throw new InvalidArgumentError("report.count", r.count, "must be an entry count");
  if (!Array.isArray(r.entries)) throw new InvalidArgumentError("report.entries", r.entries, "must be the list of entries");
  return { consumer: getAddress(r.consumer), accessLedger: String(r.accessLedger ?? ""), chainId: Number(r.chainId), head: r.head, count: r.count as number, ok: r.ok === true, entries: r.entries as AccessEntry[] };
}

/**
 * Checks a saved report against a fresh audit of the same consumer (see the file's comment).
 * @example
 * const check = checkAuditReport(JSON.parse(saved), await auditConsumer({ provider, accessLedger, consumer }));
 * check.ok; // every listed entry is the ledger's
 */
export function checkAuditReport(saved: string | unknown, fresh: AuditReport): ReportCheck {
  const r = parseAuditReport(saved);
  const problems: string[] = [];
  if (getAddress(fresh.consumer) !== r.consumer) problems.push(`the report is about ${r.consumer}, the audit about ${fresh.consumer}`);
  if (r.accessLedger && norm(r.accessLedger) !== norm(fresh.accessLedger)) problems.push(`the report names AccessLedger ${r.accessLedger}, the chain's is ${fresh.accessLedger}`);
  if (Number.isFinite(r.chainId) && r.chainId !== fresh.chainId) problems.push(`the report is of chain ${r.chainId}, the audit of chain ${fresh.chainId}`);
  if (!r.ok) problems.push("the report itself says its chain did not verify");
  if (!fresh.ok) problems.push("the ledger's own chain does not verify now");
  if (r.entries.length !== r.count) problems.push(`the report counts ${r.count} entries but lists ${r.entries.length}`);
  if (r.count > fresh.count) problems.push(`the report lists ${r.count} entries, the ledger holds ${fresh.count}`);
  const byIndex = new Map(fresh.entries.map((e) => [e.index, e]));
  let matched = 0;
  r.entries.forEach((e, i) => {
    if (e.index !== i) return void problems.push(`entry at position ${i} has index ${e.index}`);
    const chain = byIndex.get(i);
    if (!chain) return void problems.push(`entry ${i} is not on the ledger`);
    const differs = FIELDS.filter((f) => norm(e[f]) !== norm(chain[f]));
    if (differs.length > 0) return void problems.push(`entry ${i} differs from the ledger in ${differs.join(", ")}`);
    // The listed fields make the listed hash: an entry edited together with its hash fails above.
    let rebuilt: string | undefined;
    try {
      rebuilt = accessEntryHash({ ...e, consumer: r.consumer });
    } catch {
      rebuilt = undefined;
    }
    if (rebuilt?.toLowerCase() !== norm(e.entryHash)) return void problems.push(`entry ${i}'s fields do not hash to its entryHash`);
    matched++;
  });
  const expectedHead = r.count === 0 ? ZERO : norm(byIndex.get(r.count - 1)?.entryHash ?? "");
  if (norm(r.head) !== expectedHead) problems.push(`the report's head ${r.head} is not the ledger's hash after entry ${r.count - 1}`);
  return { ok: problems.length === 0, matched, newer: Math.max(0, fresh.count - r.count), problems };
}
