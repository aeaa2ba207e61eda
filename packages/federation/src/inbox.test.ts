import fs from "node:fs";
import path from "node:path";
import { SigningKey, TypedDataEncoder, Wallet, getAddress } from "ethers";
import { ContractRevertError, Deployments, deployContract, readArtifact, revertData, startTestChain, type TestChain, type TxSender } from "@sidegrid/chain";
import { artifactsDir } from "./artifacts";
import { deployFederation } from "./deploy";
import { FederationInbox__factory, FederationOutbox__factory, MockPreferenceMirror__factory } from "./generated";
import { setInboxPaused, signAll, updateMemberSet } from "./governance";
import { localMemberKeys } from "./member/config";
import { MESSAGE_TYPES, domainSeparator, inboxDomain, memberSetDigest, messageDigest, pauseDigest, type FederationMessage } from "./messages";
import { ALL_ABIS, deliverCall, inboxIface, mirrorIface, outboxIface, preferencePayload, sentMessages, sign, tmpDir } from "./test-utils/world";

const CHAIN = 31301;
const SRC = 31398n; // a source chain that only exists in these messages
const OTHER = 31397n;

let chain: TestChain;
let admin: TxSender;
let relayer: TxSender;
let inbox: string;
let outbox: string;
let mirror: string;
let keys: SigningKey[];
let members: string[];
let outsider: SigningKey;
const source = getAddress("0x00000000000000000000000000000000005eed01");
const consumer = getAddress("0x000000000000000000000000000000000000c0de");
const utility = getAddress("0x0000000000000000000000000000000000007711");
let nonce = 0n;
let dir: string;

function msg(over: Partial<FederationMessage> = {}): FederationMessage {
  nonce += 1n;
  return {
    srcChainId: SRC,
    srcSender: source,
    nonce,
    dstChainId: BigInt(CHAIN),
    dstContract: mirror,
    payload: preferencePayload(consumer, nonce, utility, true),
    ...over,
  };
}

async function expectRevert(p: Promise<unknown>, name: string, args: unknown[]): Promise<void> {
  let err: unknown;
  try {
    await p;
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(ContractRevertError);
  const e = err as ContractRevertError;
  expect(e.errorName).toBe(name);
  expect(e.args.map((a) => (typeof a === "string" ? a.toLowerCase() : a))).toEqual(args.map((a) => (typeof a === "string" ? a.toLowerCase() : a)));
}

function deliver(messages: FederationMessage[], sigs: string[]) {
  return relayer.sendAndWait(deliverCall(inbox, messages, sigs));
}

function digestOf(m: FederationMessage): string {
  return messageDigest(domainSeparator(BigInt(CHAIN), inbox), m);
}

beforeAll(async () => {
  chain = await startTestChain({ chainId: CHAIN });
  admin = (await chain.account(0)).sender;
  relayer = (await chain.account(1)).sender;
  for (const s of [admin, relayer]) for (const abi of ALL_ABIS) s.addAbi(abi as never);
  dir = tmpDir("inbox");
  const deployments = Deployments.forNetwork(dir, "local", CHAIN);
  const m = await deployContract({ sender: admin, deployments, artifact: readArtifact(artifactsDir, "MockPreferenceMirror"), args: [admin.address] });
  mirror = getAddress(m.address);
  await admin.sendAndWait({ to: mirror, data: mirrorIface.encodeFunctionData("setSource", [SRC, source]) });
  keys = localMemberKeys(4).map((k) => new SigningKey(k));
  members = keys.slice(0, 3).map((k) => new Wallet(k.privateKey).address);
  outsider = keys[3]!;
  const fed = await deployFederation({
    chains: [{ name: "local", sender: admin, deployments, receivers: [mirror], senders: [relayer.address] }],
    members,
    threshold: 2,
    gracePeriodSec: 600,
    appGasLimit: 300_000n,
  });
  inbox = fed.chains[0]!.inbox;
  outbox = fed.chains[0]!.outbox;
  expect(fed.pauseThreshold).toBe(1);
  expect(fed.unpauseThreshold).toBe(2);
  // Idempotent: a second run deploys nothing and sends nothing.
  const before = await chain.provider.getTransactionCount(admin.address);
  const again = await deployFederation({
    chains: [{ name: "local", sender: admin, deployments, receivers: [mirror], senders: [relayer.address] }],
    members,
    threshold: 2,
    gracePeriodSec: 600,
    appGasLimit: 300_000n,
  });
  expect(again.chains[0]!.inbox).toBe(inbox);
  expect(await chain.provider.getTransactionCount(admin.address)).toBe(before);
});

afterAll(async () => {
  await chain.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe("message digest", () => {
  it("matches the contract and ethers' generic EIP-712 encoder", async () => {
    const m = msg();
    const fast = digestOf(m);
    const generic = TypedDataEncoder.hash(inboxDomain(CHAIN, inbox), MESSAGE_TYPES as never, m);
    const onChain = await FederationInbox__factory.connect(inbox, chain.provider).messageDigest(m);
    expect(fast).toBe(generic);
    expect(fast).toBe(onChain);
  });
});

describe("deliver", () => {
  it("executes a message signed by m members, once, and calls the app", async () => {
    const m = msg();
    const receipt = await deliver([m], [sign(keys.slice(0, 2), BigInt(CHAIN), inbox, m)]);
    const ev = receipt.logs.map((l) => { try { return inboxIface.parseLog(l); } catch { return null; } }).find((e) => e?.name === "MessageExecuted");
    expect(ev?.args.digest).toBe(digestOf(m));
    expect(ev?.args.nonce).toBe(m.nonce);
    const ib = FederationInbox__factory.connect(inbox, chain.provider);
    expect(await ib.isExecuted(SRC, m.nonce)).toBe(true);
    expect(await ib.areExecuted([SRC, SRC], [m.nonce, m.nonce + 1000n])).toEqual([true, false]);
    const mir = MockPreferenceMirror__factory.connect(mirror, chain.provider);
    expect(await mir.version(consumer)).toBe(m.nonce);
    expect(await mir.permits(consumer, utility, 3)).toBe(true);
  });

  it("accepts signatures in any order and more than m of them", async () => {
    const m = msg();
    await deliver([m], [sign([keys[2]!, keys[0]!, keys[1]!], BigInt(CHAIN), inbox, m)]);
    expect(await FederationInbox__factory.connect(inbox, chain.provider).isExecuted(SRC, m.nonce)).toBe(true);
  });

  it("rejects a message signed by m-1 members", async () => {
    const m = msg();
    await expectRevert(deliver([m], [sign([keys[1]!], BigInt(CHAIN), inbox, m)]), "InboxInsufficientSignatures", [digestOf(m), 1n, 2n]);
  });

  it("rejects a signature by a non-member", async () => {
    const m = msg();
    await expectRevert(deliver([m], [sign([keys[0]!, outsider], BigInt(CHAIN), inbox, m)]), "InboxNotMember", [new Wallet(outsider.privateKey).address, 0n]);
  });

  it("rejects the same member twice", async () => {
    const m = msg();
    await expectRevert(deliver([m], [sign([keys[0]!, keys[0]!], BigInt(CHAIN), inbox, m)]), "InboxDuplicateSigner", [members[0]]);
  });

  it("rejects a replay, also within one batch, and changes nothing", async () => {
    const m = msg();
    const sigs = sign(keys.slice(0, 2), BigInt(CHAIN), inbox, m);
    await deliver([m], [sigs]);
    const deliveries = await MockPreferenceMirror__factory.connect(mirror, chain.provider).deliveries();
    await expectRevert(deliver([m], [sigs]), "InboxAlreadyExecuted", [SRC, m.nonce]);
    const m2 = msg();
    const s2 = sign(keys.slice(0, 2), BigInt(CHAIN), inbox, m2);
    await expectRevert(deliver([m2, m2], [s2, s2]), "InboxAlreadyExecuted", [SRC, m2.nonce]);
    expect(await FederationInbox__factory.connect(inbox, chain.provider).isExecuted(SRC, m2.nonce)).toBe(false);
    expect(await MockPreferenceMirror__factory.connect(mirror, chain.provider).deliveries()).toBe(deliveries);
  });

  it("rejects a message aimed at another chain, and a signature made for another inbox", async () => {
    const m = msg({ dstChainId: OTHER });
    const sigs = sign(keys.slice(0, 2), OTHER, inbox, m);
    await expectRevert(deliver([m], [sigs]), "InboxWrongDestination", [OTHER, BigInt(CHAIN)]);
    // Signed for the same inbox address on another chain: the domain differs, so the signers
    // recover to strangers.
    const m2 = msg();
    const foreign = sign(keys.slice(0, 2), OTHER, inbox, m2);
    const err = await deliver([m2], [foreign]).catch((e: unknown) => e as ContractRevertError);
    expect(err).toBeInstanceOf(ContractRevertError);
    expect((err as ContractRevertError).errorName).toBe("InboxNotMember");
    expect(members.map((a) => a.toLowerCase())).not.toContain(String((err as ContractRevertError).args[0]).toLowerCase());
  });

  it("rejects malformed and high-s signatures", async () => {
    const m = msg();
    const good = sign(keys.slice(0, 2), BigInt(CHAIN), inbox, m);
    await expectRevert(deliver([m], [good.slice(0, 2 + 64 * 2)]), "InboxMalformedSignatures", [64n]);
    // s' = n - s with v flipped is the same signature in its malleable form.
    const n = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
    const sig = good.slice(2, 132);
    const s = BigInt(`0x${sig.slice(64, 128)}`);
    const v = parseInt(sig.slice(128, 130), 16);
    const high = `0x${sig.slice(0, 64)}${(n - s).toString(16).padStart(64, "0")}${(v === 27 ? 28 : 27).toString(16)}`;
    await expectRevert(deliver([m], [high]), "InboxInvalidSignature", [digestOf(m), 0n]);
    await expectRevert(relayer.sendAndWait({ to: inbox, data: inboxIface.encodeFunctionData("deliver", [[m], []]) }), "InboxBatchMismatch", [1n, 0n]);
  });

  it("records an app failure with its revert data without blocking the lane, and retries it", async () => {
    await admin.sendAndWait({ to: mirror, data: mirrorIface.encodeFunctionData("setMode", [1]) });
    const failing = msg();
    const next = msg();
    const deliveries = await MockPreferenceMirror__factory.connect(mirror, chain.provider).deliveries();
    const r = await deliver([failing], [sign(keys.slice(0, 2), BigInt(CHAIN), inbox, failing)]);
    const ev = r.logs.map((l) => { try { return inboxIface.parseLog(l); } catch { return null; } }).find((e) => e?.name === "MessageFailed");
    const reason = MockPreferenceMirror__factory.createInterface().parseError(ev!.args.reason as string);
    expect(reason?.name).toBe("MirrorFailing");
    expect(reason?.args[0]).toBe(deliveries);
    const ib = FederationInbox__factory.connect(inbox, chain.provider);
    expect(await ib.isFailed(digestOf(failing))).toBe(true);
    await admin.sendAndWait({ to: mirror, data: mirrorIface.encodeFunctionData("setMode", [0]) });
    await deliver([next], [sign(keys.slice(0, 2), BigInt(CHAIN), inbox, next)]);
    expect(await MockPreferenceMirror__factory.connect(mirror, chain.provider).version(consumer)).toBe(next.nonce);
    // The failed (older) version is now stale for the mirror: the retry reverts with its reason.
    const err = await relayer.sendAndWait({ to: inbox, data: inboxIface.encodeFunctionData("retry", [failing]) }).catch((e: unknown) => e as ContractRevertError);
    expect((err as ContractRevertError).errorName).toBe("InboxRetryFailed");
    const inner = MockPreferenceMirror__factory.createInterface().parseError((err as ContractRevertError).args[1] as string);
    expect(inner?.name).toBe("MirrorStaleVersion");
    expect(inner?.args.map((a: unknown) => a)).toEqual([consumer, next.nonce, failing.nonce]);
    expect(await ib.isFailed(digestOf(failing))).toBe(true);
  });

  it("retries a failed message successfully, once", async () => {
    await admin.sendAndWait({ to: mirror, data: mirrorIface.encodeFunctionData("setMode", [1]) });
    const m = msg();
    await deliver([m], [sign(keys.slice(0, 2), BigInt(CHAIN), inbox, m)]);
    await admin.sendAndWait({ to: mirror, data: mirrorIface.encodeFunctionData("setMode", [0]) });
    const r = await relayer.sendAndWait({ to: inbox, data: inboxIface.encodeFunctionData("retry", [m]) });
    expect(r.logs.map((l) => { try { return inboxIface.parseLog(l)?.name; } catch { return null; } })).toEqual(["MessageRetried", "MessageExecuted"]);
    expect(await MockPreferenceMirror__factory.connect(mirror, chain.provider).version(consumer)).toBe(m.nonce);
    await expectRevert(relayer.sendAndWait({ to: inbox, data: inboxIface.encodeFunctionData("retry", [m]) }), "InboxNotFailed", [digestOf(m)]);
  });

  it("caps the app's gas and refuses a batch that cannot give every app its cap", async () => {
    await admin.sendAndWait({ to: mirror, data: mirrorIface.encodeFunctionData("setMode", [2]) });
    const burner = msg();
    const r = await deliver([burner], [sign(keys.slice(0, 2), BigInt(CHAIN), inbox, burner)]);
    const ev = r.logs.map((l) => { try { return inboxIface.parseLog(l); } catch { return null; } }).find((e) => e?.name === "MessageFailed");
    expect(ev?.args.reason).toBe("0x");
    expect(r.gasUsed).toBeLessThan(300_000n + 150_000n);
    await admin.sendAndWait({ to: mirror, data: mirrorIface.encodeFunctionData("setMode", [0]) });
    const m = msg();
    const data = deliverCall(inbox, [m], [sign(keys.slice(0, 2), BigInt(CHAIN), inbox, m)]).data;
    const e = await chain.provider.call({ to: inbox, data, gasLimit: 250_000n, from: relayer.address }).catch((x: unknown) => x);
    const decoded = relayer.decodeRevert(revertData(e));
    expect(decoded.errorName).toBe("InboxInsufficientGas");
    expect(decoded.args[1]).toBe((300_000n * 64n) / 63n + 40_000n);
  });
});

describe("membership", () => {
  it("rotates the set with a threshold-signed update; the old set signs until the grace period ends", async () => {
    const ib = FederationInbox__factory.connect(inbox, chain.provider);
    const newMembers = [members[0]!, members[1]!, new Wallet(outsider.privateKey).address];
    const domain = inboxDomain(CHAIN, inbox);
    const args = (idx: number, sigs: string) => inboxIface.encodeFunctionData("updateMemberSet", [idx, newMembers, 2, 1, 2, sigs]);
    const d1 = memberSetDigest(domain, { setIndex: 1, members: newMembers, threshold: 2, pauseThreshold: 1, unpauseThreshold: 2 });
    expect(d1).toBe(await ib.memberSetDigest(1, newMembers, 2, 1, 2));
    await expectRevert(relayer.sendAndWait({ to: inbox, data: args(2, signAll(keys.slice(0, 2), d1)) }), "InboxBadSetIndex", [1n, 2n]);
    await expectRevert(relayer.sendAndWait({ to: inbox, data: args(1, signAll([keys[0]!], d1)) }), "InboxInsufficientSignatures", [d1, 1n, 2n]);
    await expectRevert(
      relayer.sendAndWait({ to: inbox, data: inboxIface.encodeFunctionData("updateMemberSet", [1, newMembers, 1, 1, 2, "0x"]) }),
      "InboxInvalidMemberSet",
      [3n, 1n, 1n, 2n],
    );
    // The outsider cannot approve its own admission.
    await expectRevert(relayer.sendAndWait({ to: inbox, data: args(1, signAll([keys[0]!, outsider], d1)) }), "InboxNotMember", [newMembers[2], 0n]);

    const r = await updateMemberSet({ sender: relayer, inbox, approvers: [keys[1]!, keys[2]!], members: newMembers, threshold: 2, pauseThreshold: 1, unpauseThreshold: 2 });
    const ev = inboxIface.parseLog(r.logs[0]!);
    expect(ev?.name).toBe("MemberSetUpdated");
    expect(ev?.args.setIndex).toBe(1n);
    expect(await ib.currentSetIndex()).toBe(1n);
    const expires = await ib.previousSetExpiresAt();
    // Replaying the same update is refused: the index must move by one.
    await expectRevert(relayer.sendAndWait({ to: inbox, data: args(1, signAll([keys[1]!, keys[2]!], d1)) }), "InboxBadSetIndex", [2n, 1n]);

    // In grace: the removed member (key 2) still counts with the old set, the new one with the new.
    const old = msg();
    await deliver([old], [sign([keys[2]!, keys[0]!], BigInt(CHAIN), inbox, old)]);
    const fresh = msg();
    await deliver([fresh], [sign([outsider, keys[1]!], BigInt(CHAIN), inbox, fresh)]);
    expect(await ib.areExecuted([SRC, SRC], [old.nonce, fresh.nonce])).toEqual([true, true]);

    // After the grace period the removed member is a stranger.
    const now = (await chain.provider.getBlock("latest"))!.timestamp;
    await chain.increaseTime(Number(expires) - now + 1);
    const late = msg();
    await expectRevert(deliver([late], [sign([keys[2]!, keys[0]!], BigInt(CHAIN), inbox, late)]), "InboxNotMember", [members[2], 1n]);
    // ...and cannot approve governance either.
    const d2 = memberSetDigest(domain, { setIndex: 2, members, threshold: 2, pauseThreshold: 1, unpauseThreshold: 2 });
    await expectRevert(
      relayer.sendAndWait({ to: inbox, data: inboxIface.encodeFunctionData("updateMemberSet", [2, members, 2, 1, 2, signAll([keys[2]!, keys[0]!], d2)]) }),
      "InboxNotMember",
      [members[2], 1n],
    );
    // Rotate back so later tests use the original keys.
    await updateMemberSet({ sender: relayer, inbox, approvers: [keys[0]!, outsider], members, threshold: 2, pauseThreshold: 1, unpauseThreshold: 2 });
    expect((await ib.memberSet(2)).members).toEqual(members);
  });
});

describe("pause", () => {
  it("pauses with fewer signatures than it takes to unpause; governance signatures cannot be replayed", async () => {
    const ib = FederationInbox__factory.connect(inbox, chain.provider);
    const nonce0 = await ib.governanceNonce();
    const r = await setInboxPaused({ sender: relayer, inbox, approvers: [keys[2]!], srcChainId: SRC, paused: true });
    const until = await ib.pausedUntil(SRC);
    expect(until).toBe(BigInt((await chain.provider.getBlock(r.blockNumber))!.timestamp) + 3600n);
    expect(inboxIface.parseLog(r.logs[0]!)?.args.toArray()).toEqual([SRC, true, nonce0, until]);
    expect(await ib.isPaused(SRC)).toBe(true);
    expect(await ib.isPaused(OTHER)).toBe(false);
    const m = msg();
    await expectRevert(deliver([m], [sign(keys.slice(0, 2), BigInt(CHAIN), inbox, m)]), "InboxPaused", [SRC]);

    const d = pauseDigest(inboxDomain(CHAIN, inbox), { srcChainId: SRC, paused: false, nonce: nonce0 + 1n });
    await expectRevert(setInboxPaused({ sender: relayer, inbox, approvers: [keys[0]!], srcChainId: SRC, paused: false }), "InboxInsufficientSignatures", [d, 1n, 2n]);
    // The pause signature of nonce0 cannot be used again.
    const old = signAll([keys[2]!], pauseDigest(inboxDomain(CHAIN, inbox), { srcChainId: SRC, paused: true, nonce: nonce0 }));
    await expectRevert(relayer.sendAndWait({ to: inbox, data: inboxIface.encodeFunctionData("setPaused", [SRC, true, nonce0, old]) }), "InboxBadGovernanceNonce", [nonce0 + 1n, nonce0]);
    await setInboxPaused({ sender: relayer, inbox, approvers: [keys[0]!, keys[1]!], srcChainId: SRC, paused: false });
    await deliver([m], [sign(keys.slice(0, 2), BigInt(CHAIN), inbox, m)]);
    expect(await ib.isExecuted(SRC, m.nonce)).toBe(true);

    // A global pause stops every lane.
    await setInboxPaused({ sender: relayer, inbox, approvers: [keys[1]!], srcChainId: 0n, paused: true });
    const m2 = msg({ srcChainId: OTHER });
    await expectRevert(deliver([m2], [sign(keys.slice(0, 2), BigInt(CHAIN), inbox, m2)]), "InboxPaused", [OTHER]);
    await setInboxPaused({ sender: relayer, inbox, approvers: [keys[1]!, keys[2]!], srcChainId: 0n, paused: false });
  });

  // Attack: one member pauses the lane that carries revocations, again and again.
  it("lets one member's pause expire by itself, refuses that member back to back, and delivers the revocation after expiry", async () => {
    const ib = FederationInbox__factory.connect(inbox, chain.provider);
    const single = keys[0]!;
    const singleAddr = new Wallet(single.privateKey).address;
    const r = await setInboxPaused({ sender: relayer, inbox, approvers: [single], srcChainId: SRC, paused: true });
    const t0 = BigInt((await chain.provider.getBlock(r.blockNumber))!.timestamp);
    expect(await ib.pausedUntil(SRC)).toBe(t0 + 3600n);
    expect(await ib.lastMinorityPause(singleAddr)).toBe(t0);
    // The consumer withdraws consent; the revocation waits while the lane is paused.
    const revoke = msg({ payload: preferencePayload(consumer, nonce + 1n, utility, false) });
    await expectRevert(deliver([revoke], [sign(keys.slice(0, 2), BigInt(CHAIN), inbox, revoke)]), "InboxPaused", [SRC]);
    // Renewing before (or right after) expiry is refused for the same signer, with when it may sign again.
    await expectRevert(setInboxPaused({ sender: relayer, inbox, approvers: [single], srcChainId: SRC, paused: true }), "InboxPauseCooldown", [singleAddr, t0 + 86400n]);

    await chain.increaseTime(3601);
    expect(await ib.isPaused(SRC)).toBe(false);
    expect(await ib.pausedUntil(SRC)).toBe(0n);
    await expectRevert(setInboxPaused({ sender: relayer, inbox, approvers: [single], srcChainId: SRC, paused: true }), "InboxPauseCooldown", [singleAddr, t0 + 86400n]);
    await deliver([revoke], [sign(keys.slice(0, 2), BigInt(CHAIN), inbox, revoke)]);
    const mir = MockPreferenceMirror__factory.connect(mirror, chain.provider);
    expect(await mir.version(consumer)).toBe(revoke.nonce);
    expect(await mir.permits(consumer, utility, 3)).toBe(false);
  });

  it("keeps a pause signed by as many members as an unpause until it is unpaused; refuses bad pause timing", async () => {
    const ib = FederationInbox__factory.connect(inbox, chain.provider);
    await chain.increaseTime(86400);
    await setInboxPaused({ sender: relayer, inbox, approvers: [keys[1]!, keys[2]!], srcChainId: SRC, paused: true });
    expect(await ib.pausedUntil(SRC)).toBe(2n ** 64n - 1n);
    await chain.increaseTime(7 * 86400);
    expect(await ib.isPaused(SRC)).toBe(true);
    // A shorter minority pause cannot replace it.
    await expectRevert(setInboxPaused({ sender: relayer, inbox, approvers: [keys[0]!], srcChainId: SRC, paused: true }), "InboxPauseUnchanged", [SRC, true]);
    await setInboxPaused({ sender: relayer, inbox, approvers: [keys[0]!, keys[2]!], srcChainId: SRC, paused: false });
    expect(await ib.isPaused(SRC)).toBe(false);
    // A cooldown shorter than the pause would let a member renew its own pause back to back.
    const art = readArtifact(artifactsDir, "FederationInbox");
    await expectRevert(
      deployContract({ sender: admin, deployments: Deployments.forNetwork(tmpDir("inbox-bad"), "local", CHAIN), artifact: art, args: [members, 2, 1, 2, 600, 300_000n, 3600, 1800] }),
      "InboxInvalidPauseTiming",
      [3600n, 1800n],
    );
  });
});

describe("outbox", () => {
  it("numbers messages per lane and refuses unregistered senders, unknown lanes and large payloads", async () => {
    const ob = FederationOutbox__factory.connect(outbox, chain.provider);
    // A one-chain federation has no lanes; open one to a fake chain.
    await admin.sendAndWait({ to: outbox, data: outboxIface.encodeFunctionData("setDestination", [OTHER, true]) });
    const r1 = await relayer.sendAndWait({ to: outbox, data: outboxIface.encodeFunctionData("send", [OTHER, mirror, "0x1234"]) });
    const r2 = await relayer.sendAndWait({ to: outbox, data: outboxIface.encodeFunctionData("send", [OTHER, mirror, "0x"]) });
    const [a] = sentMessages(r1, BigInt(CHAIN), outbox);
    const [b] = sentMessages(r2, BigInt(CHAIN), outbox);
    expect(a).toEqual({ srcChainId: BigInt(CHAIN), srcSender: relayer.address, nonce: 1n, dstChainId: OTHER, dstContract: mirror, payload: "0x1234" });
    expect(b!.nonce).toBe(2n);
    expect(await ob.laneNonce(OTHER)).toBe(2n);
    await expectRevert(admin.sendAndWait({ to: outbox, data: outboxIface.encodeFunctionData("send", [OTHER, mirror, "0x"]) }), "OutboxUnauthorizedSender", [admin.address]);
    await expectRevert(relayer.sendAndWait({ to: outbox, data: outboxIface.encodeFunctionData("send", [SRC, mirror, "0x"]) }), "OutboxUnknownDestination", [SRC]);
    await expectRevert(relayer.sendAndWait({ to: outbox, data: outboxIface.encodeFunctionData("send", [OTHER, mirror, `0x${"00".repeat(16385)}`]) }), "OutboxPayloadTooLarge", [16385n, 16384n]);
    await expectRevert(relayer.sendAndWait({ to: outbox, data: outboxIface.encodeFunctionData("setSender", [relayer.address, false]) }), "OutboxUnauthorizedAdmin", [relayer.address]);
    await expectRevert(admin.sendAndWait({ to: outbox, data: outboxIface.encodeFunctionData("setDestination", [BigInt(CHAIN), true]) }), "OutboxUnknownDestination", [BigInt(CHAIN)]);
  });
});

describe("gas", () => {
  it("measures deliver gas per message by batch size", async () => {
    const figures: Record<string, { gasPerMessage: number; gasTotal: number }> = {};
    for (const size of [1, 10, 100]) {
      const ms = Array.from({ length: size }, () => msg());
      const sigs = ms.map((m) => sign(keys.slice(0, 2), BigInt(CHAIN), inbox, m));
      const r = await deliver(ms, sigs);
      figures[`deliver_batch_${size}`] = { gasPerMessage: Math.round(Number(r.gasUsed) / size), gasTotal: Number(r.gasUsed) };
    }
    const ob = await relayer.sendAndWait({ to: outbox, data: outboxIface.encodeFunctionData("send", [OTHER, mirror, preferencePayload(consumer, 1n, utility, true)]) });
    figures.outbox_send_preference = { gasPerMessage: Number(ob.gasUsed), gasTotal: Number(ob.gasUsed) };
    console.log(`deliver gas (2-of-3 signatures, preference payload, mock mirror):\n${Object.entries(figures).map(([k, v]) => `  ${k}: ${v.gasPerMessage} gas/message`).join("\n")}`);
    const file = path.join(__dirname, "..", "bench-results", "gas.json");
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const prev = fs.existsSync(file) ? (JSON.parse(fs.readFileSync(file, "utf8")) as Record<string, unknown>) : {};
    fs.writeFileSync(file, JSON.stringify({ ...prev, inbox: figures, measuredAt: new Date().toISOString() }, null, 2));
    expect(figures.deliver_batch_100!.gasPerMessage).toBeLessThan(figures.deliver_batch_1!.gasPerMessage);
  });
});
