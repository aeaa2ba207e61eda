import { getAddress, hexlify, randomBytes, Wallet, ZeroAddress, ZeroHash } from "ethers";
import { latestTimestamp, startTestChain, type TestChain } from "@sidegrid/chain";
import { meterBindingDigest, recoverMeterBindingSigner, signMeterBinding, type MeterBinding } from "./binding";
import { INSTALLER_ROLE, REGULATOR_ROLE, type BlockPriClient } from "./client";
import { PPC__factory } from "./generated";
import { decodeRegistrationPayload } from "./messages";
import { revertOf, setupPri, type PriWorld } from "./test-utils/fixtures";

// Attack 1 of issue 12: a stranger claimed an unregistered meter and the gateway sealed that
// home's readings to the stranger's key. Every refusal below is a revert with the offending values.
let chain: TestChain;
let w: PriWorld;
let admin: BlockPriClient;
let alice: BlockPriClient;
let bob: BlockPriClient;
let stranger: BlockPriClient;
let snap: string;
let device: Wallet;
let meterId: string;
const ppcIface = PPC__factory.createInterface();

beforeAll(async () => {
  chain = await startTestChain({ chainId: 31103 });
  w = await setupPri(chain);
  [admin, alice, bob, stranger] = await Promise.all([w.as(0), w.as(3), w.as(4), w.as(8)]);
});
afterAll(() => chain.stop());
beforeEach(async () => {
  snap = await chain.snapshot();
  device = new Wallet(Wallet.createRandom().privateKey);
  meterId = hexlify(randomBytes(32));
  await w.installer.commissionMeter({ meterId, deviceKey: device.address });
});
afterEach(async () => {
  await chain.revert(snap);
});

const key = () => hexlify(randomBytes(32));
async function bindingFor(consumer: BlockPriClient, overrides: Partial<MeterBinding> = {}): Promise<MeterBinding> {
  return { ...(await w.installer.meterBinding({ meterId, consumer: consumer.sender.address })), ...overrides };
}
function sign(signer: Wallet, binding: MeterBinding): Promise<string> {
  return signMeterBinding({ signer, chainId: w.admin.chainId, ppc: w.ppc, binding });
}
function eventsOf(receipt: { logs: readonly { topics: readonly string[]; data: string }[] }, name: string): unknown[][] {
  return receipt.logs.map((l) => ppcIface.parseLog(l)).filter((e) => e?.name === name).map((e) => [...e!.args]);
}

describe("commissioning", () => {
  it("is the installer's: the regulator admits installers, nobody else commissions or self-grants", async () => {
    expect(await admin.contract.hasRole(REGULATOR_ROLE, admin.sender.address)).toBe(true);
    expect(await admin.contract.getRoleAdmin(INSTALLER_ROLE)).toBe(REGULATOR_ROLE);
    const e = await revertOf(stranger.commissionMeter({ meterId: key(), deviceKey: device.address }));
    expect(e.errorName).toBe("AccessControlUnauthorizedAccount");
    expect(e.args).toEqual([stranger.sender.address, INSTALLER_ROLE]);
    const self = await revertOf(admin.grantInstaller(admin.sender.address));
    expect(self.errorName).toBe("PPCSelfGrant");
    expect(self.args).toEqual([admin.sender.address, INSTALLER_ROLE]);
    const pass = await revertOf(w.installer.grantInstaller(stranger.sender.address));
    expect(pass.errorName).toBe("AccessControlUnauthorizedAccount");
    expect(pass.args).toEqual([w.installer.sender.address, REGULATOR_ROLE]);
  });

  it("records the device key with an event and refuses re-commissioning until decommissioned", async () => {
    expect(await w.installer.meterOf(meterId)).toEqual({ deviceKey: device.address, nextNonce: 0n, consumer: undefined });
    const other = Wallet.createRandom().address;
    const again = await revertOf(w.installer.commissionMeter({ meterId, deviceKey: other }));
    expect(again.errorName).toBe("PPCMeterAlreadyCommissioned");
    expect(again.args).toEqual([meterId, device.address]);
    const zero = await revertOf(w.installer.commissionMeter({ meterId: key(), deviceKey: ZeroAddress }));
    expect(zero.errorName).toBe("PPCInvalidCommission");

    await alice.consumerRegister({ binding: await bindingFor(alice), signature: await sign(device, await bindingFor(alice)), encryptionKey: key() });
    const r = await w.installer.decommissionMeter(meterId);
    expect(eventsOf(r, "MeterDecommissioned")).toEqual([[meterId, device.address, w.installer.sender.address]]);
    expect(eventsOf(r, "MeterReleased")).toEqual([[alice.sender.address, meterId, 2n]]);
    expect(await alice.consumerOfMeter(meterId)).toBeUndefined();
    const c = await w.installer.commissionMeter({ meterId, deviceKey: other });
    expect(eventsOf(c, "MeterCommissioned")).toEqual([[meterId, other, w.installer.sender.address]]);
    // Nonce 0 was used, nonce 1 died with the old installation.
    expect((await w.installer.meterOf(meterId)).nextNonce).toBe(2n);
  });
});

describe("binding a meter (attack 1)", () => {
  it("refuses a stranger without a valid binding: not commissioned, malformed, random signer", async () => {
    const uncommissioned = hexlify(randomBytes(32));
    const b0 = { meterId: uncommissioned, consumer: stranger.sender.address, nonce: 0n, expiry: (await latestTimestamp(chain.provider)) + 600 };
    const e0 = await revertOf(stranger.consumerRegister({ binding: b0, signature: await sign(device, b0), encryptionKey: key() }));
    expect(e0.errorName).toBe("PPCMeterNotCommissioned");
    expect(e0.args).toEqual([uncommissioned]);

    const b = await bindingFor(stranger);
    const e1 = await revertOf(stranger.consumerRegister({ binding: b, signature: "0x", encryptionKey: key() }));
    expect(e1.errorName).toBe("PPCBindingUnauthorizedSigner");
    expect(e1.args).toEqual([meterId, ZeroAddress]);

    const random = new Wallet(Wallet.createRandom().privateKey);
    const e2 = await revertOf(stranger.consumerRegister({ binding: b, signature: await sign(random, b), encryptionKey: key() }));
    expect(e2.errorName).toBe("PPCBindingUnauthorizedSigner");
    expect(e2.args).toEqual([meterId, random.address]);
    expect(await stranger.isRegistered(stranger.sender.address)).toBe(false);
    expect(await stranger.consumerOfMeter(meterId)).toBeUndefined();
  });

  it("refuses a binding issued to another consumer (the stranger copies alice's binding)", async () => {
    const b = await bindingFor(alice);
    const sig = await sign(device, b);
    const e = await revertOf(stranger.consumerRegister({ binding: b, signature: sig, encryptionKey: key() }));
    expect(e.errorName).toBe("PPCBindingWrongConsumer");
    expect(e.args).toEqual([meterId, alice.sender.address, stranger.sender.address]);
    // Rewriting the consumer field breaks the signature.
    const forged = { ...b, consumer: stranger.sender.address };
    const e2 = await revertOf(stranger.consumerRegister({ binding: forged, signature: sig, encryptionKey: key() }));
    expect(e2.errorName).toBe("PPCBindingUnauthorizedSigner");
    expect(e2.args[1]).not.toBe(device.address);
  });

  it("refuses a replayed binding and an expired one", async () => {
    const b = await bindingFor(alice);
    const sig = await sign(device, b);
    await alice.consumerRegister({ binding: b, signature: sig, encryptionKey: key() });
    await alice.releaseMeter();
    const replay = await revertOf(alice.consumerRegister({ binding: b, signature: sig, encryptionKey: key() }));
    expect(replay.errorName).toBe("PPCBindingBadNonce");
    expect(replay.args).toEqual([meterId, 1n, 0n]);

    const now = await latestTimestamp(chain.provider);
    const old = await bindingFor(bob, { expiry: now });
    const expired = await revertOf(bob.consumerRegister({ binding: old, signature: await sign(device, old), encryptionKey: key() }));
    expect(expired.errorName).toBe("PPCBindingExpired");
    expect(expired.args[0]).toBe(meterId);
    expect(expired.args[1]).toBe(BigInt(now));
  });

  it("accepts a device-signed binding and records the commissioned key as the meter signer", async () => {
    const b = await bindingFor(alice);
    const sig = await sign(device, b);
    expect(recoverMeterBindingSigner({ chainId: w.admin.chainId, ppc: w.ppc, binding: b, signature: sig })).toBe(device.address);
    expect(await alice.contract.meterBindingDigest({ ...b })).toBe(meterBindingDigest({ chainId: w.admin.chainId, ppc: w.ppc, binding: b }));
    const encryptionKey = key();
    const r = await alice.consumerRegister({ binding: b, signature: sig, encryptionKey });
    expect(eventsOf(r.receipt, "MeterBound")).toEqual([[meterId, alice.sender.address, device.address, 0n]]);
    expect(await alice.registrationOf(alice.sender.address)).toEqual({ consumer: alice.sender.address, meterId, meterSigner: device.address, encryptionKey });
    expect(await alice.meterOf(meterId)).toEqual({ deviceKey: device.address, nextNonce: 1n, consumer: alice.sender.address });
  });

  it("accepts an installer-signed binding", async () => {
    const b = await bindingFor(alice);
    const r = await alice.consumerRegister({ binding: b, signature: await signMeterBinding({ signer: w.installer.sender.wallet, chainId: w.admin.chainId, ppc: w.ppc, binding: b }), encryptionKey: key() });
    expect(eventsOf(r.receipt, "MeterBound")).toEqual([[meterId, alice.sender.address, w.installer.sender.address, 0n]]);
    expect(await alice.consumerOfMeter(meterId)).toBe(alice.sender.address);
  });
});

describe("moving out", () => {
  it("release and rebind: the next household binds with the next nonce; the old one's relay names no meter", async () => {
    const b = await bindingFor(alice);
    await alice.consumerRegister({ binding: b, signature: await sign(device, b), encryptionKey: key() });
    const rel = await alice.releaseMeter();
    expect(eventsOf(rel.receipt, "MeterReleased")).toEqual([[alice.sender.address, meterId, 2n]]);
    expect(decodeRegistrationPayload(rel.payloads[0]!.payload).registration).toMatchObject({ consumer: alice.sender.address, meterId: ZeroHash, meterSigner: ZeroAddress });
    const none = await revertOf(alice.releaseMeter());
    expect(none.errorName).toBe("PPCNoMeter");
    expect(none.args).toEqual([alice.sender.address]);

    const nb = await bindingFor(bob);
    expect(nb.nonce).toBe(1n);
    await bob.consumerRegister({ binding: nb, signature: await sign(device, nb), encryptionKey: key() });
    expect(await bob.consumerOfMeter(meterId)).toBe(bob.sender.address);
  });

  it("a device binding cannot take a meter still bound to someone else; an installer's moves it", async () => {
    const b = await bindingFor(alice);
    await alice.consumerRegister({ binding: b, signature: await sign(device, b), encryptionKey: key() });
    // Alice left without releasing. Pressing the meter's button is not enough to take it over...
    const nb = await bindingFor(bob);
    const taken = await revertOf(bob.consumerRegister({ binding: nb, signature: await sign(device, nb), encryptionKey: key() }));
    expect(taken.errorName).toBe("PPCMeterTaken");
    expect(taken.args).toEqual([meterId, alice.sender.address]);
    // ...an installer's binding is.
    const ib = await bindingFor(bob);
    const r = await bob.consumerRegister({ binding: ib, signature: await signMeterBinding({ signer: w.installer.sender.wallet, chainId: w.admin.chainId, ppc: w.ppc, binding: ib }), encryptionKey: key() });
    expect(eventsOf(r.receipt, "MeterReleased")).toEqual([[alice.sender.address, meterId, 2n]]);
    // Two relays: alice's registration without the meter first, then bob's with it.
    expect(r.payloads.map((p) => [p.consumer, decodeRegistrationPayload(p.payload).registration.meterId])).toEqual([
      [alice.sender.address, ZeroHash],
      [bob.sender.address, meterId],
    ]);
    expect(await alice.registrationOf(alice.sender.address)).toEqual({ consumer: alice.sender.address, meterId: ZeroHash, meterSigner: ZeroAddress, encryptionKey: expect.any(String) as string });
    expect(await alice.consumerOfMeter(meterId)).toBe(bob.sender.address);
    expect(getAddress((await alice.meterOf(meterId)).consumer!)).toBe(bob.sender.address);
    // Alice, without a meter, cannot rotate a key onto it.
    const rot = await revertOf(alice.rotateEncryptionKey(key()));
    expect(rot.errorName).toBe("PPCInvalidRegistration");
  });
});

describe("roll-out", () => {
  it("commissions several meters at once, idempotently, and refuses a conflicting device key", async () => {
    const meters = [1, 2, 3].map(() => ({ meterId: hexlify(randomBytes(32)), deviceKey: Wallet.createRandom().address }));
    expect(await w.installer.commissionMeters(meters)).toHaveLength(1);
    expect(await w.installer.commissionMeters([...meters, { meterId, deviceKey: device.address }])).toHaveLength(0);
    for (const m of meters) expect((await w.installer.meterOf(m.meterId)).deviceKey).toBe(getAddress(m.deviceKey));
    await expect(w.installer.commissionMeters([{ meterId, deviceKey: Wallet.createRandom().address }])).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
    const e = await revertOf(w.installer.sender.sendAndWait({ to: w.ppc, data: ppcIface.encodeFunctionData("commissionMeters", [[meterId], []]) }));
    expect(e.errorName).toBe("PPCLengthMismatch");
    expect(e.args).toEqual([1n, 0n]);
  });
});
