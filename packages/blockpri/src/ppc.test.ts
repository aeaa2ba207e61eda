import { ZeroAddress, ZeroHash, getAddress, hexlify, id, randomBytes } from "ethers";
import { latestTimestamp, startTestChain, type TestChain } from "@sidegrid/chain";
import { deployBlockPri } from "./deploy";
import { AUDITOR_ROLE, DISTRIBUTOR_ROLE, type BlockPriClient } from "./client";
import { decodePreferencesPayload, decodeRegistrationPayload, encodePreferencesPayload, encodeRegistrationPayload } from "./messages";
import { MockOutbox__factory, PPC__factory } from "./generated";
import { deployMockOutbox, randomRegistration, revertOf, setupPri, type PriWorld } from "./test-utils/fixtures";
import { Category, Resolution } from "./types";

const DEFAULT_ADMIN_ROLE = `0x${"00".repeat(32)}`;
let chain: TestChain;
let w: PriWorld;
let admin: BlockPriClient;
let util1: BlockPriClient;
let util2: BlockPriClient;
let alice: BlockPriClient;
let bob: BlockPriClient;
let stranger: BlockPriClient;
let snap: string;

beforeAll(async () => {
  chain = await startTestChain({ chainId: 31101 });
  w = await setupPri(chain);
  [admin, util1, util2, alice, bob, stranger] = await Promise.all([w.as(0), w.as(1), w.as(2), w.as(3), w.as(4), w.as(8)]);
});
afterAll(() => chain.stop());
beforeEach(async () => {
  snap = await chain.snapshot();
});
afterEach(async () => {
  await chain.revert(snap);
});

async function now(): Promise<number> {
  return latestTimestamp(chain.provider);
}

describe("roles", () => {
  it("lets the regulator admit distributors and auditors, and nobody declare themselves", async () => {
    expect(await admin.isDistributor(util1.sender.address)).toBe(true);
    expect(await admin.isAuditor((await chain.account(7)).wallet.address)).toBe(true);
    // The paper's Figure 10 setup: an address that declares itself a distributor.
    const self = await revertOf(stranger.grantDistributor(stranger.sender.address));
    expect(self.errorName).toBe("AccessControlUnauthorizedAccount");
    expect(self.args).toEqual([stranger.sender.address, id("REGULATOR_ROLE")]);
    expect(await admin.isDistributor(stranger.sender.address)).toBe(false);
    // Not even the regulator grants itself a role it then could use to read.
    const own = await revertOf(admin.grantDistributor(admin.sender.address));
    expect(own.errorName).toBe("PPCSelfGrant");
    expect(own.args).toEqual([admin.sender.address, DISTRIBUTOR_ROLE]);
    const court = await revertOf(admin.grantAuditor(admin.sender.address));
    expect(court.args).toEqual([admin.sender.address, AUDITOR_ROLE]);
    // A distributor cannot pass the role on either.
    const pass = await revertOf(util1.grantDistributor(stranger.sender.address));
    expect(pass.errorName).toBe("AccessControlUnauthorizedAccount");
  });

  it("revokes a distributor, which then is never permitted", async () => {
    await w.register(alice);
    await alice.setMonitorConsPref(true);
    expect(await alice.isPermitted({ consumer: alice.sender.address, utility: util1.sender.address, category: "CONSUMPTION", resolution: "QUARTER_HOURLY" })).toBe(true);
    await admin.revokeDistributor(util1.sender.address);
    expect(await alice.isPermitted({ consumer: alice.sender.address, utility: util1.sender.address, category: "CONSUMPTION", resolution: "MONTHLY" })).toBe(false);
  });
});

describe("consumerRegister", () => {
  it("binds a meter and keys to the caller, bumps the version and relays the registration", async () => {
    const reg = randomRegistration();
    const r = await w.register(alice, reg);
    expect(r.version).toBe(1n);
    const expected = { consumer: alice.sender.address, meterId: reg.meterId, meterSigner: getAddress(reg.meterSigner), encryptionKey: reg.encryptionKey };
    expect(await alice.registrationOf(alice.sender.address)).toEqual(expected);
    expect(await alice.consumerOfMeter(reg.meterId)).toBe(alice.sender.address);
    expect(await alice.getConsumer(0)).toBe(alice.sender.address);
    expect(await alice.consumerCount()).toBe(1);
    expect(r.payloads).toHaveLength(1);
    expect(r.payloads[0]!.kind).toBe("REGISTRATION");
    expect(r.payloads[0]!.payload).toBe(encodeRegistrationPayload({ registration: expected, version: 1n }));
    expect(decodeRegistrationPayload(r.payloads[0]!.payload)).toEqual({ registration: expected, version: 1n });
    const log = r.receipt.logs.map((l) => PPC__factory.createInterface().parseLog(l)).find((e) => e?.name === "ConsumerRegistered")!;
    expect([...log.args]).toEqual([alice.sender.address, reg.meterId, getAddress(reg.meterSigner), reg.encryptionKey, 1n]);
  });

  it("rejects a zero encryption key with the offending values", async () => {
    const reg = randomRegistration();
    await w.installer.commissionMeter({ meterId: reg.meterId, deviceKey: reg.meterSigner });
    const binding = await w.installer.meterBinding({ meterId: reg.meterId, consumer: alice.sender.address });
    const e = await revertOf(alice.consumerRegister({ binding, signature: "0x", encryptionKey: ZeroHash }));
    expect(e.errorName).toBe("PPCInvalidRegistration");
    expect(e.args).toEqual([reg.meterId, ZeroHash]);
  });

  it("rotates the key on the same meter, or moves to another meter and releases the old one", async () => {
    const reg = randomRegistration();
    await w.register(alice, reg);
    const key2 = hexlify(randomBytes(32));
    const rotated = await alice.rotateEncryptionKey(key2);
    expect(rotated.version).toBe(2n);
    expect((await alice.registrationOf(alice.sender.address))!.encryptionKey).toBe(key2);
    expect(await alice.consumerCount()).toBe(1); // still one consumer
    const other = randomRegistration();
    const moved = await w.register(alice, other);
    expect(moved.version).toBe(3n);
    const released = moved.receipt.logs.map((l) => PPC__factory.createInterface().parseLog(l)).find((e) => e?.name === "MeterReleased")!;
    expect([...released.args]).toEqual([alice.sender.address, reg.meterId, 3n]);
    expect(await alice.consumerOfMeter(reg.meterId)).toBeUndefined();
    expect(await alice.consumerOfMeter(other.meterId)).toBe(alice.sender.address);
    // The released meter is free for the next occupant.
    await w.register(bob, reg);
    expect(await alice.consumerOfMeter(reg.meterId)).toBe(bob.sender.address);
  });
});

describe("preferences", () => {
  beforeEach(async () => {
    await w.register(alice);
  });

  it("requires registration", async () => {
    const e = await revertOf(bob.setMonitorConsPref(true));
    expect(e.errorName).toBe("PPCNotRegistered");
    expect(e.args).toEqual([bob.sender.address]);
  });

  it("sets an entry per utility and category, bumps the version, emits the change and the full snapshot", async () => {
    const u1 = util1.sender.address;
    const r1 = await alice.setPreference({ category: "TRADES", allowed: true });
    expect(r1.version).toBe(2n);
    const r2 = await alice.setPreference({ utility: u1, category: "CONSUMPTION", allowed: true, resolution: "DAILY", expiresAt: (await now()) + 3600 });
    expect(r2.version).toBe(3n);
    const snapshot = await alice.getPreferences(alice.sender.address);
    expect(snapshot).toEqual([
      { utility: ZeroAddress, category: "TRADES", allowed: true, resolution: "NONE", expiresAt: 0 },
      { utility: u1, category: "CONSUMPTION", allowed: true, resolution: "DAILY", expiresAt: snapshot[1]!.expiresAt },
    ]);
    // The relay payload is exactly SidegridMessages.encodePreferences(consumer, version, snapshot).
    expect(r2.payloads.map((p) => p.kind)).toEqual(["PREFERENCES"]);
    expect(r2.payloads[0]!.payload).toBe(encodePreferencesPayload({ consumer: alice.sender.address, version: 3n, prefs: snapshot }));
    expect(decodePreferencesPayload(r2.payloads[0]!.payload)).toEqual({ consumer: alice.sender.address, version: 3n, prefs: snapshot });
    // PreferencesChanged carries the full new value of what changed, only that.
    const ev = r2.receipt.logs.map((l) => PPC__factory.createInterface().parseLog(l)).find((e) => e?.name === "PreferencesChanged")!;
    expect(ev.args.consumer).toBe(alice.sender.address);
    expect(ev.args.version).toBe(3n);
    expect(ev.args.changed.map((c: unknown[]) => [...c])).toEqual([[u1, 0n, true, 2n, BigInt(snapshot[1]!.expiresAt)]]);
    expect(await alice.versionOf(alice.sender.address)).toBe(3n);
  });

  it("only the consumer changes their own preferences", async () => {
    await w.register(bob);
    await alice.setMonitorConsPref(false);
    const before = await alice.getPreferences(alice.sender.address);
    const aliceVersion = await alice.versionOf(alice.sender.address);
    // Bob's and a utility's calls can only touch their own state: the contract has no consumer argument.
    await bob.setMonitorConsPref(true);
    const e = await revertOf(util1.setMonitorConsPref(true));
    expect(e.errorName).toBe("PPCNotRegistered");
    expect(e.args).toEqual([util1.sender.address]);
    expect(await alice.getPreferences(alice.sender.address)).toEqual(before);
    expect(await alice.versionOf(alice.sender.address)).toBe(aliceVersion);
    expect((await alice.getConsumerPrefs(bob.sender.address)).canMonitorCons).toBe(true);
    expect((await alice.getConsumerPrefs(alice.sender.address)).canMonitorCons).toBe(false);
    // republish is the consumer's or the regulator's.
    const r = await revertOf(bob.republish(alice.sender.address));
    expect(r.errorName).toBe("PPCUnauthorized");
    expect(r.args).toEqual([bob.sender.address, alice.sender.address]);
  });

  it("isPermitted: the utility's own entry if set, else the default; resolution and expiry honoured", async () => {
    const a = alice.sender.address;
    const u1 = util1.sender.address;
    const u2 = util2.sender.address;
    const t = await now();
    await alice.setPreferences([
      { category: "CONSUMPTION", allowed: true, resolution: "MONTHLY" },
      { utility: u1, category: "CONSUMPTION", allowed: true, resolution: "DAILY", expiresAt: t + 1000 },
      { utility: u2, category: "TRADES", allowed: true },
    ]);
    const q = (utility: string, resolution: keyof typeof Resolution, category: keyof typeof Category = "CONSUMPTION") =>
      alice.isPermitted({ consumer: a, utility, category, resolution });
    expect(await q(u1, "DAILY")).toBe(true);
    expect(await q(u1, "MONTHLY")).toBe(true); // coarser than granted
    expect(await q(u1, "HOURLY")).toBe(false);
    expect(await q(u1, "QUARTER_HOURLY")).toBe(false);
    expect(await q(u1, "NONE")).toBe(false);
    expect(await q(u2, "MONTHLY")).toBe(true); // the default
    expect(await q(u2, "DAILY")).toBe(false);
    expect(await q(u2, "NONE", "TRADES")).toBe(true);
    expect(await q(u1, "NONE", "TRADES")).toBe(false); // no default for trades
    // A non-distributor is never permitted, whatever the consumer set.
    await alice.setPreference({ utility: stranger.sender.address, category: "CONSUMPTION", allowed: true, resolution: "QUARTER_HOURLY" });
    expect(await q(stranger.sender.address, "MONTHLY")).toBe(false);
    expect(await q(ZeroAddress, "MONTHLY")).toBe(false);
    // Expiry: the utility entry stops permitting (and does not fall back to the default).
    expect(await alice.isPermitted({ consumer: a, utility: u1, category: "CONSUMPTION", resolution: "DAILY", at: t + 1000 })).toBe(false);
    await chain.increaseTime(1100);
    expect(await q(u1, "DAILY")).toBe(false);
    expect(await q(u1, "MONTHLY")).toBe(false);
    // Clearing the entry brings the default back.
    const cleared = await alice.clearPreference({ utility: u1, category: "CONSUMPTION" });
    expect(await q(u1, "MONTHLY")).toBe(true);
    expect(decodePreferencesPayload(cleared.payloads[0]!.payload).prefs.map((p) => p.utility)).toEqual([ZeroAddress, stranger.sender.address, u2]);
    const again = await revertOf(alice.clearPreference({ utility: u1, category: "CONSUMPTION" }));
    expect(again.errorName).toBe("PPCNoSuchPreference");
    expect(again.args).toEqual([a, u1, BigInt(Category.CONSUMPTION)]);
  });

  it("rejects malformed entries with their values", async () => {
    const raw = PPC__factory.createInterface();
    const send = (fn: string, args: unknown[]) => alice.sender.sendAndWait({ to: w.ppc, data: raw.encodeFunctionData(fn as "setPreference", args as never) });
    const e1 = await revertOf(send("setPreference", [ZeroAddress, Category.CONSUMPTION, true, Resolution.NONE, 0]));
    expect(e1.errorName).toBe("PPCInvalidResolution");
    expect(e1.args).toEqual([0n, true, 0n]);
    const e2 = await revertOf(send("setPreference", [ZeroAddress, Category.TRADES, true, Resolution.DAILY, 0]));
    expect(e2.args).toEqual([1n, true, 2n]);
    const t = await now();
    const e3 = await revertOf(send("setPreference", [ZeroAddress, Category.TRADES, true, Resolution.NONE, t - 1]));
    expect(e3.errorName).toBe("PPCExpiryInPast");
    expect(e3.args[0]).toBe(BigInt(t - 1));
    const dup = { utility: util1.sender.address, category: Category.TRADES, allowed: true, resolution: 0, expiresAt: 0 };
    const e4 = await revertOf(send("setPreferences", [[dup, { ...dup, allowed: false }]]));
    expect(e4.errorName).toBe("PPCDuplicatePreference");
    expect(e4.args).toEqual([util1.sender.address, 1n]);
    const e5 = await revertOf(send("setPreferences", [[]]));
    expect(e5.errorName).toBe("PPCEmptyPreferences");
    // The client refuses the same mistakes before sending.
    await expect(alice.setPreference({ category: "CONSUMPTION", allowed: true })).rejects.toMatchObject({ code: "INVALID_ARGUMENT", argument: "resolution" });
  });

  it("bounds the utilities per consumer", async () => {
    const many = Array.from({ length: 8 }, () => ({ utility: randomRegistration().meterSigner, category: "TRADES" as const, allowed: true }));
    await alice.setPreferences(many);
    const extra = randomRegistration().meterSigner;
    const e = await revertOf(alice.setPreference({ utility: extra, category: "TRADES", allowed: true }));
    expect(e.errorName).toBe("PPCTooManyUtilities");
    expect(e.args).toEqual([alice.sender.address, 8n]);
    // Clearing one frees a place.
    await alice.clearPreference({ utility: many[3]!.utility, category: "TRADES" });
    await alice.setPreference({ utility: extra, category: "TRADES", allowed: true });
    expect((await alice.getPreferences(alice.sender.address)).length).toBe(8);
  });

  it("lists the history of a consumer from events", async () => {
    await alice.setMonitorTransfPref(true);
    await alice.clearPreference({ utility: ZeroAddress, category: "TRADES" });
    const h = await alice.history(alice.sender.address);
    expect(h.map((x) => [x.type, x.version])).toEqual([
      ["registered", 1n],
      ["changed", 2n],
      ["cleared", 3n],
    ]);
  });
});

describe("the paper's calls (Figure A1)", () => {
  it("reproduce Figure 10's setup: a distributor, and a consumer who protects himself", async () => {
    await w.register(alice);
    expect(await alice.getConsumerPrefs(util1.sender.address)).toEqual({ isDistributor: true, canMonitorTransf: false, canMonitorCons: false });
    // consumerRegister leaves everything off, as the paper's ConsumerPref(false, false, false).
    expect(await alice.getConsumerPrefs(alice.sender.address)).toEqual({ isDistributor: false, canMonitorTransf: false, canMonitorCons: false });
    await alice.setMonitorConsPref(true);
    await alice.setMonitorTransfPref(true);
    expect(await alice.getConsumerPrefs(alice.sender.address)).toEqual({ isDistributor: false, canMonitorTransf: true, canMonitorCons: true });
    // setMonitorConsPref(true) = any distributor, finest resolution.
    expect(await alice.getPreference(alice.sender.address, ZeroAddress, "CONSUMPTION")).toEqual({
      utility: ZeroAddress,
      category: "CONSUMPTION",
      allowed: true,
      resolution: "QUARTER_HOURLY",
      expiresAt: 0,
    });
    await alice.setMonitorTransfPref(false);
    expect((await alice.getConsumerPrefs(alice.sender.address)).canMonitorTransf).toBe(false);
    expect(await alice.isPermitted({ consumer: alice.sender.address, utility: util2.sender.address, category: "TRADES" })).toBe(false);
  });

  it("getConsumer returns consumers in registration order and names the bad index", async () => {
    await w.register(bob);
    await w.register(alice);
    expect([await alice.getConsumer(0), await alice.getConsumer(1)]).toEqual([bob.sender.address, alice.sender.address]);
    const e = await revertOf(alice.getConsumer(2));
    expect(e.errorName).toBe("PPCConsumerIndexOutOfRange");
    expect(e.args).toEqual([2n, 2n]);
  });
});

describe("federation outbox hook", () => {
  it("sends every payload to every route through the outbox, reverting the change if the outbox refuses", async () => {
    const outbox = await deployMockOutbox(w.admin, w.deployments);
    const mirrorA = randomRegistration().meterSigner;
    const mirrorB = randomRegistration().meterSigner;
    const denied = await revertOf(alice.setOutbox(outbox));
    expect(denied.errorName).toBe("AccessControlUnauthorizedAccount");
    await admin.setOutbox(outbox);
    await admin.addRoute(31102, mirrorA);
    await admin.addRoute(31103, mirrorB);
    const dupe = await revertOf(admin.addRoute(31102, mirrorA));
    expect(dupe.errorName).toBe("PPCRouteExists");
    expect(dupe.args).toEqual([31102n, mirrorA]);
    const bad = await revertOf(admin.addRoute(0, mirrorA));
    expect(bad.errorName).toBe("PPCInvalidRoute");
    expect(await admin.routes()).toEqual([
      { chainId: 31102n, target: mirrorA },
      { chainId: 31103n, target: mirrorB },
    ]);

    const r = await w.register(alice);
    const outIface = MockOutbox__factory.createInterface();
    const sent = r.receipt.logs.filter((l) => l.address.toLowerCase() === outbox.toLowerCase()).map((l) => outIface.parseLog(l)!);
    expect(sent.map((s) => [s.args.dstChainId, s.args.dstContract, s.args.srcSender, s.args.payload])).toEqual([
      [31102n, mirrorA, w.ppc, r.payloads[0]!.payload],
      [31103n, mirrorB, w.ppc, r.payloads[0]!.payload],
    ]);

    // A refusing outbox reverts the change: nothing recorded here that the mirrors will not hear of.
    await w.admin.sendAndWait({ to: outbox, data: outIface.encodeFunctionData("setRefusing", [true]) });
    alice.sender.addAbi(MockOutbox__factory.abi as never);
    const refused = await revertOf(alice.setMonitorConsPref(true));
    expect(refused.errorName).toBe("MockOutboxRefused");
    expect(refused.args).toEqual([w.ppc]);
    expect(await alice.versionOf(alice.sender.address)).toBe(1n);

    await w.admin.sendAndWait({ to: outbox, data: outIface.encodeFunctionData("setRefusing", [false]) });
    await admin.removeRoute(31102, mirrorA);
    const missing = await revertOf(admin.removeRoute(31102, mirrorA));
    expect(missing.errorName).toBe("PPCRouteNotFound");
    const again = await alice.republish(alice.sender.address);
    expect(again.payloads.map((p) => [p.kind, p.version])).toEqual([
      ["REGISTRATION", 1n],
      ["PREFERENCES", 1n],
    ]);
    const resent = again.receipt.logs.filter((l) => l.address.toLowerCase() === outbox.toLowerCase()).map((l) => outIface.parseLog(l)!);
    expect(resent.map((s) => [s.args.dstChainId, s.args.nonce])).toEqual([
      [31103n, 2n],
      [31103n, 3n],
    ]);
    // Turning the outbox off: payloads are only emitted.
    await admin.setOutbox(ZeroAddress);
    const quiet = await alice.setMonitorConsPref(true);
    expect(quiet.receipt.logs.some((l) => l.address.toLowerCase() === outbox.toLowerCase())).toBe(false);
  });
});

describe("deployBlockPri", () => {
  it("is idempotent", async () => {
    const again = await deployBlockPri({ sender: w.admin, deployments: w.deployments, distributors: [util1.sender.address] });
    expect(again).toMatchObject({ ppc: w.ppc, deployed: false });
    expect(await admin.contract.hasRole(DEFAULT_ADMIN_ROLE, w.admin.address)).toBe(true);
  });
});
