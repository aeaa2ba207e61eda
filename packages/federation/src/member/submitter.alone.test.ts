// The submitter alone, against one anvil chain with the federation's inbox and a mock app: a
// ready message reaches the app when this member is its relayer; a member of higher rank waits its
// turn (longer while the designated relayer is seen working); a paused source waits; a batch the
// inbox refuses for a bad signature goes back to the attester to drop it.
import { Wallet } from "ethers";
import { retryRead } from "@sidegrid/chain";
import { FederationInbox__factory, MockPreferenceMirror__factory } from "../generated";
import { messageDigest, messageKey, signDigest, type FederationMessage } from "../messages";
import { LANE_SRC, laneChainConfig, laneMessage, recordingLog, startLane, testMetrics, type Lane } from "../test-utils/lane";
import { newChainState, type ChainState, type PendingMessage } from "./state";
import { Submitter, designatedRelayer } from "./submitter";
import { RelaySender } from "./wire";

const CHAIN_ID = 31831;
const ROUND = 4;

let lane: Lane;
let nonce = 0n;

beforeAll(async () => {
  lane = await startLane(CHAIN_ID);
}, 120_000);
const rigs: Rig[] = [];
afterEach(() => {
  for (const r of rigs.splice(0)) {
    r.submitter.stop([r.cs]);
    r.cs.provider.destroy();
  }
});
afterAll(() => lane.stop());

interface Rig {
  cs: ChainState;
  submitter: Submitter;
  done: string[];
  dropped: { keys: string[]; notMember?: string }[];
  refreshed: string[];
}

/** A submitter for member `i`, its chain state ready as the watcher would leave it. */
async function rig(i: number, takeoverMs = 60_000): Promise<Rig> {
  const cs = newChainState(laneChainConfig(lane), { cursor: lane.startBlock, members: lane.members, threshold: 2, eventSources: [], maxBatch: 50 });
  cs.sender = await RelaySender.create(lane.keys[i]!, lane.members[i]!, cs.rpc, cs.id);
  cs.appGasLimit = await FederationInbox__factory.connect(lane.inbox, lane.chain.provider).appGasLimit();
  cs.ready = true;
  const r: Rig = { cs, submitter: undefined as unknown as Submitter, done: [], dropped: [], refreshed: [] };
  r.submitter = new Submitter({
    address: lane.members[i]!,
    takeoverMs,
    roundSize: ROUND,
    maxBatch: 50,
    maxInFlight: 2,
    metrics: testMetrics(),
    log: recordingLog().log,
    hooks: {
      markDone: async (c, ps) => {
        for (const p of ps) {
          r.done.push(p.key);
          c.pending.delete(p.key);
        }
      },
      dropInvalidSignatures: (_c, ps, notMember) => r.dropped.push({ keys: ps.map((p) => p.key), ...(notMember ? { notMember } : {}) }),
      refreshPause: async () => void r.refreshed.push("pause"),
      refreshSets: async () => void r.refreshed.push("sets"),
    },
  });
  rigs.push(r);
  return r;
}

/** The next nonce whose designated relayer is member `i`. */
function nonceFor(i: number): bigint {
  for (;;) {
    nonce++;
    if (designatedRelayer(BigInt(CHAIN_ID), LANE_SRC, nonce, ROUND, 3) === i) return nonce;
  }
}

/** `m` pending and ready, with the signatures of `signers` (lane key indices) under members' names. */
function pend(cs: ChainState, m: FederationMessage, signers: [member: number, key: number][]): PendingMessage {
  const digest = messageDigest(cs.separator, m);
  const sigs = new Map(signers.map(([member, key]) => [lane.members[member]!.toLowerCase(), signDigest(lane.keys[key]!, digest)]));
  const p: PendingMessage = { key: messageKey(m.dstChainId, m.srcChainId, m.nonce), msg: m, digest, firstSeen: Date.now(), own: [...sigs.values()][0]!, sigs, bad: new Set(), readyAt: Date.now(), inflight: false, attempts: 0, lastResend: Date.now() };
  cs.pending.set(p.key, p);
  return p;
}

// anvil (--prune-history) now and then refuses a view call while it mines ("missing revert data"): read again.
const executed = (m: FederationMessage) => retryRead(() => FederationInbox__factory.connect(lane.inbox, lane.chain.provider).isExecuted(m.srcChainId, m.nonce));

// Generous: a JSON-RPC call to a loaded anvil has been seen to take the sender's whole 15 s timeout in CI.
async function until(cond: () => boolean | Promise<boolean>, ms = 45_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe("designatedRelayer", () => {
  it("rotates every roundSize nonces and differs between lanes", () => {
    const at = (n: bigint, src = LANE_SRC) => designatedRelayer(BigInt(CHAIN_ID), src, n, ROUND, 3);
    expect([0n, 1n, 2n, 3n].map((n) => at(n))).toEqual([at(0n), at(0n), at(0n), at(0n)]);
    expect(at(4n)).toBe((at(0n) + 1) % 3);
    expect(at(0n, LANE_SRC + 1n)).toBe((at(0n) + 1) % 3);
  });
});

describe("Submitter", () => {
  it("delivers a ready message it is designated for, and hands it to markDone", async () => {
    const r = await rig(0);
    const m = laneMessage(lane, nonceFor(0));
    const p = pend(r.cs, m, [[0, 0], [1, 1]]);
    expect(r.submitter.rank(r.cs, p)).toBe(0);
    r.submitter.schedule(r.cs, 0);
    await until(() => r.done.includes(p.key));
    expect(await executed(m)).toBe(true);
    expect(await MockPreferenceMirror__factory.connect(lane.mirror, lane.chain.provider).version("0x000000000000000000000000000000000000c0de")).toBe(m.nonce);
    expect(r.cs.inFlight).toBe(0);
  });

  it("waits rank × takeoverMs when another member is designated, longer while that one is seen delivering", async () => {
    const r = await rig(1, 400);
    const m = laneMessage(lane, nonceFor(0));
    const p = pend(r.cs, m, [[0, 0], [1, 1]]);
    const rank = r.submitter.rank(r.cs, p);
    expect(rank).toBe(1);
    expect(r.submitter.rank(r.cs, { ...p, msg: laneMessage(lane, nonceFor(2)) })).toBe(2);
    expect(r.submitter.dueAt(r.cs, p, rank)).toBe(p.readyAt! + 400);
    r.cs.progress.set(lane.members[0]!, p.readyAt! + 300);
    expect(r.submitter.dueAt(r.cs, p, rank)).toBe(p.readyAt! + 700);
    r.cs.progress.set(lane.members[0]!, p.readyAt! + 60_000);
    expect(r.submitter.dueAt(r.cs, p, rank)).toBe(p.readyAt! + 4000); // 10 × the wait at most
    r.cs.progress.clear();
    const t0 = Date.now();
    r.submitter.schedule(r.cs, 0);
    await new Promise((res) => setTimeout(res, 250));
    expect(await executed(m)).toBe(false);
    await until(() => r.done.includes(p.key));
    expect(await executed(m)).toBe(true);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(380);
  });

  it("holds a message from a paused source until the pause ends", async () => {
    const r = await rig(0);
    const m = laneMessage(lane, nonceFor(0));
    const p = pend(r.cs, m, [[0, 0], [2, 2]]);
    r.cs.paused.set(LANE_SRC, Date.now() / 1000 + 3600);
    r.submitter.schedule(r.cs, 0);
    await new Promise((res) => setTimeout(res, 400));
    expect(await executed(m)).toBe(false);
    expect(p.attempts).toBe(0);
    r.cs.paused.clear();
    r.submitter.schedule(r.cs, 0);
    await until(() => r.done.includes(p.key));
    expect(await executed(m)).toBe(true);
  });

  it("gives a batch the inbox refused for a non-member's signature back to the attester", async () => {
    const r = await rig(0);
    const m = laneMessage(lane, nonceFor(0));
    // Member 1's slot holds the outsider's signature.
    const p = pend(r.cs, m, [[0, 0], [1, 3]]);
    r.submitter.schedule(r.cs, 0);
    await until(() => r.dropped.length > 0);
    expect(r.dropped[0]!.keys).toEqual([p.key]);
    expect(r.dropped[0]!.notMember?.toLowerCase()).toBe(new Wallet(lane.keys[3]!.privateKey).address.toLowerCase());
    expect(r.refreshed).toContain("sets");
    expect(await executed(m)).toBe(false);
    expect(r.done).toEqual([]);
  });

  it("checks before taking over and only records what someone else already delivered", async () => {
    const r0 = await rig(0);
    const r1 = await rig(1, 50);
    const m = laneMessage(lane, nonceFor(0));
    const p0 = pend(r0.cs, m, [[0, 0], [1, 1]]);
    r0.submitter.schedule(r0.cs, 0);
    await until(() => r0.done.includes(p0.key));
    const p1 = pend(r1.cs, m, [[1, 1], [2, 2]]);
    p1.readyAt = Date.now() - 10_000;
    const before = await lane.chain.provider.getTransactionCount(lane.members[1]!);
    r1.submitter.schedule(r1.cs, 0);
    await until(() => r1.done.includes(p1.key));
    expect(await lane.chain.provider.getTransactionCount(lane.members[1]!)).toBe(before);
  });
});
