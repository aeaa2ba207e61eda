// settledBlock on a real anvil: blocks mined with known timestamps, the newest block that is both
// deep and old enough found whatever the clock, with one read when the head itself is old enough.
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
});
