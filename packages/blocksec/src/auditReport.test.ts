import { Wallet, ZeroHash } from "ethers";
import { accessEntryHash } from "./access";
import { checkAuditReport, parseAuditReport } from "./auditReport";
import { InvalidArgumentError } from "./errors";
import type { AuditReport } from "./audit";
import type { AccessEntry } from "./types";

const consumer = Wallet.createRandom().address;
const utility = Wallet.createRandom().address;

/** A chain of `n` entries linked as the AccessLedger links them. */
function chain(n: number): AccessEntry[] {
  const out: AccessEntry[] = [];
  let prev = ZeroHash;
  for (let i = 0; i < n; i++) {
    const e: Omit<AccessEntry, "entryHash"> = { consumer, index: i, requester: utility, category: "CONSUMPTION", resolution: "HOURLY", from: 0, to: 1000 + i, granted: i % 2 === 0, reason: i % 2 === 0 ? "NONE" : "NOT_PERMITTED", blockNumber: 10 + i, timestamp: 1_700_000_000 + i, requesterKey: ZeroHash, prevHash: prev };
    const entryHash = accessEntryHash(e);
    out.push({ ...e, entryHash, transactionHash: `0x${(i + 1).toString(16).padStart(64, "0")}` });
    prev = entryHash;
  }
  return out;
}

function report(entries: AccessEntry[]): AuditReport {
  return { consumer, accessLedger: "0x000000000000000000000000000000000000a11e", chainId: 31338, auditedAtBlock: 99, head: entries.at(-1)?.entryHash ?? ZeroHash, count: entries.length, ok: true, entries, problems: [], summary: { granted: 0, denied: 0, requesters: [] } };
}

/** What a browser download holds: JSON text. */
const saved = (r: AuditReport) => JSON.stringify(r);

describe("checking a saved audit report against the ledger", () => {
  it("accepts the ledger's own report, and one that lags behind a grown chain", () => {
    const five = chain(5);
    expect(checkAuditReport(saved(report(five)), report(five))).toEqual({ ok: true, matched: 5, newer: 0, problems: [] });
    expect(checkAuditReport(saved(report(five.slice(0, 3))), report(five))).toEqual({ ok: true, matched: 3, newer: 2, problems: [] });
  });

  it("refuses a report with an entry left out, flipped, or edited with its hash made to match", () => {
    const five = chain(5);
    const dropped = { ...report(five), entries: five.filter((e) => e.index !== 1), count: 4 };
    expect(checkAuditReport(saved(dropped), report(five)).problems).toEqual(expect.arrayContaining(["entry at position 1 has index 2"]));

    const flipped = chain(5);
    flipped[1] = { ...flipped[1]!, granted: true, reason: "NONE" };
    const r1 = checkAuditReport(saved(report(flipped)), report(five));
    expect(r1.ok).toBe(false);
    expect(r1.problems[0]).toBe("entry 1 differs from the ledger in granted, reason");

    // A forger recomputes the whole chain after the edit: every hash then differs from the ledger's.
    const forged = chain(5).map((e) => ({ ...e, requester: Wallet.createRandom().address }));
    const r2 = checkAuditReport(saved(report(forged)), report(five));
    expect(r2.ok).toBe(false);
    expect(r2.matched).toBe(0);
  });

  it("refuses a report about someone else, another chain, a longer history or a wrong head", () => {
    const five = chain(5);
    const other = { ...report(five), consumer: Wallet.createRandom().address };
    expect(checkAuditReport(saved(other), report(five)).problems[0]).toMatch(/^the report is about 0x/);
    expect(checkAuditReport(saved({ ...report(five), chainId: 1 }), report(five)).problems).toContain("the report is of chain 1, the audit of chain 31338");
    expect(checkAuditReport(saved(report(chain(6))), report(five)).problems).toContain("the report lists 6 entries, the ledger holds 5");
    expect(checkAuditReport(saved({ ...report(five), head: five[2]!.entryHash }), report(five)).ok).toBe(false);
  });

  it("says what is wrong with something that is not a report", () => {
    expect(() => parseAuditReport("not json")).toThrow(InvalidArgumentError);
    expect(() => parseAuditReport({ consumer: "0x12" })).toThrow(/the consumer's address/);
    expect(() => parseAuditReport({ consumer, head: ZeroHash, count: 1 })).toThrow(/the list of entries/);
  });
});
