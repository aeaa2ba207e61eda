import { Wallet, ZeroAddress, getAddress, id } from "ethers";
import { latestTimestamp, startTestChain, type TestChain } from "@sidegrid/chain";
import { encodePreferencesPayload, encodeRegistrationPayload } from "@sidegrid/blockpri";
import type { BlockSecClient } from "./client";
import { AUDITOR_ROLE, DISTRIBUTOR_ROLE } from "./client";
import { A, FAKE_PPC, FAKE_PRI_CHAIN_ID, meterId, revertOf, setupSec, type SecWorld } from "./test-utils/world";

let chain: TestChain;
let w: SecWorld;
let relayer: BlockSecClient;
let stranger: BlockSecClient;
let alice: string;
let utilityA: string;
let utilityB: string;
let snap: string;

beforeAll(async () => {
  chain = await startTestChain({ chainId: 31111 });
  w = await setupSec(chain);
  relayer = await w.as(A.admin);
  stranger = await w.as(A.stranger);
  [alice, utilityA, utilityB] = await Promise.all([w.addr(A.alice), w.addr(A.utilityA), w.addr(A.utilityB)]);
});
afterAll(() => chain.stop());
beforeEach(async () => {
  snap = await chain.snapshot();
  w.versions.clear();
});
afterEach(() => chain.revert(snap));

// Distributors and auditors are admitted by the regulator, not by DEFAULT_ADMIN_ROLE (governance).
const REGULATOR_ROLE = id("REGULATOR_ROLE");

describe("roles on BlockSEC", () => {
  it("are granted by the regulator only; nobody declares themselves", async () => {
    expect(await relayer.isDistributor(utilityA)).toBe(true);
    expect(await relayer.isAuditor(await w.addr(A.court))).toBe(true);
    const self = await revertOf(stranger.grantDistributor(stranger.sender.address));
    expect(self.errorName).toBe("AccessControlUnauthorizedAccount");
    expect(self.args).toEqual([stranger.sender.address, REGULATOR_ROLE]);
    const own = await revertOf(relayer.grantAuditor(relayer.sender.address));
    expect(own.errorName).toBe("MirrorSelfGrant");
    expect(own.args).toEqual([relayer.sender.address, AUDITOR_ROLE]);
    const own2 = await revertOf(relayer.grantDistributor(relayer.sender.address));
    expect(own2.args).toEqual([relayer.sender.address, DISTRIBUTOR_ROLE]);
  });
});

describe("onFederatedMessage", () => {
  const prefs = (resolution: "DAILY" | "HOURLY") => [{ utility: utilityA, category: "CONSUMPTION" as const, allowed: true, resolution, expiresAt: 0 }];

  it("accepts only the FEDERATION_ROLE and only the configured source", async () => {
    const payload = encodePreferencesPayload({ consumer: alice, version: 1n, prefs: prefs("DAILY") });
    const noRole = await revertOf(stranger.deliverPreferences(FAKE_PRI_CHAIN_ID, FAKE_PPC, payload));
    expect(noRole.errorName).toBe("AccessControlUnauthorizedAccount");
    expect(noRole.args[0]).toBe(stranger.sender.address);
    const wrongChain = await revertOf(relayer.deliverPreferences(31999, FAKE_PPC, payload));
    expect(wrongChain.errorName).toBe("MirrorUnexpectedSource");
    expect(wrongChain.args).toEqual([31999n, getAddress(FAKE_PPC)]);
    const wrongSender = await revertOf(relayer.deliverPreferences(FAKE_PRI_CHAIN_ID, utilityA, payload));
    expect(wrongSender.args).toEqual([BigInt(FAKE_PRI_CHAIN_ID), utilityA]);
    const trade = await revertOf(relayer.deliverPreferences(FAKE_PRI_CHAIN_ID, FAKE_PPC, `0x${"3".padStart(64, "0")}`));
    expect(trade.errorName).toBe("MirrorUnknownMessageKind");
    expect(trade.args).toEqual([3n]);
    const nobody = await revertOf(relayer.deliverPreferences(FAKE_PRI_CHAIN_ID, FAKE_PPC, encodePreferencesPayload({ consumer: ZeroAddress, version: 1n, prefs: [] })));
    expect(nobody.errorName).toBe("MirrorInvalidConsumer");
    expect(nobody.args).toEqual([ZeroAddress]);
    expect(await relayer.preferencesVersionOf(alice)).toBe(0n);
  });

  it("never lets an older preference version overwrite a newer one", async () => {
    const v1 = encodePreferencesPayload({ consumer: alice, version: 1n, prefs: prefs("HOURLY") });
    const v3 = encodePreferencesPayload({ consumer: alice, version: 3n, prefs: prefs("DAILY") });
    await relayer.deliverPreferences(FAKE_PRI_CHAIN_ID, FAKE_PPC, v3);
    const stale = await revertOf(relayer.deliverPreferences(FAKE_PRI_CHAIN_ID, FAKE_PPC, v1));
    expect(stale.errorName).toBe("StalePreferenceVersion");
    expect(stale.args).toEqual([alice, 3n, 1n]);
    const again = await revertOf(relayer.deliverPreferences(FAKE_PRI_CHAIN_ID, FAKE_PPC, v3));
    expect(again.args).toEqual([alice, 3n, 3n]);
    expect(await relayer.preferencesVersionOf(alice)).toBe(3n);
    expect(await relayer.isPermitted({ consumer: alice, utility: utilityA, category: "CONSUMPTION", resolution: "HOURLY" })).toBe(false);
    expect(await relayer.isPermitted({ consumer: alice, utility: utilityA, category: "CONSUMPTION", resolution: "DAILY" })).toBe(true);
  });

  it("answers the finest permitted resolution and the version held in one read (consentOf)", async () => {
    const consent = async (utility: string, at?: number) => {
      const [finest, version] = await relayer.mirror.consentOf(alice, utility, 0, at ?? (await latestTimestamp(chain.provider)));
      return [Number(finest), Number(version)];
    };
    expect(await consent(utilityA)).toEqual([0, 0]); // nothing relayed yet: undecided
    const now = await latestTimestamp(chain.provider);
    const payload = encodePreferencesPayload({
      consumer: alice,
      version: 4n,
      prefs: [
        { utility: utilityA, category: "CONSUMPTION", allowed: true, resolution: "HOURLY", expiresAt: now + 1000 },
        { utility: utilityB, category: "CONSUMPTION", allowed: false, resolution: "QUARTER_HOURLY", expiresAt: 0 },
      ],
    });
    await relayer.deliverPreferences(FAKE_PRI_CHAIN_ID, FAKE_PPC, payload);
    expect(await consent(utilityA)).toEqual([3, 4]); // HOURLY
    expect(await consent(utilityA, now + 1000)).toEqual([0, 4]); // expired: decided, nothing permitted
    expect(await consent(utilityB)).toEqual([0, 4]); // refused
    expect(await consent(stranger.sender.address)).toEqual([0, 4]); // not a distributor
  });

  it("versions registrations apart from preferences, so one never makes the other stale", async () => {
    const m = meterId(1);
    const reg = (v: bigint) =>
      encodeRegistrationPayload({ registration: { consumer: alice, meterId: m, meterSigner: Wallet.createRandom().address, encryptionKey: `0x${"11".repeat(32)}` }, version: v });
    // BlockPRI: registration v1, preferences v2, re-registration v3 — delivered v1, v3, v2.
    await relayer.deliverPreferences(FAKE_PRI_CHAIN_ID, FAKE_PPC, reg(1n));
    await relayer.deliverPreferences(FAKE_PRI_CHAIN_ID, FAKE_PPC, reg(3n));
    await relayer.deliverPreferences(FAKE_PRI_CHAIN_ID, FAKE_PPC, encodePreferencesPayload({ consumer: alice, version: 2n, prefs: prefs("DAILY") }));
    expect([await relayer.registrationVersionOf(alice), await relayer.preferencesVersionOf(alice)]).toEqual([3n, 2n]);
    const stale = await revertOf(relayer.deliverPreferences(FAKE_PRI_CHAIN_ID, FAKE_PPC, reg(2n)));
    expect(stale.errorName).toBe("StaleRegistrationVersion");
    expect(stale.args).toEqual([alice, 3n, 2n]);
    expect(await relayer.consumerOfMeter(m)).toBe(alice);
  });

  it("replaces the whole list: an entry absent from the newer list no longer counts", async () => {
    await w.setPrefs(alice, [
      { utility: utilityA, resolution: "HOURLY" },
      { utility: ZeroAddress, category: "TRADES" },
    ]);
    expect(await relayer.isPermitted({ consumer: alice, utility: utilityB, category: "TRADES" })).toBe(true);
    expect(await relayer.mirror.tradesAllowed(alice, 1)).toBe(true);
    await w.setPrefs(alice, [{ utility: utilityA, resolution: "MONTHLY" }]);
    expect(await relayer.isPermitted({ consumer: alice, utility: utilityB, category: "TRADES" })).toBe(false);
    expect(await relayer.mirror.tradesAllowed(alice, 1)).toBe(false);
    const [set] = await relayer.mirror.getPreference(alice, ZeroAddress, 1);
    expect(set).toBe(false);
    expect(await relayer.isPermitted({ consumer: alice, utility: utilityA, category: "CONSUMPTION", resolution: "MONTHLY" })).toBe(true);
    expect(await relayer.isPermitted({ consumer: alice, utility: utilityA, category: "CONSUMPTION", resolution: "DAILY" })).toBe(false);
  });
});

describe("isPermitted and storageDecision", () => {
  it("apply BlockPRI's rule: utility entry else default, resolution, expiry, distributors only", async () => {
    const now = await latestTimestamp(chain.provider);
    await w.register(alice, meterId(7));
    await w.setPrefs(alice, [
      { utility: ZeroAddress, resolution: "MONTHLY" },
      { utility: utilityA, resolution: "DAILY", expiresAt: now + 500 },
      { utility: stranger.sender.address, resolution: "QUARTER_HOURLY" },
    ]);
    const q = (utility: string, resolution: "MONTHLY" | "DAILY" | "QUARTER_HOURLY", at?: number) =>
      relayer.isPermitted({ consumer: alice, utility, category: "CONSUMPTION", resolution, ...(at ? { at } : {}) });
    expect(await q(utilityA, "DAILY")).toBe(true);
    expect(await q(utilityA, "QUARTER_HOURLY")).toBe(false);
    expect(await q(utilityB, "MONTHLY")).toBe(true);
    expect(await q(utilityB, "DAILY")).toBe(false);
    expect(await q(stranger.sender.address, "MONTHLY")).toBe(false); // not a distributor
    expect(await q(utilityA, "DAILY", now + 500)).toBe(false); // expired
    const d = (utility: string, resolution: "DAILY" | "QUARTER_HOURLY", meter = meterId(7)) =>
      relayer.storageDecision({ consumer: alice, meterId: meter, utility, category: "CONSUMPTION", resolution });
    expect(await d(utilityA, "DAILY")).toBe("PERMITTED");
    expect(await d(utilityA, "QUARTER_HOURLY")).toBe("NOT_PERMITTED");
    expect(await d(stranger.sender.address, "DAILY")).toBe("NOT_A_DISTRIBUTOR");
    expect(await d(utilityA, "DAILY", meterId(8))).toBe("METER_NOT_BOUND");
    await chain.increaseTime(600);
    expect(await d(utilityA, "DAILY")).toBe("NOT_PERMITTED");
  });

  it("moves a meter binding with a re-registration and frees the old meter", async () => {
    const bob = await w.addr(A.bob);
    await w.register(alice, meterId(1));
    await w.register(alice, meterId(2));
    expect(await relayer.consumerOfMeter(meterId(1))).toBeUndefined();
    expect((await relayer.registrationOf(alice))!.meterId).toBe(meterId(2));
    await w.register(bob, meterId(1));
    expect(await relayer.consumerOfMeter(meterId(1))).toBe(bob);
  });

  it("a registration without a meter (released, or moved to the next household by an installer) drops the old binding", async () => {
    const bob = await w.addr(A.bob);
    const zero = `0x${"00".repeat(32)}`;
    const release = (consumer: string) => {
      const version = (w.versions.get(consumer) ?? 0n) + 1n;
      w.versions.set(consumer, version);
      return relayer.deliverPreferences(FAKE_PRI_CHAIN_ID, FAKE_PPC, encodeRegistrationPayload({ registration: { consumer, meterId: zero, meterSigner: ZeroAddress, encryptionKey: zero }, version }));
    };
    await w.register(alice, meterId(1));
    // The installer's move relays bob's binding and alice's release; bob's may arrive first.
    await w.register(bob, meterId(1));
    await release(alice);
    expect(await relayer.consumerOfMeter(meterId(1))).toBe(bob);
    expect(await relayer.registrationOf(alice)).toBeUndefined();
    expect(await relayer.consumerOfMeter(zero)).toBeUndefined();
    expect(await relayer.storageDecision({ consumer: alice, meterId: meterId(1), utility: utilityA, category: "CONSUMPTION", resolution: "DAILY" })).toBe("METER_NOT_BOUND");
    // In the other order the release frees the meter until bob's binding lands.
    await w.register(alice, meterId(2));
    await release(alice);
    expect(await relayer.consumerOfMeter(meterId(2))).toBeUndefined();
  });
});
