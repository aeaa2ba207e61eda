// FederationInbox.deliverBatches on a real anvil: members sign one EIP-712 root per batch, each
// message is delivered with a multiproof against it. What it accepts (a whole batch, a subset then
// the rest, the previous set in its grace period, a failed app retried) and every adversary of
// README "Batched attestations" refused with the inbox's own error and arguments.
import fs from "node:fs";
import path from "node:path";
import { SigningKey, TypedDataEncoder, Wallet, getAddress } from "ethers";
import { ContractRevertError, Deployments, deployContract, readArtifact, startTestChain, type TestChain, type TxReceipt, type TxSender } from "@sidegrid/chain";
import { artifactsDir } from "./artifacts";
import { deployFederation } from "./deploy";
import { FederationInbox__factory, MockPreferenceMirror__factory } from "./generated";
import { setInboxPaused, updateMemberSet } from "./governance";
import { localMemberKeys } from "./member/config";
import { encodeDeliverBatches } from "./member/wire";
import { MerkleTree, MessageBatch } from "./merkle";
import { BATCH_TYPES, domainSeparator, inboxDomain, messageDigest, packSignatures, signDigest, type FederationBatchDelivery, type FederationMessage } from "./messages";
import { ALL_ABIS, deliverCall, inboxIface, mirrorIface, preferencePayload, sign, tmpDir } from "./test-utils/world";

const CHAIN = 31306;
const SRC = 31398n;
const OTHER_SRC = 31399n;

let chain: TestChain;
let admin: TxSender;
let relayer: TxSender;
let inbox: string;
let mirror: string;
let keys: SigningKey[];
let members: string[];
let outsider: SigningKey;
let sep: string;
let dir: string;
const source = getAddress("0x00000000000000000000000000000000005eed01");
const consumer = getAddress("0x000000000000000000000000000000000000c0de");
const utility = getAddress("0x0000000000000000000000000000000000007711");
let nonce = 0n;

function msgs(n: number, over: Partial<FederationMessage> = {}): FederationMessage[] {
  return Array.from({ length: n }, () => {
    nonce += 1n;
    return { srcChainId: SRC, srcSender: source, nonce, dstChainId: BigInt(CHAIN), dstContract: mirror, payload: preferencePayload(consumer, nonce, utility, true), ...over };
  });
}

function signed(ms: FederationMessage[], signers = keys.slice(0, 2)): { b: MessageBatch; sigs: string } {
  const b = new MessageBatch(sep, ms);
  return { b, sigs: packSignatures(signers.map((k) => signDigest(k, b.digest))) };
}

function deliver(ds: FederationBatchDelivery[]): Promise<TxReceipt> {
  return relayer.sendAndWait({ to: inbox, data: encodeDeliverBatches(ds) });
}

async function expectRevert(p: Promise<unknown>, name: string, args: unknown[]): Promise<void> {
  const e = await p.then(
    () => undefined,
    (x: unknown) => x,
  );
  expect(e).toBeInstanceOf(ContractRevertError);
  const err = e as ContractRevertError;
  expect(err.errorName).toBe(name);
  const norm = (a: unknown) => (typeof a === "string" ? a.toLowerCase() : a);
  expect(err.args.map(norm)).toEqual(args.map(norm));
}

const ib = () => FederationInbox__factory.connect(inbox, chain.provider);
const executed = (ms: FederationMessage[]) => ib().areExecuted(ms.map((m) => m.srcChainId), ms.map((m) => m.nonce));

beforeAll(async () => {
  chain = await startTestChain({ chainId: CHAIN });
  admin = (await chain.account(0)).sender;
  relayer = (await chain.account(1)).sender;
  for (const s of [admin, relayer]) for (const abi of ALL_ABIS) s.addAbi(abi as never);
  dir = tmpDir("batch");
  const deployments = Deployments.forNetwork(dir, "local", CHAIN);
  const m = await deployContract({ sender: admin, deployments, artifact: readArtifact(artifactsDir, "MockPreferenceMirror"), args: [admin.address] });
  mirror = getAddress(m.address);
  await admin.sendAndWait({ to: mirror, data: mirrorIface.encodeFunctionData("setSource", [SRC, source]) });
  keys = localMemberKeys(4).map((k) => new SigningKey(k));
  members = keys.slice(0, 3).map((k) => new Wallet(k.privateKey).address);
  outsider = keys[3]!;
  const fed = await deployFederation({ chains: [{ name: "local", sender: admin, deployments, receivers: [mirror] }], members, threshold: 2, gracePeriodSec: 600, appGasLimit: 300_000n });
  inbox = fed.chains[0]!.inbox;
  sep = domainSeparator(BigInt(CHAIN), inbox);
  // Relayers deliver batches out of order in some tests: the mirror ignores stale versions.
  await admin.sendAndWait({ to: mirror, data: mirrorIface.encodeFunctionData("setMode", [3]) });
});

afterAll(async () => {
  await chain.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe("batch digest and tree", () => {
  it("matches the contract and ethers' generic EIP-712 encoder", async () => {
    const { b } = signed(msgs(3));
    expect(b.digest).toBe(TypedDataEncoder.hash(inboxDomain(CHAIN, inbox), BATCH_TYPES as never, b.batch));
    expect(b.digest).toBe(await ib().batchDigest(b.batch));
    expect(b.batch).toMatchObject({ srcChainId: SRC, firstNonce: nonce - 2n, lastNonce: nonce });
  });

  it("gives single proofs and multiproofs OZ's MerkleProof accepts, for every tree size and subset shape", async () => {
    // One delivery per (size, subset); the inbox rebuilds the root with MerkleProof.multiProofVerifyCalldata.
    const ds: FederationBatchDelivery[] = [];
    const all: FederationMessage[] = [];
    for (const n of [1, 2, 3, 5, 8, 13]) {
      for (const pick of [(i: number) => i === 0, (i: number) => i === n - 1, (i: number) => i % 2 === 1, (i: number) => i % 3 !== 1, () => true]) {
        const ms = msgs(n);
        const { b, sigs } = signed(ms);
        const idx = ms.map((_, i) => i).filter(pick);
        if (idx.length === 0) continue;
        ds.push(b.delivery(sigs, idx));
        all.push(...idx.map((i) => ms[i]!));
        // A one-leaf multiproof is the single proof.
        if (idx.length === 1) expect(b.delivery(sigs, idx).proof).toEqual(b.tree.proof(idx[0]!));
      }
    }
    await deliver(ds);
    expect((await executed(all)).every(Boolean)).toBe(true);
    expect(() => new MerkleTree([])).toThrow(RangeError);
    expect(() => new MerkleTree([sep]).multiProof([0, 0])).toThrow(RangeError);
  });
});

describe("deliverBatches", () => {
  it("executes a whole batch under one quorum, each message once, with one BatchDelivered", async () => {
    const ms = msgs(5);
    const { b, sigs } = signed(ms, [keys[2]!, keys[0]!]);
    const d = b.delivery(sigs);
    expect(d.proof).toEqual([]); // a whole batch needs no proof hashes
    const r = await deliver([d]);
    const evs = r.logs.map((l) => inboxIface.parseLog(l)).filter((e) => e !== null);
    expect(evs.filter((e) => e.name === "MessageExecuted").map((e) => [e.args.nonce, e.args.digest])).toEqual(ms.map((m) => [m.nonce, messageDigest(sep, m)]));
    expect(evs.filter((e) => e.name === "BatchDelivered").map((e) => [getAddress(e.args.relayer as string), e.args.messages])).toEqual([[relayer.address, 5n]]);
    expect(await MockPreferenceMirror__factory.connect(mirror, chain.provider).version(consumer)).toBe(ms[4]!.nonce);
  });

  it("delivers a subset of a batch (each with its proof), then the rest", async () => {
    const ms = msgs(7);
    const { b, sigs } = signed(ms);
    await deliver([b.delivery(sigs, [1, 4])]);
    expect(await executed(ms)).toEqual([false, true, false, false, true, false, false]);
    await deliver([b.delivery(sigs, [6]), b.delivery(sigs, [0, 2, 3, 5])]);
    expect((await executed(ms)).every(Boolean)).toBe(true);
  });

  // Adversary: a relayer replays a delivered batch (whole, or a part of it).
  it("refuses a replayed batch and a replayed part, and changes nothing", async () => {
    const ms = msgs(3);
    const { b, sigs } = signed(ms);
    await deliver([b.delivery(sigs)]);
    const before = await MockPreferenceMirror__factory.connect(mirror, chain.provider).deliveries();
    await expectRevert(deliver([b.delivery(sigs)]), "InboxAlreadyExecuted", [SRC, ms[0]!.nonce]);
    await expectRevert(deliver([b.delivery(sigs, [2])]), "InboxAlreadyExecuted", [SRC, ms[2]!.nonce]);
    // The same batch twice in one call.
    const fresh = signed(msgs(2));
    await expectRevert(deliver([fresh.b.delivery(fresh.sigs), fresh.b.delivery(fresh.sigs)]), "InboxAlreadyExecuted", [SRC, fresh.b.messages[0]!.nonce]);
    expect(await executed([...fresh.b.messages])).toEqual([false, false]);
    expect(await MockPreferenceMirror__factory.connect(mirror, chain.provider).deliveries()).toBe(before);
  });

  // Adversary: a relayer delivers a message with the proof of (and under) another batch's root.
  it("refuses a message delivered with a proof for another root", async () => {
    const a = signed(msgs(4));
    const c = signed(msgs(4));
    const stolen = a.b.delivery(a.sigs, [1]);
    // c's message under a's signed root and a's proof: the nonce is outside a's range.
    await expectRevert(deliver([{ ...stolen, messages: [c.b.messages[1]!] }]), "InboxMessageOutsideBatch", [SRC, c.b.messages[1]!.nonce, a.b.batch.root]);
    // Under c's root (a quorum signed it) with a's proof: the proof does not rebuild c's root.
    await expectRevert(deliver([{ ...c.b.delivery(c.sigs, [1]), proof: stolen.proof }]), "InboxInvalidProof", [c.b.batch.root]);
    // a's root widened to c's range: the quorum signed another batch, so its signatures recover
    // to strangers (which stranger depends on the digest).
    const widened = { ...a.b.batch, lastNonce: c.b.batch.lastNonce };
    const e = await deliver([{ ...stolen, batch: widened, messages: [c.b.messages[1]!] }]).catch((x: unknown) => x as ContractRevertError);
    expect((e as ContractRevertError).errorName).toBe("InboxNotMember");
    expect(members.map((m) => m.toLowerCase())).not.toContain(String((e as ContractRevertError).args[0]).toLowerCase());
    expect(await executed([...a.b.messages, ...c.b.messages])).toEqual(Array(8).fill(false));
  });

  // Adversary: a minority member signs a root over a batch holding a forged message.
  it("refuses a forged message: under a minority's root for want of a quorum, under the honest root for want of a proof", async () => {
    const honest = msgs(3);
    const forged = { ...honest[1]!, payload: preferencePayload(consumer, honest[1]!.nonce, outsider.privateKey.slice(0, 42), true) };
    const evil = new MessageBatch(sep, [honest[0]!, forged, honest[2]!]);
    const evilSig = packSignatures([signDigest(keys[2]!, evil.digest)]);
    await expectRevert(deliver([evil.delivery(evilSig)]), "InboxInsufficientSignatures", [evil.digest, 1n, 2n]);
    // Its signature twice, or beside an outsider's, is no quorum either.
    await expectRevert(deliver([evil.delivery(packSignatures([signDigest(keys[2]!, evil.digest), signDigest(keys[2]!, evil.digest)]))]), "InboxDuplicateSigner", [members[2]]);
    await expectRevert(deliver([evil.delivery(packSignatures([signDigest(keys[2]!, evil.digest), signDigest(outsider, evil.digest)]))]), "InboxNotMember", [new Wallet(outsider.privateKey).address, 0n]);
    // The honest quorum's root with the forged message slipped in at its nonce.
    const { b, sigs } = signed(honest);
    const d = b.delivery(sigs, [1]);
    await expectRevert(deliver([{ ...d, messages: [forged] }]), "InboxInvalidProof", [b.batch.root]);
    expect(await executed(honest)).toEqual([false, false, false]);
  });

  // Adversary: a relayer reorders messages within a lane.
  it("refuses leaves out of the proof's order and content moved to another nonce; batches of a lane may land in any order, each once", async () => {
    const ms = msgs(4);
    const { b, sigs } = signed(ms);
    const d = b.delivery(sigs, [0, 2]);
    await expectRevert(deliver([{ ...d, messages: [d.messages[1]!, d.messages[0]!] }]), "InboxInvalidProof", [b.batch.root]);
    // Message 0's content under message 2's nonce (and the reverse).
    const swapped = [{ ...ms[0]!, nonce: ms[2]!.nonce }, { ...ms[2]!, nonce: ms[0]!.nonce }];
    await expectRevert(deliver([{ ...d, messages: swapped }]), "InboxInvalidProof", [b.batch.root]);
    // A later batch first, then the earlier one: exactly once, not in order (README "Ordering").
    const later = signed(msgs(2));
    await deliver([later.b.delivery(later.sigs)]);
    await deliver([b.delivery(sigs)]);
    expect((await executed([...ms, ...later.b.messages])).every(Boolean)).toBe(true);
  });

  it("refuses a message from another source chain or outside the nonce range, and malformed proofs", async () => {
    const ms = msgs(3);
    const { b, sigs } = signed(ms);
    const d = b.delivery(sigs, [1]);
    const other = { ...ms[1]!, srcChainId: OTHER_SRC };
    await expectRevert(deliver([{ ...d, messages: [other] }]), "InboxMessageOutsideBatch", [OTHER_SRC, ms[1]!.nonce, b.batch.root]);
    await expectRevert(deliver([{ ...d, messages: [{ ...ms[1]!, dstChainId: 1n }] }]), "InboxWrongDestination", [1n, BigInt(CHAIN)]);
    await expectRevert(deliver([{ ...d, proofFlags: [...d.proofFlags, true] }]), "InboxInvalidProof", [b.batch.root]);
    await expectRevert(deliver([{ ...d, proofFlags: d.proofFlags.map(() => true), proof: [...d.proof.slice(1), d.proof[0]!] }]), "InboxInvalidProof", [b.batch.root]);
    await expectRevert(deliver([{ ...d, messages: [] }]), "InboxEmptyDelivery", [b.batch.root]);
    await expectRevert(deliver([]), "InboxBatchMismatch", [0n, 0n]);
  });

  it("holds a paused source, records an app failure and retries it", async () => {
    await setInboxPaused({ sender: relayer, inbox, approvers: [keys[2]!], srcChainId: SRC, paused: true });
    const ms = msgs(2);
    const { b, sigs } = signed(ms);
    await expectRevert(deliver([b.delivery(sigs)]), "InboxPaused", [SRC]);
    await setInboxPaused({ sender: relayer, inbox, approvers: [keys[0]!, keys[1]!], srcChainId: SRC, paused: false });
    await admin.sendAndWait({ to: mirror, data: mirrorIface.encodeFunctionData("setMode", [1]) });
    const r = await deliver([b.delivery(sigs)]);
    expect(r.logs.map((l) => inboxIface.parseLog(l)?.name).filter((n) => n === "MessageFailed")).toHaveLength(2);
    await admin.sendAndWait({ to: mirror, data: mirrorIface.encodeFunctionData("setMode", [3]) });
    expect(await ib().isFailed(messageDigest(sep, ms[1]!))).toBe(true);
    await relayer.sendAndWait({ to: inbox, data: inboxIface.encodeFunctionData("retry", [ms[1]!]) });
    expect(await ib().isFailed(messageDigest(sep, ms[1]!))).toBe(false);
  });

  it("counts the previous set's root signatures during the grace period only", async () => {
    const next = [members[0]!, members[1]!, new Wallet(outsider.privateKey).address];
    await updateMemberSet({ sender: relayer, inbox, approvers: [keys[0]!, keys[1]!], members: next, threshold: 2, pauseThreshold: 1, unpauseThreshold: 2 });
    const old = signed(msgs(2), [keys[2]!, keys[0]!]);
    const fresh = signed(msgs(2), [outsider, keys[1]!]);
    await deliver([old.b.delivery(old.sigs), fresh.b.delivery(fresh.sigs)]);
    const expires = await ib().previousSetExpiresAt();
    await chain.increaseTime(Number(expires) - (await chain.provider.getBlock("latest"))!.timestamp + 1);
    const late = signed(msgs(2), [keys[2]!, keys[0]!]);
    await expectRevert(deliver([late.b.delivery(late.sigs)]), "InboxNotMember", [members[2], 1n]);
    await updateMemberSet({ sender: relayer, inbox, approvers: [keys[0]!, outsider], members, threshold: 2, pauseThreshold: 1, unpauseThreshold: 2 });
  });
});

describe("gas", () => {
  it("measures gas per message, per-message signatures against one root, by batch size", async () => {
    const figures: Record<string, { gasPerMessage: number; gasTotal: number; calldataBytes: number }> = {};
    const record = (name: string, n: number, data: string, r: TxReceipt) => (figures[name] = { gasPerMessage: Math.round(Number(r.gasUsed) / n), gasTotal: Number(r.gasUsed), calldataBytes: (data.length - 2) / 2 });
    // Each measurement starts a fresh bitmap word (nonces from a multiple of 256), so both paths pay
    // the same one-off 20k for it.
    const aligned = (n: number) => {
      nonce = ((nonce >> 8n) + 1n) << 8n;
      return msgs(n);
    };
    // Warm-up: the mirror's slots for this consumer exist already, as in a running system.
    const warm = signed(aligned(1));
    await deliver([warm.b.delivery(warm.sigs)]);
    for (const n of [1, 10, 100]) {
      const ms = aligned(n);
      const data = deliverCall(inbox, ms, ms.map((m) => sign(keys.slice(0, 2), BigInt(CHAIN), inbox, m))).data;
      record(`deliver_${n}`, n, data, await relayer.sendAndWait({ to: inbox, data }));
      const { b, sigs } = signed(aligned(n));
      const rootData = encodeDeliverBatches([b.delivery(sigs)]);
      record(`deliverBatches_${n}`, n, rootData, await relayer.sendAndWait({ to: inbox, data: rootData }));
    }
    // A batch of 100 delivered in halves (each half with its multiproof), and 100 messages as 100 one-message roots.
    const { b, sigs } = signed(aligned(100));
    const idx = [...Array(100).keys()];
    const halves = [idx.filter((i) => i % 2 === 0), idx.filter((i) => i % 2 === 1)].map((h) => encodeDeliverBatches([b.delivery(sigs, h)]));
    let gas = 0n;
    for (const data of halves) gas += (await relayer.sendAndWait({ to: inbox, data })).gasUsed;
    figures.deliverBatches_100_in_two_halves = { gasPerMessage: Math.round(Number(gas) / 100), gasTotal: Number(gas), calldataBytes: halves.reduce((a, d) => a + (d.length - 2) / 2, 0) };
    const singles = aligned(100).map((m) => signed([m]));
    const singleData = encodeDeliverBatches(singles.map((s) => s.b.delivery(s.sigs)));
    record("deliverBatches_100_roots_of_1", 100, singleData, await relayer.sendAndWait({ to: inbox, data: singleData }));
    console.log(`deliver gas (2-of-3, preference payload, mock mirror):\n${Object.entries(figures).map(([k, v]) => `  ${k}: ${v.gasPerMessage} gas/message, ${v.calldataBytes} calldata bytes`).join("\n")}`);
    const file = path.join(__dirname, "..", "bench-results", "gas.json");
    fs.mkdirSync(path.dirname(file), { recursive: true }); // absent in a clean clone
    const prev = fs.existsSync(file) ? (JSON.parse(fs.readFileSync(file, "utf8")) as Record<string, unknown>) : {};
    fs.writeFileSync(file, JSON.stringify({ ...prev, batchRoot: { ...figures, measuredAt: new Date().toISOString() } }, null, 2));
    expect(figures.deliverBatches_100!.gasPerMessage).toBeLessThan(figures.deliver_100!.gasPerMessage);
    expect(figures.deliverBatches_10!.gasPerMessage).toBeLessThan(figures.deliver_10!.gasPerMessage);
  });
});
