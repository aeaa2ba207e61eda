import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { hexlify, randomBytes, Wallet } from "ethers";
import { Deployments, latestTimestamp, startTestChain, type TestChain } from "@sidegrid/chain";
import { BlockPriClient, deployBlockPri, registerWithInstaller } from "@sidegrid/blockpri";
import { BlockSecClient } from "./client";
import { deployBlockSec } from "./deploy";
import { relayPreferences } from "./relay";
import { meterId, readings } from "./test-utils/world";

// Two separate anvil chains: BlockPRI (31116) and BlockSEC (31117), the relay helper in between.
let pri: TestChain;
let sec: TestChain;
let ppc: BlockPriClient; // the regulator on BlockPRI
let alicePri: BlockPriClient;
let relayer: BlockSecClient;
let gateway: BlockSecClient;
let utility: BlockSecClient;
let aliceAddr: string;
let utilityAddr: string;

beforeAll(async () => {
  [pri, sec] = await Promise.all([startTestChain({ chainId: 31116 }), startTestChain({ chainId: 31117 })]);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "sidegrid-e2e-"));
  const priAdmin = (await pri.account(0)).sender;
  const secAdmin = (await sec.account(0)).sender;
  utilityAddr = (await pri.account(1)).wallet.address;
  aliceAddr = (await pri.account(3)).wallet.address;
  const gatewayAddr = (await sec.account(5)).wallet.address;
  const { ppc: ppcAddr } = await deployBlockPri({ sender: priAdmin, deployments: Deployments.forNetwork(dir, "blockpri", 31116), distributors: [utilityAddr], installers: [(await pri.account(9)).wallet.address] });
  const d = await deployBlockSec({
    sender: secAdmin,
    deployments: Deployments.forNetwork(dir, "blocksec", 31117),
    preferenceSource: { chainId: 31116, address: ppcAddr },
    distributors: [utilityAddr],
    gateways: [{ gateway: gatewayAddr, utility: utilityAddr }],
  });
  ppc = new BlockPriClient({ sender: priAdmin, address: ppcAddr });
  alicePri = ppc.withSender((await pri.account(3)).sender);
  relayer = new BlockSecClient({ sender: secAdmin, addresses: d });
  gateway = relayer.withSender((await sec.account(5)).sender);
  utility = relayer.withSender((await sec.account(1)).sender);
});
afterAll(async () => {
  await Promise.all([pri.stop(), sec.stop()]);
});

it("relays a preference change end to end: BlockPRI change → relay helper → mirror → anchor refused", async () => {
  let next = 0;
  const relay = async () => {
    const r = await relayPreferences({ from: alicePri, to: relayer, fromBlock: next });
    next = r.nextFromBlock;
    return r;
  };
  const installer = ppc.withSender((await pri.account(9)).sender);
  await registerWithInstaller({ installer, consumer: alicePri, meterId: meterId(1), deviceKey: Wallet.createRandom().address, encryptionKey: hexlify(randomBytes(32)) });
  await alicePri.setPreference({ utility: utilityAddr, category: "CONSUMPTION", allowed: true, resolution: "QUARTER_HOURLY" });
  const first = await relay();
  expect(first.delivered.map((d) => [d.payload.kind, d.payload.version])).toEqual([
    ["REGISTRATION", 1n],
    ["PREFERENCES", 2n],
  ]);
  expect(await relayer.consumerOfMeter(meterId(1))).toBe(aliceAddr);
  const ok = await gateway.anchorBatch({ batchId: hexlify(randomBytes(32)), records: readings({ consumer: aliceAddr, meter: meterId(1), n: 4 }) });
  expect(ok.stored).toBe(4);
  const t = await latestTimestamp(sec.provider);
  expect((await utility.requestAccess({ consumer: aliceAddr, category: "CONSUMPTION", resolution: "QUARTER_HOURLY", from: 0, to: t })).entry.granted).toBe(true);

  // Alice narrows utility A to DAILY on BlockPRI. Before the relay BlockSEC still holds v2.
  await alicePri.setPreference({ utility: utilityAddr, category: "CONSUMPTION", allowed: true, resolution: "DAILY" });
  expect(await relayer.preferencesVersionOf(aliceAddr)).toBe(2n);
  const second = await relay();
  expect(second.delivered.map((d) => d.payload.version)).toEqual([3n]);
  expect(await relayer.preferencesVersionOf(aliceAddr)).toBe(3n);

  const refused = await gateway.anchorBatch({ batchId: hexlify(randomBytes(32)), records: readings({ consumer: aliceAddr, meter: meterId(1), first: 100n, n: 3 }) });
  expect(refused.stored).toBe(0);
  expect(refused.rejected).toEqual([
    { consumer: aliceAddr, meterId: meterId(1), reason: "NOT_PERMITTED", category: "CONSUMPTION", resolution: "QUARTER_HOURLY", sequences: [100n, 101n, 102n] },
  ]);
  const daily = await gateway.anchorBatch({ batchId: hexlify(randomBytes(32)), records: readings({ consumer: aliceAddr, meter: meterId(1), first: 200n, n: 2, resolution: "DAILY" }) });
  expect(daily.stored).toBe(2);
  await expect(utility.requestAccess({ consumer: aliceAddr, category: "CONSUMPTION", resolution: "QUARTER_HOURLY", from: 0, to: t })).rejects.toMatchObject({
    name: "AccessDeniedError",
    reason: "NOT_PERMITTED",
  });

  // Relaying the whole history again changes nothing: every older version is refused as stale.
  const replay = await relayPreferences({ from: alicePri, to: relayer, fromBlock: 0 });
  expect(replay.delivered).toEqual([]);
  expect(replay.failed).toEqual([]);
  expect(replay.stale.map((s) => [s.payload.kind, s.payload.version, s.error])).toEqual([
    ["REGISTRATION", 1n, "StaleRegistrationVersion"],
    ["PREFERENCES", 2n, "StalePreferenceVersion"],
    ["PREFERENCES", 3n, "StalePreferenceVersion"],
  ]);
  expect(await relayer.isPermitted({ consumer: aliceAddr, utility: utilityAddr, category: "CONSUMPTION", resolution: "QUARTER_HOURLY" })).toBe(false);

  // Revocation on BlockPRI: after the relay nothing more is stored, and the read is denied.
  await alicePri.setMonitorConsPref(false);
  await alicePri.clearPreference({ utility: utilityAddr, category: "CONSUMPTION" });
  await relay();
  const none = await gateway.anchorBatch({ batchId: hexlify(randomBytes(32)), records: readings({ consumer: aliceAddr, meter: meterId(1), first: 300n, n: 1, resolution: "DAILY" }) });
  expect(none.rejected[0]!.reason).toBe("NOT_PERMITTED");
  const audit = await relayer.audit(aliceAddr);
  expect(audit.ok).toBe(true);
  expect(audit.entries.map((e) => [e.granted, e.reason])).toEqual([
    [true, "NONE"],
    [false, "NOT_PERMITTED"],
  ]);
});

it("a preferences payload from any other contract or chain is refused", async () => {
  const r = await relayPreferences({ from: { ...alicePri, address: utilityAddr, chainId: alicePri.chainId, provider: alicePri.provider, relayPayloads: (p) => alicePri.relayPayloads(p) }, to: relayer, fromBlock: 0 });
  expect(r.delivered).toEqual([]);
  expect(new Set(r.failed.map((f) => f.error))).toEqual(new Set(["MirrorUnexpectedSource"]));
});
