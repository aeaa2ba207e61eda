// The attester alone, without a chain: which batches it cuts from a watcher's observation, what it
// signs and persists, how it counts the other members' signatures over the same root towards a
// quorum, what it refuses (a root that differs — a minority's batch with a forged message —, a
// signature that is not a member's, other content under a nonce signed or executed), and what it
// takes back after a restart (also from a store written before batches).
import fs from "node:fs";
import path from "node:path";
import { SigningKey, Wallet, recoverAddress } from "ethers";
import { MessageBatch } from "../merkle";
import { messageDigest, messageKey, signDigest, type FederationMessage } from "../messages";
import { recordingLog, testMetrics } from "../test-utils/lane";
import { preferencePayload, tmpDir } from "../test-utils/world";
import { Attester, MAX_BATCH_LEAVES, type SignatureOutlet } from "./attester";
import { localMemberKeys } from "./config";
import type { SignatureItem } from "./peers";
import { batchKey, newChainState, type ChainState, type PendingBatch } from "./state";
import { MemberStore } from "./store";
import type { Observation } from "./watcher";

const SRC = 31821n;
const DST = 31822n;
const keys = localMemberKeys(4).map((k) => new SigningKey(k));
const members = keys.slice(0, 3).map((k) => new Wallet(k.privateKey).address);
const outsider = keys[3]!;
const mirror = "0x00000000000000000000000000000000000000d5";
const source = "0x00000000000000000000000000000000000000e5";

function chain(id: bigint, name: string): ChainState {
  const cs = newChainState(
    { name, chainId: Number(id), rpcUrl: "http://127.0.0.1:1", confirmations: 0, outbox: "0x00000000000000000000000000000000000000b0", inbox: "0x00000000000000000000000000000000000000b1", startBlock: 0 },
    { cursor: 0, members, threshold: 2, eventSources: [], maxBatch: 10 },
  );
  cs.ready = true;
  return cs;
}

function message(nonce: bigint, allowed = true): FederationMessage {
  return { srcChainId: SRC, srcSender: source, nonce, dstChainId: DST, dstContract: mirror, payload: preferencePayload("0x000000000000000000000000000000000000c0de", nonce, "0x0000000000000000000000000000000000007711", allowed) };
}

/** An observation of `sent`, all in source block `block` unless `blocks` says otherwise. */
function observation(over: Partial<Observation>, block = 1, blocks?: number[]): Observation {
  const sent = over.sent ?? [];
  return { sent, sentBlocks: blocks ?? sent.map(() => block), executed: [], deliveredBy: [], setsChanged: false, pauseChanged: false, undecodable: 0, ...over };
}

interface Rig {
  attester: Attester;
  store: MemberStore;
  src: ChainState;
  dst: ChainState;
  pushed: { items: readonly SignatureItem[]; peers?: readonly string[] }[];
  flushes: { chain: string; delayMs: number }[];
  lines: { level: string; msg: string }[];
}

let dir: string;
const open: MemberStore[] = [];

beforeAll(() => {
  dir = tmpDir("attester");
});
afterAll(async () => {
  for (const s of open) await s.close().catch(() => undefined);
  fs.rmSync(dir, { recursive: true, force: true });
});

async function rig(name: string, resendMs = 2000): Promise<Rig> {
  const store = await MemberStore.open(path.join(dir, name));
  open.push(store);
  const src = chain(SRC, "src");
  const dst = chain(DST, "dst");
  const pushed: Rig["pushed"] = [];
  const flushes: Rig["flushes"] = [];
  const peers: SignatureOutlet = {
    peerAddresses: members.slice(1),
    enqueue: (items, to) => pushed.push({ items, ...(to ? { peers: to } : {}) }),
  };
  const { lines, log } = recordingLog();
  const attester = new Attester({
    key: keys[0]!,
    address: members[0]!,
    chains: new Map([
      [SRC, src],
      [DST, dst],
    ]),
    store,
    peers,
    metrics: testMetrics(),
    log,
    resendMs,
    batchDelayMs: 15,
    scheduleFlush: (cs, delayMs) => flushes.push({ chain: cs.cfg.name, delayMs }),
  });
  return { attester, store, src, dst, pushed, flushes, lines };
}

const keyOf = (m: FederationMessage) => messageKey(m.dstChainId, m.srcChainId, m.nonce);
const digestOf = (dst: ChainState, m: FederationMessage) => messageDigest(dst.separator, m);
const batchOf = (r: Rig, first: FederationMessage): PendingBatch => r.dst.batches.get(batchKey(DST, SRC, first.nonce))!;
/** A member's signature over the batch of `ms` (as it would form it), pushed as an item. */
const item = (dst: ChainState, ms: FederationMessage[], k: SigningKey): SignatureItem => {
  const b = new MessageBatch(dst.separator, ms);
  return [DST.toString(), SRC.toString(), b.batch.firstNonce.toString(), b.digest, signDigest(k, b.digest)];
};

describe("Attester", () => {
  it("signs one root per source block and destination, persists batch, messages and cursor, and pushes the signature", async () => {
    const r = await rig("sign");
    const [m1, m2, m3] = [message(1n), message(2n), message(3n)];
    await r.attester.observed(r.src, observation({ sent: [m2, m1, m3] }, 0, [7, 7, 8]), 42);
    const b = batchOf(r, m1);
    const expected = new MessageBatch(r.dst.separator, [m1, m2]);
    expect(b.batch).toEqual(expected.batch);
    expect(b.digest).toBe(expected.digest);
    expect(recoverAddress(b.digest, b.own)).toBe(members[0]);
    expect([...b.open.values()].map((p) => [p.key, p.leaf, p.digest])).toEqual([
      [keyOf(m1), 0, digestOf(r.dst, m1)],
      [keyOf(m2), 1, digestOf(r.dst, m2)],
    ]);
    expect(batchOf(r, m3).keys).toEqual([keyOf(m3)]); // the next block: its own batch
    expect(b.readyAt).toBeUndefined(); // one signature of a threshold of two
    expect(await r.store.cursor(Number(SRC))).toBe(42);
    expect((await r.store.pending()).map((s) => [s.key, s.batch])).toEqual([keyOf(m1), keyOf(m2), keyOf(m3)].map((k, i) => [k, i < 2 ? b.key : batchOf(r, m3).key]));
    expect((await r.store.batches()).map((x) => [x.key, x.root, x.leaves.length])).toEqual([
      [b.key, b.batch.root, 2],
      [batchOf(r, m3).key, batchOf(r, m3).batch.root, 1],
    ]);
    expect(r.pushed).toEqual([{ items: [[DST.toString(), SRC.toString(), "1", b.digest, b.own], [DST.toString(), SRC.toString(), "3", batchOf(r, m3).digest, batchOf(r, m3).own]] }]);
    expect(r.flushes).toEqual([{ chain: "dst", delayMs: 15 }]);
    expect(r.attester.stats.own).toBe(2);
    // Seen again (a re-scan after a restart of the watcher): not signed twice.
    await r.attester.observed(r.src, observation({ sent: [m1, m2] }, 7), 43);
    expect(r.attester.stats.own).toBe(2);
  });

  it("cuts a block's messages for one destination into batches of at most MAX_BATCH_LEAVES", async () => {
    const r = await rig("cut");
    const ms = Array.from({ length: MAX_BATCH_LEAVES + 3 }, (_, i) => message(BigInt(1000 + i)));
    await r.attester.observed(r.src, observation({ sent: ms }), 1);
    expect([...r.dst.batches.values()].map((b) => [b.batch.firstNonce, b.batch.lastNonce, b.keys.length])).toEqual([
      [1000n, BigInt(1000 + MAX_BATCH_LEAVES - 1), MAX_BATCH_LEAVES],
      [BigInt(1000 + MAX_BATCH_LEAVES), BigInt(1000 + MAX_BATCH_LEAVES + 2), 3],
    ]);
  });

  // Adversary: a minority member signs a root over a batch holding a forged message.
  it("is ready once a second member signs the same root; a root with a forged message never counts", async () => {
    const r = await rig("quorum");
    const ms = [message(2n), message(3n)];
    await r.attester.observed(r.src, observation({ sent: ms }), 5);
    const b = batchOf(r, ms[0]!);
    const forged = [ms[0]!, message(3n, false)];
    r.attester.onPeerSignatures(members[1]!, [item(r.dst, forged, keys[1]!)]);
    expect(b.sigs.size).toBe(1);
    expect(b.readyAt).toBeUndefined();
    // Nor does a root over fewer (or more) messages than the block holds.
    r.attester.onPeerSignatures(members[1]!, [item(r.dst, ms.slice(0, 1), keys[1]!)]);
    expect(b.readyAt).toBeUndefined();
    r.attester.onPeerSignatures(members[2]!, [item(r.dst, ms, keys[2]!)]);
    expect(b.sigs.size).toBe(2);
    expect(b.readyAt).toBeGreaterThan(0);
    expect(r.attester.stats.peer).toBe(3);
  });

  it("keeps a signature that arrives before its own watcher saw the batch, and counts it then", async () => {
    const r = await rig("orphan");
    const m = message(3n);
    r.attester.onPeerSignatures(members[1]!, [item(r.dst, [m], keys[1]!)]);
    expect(r.dst.pending.size).toBe(0);
    expect(r.attester.stats.own).toBe(0); // a peer's root is never a reason to sign
    await r.attester.observed(r.src, observation({ sent: [m] }), 6);
    expect(batchOf(r, m).readyAt).toBeGreaterThan(0);
  });

  it("keeps what it sees executed until it is final, then drops it, and refuses to sign other content under a nonce executed or signed (equivocation)", async () => {
    const r = await rig("executed");
    const [m, n] = [message(4n), message(5n)];
    await r.attester.observed(r.src, observation({ sent: [m, n] }), 7);
    const digest = digestOf(r.dst, m);
    await r.attester.observed(r.dst, observation({ executed: [{ key: keyOf(m), digest, block: 9 }] }), 9);
    expect(r.dst.pending.has(keyOf(m))).toBe(false);
    expect([batchOf(r, m).open.size, batchOf(r, m).settling.size]).toEqual([1, 1]);
    expect(r.dst.executed.get(keyOf(m))).toMatchObject({ digest, block: 9, nonce: 4n, srcChainId: SRC });
    // Not final yet: the message and its batch stay in the store, beside the execution seen.
    expect(await r.store.doneDigests([keyOf(m)])).toEqual([undefined]);
    expect((await r.store.pending()).map((s) => s.key)).toEqual([keyOf(m), keyOf(n)]);
    expect((await r.store.executions()).map((e) => [e.key, e.block])).toEqual([[keyOf(m), 9]]);
    await r.attester.observed(r.dst, observation({ executed: [{ key: keyOf(n), digest: digestOf(r.dst, n), block: 10 }] }), 10);
    expect([r.dst.pending.size, r.dst.batches.size, r.dst.executed.size]).toEqual([0, 1, 2]);
    await r.attester.settle(r.dst, [...r.dst.executed.values()]);
    expect([r.dst.batches.size, r.dst.executed.size]).toEqual([0, 0]);
    expect(await r.store.batches()).toEqual([]);
    expect(await r.store.pending()).toEqual([]);
    expect(await r.store.executions()).toEqual([]);
    expect(await r.store.doneDigests([keyOf(m)])).toEqual([digest]);
    // Other content under the executed nonce (a reorg deeper than the confirmations), alone in a later block.
    await r.attester.observed(r.src, observation({ sent: [{ ...m, payload: message(4n, false).payload }] }, 12), 12);
    // Other content under a nonce signed and pending, in another batch.
    const o = message(6n);
    await r.attester.observed(r.src, observation({ sent: [o] }, 13), 13);
    await r.attester.observed(r.src, observation({ sent: [message(5n), { ...o, payload: message(6n, false).payload }] }, 14), 14);
    expect(r.attester.stats.own).toBe(2);
    expect(r.lines.filter((l) => l.level === "error").map((l) => l.msg)).toEqual([
      expect.stringMatching(/^refusing to sign 0x[0-9a-f]{64} for .*already signed/),
      expect.stringMatching(/^refusing to sign 0x[0-9a-f]{64} for .*already signed/),
    ]);
  });

  it("drops a signature that does not recover to a member after the inbox refused the delivery", async () => {
    const r = await rig("invalid");
    const m = message(5n);
    await r.attester.observed(r.src, observation({ sent: [m] }), 10);
    // An outsider's signature pushed in a member's name: the push authenticates, the signature does not.
    r.attester.onPeerSignatures(members[1]!, [item(r.dst, [m], outsider)]);
    const b = batchOf(r, m);
    expect(b.readyAt).toBeGreaterThan(0);
    r.attester.dropInvalidSignatures(r.dst, [b]);
    expect([...b.sigs.keys()]).toEqual([members[0]!.toLowerCase()]);
    expect(b.bad.has(members[1]!.toLowerCase())).toBe(true);
    expect(b.readyAt).toBeUndefined();
    // The member's real signature is not taken from the same signer any more; a third member's is.
    r.attester.onPeerSignatures(members[1]!, [item(r.dst, [m], keys[1]!)]);
    expect(b.readyAt).toBeUndefined();
    r.attester.onPeerSignatures(members[2]!, [item(r.dst, [m], keys[2]!)]);
    expect(b.readyAt).toBeGreaterThan(0);
  });

  function again(r: Rig): { attester: Attester; src: ChainState; dst: ChainState } {
    const src = chain(SRC, "src");
    const dst = chain(DST, "dst");
    const attester = new Attester({
      key: keys[0]!,
      address: members[0]!,
      chains: new Map([
        [SRC, src],
        [DST, dst],
      ]),
      store: r.store,
      peers: { peerAddresses: members.slice(1), enqueue: (items, to) => r.pushed.push({ items, ...(to ? { peers: to } : {}) }) },
      metrics: testMetrics(),
      log: recordingLog().log,
      resendMs: 0,
      batchDelayMs: 15,
      scheduleFlush: () => undefined,
    });
    return { attester, src, dst };
  }

  it("takes back what it signed after a restart and pushes it again; re-sends to a peer that lacks it", async () => {
    const r = await rig("resume", 0);
    const ms = [message(6n), message(7n)];
    await r.attester.observed(r.src, observation({ sent: ms }), 11);
    const b = batchOf(r, ms[0]!);
    const a = again(r);
    r.pushed.length = 0;
    expect(await a.attester.resume()).toBe(2);
    const restored = a.dst.batches.get(b.key)!;
    expect([restored.batch, restored.digest, restored.tree.root, restored.keys]).toEqual([b.batch, b.digest, b.tree.root, b.keys]);
    expect([...restored.open.values()].map((p) => [p.key, p.leaf])).toEqual([keyOf(ms[0]!), keyOf(ms[1]!)].map((k, i) => [k, i]));
    expect(r.pushed).toEqual([{ items: [[DST.toString(), SRC.toString(), "6", b.digest, b.own]] }]);
    // Anti-entropy: member 1 has signed, member 2 has not: only member 2 gets ours again.
    r.attester.onPeerSignatures(members[1]!, [item(r.dst, ms, keys[1]!)]);
    b.firstSeen -= 10;
    b.lastResend -= 10;
    r.pushed.length = 0;
    r.attester.antiEntropy();
    expect(r.pushed).toEqual([{ items: [[DST.toString(), SRC.toString(), "6", b.digest, b.own]], peers: [members[2]] }]);
  });

  it("turns messages a per-message member stored into one-message batches on start", async () => {
    const r = await rig("legacy");
    const m = message(9n);
    const digest = digestOf(r.dst, m);
    await r.store.commit({
      messages: [{ key: keyOf(m), srcChainId: SRC.toString(), srcSender: m.srcSender, nonce: "9", dstChainId: DST.toString(), dstContract: m.dstContract, payload: m.payload, digest, signature: signDigest(keys[0]!, digest), firstSeen: 1 }],
    });
    const a = again(r);
    expect(await a.attester.resume()).toBe(1);
    const b = a.dst.batches.get(batchKey(DST, SRC, 9n))!;
    expect(b.digest).toBe(new MessageBatch(r.dst.separator, [m]).digest);
    expect((await r.store.batches()).map((x) => x.key)).toEqual([b.key]);
    expect((await r.store.pending()).map((x) => x.batch)).toEqual([b.key]);
  });
});
