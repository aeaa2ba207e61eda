// Gas of BlockPRI's PPC, measured on anvil and written to bench-results/gas.json.
// Run: pnpm bench (after pnpm build).
import fs from "node:fs";
import path from "node:path";
import { hexlify, randomBytes, Wallet } from "ethers";
import { startTestChain, type TestChain } from "@sidegrid/chain";
import { deployMockOutbox, randomRegistration, setupPri, type PriWorld } from "./test-utils/fixtures";

const OUT = path.join(__dirname, "..", "bench-results", "gas.json");
let chain: TestChain;
let w: PriWorld;

beforeAll(async () => {
  chain = await startTestChain({ chainId: 31103 });
  w = await setupPri(chain);
});
afterAll(() => chain.stop());

it("measures BlockPRI gas", async () => {
  const ops: Record<string, number> = {};
  const admin = await w.as(0);
  const alice = await w.as(3);
  const bob = await w.as(4);
  const u1 = (await chain.account(1)).wallet.address;
  const gas = (r: { receipt: { gasUsed: bigint } } | { gasUsed: bigint }) => Number("receipt" in r ? r.receipt.gasUsed : r.gasUsed);

  ops["grantDistributor"] = gas(await admin.grantDistributor(Wallet.createRandom().address));
  const reg = randomRegistration();
  ops["commissionMeter"] = gas(await w.installer.commissionMeter({ meterId: reg.meterId, deviceKey: reg.meterSigner }));
  ops["consumerRegister (first)"] = gas(await w.register(alice, reg));
  ops["rotateEncryptionKey"] = gas(await alice.rotateEncryptionKey(hexlify(randomBytes(32))));
  ops["consumerRegister (move to another meter)"] = gas(await w.register(alice));
  ops["setMonitorConsPref(true) (first)"] = gas(await alice.setMonitorConsPref(true));
  ops["setMonitorTransfPref(true) (first)"] = gas(await alice.setMonitorTransfPref(true));
  ops["setMonitorConsPref(false) (update)"] = gas(await alice.setMonitorConsPref(false));
  ops["setPreference, utility entry (first)"] = gas(await alice.setPreference({ utility: u1, category: "CONSUMPTION", allowed: true, resolution: "DAILY" }));
  ops["setPreference, utility entry (update)"] = gas(await alice.setPreference({ utility: u1, category: "CONSUMPTION", allowed: true, resolution: "HOURLY", expiresAt: 4_000_000_000 }));
  ops["setPreferences, 3 entries"] = gas(
    await alice.setPreferences([
      { utility: Wallet.createRandom().address, category: "TRADES", allowed: true },
      { utility: Wallet.createRandom().address, category: "CONSUMPTION", allowed: true, resolution: "MONTHLY" },
      { utility: u1, category: "TRADES", allowed: false },
    ]),
  );
  ops["clearPreference"] = gas(await alice.clearPreference({ utility: u1, category: "TRADES" }));
  await w.register(bob);
  const outbox = await deployMockOutbox(w.admin, w.deployments);
  await admin.setOutbox(outbox);
  await admin.addRoute(31002, Wallet.createRandom().address);
  await admin.addRoute(31003, Wallet.createRandom().address);
  ops["setMonitorConsPref(true) through an outbox with 2 routes"] = gas(await bob.setMonitorConsPref(true));
  ops["republish (registration + preferences, 2 routes)"] = gas(await bob.republish(bob.sender.address));

  const deploy = Object.fromEntries(Object.entries(w.deployments.read().contracts).map(([k, v]) => [k, Number(v.gasUsed)]));
  const results = {
    deploy,
    operations: ops,
    measuredWith: { node: "anvil 1.7.1 (default hardfork)", solc: "0.8.37, optimizer 200 runs, evm cancun" },
  };
  fs.mkdirSync(path.dirname(OUT), { recursive: true });
  fs.writeFileSync(OUT, `${JSON.stringify(results, null, 2)}\n`);
  console.log(JSON.stringify(results, null, 2));
  expect(ops["consumerRegister (first)"]).toBeGreaterThan(0);
}, 120_000);
