// settledBlock on a real anvil: blocks mined with known timestamps, the newest block that is both
// deep and old enough found whatever the clock, with one read when the head itself is old enough.
import { RpcError } from "./errors";
import { settledBlock, type RawRpc } from "./reads";
import { startTestChain, type TestChain } from "./testing";

let chain: TestChain;
let first: number; // number of the first block mined below
let t0: number; // its timestamp (s)
const calls: string[] = [];
let rpc: RawRpc;

beforeAll(async () => {
  chain = await startTestChain({ chainId: 31871 });
  const latest = (await chain.provider.send("eth_getBlockByNumber", ["latest", false])) as { number: string; timestamp: string };
  first = Number(BigInt(latest.number)) + 1;
  t0 = Number(BigInt(latest.timestamp)) + 100;
  // Ten blocks one second apart: t0, t0+1, ..., t0+9.
  for (let i = 0; i < 10; i++) {
    await chain.provider.send("evm_setNextBlockTimestamp", [t0 + i]);
    await chain.provider.send("evm_mine", []);
  }
  rpc = { send: (m, p) => (calls.push(`${m}:${String((p as unknown[])[0])}`), chain.provider.send(m, p as unknown[])) };
});
afterAll(() => chain.stop());
beforeEach(() => (calls.length = 0));

const head = () => first + 9;
// A block stamped t is old enough at now ≥ (t + 1) s + minAge.
const at = (t: number) => (t + 1) * 1000;

describe("settledBlock", () => {
  it("depth only (minAgeMs 0): head − confirmations, never below the floor, one read", async () => {
    expect(await settledBlock(rpc, { confirmations: 0, minAgeMs: 0, floor: 0 })).toEqual({ block: head(), head: head(), nextAtMs: undefined });
    expect((await settledBlock(rpc, { confirmations: 3, minAgeMs: 0, floor: 0 })).block).toBe(head() - 3);
    expect((await settledBlock(rpc, { confirmations: 3, minAgeMs: 0, floor: head() })).block).toBe(head());
    expect(calls).toEqual(["eth_getBlockByNumber:latest", "eth_getBlockByNumber:latest", "eth_getBlockByNumber:latest"]);
  });

  it("an old enough head settles at once (an idle chain: one read)", async () => {
    const r = await settledBlock(rpc, { confirmations: 0, minAgeMs: 4000, floor: first - 1, nowMs: at(t0 + 9) + 4000 });
    expect(r).toEqual({ block: head(), head: head(), nextAtMs: undefined });
    expect(calls).toHaveLength(1);
  });

  it("finds the newest block old enough by bisection, and says when the next one will be", async () => {
    for (let k = 0; k <= 9; k++) {
      // At the moment block k is just old enough (and k + 1 is not yet).
      const r = await settledBlock(rpc, { confirmations: 0, minAgeMs: 4000, floor: first - 1, nowMs: at(t0 + k) + 4000 });
      expect([r.block, r.nextAtMs]).toEqual([first + k, k === 9 ? undefined : at(t0 + k + 1) + 4000]);
      // A millisecond earlier it is not.
      const before = await settledBlock(rpc, { confirmations: 0, minAgeMs: 4000, floor: first - 1, nowMs: at(t0 + k) + 3999 });
      expect([before.block, before.nextAtMs]).toEqual([first + k - 1, at(t0 + k) + 4000]);
    }
    calls.length = 0;
    await settledBlock(rpc, { confirmations: 0, minAgeMs: 4000, floor: first - 1, nowMs: at(t0 + 2) + 4000 });
    // latest, the head, then log2(10) bisection steps at most.
    expect(calls.length).toBeLessThanOrEqual(1 + 1 + 4);
  });

  it("depth and age together; the floor is never passed back, and nothing is searched below it", async () => {
    // Age alone would allow head − 1; three confirmations hold it at head − 3.
    expect((await settledBlock(rpc, { confirmations: 3, minAgeMs: 1000, floor: 0, nowMs: at(t0 + 8) + 1000 })).block).toBe(head() - 3);
    // Nothing old enough above the floor: the floor, and when the block above it ages.
    const r = await settledBlock(rpc, { confirmations: 0, minAgeMs: 4000, floor: first + 5, nowMs: at(t0 + 2) + 4000 });
    expect(r).toEqual({ block: first + 5, head: head(), nextAtMs: at(t0 + 6) + 4000 });
    expect(calls.every((c) => c === "eth_getBlockByNumber:latest" || Number(BigInt(c.split(":")[1]!)) > first + 5)).toBe(true);
  });

  it("a rollback during the search: searches again from the new head instead of failing", async () => {
    // The adversary is the chain itself: blocks read as the head vanish (a reorg, an anvil reverted
    // or restarted from its dump) between the head's read and the bisection's.
    const snap = await chain.provider.send("evm_snapshot", []);
    for (let i = 10; i < 15; i++) {
      await chain.provider.send("evm_setNextBlockTimestamp", [t0 + i]);
      await chain.provider.send("evm_mine", []);
    }
    let reverted = false;
    const racing: RawRpc = {
      send: async (m, p) => {
        const r = await rpc.send(m, p);
        if (!reverted && m === "eth_getBlockByNumber" && (p as unknown[])[0] === "latest") {
          reverted = (await chain.provider.send("evm_revert", [snap])) as boolean;
        }
        return r;
      },
    };
    const r = await settledBlock(racing, { confirmations: 2, minAgeMs: 4000, floor: first - 1, nowMs: at(t0 + 9) + 4000 });
    expect(reverted).toBe(true);
    // The first search read head first + 14 and found first + 12 gone; the second read head first + 9.
    expect(r).toEqual({ block: head() - 2, head: head(), nextAtMs: undefined });
    expect(calls).toEqual(["eth_getBlockByNumber:latest", `eth_getBlockByNumber:0x${(first + 12).toString(16)}`, "eth_getBlockByNumber:latest", `eth_getBlockByNumber:0x${(first + 7).toString(16)}`]);
  });

  it("a node that keeps losing blocks below its head: a typed RpcError after three searches", async () => {
    let latestReads = 0;
    const shrinking: RawRpc = {
      send: async (_m, p) => {
        if ((p as unknown[])[0] !== "latest") return null;
        latestReads++;
        return { number: "0x64", timestamp: "0x10" };
      },
    };
    const e = await settledBlock(shrinking, { confirmations: 1, minAgeMs: 4000, floor: 0, nowMs: 1_000_000 }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(RpcError);
    expect(e).toMatchObject({ code: "RPC_ERROR" });
    expect((e as Error).message).toContain("lost blocks below its head 3 times");
    expect(latestReads).toBe(3);
  });
});
