// The heads tracker alone (no node): it keeps every consumer's (count, head), builds the same root
// whatever order the consumers' chains interleave in, and refuses a log that skips, relinks or
// alters an entry, naming the entry.
import { Wallet, ZeroHash, getAddress } from "ethers";
import { accessEntryHash } from "./access";
import type { AccessEntry } from "./types";
import { AccessHeadsTracker, accessHeadLeaf, accessHeadProof } from "./accessHeads";
import { AccessLogInconsistentError } from "./errors";
import { merkleRoot, verifyMerkleProof } from "./merkle";

const [alice, bob, carol] = [1, 2, 3].map(() => getAddress(Wallet.createRandom().address)) as [string, string, string];
const requester = getAddress(Wallet.createRandom().address);

function chain(consumer: string, n: number, firstBlock: number): AccessEntry[] {
  const out: AccessEntry[] = [];
  let prev = ZeroHash;
  for (let i = 0; i < n; i++) {
    const e: Omit<AccessEntry, "entryHash"> = {
      consumer, index: i, requester, category: "CONSUMPTION", resolution: "DAILY", from: 0, to: 100 + i, granted: false,
      reason: "NOT_A_DISTRIBUTOR", blockNumber: firstBlock + i, timestamp: 1000 + i, requesterKey: ZeroHash, prevHash: prev,
    };
    prev = accessEntryHash(e);
    out.push({ ...e, entryHash: prev });
  }
  return out;
}

describe("AccessHeadsTracker", () => {
  const a = chain(alice, 3, 10);
  const b = chain(bob, 2, 20);
  const c = chain(carol, 1, 30);

  it("keeps each consumer's head and gives one root whatever the interleaving", () => {
    const t1 = new AccessHeadsTracker();
    t1.apply([...a, ...b, ...c]);
    const t2 = new AccessHeadsTracker();
    t2.apply([b[0]!, a[0]!, c[0]!, a[1]!, b[1]!, a[2]!]);
    const s = t1.snapshot(40);
    expect(t2.snapshot(40).root).toBe(s.root);
    expect([s.consumers, s.entries]).toEqual([3, 6]);
    expect(t1.headOf(alice)).toEqual({ consumer: alice, count: 3, head: a[2]!.entryHash });
    expect(s.root).toBe(merkleRoot(s.heads.map(accessHeadLeaf)));
    for (const h of s.heads) expect(verifyMerkleProof(accessHeadProof(s, h.consumer)!, s.root, accessHeadLeaf(h))).toBe(true);
    // Resuming from saved heads continues the same chains.
    const t3 = new AccessHeadsTracker(new AccessHeadsTracker([]).snapshot(0).heads);
    expect(t3.snapshot(0)).toEqual({ block: 0, root: ZeroHash, consumers: 0, entries: 0, heads: [] });
  });

  it("refuses a log that skips, relinks or alters an entry, naming it", () => {
    const cases: [AccessEntry[], number, string][] = [
      [[a[0]!, a[2]!], 2, "expected index 1"],
      [[a[0]!, { ...a[1]!, prevHash: ZeroHash }], 1, "links to"],
      [[a[0]!, { ...a[1]!, granted: true, reason: "NONE" }], 1, "fields hash to"],
    ];
    for (const [entries, index, why] of cases) {
      let err: unknown;
      try {
        new AccessHeadsTracker().apply(entries);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(AccessLogInconsistentError);
      expect(err).toMatchObject({ code: "ACCESS_LOG_INCONSISTENT", consumer: alice, index });
      expect((err as Error).message).toContain(why);
    }
  });
});
