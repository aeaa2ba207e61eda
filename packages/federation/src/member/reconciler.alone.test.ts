// The reconciler alone, against one anvil chain with the federation's inbox: of the messages a
// member holds pending, those another member delivered are found and handed to markExecuted, those
// not delivered stay, young ones are not asked about, and a chain that does not answer costs a
// round, not the member. Executions it holds are re-checked: kept while young, settled once final,
// handed back to pending when a rollback (evm_snapshot / evm_revert) undid them.
import type { FederationMessage } from "../messages";
import { laneChainConfig, laneMessage, pendBatch, startLane, type Lane } from "../test-utils/lane";
import { deliverCall, sign } from "../test-utils/world";
import { Reconciler, executedMask } from "./reconciler";
import { newChainState, type ChainState, type PendingMessage, type SeenExecution } from "./state";

const CHAIN_ID = 31841;
let lane: Lane;
let cs: ChainState;

beforeAll(async () => {
  lane = await startLane(CHAIN_ID);
  cs = newChainState(laneChainConfig(lane), { cursor: lane.startBlock, members: lane.members, threshold: 2, eventSources: [], maxBatch: 10 });
  cs.ready = true;
}, 120_000);
afterAll(async () => {
  cs.provider.destroy();
  await lane.stop();
});

/** `m` pending alone in a batch this member signed `ageMs` ago. */
function pend(m: FederationMessage, ageMs: number): PendingMessage {
  return pendBatch(lane, cs, [m], [[0, 0]], { ready: false, ageMs }).open.get(0)!;
}

/** Another member delivers `ms` itself (members 1 and 2 sign). */
async function deliveredElsewhere(ms: FederationMessage[]): Promise<void> {
  await lane.app.sendAndWait(deliverCall(lane.inbox, ms, ms.map((m) => sign(lane.keys.slice(1, 3), BigInt(CHAIN_ID), lane.inbox, m))));
}

describe("Reconciler", () => {
  it("asks the inbox which messages are executed, in order", async () => {
    const [a, b] = [laneMessage(lane, 1n), laneMessage(lane, 2n)];
    await deliveredElsewhere([b]);
    expect(await executedMask(cs, [{ msg: a }, { msg: b }])).toEqual([false, true]);
  });

  it("hands the old pending messages another member delivered to markExecuted and keeps the rest", async () => {
    const delivered = [laneMessage(lane, 10n), laneMessage(lane, 11n)];
    const waiting = laneMessage(lane, 12n);
    const young = laneMessage(lane, 13n);
    await deliveredElsewhere([...delivered, young]);
    const ps = [...delivered.map((m) => pend(m, 60_000)), pend(waiting, 60_000), pend(young, 0)];
    const marked: string[] = [];
    const r = new Reconciler({
      chains: new Map([[cs.id, cs]]),
      olderThanMs: 5000,
      intervalMs: 1000,
      finalityMs: 60_000,
      markExecuted: async (c, done) => {
        for (const p of done) {
          marked.push(p.key);
          c.pending.delete(p.key);
        }
      },
      settle: async () => undefined,
      reopen: async () => undefined,
    });
    expect(await r.reconcile()).toBe(2);
    expect(marked).toEqual([ps[0]!.key, ps[1]!.key]);
    expect([...cs.pending.keys()].sort()).toEqual([ps[2]!.key, ps[3]!.key].sort());
    // A message in flight is the submitter's to settle.
    ps[3]!.firstSeen -= 60_000;
    ps[3]!.inflight = true;
    expect(await r.reconcile()).toBe(0);
    ps[3]!.inflight = false;
    expect(await r.reconcile()).toBe(1);
    expect(marked).toContain(ps[3]!.key);
    cs.pending.clear();
  });

  it("skips a chain that does not answer, and one not ready yet", async () => {
    const down = newChainState({ ...laneChainConfig(lane), rpcUrl: "http://127.0.0.1:1" }, { cursor: 0, members: lane.members, threshold: 2, eventSources: [], maxBatch: 10 });
    down.ready = true;
    const m = laneMessage(lane, 20n);
    await deliveredElsewhere([m]);
    down.pending.set("x", { ...pend(m, 60_000) });
    cs.ready = false;
    const marked: string[] = [];
    const r = new Reconciler({ chains: new Map([[1n, down], [cs.id, cs]]), olderThanMs: 5000, intervalMs: 1000, finalityMs: 60_000, markExecuted: async (_c, done) => void marked.push(...done.map((p) => p.key)), settle: async () => undefined, reopen: async () => undefined });
    expect(await r.reconcile()).toBe(0);
    expect(marked).toEqual([]);
    cs.ready = true;
    expect(await r.reconcile()).toBe(1);
    down.provider.destroy();
  });

  it("settles an execution once it is final and hands back one a rollback undid", async () => {
    const [kept, undone] = [laneMessage(lane, 30n), laneMessage(lane, 31n)];
    await deliveredElsewhere([kept]);
    const snap = await lane.chain.snapshot();
    await deliveredElsewhere([undone]);
    const seen = (m: FederationMessage, ageMs: number): SeenExecution => {
      const p = pend(m, ageMs);
      cs.pending.delete(p.key);
      const e: SeenExecution = { key: p.key, srcChainId: m.srcChainId, nonce: m.nonce, digest: p.digest, block: 0, at: Date.now() - ageMs, p };
      cs.executed.set(e.key, e);
      return e;
    };
    const [a, b] = [seen(kept, 10_000), seen(undone, 10_000)];
    const settled: string[] = [];
    const reopened: string[] = [];
    const r = new Reconciler({
      chains: new Map([[cs.id, cs]]),
      olderThanMs: 5000,
      intervalMs: 1000,
      finalityMs: 30_000,
      markExecuted: async () => undefined,
      settle: async (c, es) => es.forEach((e) => (settled.push(e.key), c.executed.delete(e.key))),
      reopen: async (c, es) => es.forEach((e) => (reopened.push(e.key), c.executed.delete(e.key))),
    });
    // Both still executed and seen 10 s ago: not final within 30 s.
    expect(await r.recheck()).toEqual({ settled: 0, reopened: 0 });
    await lane.chain.revert(snap);
    expect(await executedMask(cs, [{ msg: kept }, { msg: undone }])).toEqual([true, false]);
    expect(await r.recheck()).toEqual({ settled: 0, reopened: 1 });
    expect(reopened).toEqual([b.key]);
    a.at -= 30_000;
    expect(await r.recheck()).toEqual({ settled: 1, reopened: 0 });
    expect(settled).toEqual([a.key]);
    cs.pending.clear();
    cs.batches.clear();
  });
});
