// The simulator process's secrets (issue 12, attack 6, simulator half): the OSGP master key lives
// in a 0600 key file only (not in the state file, the log or the command line), and the control
// port, which serves a household's registers, answers only a caller with the bearer token.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Wallet, hexlify, randomBytes } from "ethers";
import { recoverMeterBindingSigner } from "@sidegrid/blockpri";
import { meterIdToBytes32 } from "./blocksec";
import { simulatorMasterKey } from "@sidegrid/pi-meter";
import { gatewayConfigForSimulator, meterSimulatorControl, readSecretFile, spawnMeterSimulator, type SpawnedMeterSimulator } from "./spawn";

let dir: string;
let sim: SpawnedMeterSimulator;
const device = new Wallet(hexlify(randomBytes(32)));
const logFile = () => path.join(dir, "meters.log");

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "mg-spawn-"));
  const deviceKeysFile = path.join(dir, "device-keys.json");
  fs.writeFileSync(deviceKeysFile, JSON.stringify({ 2: device.privateKey }), { mode: 0o600 });
  sim = await spawnMeterSimulator({ count: 3, seed: "secrets", controlPort: 0, stateFile: path.join(dir, "state.json"), logFile: logFile(), deviceKeysFile, detached: false });
});
afterAll(async () => {
  process.kill(sim.pid, "SIGTERM");
  await sim.exited;
});

describe("simulator secrets", () => {
  it("keeps the master key in a 0600 key file only: not in the state file, the log or the command line", async () => {
    const key = readSecretFile(sim.masterKeyFile!);
    expect(key).toMatch(/^[0-9a-f]{32}$/);
    expect(fs.statSync(sim.masterKeyFile!).mode & 0o777).toBe(0o600);
    expect(fs.statSync(sim.controlTokenFile!).mode & 0o777).toBe(0o600);
    // Not the development key derived from the (public) seed.
    expect(key).not.toBe(Buffer.from(simulatorMasterKey("secrets")).toString("hex"));
    const state = fs.readFileSync(path.join(dir, "state.json"), "utf8");
    const token = readSecretFile(sim.controlTokenFile!);
    for (const secret of [key, token]) {
      expect(state).not.toContain(secret);
      expect(fs.readFileSync(logFile(), "utf8")).not.toContain(secret);
      expect(fs.readFileSync(`/proc/${sim.pid}/cmdline`, "utf8")).not.toContain(secret);
    }
    expect(JSON.parse(state)).not.toHaveProperty("masterKeyHex");
    // The gateway gets the key from the file, into its own 0600 config.
    expect(gatewayConfigForSimulator({ dataDir: dir, redisUrl: "redis://127.0.0.1:6379", blocksec: { rpcUrl: "http://127.0.0.1:1", chainId: 1, addresses: { policyMirror: device.address, meterDataLedger: device.address, accessLedger: device.address, tradeLog: device.address }, privateKey: device.privateKey }, simulator: sim }).masterKeyHex).toBe(key);
    // The same key comes back after a restart (the key file persists).
    const again = await spawnMeterSimulator({ count: 1, stateFile: path.join(dir, "state2.json"), masterKeyFile: sim.masterKeyFile!, detached: false });
    process.kill(again.pid, "SIGTERM");
    await again.exited;
    expect(readSecretFile(sim.masterKeyFile!)).toBe(key);
  });

  it("refuses the control port without the token (401, no register values) and logs the attempt", async () => {
    expect(new URL(sim.controlUrl!).hostname).toBe("127.0.0.1");
    for (const headers of [{}, { authorization: "Bearer wrong-token-wrong-token" }, { authorization: readSecretFile(sim.controlTokenFile!) }]) {
      const res = await fetch(`${sim.controlUrl}/meters/2`, { headers });
      expect(res.status).toBe(401);
      const body = await res.text();
      expect(JSON.parse(body)).toEqual({ error: "unauthorized" });
      expect(body).not.toMatch(/registers|newestSeq/);
    }
    const post = await fetch(`${sim.controlUrl}/meters/2/behaviour`, { method: "POST", body: JSON.stringify({ silent: true }) });
    expect(post.status).toBe(401);
    await new Promise((r) => setTimeout(r, 100));
    expect(fs.readFileSync(logFile(), "utf8")).toMatch(/control: refused GET \/meters\/2 from 127\.0\.0\.1: no bearer token/);
    // With the token it works.
    const control = meterSimulatorControl(sim);
    const status = await control.request<{ meterId: number; registers: object; behaviour: object }>("GET", "/meters/2");
    expect(status.meterId).toBe(2);
    expect(status.behaviour).toEqual({});
  });

  it("signs a meter binding with the meter's device key (the button on a real meter), only with the token", async () => {
    const control = meterSimulatorControl(sim);
    const consumer = Wallet.createRandom().address;
    const ppc = Wallet.createRandom().address;
    const r = await control.requestBinding(2, { consumer, nonce: 4n, expiry: 2_000_000_000, chainId: 31001n, ppc });
    expect(r.deviceKey).toBe(device.address);
    const binding = { meterId: meterIdToBytes32(2), consumer, nonce: 4n, expiry: 2_000_000_000 };
    expect(recoverMeterBindingSigner({ chainId: 31001n, ppc, binding, signature: r.signature })).toBe(device.address);
    await expect(control.requestBinding(3, { consumer, nonce: 0n, expiry: 2_000_000_000, chainId: 31001n, ppc })).rejects.toMatchObject({ code: "METER_REJECTED" });
    const anon = await fetch(`${sim.controlUrl}/meters/2/binding`, { method: "POST", body: JSON.stringify({ consumer, nonce: 0, expiry: 2_000_000_000, chainId: 31001, ppc }) });
    expect(anon.status).toBe(401);
  });
});
