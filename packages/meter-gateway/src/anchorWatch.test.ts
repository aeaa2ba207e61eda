// The rollback watch's decisions, over a chain whose block hashes the test sets: a mismatch seen twice
// puts the orphaned anchors back, the nonce re-read comes before the records return to the outbox (an
// anchor round started on them in between sent behind a nonce gap and waited out its receipt timeout),
// and a node that says nothing is no evidence.
import { AnchorWatch } from "./anchorWatch";
import type { GatewayStore } from "./store";

function setup() {
  const calls: string[] = [];
  const chain = new Map<number, string | null>();
  let head = 10;
  const store = {
    unanchor: async (items: readonly { meterId: number; sequence: number }[], txHash: string) => {
      calls.push(`unanchor ${txHash} ${items.length}`);
      return items.length;
    },
  } as unknown as GatewayStore;
  const ledger = {
    blockNumber: async () => head,
    blockHash: async (n: number) => chain.get(n) ?? null,
    resync: async () => void calls.push("resync"),
  };
  const watch = new AnchorWatch(store, ledger, { depth: 64 });
  return { calls, chain, watch, setHead: (h: number) => void (head = h) };
}

describe("AnchorWatch", () => {
  it("re-reads the nonce before it puts a rolled-back transaction's records back, after seeing the mismatch twice", async () => {
    const { calls, chain, watch } = setup();
    chain.set(5, "0xaa").set(7, "0xbb");
    watch.track(5, "0xAA", "0xtx5", [{ meterId: 1, sequence: 1 }]);
    watch.track(7, "0xbb", "0xtx7", [{ meterId: 1, sequence: 2 }, { meterId: 2, sequence: 1 }]);
    expect(await watch.check()).toBe(0);
    chain.set(7, "0xcc");
    // First sighting: suspect only.
    expect(await watch.check()).toBe(0);
    expect(calls).toEqual([]);
    expect(await watch.check()).toBe(2);
    expect(calls).toEqual(["resync", "unanchor 0xtx7 2"]);
    expect(watch.stats).toEqual({ checks: 3, rollbacks: 1, reanchored: 2 });
    // Block 5 still matches: it stays tracked, block 7's entry is gone.
    expect(watch.tracked).toBe(1);
  });

  it("takes a chain now lower than an anchor's block as a rollback, and a silent node as no evidence", async () => {
    const { calls, chain, watch, setHead } = setup();
    chain.set(9, "0x09");
    watch.track(9, "0x09", "0xtx9", [{ meterId: 3, sequence: 4 }]);
    chain.delete(9);
    // Head 10 ≥ 9 and no answer: a loaded node, not a rollback.
    expect(await watch.check()).toBe(0);
    expect(await watch.check()).toBe(0);
    expect(calls).toEqual([]);
    setHead(8);
    expect(await watch.check()).toBe(0);
    expect(await watch.check()).toBe(1);
    expect(calls).toEqual(["resync", "unanchor 0xtx9 1"]);
  });
});
