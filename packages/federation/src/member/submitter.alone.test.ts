// The submitter alone, against one anvil chain with the federation's inbox and a mock app: a
// ready batch reaches the app when this member is its relayer, each message with its proof; a
// member of higher rank waits its turn (longer while the designated relayer is seen working) and
// delivers only what nobody delivered yet; a paused source waits; a delivery the inbox refuses for
// a bad signature goes back to the attester to drop it.
import { Wallet } from "ethers";
import { retryRead } from "@sidegrid/chain";
import { FederationInbox__factory, MockPreferenceMirror__factory } from "../generated";
import { MessageBatch } from "../merkle";
import { packSignatures, signDigest, type FederationMessage } from "../messages";
import { LANE_SRC, laneChainConfig, laneMessage, pendBatch, recordingLog, startLane, testMetrics, type Lane } from "../test-utils/lane";
import { newChainState, type ChainState, type PendingBatch } from "./state";
import { Submitter, designatedRelayer } from "./submitter";
import { RelaySender, encodeDeliverBatches } from "./wire";

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
      markExecuted: async (c, ps) => {
        for (const p of ps) {
          r.done.push(p.key);
          c.pending.delete(p.key);
        }
      },
      dropInvalidSignatures: (_c, bs, notMember) => r.dropped.push({ keys: bs.map((b) => b.key), ...(notMember ? { notMember } : {}) }),
      refreshPause: async () => void r.refreshed.push("pause"),
      refreshSets: async () => void r.refreshed.push("sets"),
    },
  });
  rigs.push(r);
  return r;
}

/** The next nonce whose designated relayer is member `i`, then `extra` more nonces after it. */
function nonceFor(i: number, extra = 0): bigint {
  for (;;) {
    nonce++;
    if (designatedRelayer(BigInt(CHAIN_ID), LANE_SRC, nonce, ROUND, 3) === i) {
      const first = nonce;
      nonce += BigInt(extra);
      return first;
    }
  }
}

/** `n` lane messages from nonce `first` on. */
const laneMessages = (first: bigint, n = 1) => Array.from({ length: n }, (_, i) => laneMessage(lane, first + BigInt(i)));

/** `ms` pending and ready as one batch, with the root signatures of `signers` (lane key indices) under members' names. */
function pend(cs: ChainState, ms: FederationMessage[], signers: [member: number, key: number][]): PendingBatch {
  return pendBatch(lane, cs, ms, signers);
}
const keysOf = (b: PendingBatch) => [...b.keys];

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
  it("delivers a ready batch it is designated for in one transaction, and hands its messages to markExecuted", async () => {
    const r = await rig(0);
    const ms = laneMessages(nonceFor(0, 4), 5);
    const b = pend(r.cs, ms, [[0, 0], [1, 1]]);
    expect(r.submitter.rank(r.cs, b)).toBe(0);
    const before = await lane.chain.provider.getTransactionCount(lane.members[0]!);
    r.submitter.schedule(r.cs, 0);
    await until(() => keysOf(b).every((k) => r.done.includes(k)));
    for (const m of ms) expect(await executed(m)).toBe(true);
    expect(await lane.chain.provider.getTransactionCount(lane.members[0]!)).toBe(before + 1);
    expect(await MockPreferenceMirror__factory.connect(lane.mirror, lane.chain.provider).version("0x000000000000000000000000000000000000c0de")).toBe(ms[4]!.nonce);
    expect(r.cs.inFlight).toBe(0);
  });

  it("waits rank × takeoverMs when another member is designated, longer while that one is seen delivering", async () => {
    const r = await rig(1, 400);
    const m = laneMessage(lane, nonceFor(0));
    const b = pend(r.cs, [m], [[0, 0], [1, 1]]);
    const rank = r.submitter.rank(r.cs, b);
    expect(rank).toBe(1);
    expect(r.submitter.rank(r.cs, { ...b, batch: { ...b.batch, firstNonce: nonceFor(2) } })).toBe(2);
    expect(r.submitter.dueAt(r.cs, b, rank)).toBe(b.readyAt! + 400);
    r.cs.progress.set(lane.members[0]!, b.readyAt! + 300);
    expect(r.submitter.dueAt(r.cs, b, rank)).toBe(b.readyAt! + 700);
    r.cs.progress.set(lane.members[0]!, b.readyAt! + 60_000);
    expect(r.submitter.dueAt(r.cs, b, rank)).toBe(b.readyAt! + 4000); // 10 × the wait at most
    r.cs.progress.clear();
    const t0 = Date.now();
    r.submitter.schedule(r.cs, 0);
    await new Promise((res) => setTimeout(res, 250));
    expect(await executed(m)).toBe(false);
    await until(() => r.done.includes(b.keys[0]!));
    expect(await executed(m)).toBe(true);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(380);
  });

  it("holds a batch from a paused source until the pause ends", async () => {
    const r = await rig(0);
    const m = laneMessage(lane, nonceFor(0));
    const b = pend(r.cs, [m], [[0, 0], [2, 2]]);
    r.cs.paused.set(LANE_SRC, Date.now() / 1000 + 3600);
    r.submitter.schedule(r.cs, 0);
    await new Promise((res) => setTimeout(res, 400));
    expect(await executed(m)).toBe(false);
    expect(b.open.get(0)!.attempts).toBe(0);
    r.cs.paused.clear();
    r.submitter.schedule(r.cs, 0);
    await until(() => r.done.includes(b.keys[0]!));
    expect(await executed(m)).toBe(true);
  });

  it("gives a delivery the inbox refused for a non-member's signature back to the attester", async () => {
    const r = await rig(0);
    const m = laneMessage(lane, nonceFor(0));
    // Member 1's slot holds the outsider's signature.
    const b = pend(r.cs, [m], [[0, 0], [1, 3]]);
    r.submitter.schedule(r.cs, 0);
    await until(() => r.dropped.length > 0);
    expect(r.dropped[0]!.keys).toEqual([b.key]);
    expect(r.dropped[0]!.notMember?.toLowerCase()).toBe(new Wallet(lane.keys[3]!.privateKey).address.toLowerCase());
    expect(r.refreshed).toContain("sets");
    expect(await executed(m)).toBe(false);
    expect(r.done).toEqual([]);
  });

  it("tries again on its own after the node refused a send (another process of the account moved its nonce)", async () => {
    // CI once hung here: the send failed with "nonce too low", and only a new head (none came) would
    // have made the member try again.
    const r = await rig(0);
    const m = laneMessage(lane, nonceFor(0));
    const b = pend(r.cs, [m], [[0, 0], [1, 1]]);
    // The same account sends from elsewhere after this member read its nonce.
    const other = new Wallet(lane.keys[0]!.privateKey, lane.chain.provider);
    await (await other.sendTransaction({ to: other.address, value: 0n })).wait();
    r.submitter.schedule(r.cs, 0);
    await until(() => r.done.includes(b.keys[0]!), 15_000);
    expect(await executed(m)).toBe(true);
  });

  it("checks before taking over and only records what someone else already delivered", async () => {
    const r0 = await rig(0);
    const r1 = await rig(1, 50);
    const m = laneMessage(lane, nonceFor(0));
    const b0 = pend(r0.cs, [m], [[0, 0], [1, 1]]);
    r0.submitter.schedule(r0.cs, 0);
    await until(() => r0.done.includes(b0.keys[0]!));
    const b1 = pend(r1.cs, [m], [[1, 1], [2, 2]]);
    b1.readyAt = Date.now() - 10_000;
    const before = await lane.chain.provider.getTransactionCount(lane.members[1]!);
    r1.submitter.schedule(r1.cs, 0);
    await until(() => r1.done.includes(b1.keys[0]!));
    expect(await lane.chain.provider.getTransactionCount(lane.members[1]!)).toBe(before);
  });

  it("taking over a batch another relayer delivered in part, delivers the rest with their proofs", async () => {
    const r1 = await rig(1, 50);
    const ms = laneMessages(nonceFor(0, 5), 6);
    // The designated relayer got messages 1 and 4 through before it died.
    const mb = new MessageBatch(r1.cs.separator, ms);
    const sigs = packSignatures([0, 2].map((k) => signDigest(lane.keys[k]!, mb.digest)));
    await lane.app.sendAndWait({ to: lane.inbox, data: encodeDeliverBatches([mb.delivery(sigs, [1, 4])]) });
    const b = pend(r1.cs, ms, [[1, 1], [2, 2]]);
    b.readyAt = Date.now() - 10_000;
    r1.submitter.schedule(r1.cs, 0);
    await until(() => keysOf(b).every((k) => r1.done.includes(k)));
    for (const m of ms) expect(await executed(m)).toBe(true);
    expect(r1.cs.pending.size).toBe(0);
  });
});
