// The attester alone, without a chain: what it signs and persists for a watcher's observation, how
// it counts the other members' signatures towards a quorum, what it refuses (a digest that differs,
// a signature that is not a member's, a second content under a nonce already executed), and what
// it takes back after a restart.
import fs from "node:fs";
import path from "node:path";
import { SigningKey, Wallet, recoverAddress } from "ethers";
import { messageDigest, messageKey, signDigest, type FederationMessage } from "../messages";
import { recordingLog, testMetrics } from "../test-utils/lane";
import { preferencePayload, tmpDir } from "../test-utils/world";
import { Attester, type SignatureOutlet } from "./attester";
import { localMemberKeys } from "./config";
import type { SignatureItem } from "./peers";
import { newChainState, type ChainState } from "./state";
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

function observation(over: Partial<Observation>): Observation {
  return { sent: [], executed: [], deliveredBy: [], setsChanged: false, pauseChanged: false, undecodable: 0, ...over };
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
const item = (dst: ChainState, m: FederationMessage, k: SigningKey, digest = digestOf(dst, m)): SignatureItem => [
  m.dstChainId.toString(),
  m.srcChainId.toString(),
  m.nonce.toString(),
  digest,
  signDigest(k, digest),
];

describe("Attester", () => {
  it("signs a new message for its destination's inbox, persists it with the cursor, and pushes the signature", async () => {
    const r = await rig("sign");
    const m = message(1n);
    await r.attester.observed(r.src, observation({ sent: [m] }), 42);
    const p = r.dst.pending.get(keyOf(m))!;
    expect(p.digest).toBe(digestOf(r.dst, m));
    expect(recoverAddress(p.digest, p.own)).toBe(members[0]);
    expect(p.readyAt).toBeUndefined(); // one signature of a threshold of two
    expect(await r.store.cursor(Number(SRC))).toBe(42);
    expect((await r.store.pending()).map((s) => s.key)).toEqual([keyOf(m)]);
    expect(r.pushed).toEqual([{ items: [[DST.toString(), SRC.toString(), "1", p.digest, p.own]] }]);
    expect(r.flushes).toEqual([{ chain: "dst", delayMs: 15 }]);
    expect(r.attester.stats.own).toBe(1);
    // Seen again (a re-scan after a restart of the watcher): not signed twice.
    await r.attester.observed(r.src, observation({ sent: [m] }), 43);
    expect(r.attester.stats.own).toBe(1);
  });

  it("is ready once a second member's signature over the same digest arrives, and not for another digest", async () => {
    const r = await rig("quorum");
    const m = message(2n);
    await r.attester.observed(r.src, observation({ sent: [m] }), 5);
    const p = r.dst.pending.get(keyOf(m))!;
    r.attester.onPeerSignatures(members[1]!, [item(r.dst, m, keys[1]!, digestOf(r.dst, message(2n, false)))]);
    expect(p.sigs.size).toBe(1);
    expect(p.readyAt).toBeUndefined();
    r.attester.onPeerSignatures(members[2]!, [item(r.dst, m, keys[2]!)]);
    expect(p.sigs.size).toBe(2);
    expect(p.readyAt).toBeGreaterThan(0);
    expect(r.attester.stats.peer).toBe(2);
  });

  it("keeps a signature that arrives before its own watcher saw the message, and counts it then", async () => {
    const r = await rig("orphan");
    const m = message(3n);
    r.attester.onPeerSignatures(members[1]!, [item(r.dst, m, keys[1]!)]);
    expect(r.dst.pending.size).toBe(0);
    await r.attester.observed(r.src, observation({ sent: [m] }), 6);
    expect(r.dst.pending.get(keyOf(m))!.readyAt).toBeGreaterThan(0);
  });

  it("drops what it sees executed, and refuses to sign other content under that nonce (equivocation)", async () => {
    const r = await rig("executed");
    const m = message(4n);
    await r.attester.observed(r.src, observation({ sent: [m] }), 7);
    const digest = digestOf(r.dst, m);
    await r.attester.observed(r.dst, observation({ executed: [{ key: keyOf(m), digest }] }), 9);
    expect(r.dst.pending.has(keyOf(m))).toBe(false);
    expect(await r.store.doneDigests([keyOf(m)])).toEqual([digest]);
    expect(await r.store.pending()).toEqual([]);
    const forged = { ...m, payload: message(4n, false).payload };
    await r.attester.observed(r.src, observation({ sent: [forged] }), 8);
    expect(r.dst.pending.has(keyOf(m))).toBe(false);
    expect(r.attester.stats.own).toBe(1);
    expect(r.lines.filter((l) => l.level === "error").map((l) => l.msg)).toEqual([expect.stringMatching(/^refusing to sign 0x[0-9a-f]{64} for .*already signed/)]);
  });

  it("drops a signature that does not recover to a member after the inbox refused the batch", async () => {
    const r = await rig("invalid");
    const m = message(5n);
    await r.attester.observed(r.src, observation({ sent: [m] }), 10);
    // An outsider's signature pushed in a member's name: the push authenticates, the signature does not.
    r.attester.onPeerSignatures(members[1]!, [item(r.dst, m, outsider)]);
    const p = r.dst.pending.get(keyOf(m))!;
    expect(p.readyAt).toBeGreaterThan(0);
    r.attester.dropInvalidSignatures(r.dst, [p]);
    expect([...p.sigs.keys()]).toEqual([members[0]!.toLowerCase()]);
    expect(p.bad.has(members[1]!.toLowerCase())).toBe(true);
    expect(p.readyAt).toBeUndefined();
    // The member's real signature is not taken from the same signer any more; a third member's is.
    r.attester.onPeerSignatures(members[1]!, [item(r.dst, m, keys[1]!)]);
    expect(p.readyAt).toBeUndefined();
    r.attester.onPeerSignatures(members[2]!, [item(r.dst, m, keys[2]!)]);
    expect(p.readyAt).toBeGreaterThan(0);
  });

  it("takes back what it signed after a restart and pushes it again; re-sends to a peer that lacks it", async () => {
    const r = await rig("resume", 0);
    const m = message(6n);
    await r.attester.observed(r.src, observation({ sent: [m] }), 11);
    const own = r.dst.pending.get(keyOf(m))!.own;
    const again = new Attester({
      key: keys[0]!,
      address: members[0]!,
      chains: new Map([
        [SRC, chain(SRC, "src")],
        [DST, chain(DST, "dst")],
      ]),
      store: r.store,
      peers: { peerAddresses: members.slice(1), enqueue: (items, to) => r.pushed.push({ items, ...(to ? { peers: to } : {}) }) },
      metrics: testMetrics(),
      log: recordingLog().log,
      resendMs: 0,
      batchDelayMs: 15,
      scheduleFlush: () => undefined,
    });
    r.pushed.length = 0;
    expect(await again.resume()).toBe(1);
    expect(r.pushed).toEqual([{ items: [[DST.toString(), SRC.toString(), "6", digestOf(r.dst, m), own]] }]);
    // Anti-entropy: member 1 has signed, member 2 has not: only member 2 gets ours again.
    r.attester.onPeerSignatures(members[1]!, [item(r.dst, m, keys[1]!)]);
    r.dst.pending.get(keyOf(m))!.firstSeen -= 10;
    r.dst.pending.get(keyOf(m))!.lastResend -= 10;
    r.pushed.length = 0;
    r.attester.antiEntropy();
    expect(r.pushed).toEqual([{ items: [[DST.toString(), SRC.toString(), "6", digestOf(r.dst, m), own]], peers: [members[2]] }]);
  });
});
