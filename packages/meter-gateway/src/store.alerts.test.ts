// Alerts in the gateway's LevelDB store: listing and acknowledgement, and the key range that keeps
// other records ("ad!" adapter state, "ack!" acknowledgements) out of the alert list.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Wallet } from "ethers";
import { GatewayStore } from "./store";
import { validateGatewayConfig } from "./config";
import { InvalidConfigError } from "./errors";

describe("alerts in the store", () => {
  let dir: string;
  let store: GatewayStore;
  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "mg-alerts-"));
    store = await GatewayStore.open(dir);
  });
  afterEach(async () => {
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("lists alerts only (not adapter state or acknowledgements), newest first, by meter or meters", async () => {
    await store.putAdapterState(7, { lastRow: 12 });
    const a = store.newAlert(1, "gap", "records 4..6 missing", {});
    const b = store.newAlert(2, "bad-digest", "digest mismatch", {});
    const c = store.newAlert(3, "silent", "3 polls failed", {}, "warning");
    await store.putAlerts([a, b, c]);
    expect((await store.alerts()).map((x) => x.id)).toEqual([c.id, b.id, a.id]);
    expect((await store.alerts({ meterIds: [1, 3] })).map((x) => x.meterId)).toEqual([3, 1]);
    expect((await store.alerts({ meterId: 2 })).map((x) => x.kind)).toEqual(["bad-digest"]);
  });

  it("records the first acknowledgement only and can list the open ones", async () => {
    const a = store.newAlert(1, "gap", "records 4..6 missing", {});
    const b = store.newAlert(1, "replay", "sequence repeated", {});
    await store.putAlerts([a, b]);
    const op = Wallet.createRandom().address;
    const first = await store.acknowledgeAlert(a.id, op, 1_000);
    expect(first?.acknowledged).toEqual({ by: op, at: 1_000 });
    expect((await store.acknowledgeAlert(a.id, Wallet.createRandom().address, 2_000))?.acknowledged).toEqual({ by: op, at: 1_000 });
    expect(await store.acknowledgeAlert("0000000000000!000000", op)).toBeUndefined();
    expect((await store.alerts({ open: true })).map((x) => x.id)).toEqual([b.id]);
    expect((await store.alerts()).map((x) => [x.id, x.acknowledged?.by])).toEqual([
      [b.id, undefined],
      [a.id, op],
    ]);
    // Three alerts' worth of keys, still two alerts: the acknowledgement is not listed as one.
    expect(await store.alerts({ limit: 10 })).toHaveLength(2);
  });
});

describe("dev accounts in the gateway config", () => {
  const base = { dataDir: "d", redisUrl: "redis://127.0.0.1:6379", blocksec: { rpcUrl: "http://127.0.0.1:8545", chainId: 1, addresses: { policyMirror: Wallet.createRandom().address, meterDataLedger: Wallet.createRandom().address, accessLedger: Wallet.createRandom().address, tradeLog: Wallet.createRandom().address } } };
  const devAccounts = [{ label: "Alice", role: "household", privateKey: Wallet.createRandom().privateKey }];

  it("are accepted on a loopback listener only", () => {
    expect(validateGatewayConfig({ ...base, http: { devAccounts } }).http?.devAccounts).toHaveLength(1);
    expect(validateGatewayConfig({ ...base, http: { host: "::1", devAccounts } }).http?.host).toBe("::1");
    expect(() => validateGatewayConfig({ ...base, http: { host: "0.0.0.0", devAccounts } })).toThrow(InvalidConfigError);
    expect(() => validateGatewayConfig({ ...base, http: { host: "0.0.0.0", devAccounts } })).toThrow(/only on a loopback listener/);
    expect(() => validateGatewayConfig({ ...base, http: { devAccounts: [{ ...devAccounts[0], role: "king" }] } })).toThrow(InvalidConfigError);
  });
});
