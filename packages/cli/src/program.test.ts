import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { PassThrough } from "node:stream";
import { Wallet } from "ethers";
import { connectNetwork, devPrivateKey, freePort, isAlive, loadConfig, rpcCall, startAnvil } from "@sidegrid/chain";
import { BlockPriClient, registerWithInstaller } from "@sidegrid/blockpri";
import { BlockSecClient } from "@sidegrid/blocksec";
import { validateGatewayConfig } from "@sidegrid/meter-gateway";
import type { SystemDeployment } from "./deploy-system";
import type { AdminRoleRow } from "./governance";
import { run } from "./program";
import type { ComponentStatus, SystemState } from "./system";
import { freePortRange, writeTestConfig } from "./testing";

interface Captured {
  code: number;
  out: string;
  err: string;
}

async function sidegrid(args: string[], env: Record<string, string> = {}): Promise<Captured> {
  const errStream = new PassThrough();
  let err = "";
  errStream.on("data", (d: Buffer) => (err += d.toString()));
  let out = "";
  const saved = { ...process.env };
  Object.assign(process.env, env);
  process.exitCode = undefined;
  try {
    const code = await run(args, { stdout: (s) => (out += `${s}\n`), stderr: errStream as unknown as NodeJS.WriteStream });
    return { code, out, err };
  } finally {
    process.env = saved;
    process.exitCode = undefined;
  }
}

const SERVICES = ["member-0", "member-1", "member-2", "meters", "gateway"];
const localConfig = () => writeTestConfig([31401, 31402, 31403], { meters: 2 });

describe("sidegrid up / status / down", () => {
  it("starts three chains with distinct chain ids, Redis and the services, stops exactly them, and keeps chain state for the next up", async () => {
    const { dir, file } = await localConfig();
    const up = await sidegrid(["-q", "-c", file, "up", "--json"]);
    expect(up.err).toBe("");
    expect(up.code).toBe(0);
    const upJson = JSON.parse(up.out) as { started: string[]; contracts: { name: string; address: string }[] };
    expect(upJson.started).toEqual(["blockpri", "blocksec", "blocktst", "redis", ...SERVICES]);
    expect(upJson.contracts.map((c) => c.name)).toEqual(expect.arrayContaining(["PPC", "MeterDataLedger", "AccessLedger", "EnergyMarket", "FederationInbox", "TokenPeg"]));
    try {
      const status = await sidegrid(["-c", file, "status", "--json"]);
      expect(status.code).toBe(0);
      const comps = JSON.parse(status.out).components as ComponentStatus[];
      expect(comps.map((c) => [c.name, c.ok])).toEqual([["BlockPRI", true], ["BlockSEC", true], ["BlockTST", true], ["Redis", true], ...SERVICES.map((n) => [n, true])]);
      expect(comps.filter((c) => c.kind === "member" || c.kind === "gateway").every((c) => c.detail.endsWith(", healthy"))).toBe(true);
      // No god key: after `up` each chain's timelock is the only admin; the operator only regulates.
      const admin = JSON.parse(status.out).adminRoles as AdminRoleRow[];
      expect(admin.map((r) => r.contract)).toEqual(expect.arrayContaining(["PPC", "PolicyMirror", "MeterDataLedger", "TradeLog", "SmartGridToken", "MarketMirror", "EnergyMarket", "EnergyAuction", "TokenPeg", "FederationOutbox"]));
      expect(admin.filter((r) => JSON.stringify(r.holders.DEFAULT_ADMIN_ROLE) !== '["timelock"]')).toEqual([]);
      expect(admin.find((r) => r.contract === "PolicyMirror")!.holders).toEqual({ DEFAULT_ADMIN_ROLE: ["timelock"], REGULATOR_ROLE: ["operator"], FEDERATION_ROLE: ["inbox"] });
      expect(admin.filter((r) => r.holders.FEDERATION_ROLE?.includes("operator"))).toEqual([]);
      const table = await sidegrid(["-c", file, "status"]);
      expect(table.out).toMatch(/PolicyMirror\s+timelock\s+operator\s+inbox/);
      // An integrator's gateway gets a valid configuration for this deployment.
      const gwCfg = await sidegrid(["-c", file, "gateway-config", "--port", "9123"]);
      expect(gwCfg.code).toBe(0);
      const parsed = validateGatewayConfig(JSON.parse(gwCfg.out));
      expect(parsed.blocksec).toMatchObject({ chainId: 31402, privateKeyEnv: "SIDEGRID_GATEWAY_PRIVATE_KEY", addresses: { meterDataLedger: upJson.contracts.find((c) => c.name === "MeterDataLedger")!.address } });
      expect(parsed.http).toEqual({ port: 9123 });
      // The gateway answers its health check and serves the portal.
      const gw = comps.find((c) => c.name === "gateway")!.endpoint;
      expect((await fetch(`${gw}/healthz`)).status).toBe(200);
      expect(await (await fetch(`${gw}/`)).text()).toMatch(/<html/i);
      expect(comps.slice(0, 3).map((c) => c.detail.split(",")[0])).toEqual(["chainId 31401", "chainId 31402", "chainId 31403"]);
      expect(comps[3]!.detail).toBe("PONG");

      // Leave a mark on BlockPRI to find after a restart.
      const url = comps[0]!.endpoint;
      for (let i = 0; i < 3; i++) await rpcCall(url, "evm_mine");
      const height = BigInt(await rpcCall<string>(url, "eth_blockNumber"));
      expect(height).toBeGreaterThanOrEqual(3n);
      // Members send on BlockPRI too (checkpoint votes, and the operator tops their gas up), so the
      // deployment records, not the height, tell a redeploy.
      const deploymentRecords = () => fs.readdirSync(path.join(dir, "data", "deployments")).map((f) => fs.readFileSync(path.join(dir, "data", "deployments", f), "utf8"));
      const records = deploymentRecords();

      const state = JSON.parse(fs.readFileSync(path.join(dir, "data", "state.json"), "utf8")) as SystemState;
      const pids = state.processes.map((p) => p.pid);
      expect(pids).toHaveLength(9);
      const down = await sidegrid(["-q", "-c", file, "down"]);
      expect(down.code).toBe(0);
      expect(pids.filter(isAlive)).toEqual([]);
      const after = await sidegrid(["-c", file, "status", "--json"]);
      expect(after.code).toBe(1);
      expect((JSON.parse(after.out).components as ComponentStatus[]).every((c) => !c.ok)).toBe(true);

      const again = await sidegrid(["-q", "-c", file, "up", "--json"]);
      expect(again.code).toBe(0);
      // Same chain, same contracts: nothing was redeployed.
      expect(BigInt(await rpcCall<string>(url, "eth_blockNumber"))).toBeGreaterThanOrEqual(height);
      expect(deploymentRecords()).toEqual(records);
      expect(JSON.parse(again.out).contracts).toEqual(upJson.contracts);
    } finally {
      await sidegrid(["-q", "-c", file, "down"]);
    }
  });

  it("reuses what is already running on a second up", async () => {
    const { file } = await localConfig();
    try {
      await sidegrid(["-q", "-c", file, "up", "--json"]);
      const second = await sidegrid(["-q", "-c", file, "up", "--json"]);
      expect(JSON.parse(second.out)).toMatchObject({ started: [], reused: ["blockpri", "blocksec", "blocktst", "redis", ...SERVICES] });
    } finally {
      await sidegrid(["-q", "-c", file, "down"]);
    }
  });
});

describe("up on existing (non-local) networks", () => {
  it("deploys with keys from the environment, starts only Redis and the members, and writes no key to disk", async () => {
    const nodes = await Promise.all([31421, 31422, 31423].map((chainId) => startAnvil({ chainId, accounts: 20 })));
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "sidegrid-remote-"));
    const redisPort = await freePort();
    const file = path.join(dir, "remote.json");
    fs.writeFileSync(
      file,
      JSON.stringify({
        dataDir: "data",
        networks: Object.fromEntries(["blockpri", "blocksec", "blocktst"].map((n, i) => [n, { rpcUrl: nodes[i]!.url, chainId: nodes[i]!.chainId }])),
        redis: { url: `redis://127.0.0.1:${redisPort}`, port: redisPort, local: true },
        services: { meters: 0, memberBasePort: await freePortRange(3) },
      }),
    );
    // Funded anvil accounts stand in for keys from a secret store.
    const env: Record<string, string> = { SIDEGRID_PRIVATE_KEY: devPrivateKey(0) };
    ["UTILITY", "COMPANY", "COURT", "GATEWAY", "PROSUMER", "TRADER"].forEach((r, i) => (env[`SIDEGRID_${r}_PRIVATE_KEY`] = devPrivateKey(1 + i)));
    env.SIDEGRID_INSTALLER_PRIVATE_KEY = devPrivateKey(10);
    [7, 8, 9].forEach((k, i) => (env[`SIDEGRID_MEMBER_KEY_${i}`] = devPrivateKey(k)));
    try {
      const missing = await sidegrid(["-q", "-c", file, "up"], { SIDEGRID_PRIVATE_KEY: devPrivateKey(0) });
      expect([missing.code, missing.err.trim()]).toEqual([1, "sidegrid: a network is remote: set SIDEGRID_UTILITY_PRIVATE_KEY to the utility's private key"]);
      expect(fs.existsSync(path.join(dir, "data", "state.json"))).toBe(false); // nothing was started
      const up = await sidegrid(["-q", "-c", file, "up", "--json"], env);
      expect([up.code, up.err]).toEqual([0, ""]);
      expect(JSON.parse(up.out).started).toEqual(["redis", "member-0", "member-1", "member-2"]);
      const fed = fs.readFileSync(path.join(dir, "data", "federation", "federation.json"), "utf8");
      expect(JSON.parse(fed).members.map((m: { privateKeyEnv?: string }) => m.privateKeyEnv)).toEqual(["SIDEGRID_MEMBER_KEY_0", "SIDEGRID_MEMBER_KEY_1", "SIDEGRID_MEMBER_KEY_2"]);
      for (const k of [7, 8, 9]) expect(fed).not.toContain(devPrivateKey(k).slice(2));
      const deployment = JSON.parse(fs.readFileSync(path.join(dir, "data", "deployment.json"), "utf8")) as { accounts: { utility: string } };
      expect(deployment.accounts.utility).toBe(new Wallet(devPrivateKey(1)).address);
      const status = await sidegrid(["-c", file, "status", "--json"], env);
      expect((JSON.parse(status.out).components as ComponentStatus[]).map((c) => [c.name, c.kind, c.ok])).toEqual([
        ["BlockPRI", "remote EVM", true],
        ["BlockSEC", "remote EVM", true],
        ["BlockTST", "remote EVM", true],
        ["Redis", "redis-server", true],
        ["member-0", "member", true],
        ["member-1", "member", true],
        ["member-2", "member", true],
      ]);
      // The deployer handed over on a remote network too; changes there wait two days.
      const roles = JSON.parse(status.out).adminRoles as AdminRoleRow[];
      expect(roles.length).toBeGreaterThan(10);
      expect(roles.filter((r) => JSON.stringify(r.holders.DEFAULT_ADMIN_ROLE) !== '["timelock"]')).toEqual([]);
      // The members relay with their keys from the environment: a grant on BlockPRI reaches BlockSEC.
      const d = JSON.parse(fs.readFileSync(path.join(dir, "data", "deployment.json"), "utf8")) as SystemDeployment;
      expect(d.governance.map((g) => g.minDelaySec)).toEqual([172_800, 172_800, 172_800]);
      const cfg = loadConfig({ file });
      const pri = await connectNetwork({ config: cfg, network: "blockpri", privateKey: devPrivateKey(12) });
      const sec = await connectNetwork({ config: cfg, network: "blocksec", privateKey: devPrivateKey(0) });
      try {
        const consumer = new BlockPriClient({ sender: pri.sender, address: d.blockpri.ppc });
        const installerNet = await connectNetwork({ config: cfg, network: "blockpri", privateKey: devPrivateKey(10) });
        const installer = new BlockPriClient({ sender: installerNet.sender, address: d.blockpri.ppc });
        await registerWithInstaller({ installer, consumer, meterId: `0x${"11".repeat(32)}`, deviceKey: new Wallet(devPrivateKey(13)).address, encryptionKey: `0x${"22".repeat(32)}` });
        installerNet.provider.destroy();
        await consumer.setPreference({ utility: d.accounts.utility, category: "CONSUMPTION", allowed: true, resolution: "DAILY" });
        const mirror = new BlockSecClient({ sender: sec.sender, addresses: d.blocksec });
        let permitted = false;
        for (let i = 0; i < 200 && !permitted; i++) {
          permitted = await mirror.isPermitted({ consumer: pri.wallet.address, utility: d.accounts.utility, category: "CONSUMPTION", resolution: "DAILY" }).catch(() => false);
          if (!permitted) await new Promise((r) => setTimeout(r, 50));
        }
        expect(permitted).toBe(true);
      } finally {
        pri.provider.destroy();
        sec.provider.destroy();
      }
    } finally {
      await sidegrid(["-q", "-c", file, "down"]);
      await Promise.all(nodes.map((n) => n.stop()));
    }
  });
});

describe("a misconfigured network gives one clear error line", () => {
  const remote = (over: Record<string, unknown>) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "sidegrid-cli-"));
    dirs.push(dir);
    const file = path.join(dir, "bad.json");
    fs.writeFileSync(file, JSON.stringify({ dataDir: "data", redis: { local: false }, networks: { blockpri: over } }));
    return file;
  };

  const dirs: string[] = [];
  afterEach(() => {
    // A failed `up` must not have started anything: it would have recorded it in state.json.
    for (const d of dirs.splice(0)) expect(fs.existsSync(path.join(d, "data", "state.json"))).toBe(false);
  });

  it("names an unreachable URL", async () => {
    const port = await freePort();
    const r = await sidegrid(["-q", "-c", remote({ rpcUrl: `http://127.0.0.1:${port}`, chainId: 31001 }), "up"], {
      SIDEGRID_BLOCKPRI_PRIVATE_KEY: Wallet.createRandom().privateKey,
    });
    expect(r.code).toBe(1);
    expect(r.err.trim().split("\n")).toEqual([`sidegrid: network "blockpri" does not answer at http://127.0.0.1:${port}`]);
  });

  it("names a wrong chainId, an unfunded key and a missing key", async () => {
    const node = await startAnvil({ chainId: 31404 });
    try {
      const wrongId = await sidegrid(["-q", "-c", remote({ rpcUrl: node.url, chainId: 1 }), "up"], {
        SIDEGRID_BLOCKPRI_PRIVATE_KEY: Wallet.createRandom().privateKey,
      });
      expect(wrongId.err.trim()).toBe('sidegrid: network "blockpri" has chainId 31404, configured 1');
      const key = Wallet.createRandom();
      const unfunded = await sidegrid(["-q", "-c", remote({ rpcUrl: node.url, chainId: 31404 }), "up"], {
        SIDEGRID_BLOCKPRI_PRIVATE_KEY: key.privateKey,
      });
      expect(unfunded.err.trim()).toBe(`sidegrid: account ${key.address} on "blockpri" cannot pay for gas (balance 0 wei)`);
      const noKey = await sidegrid(["-q", "-c", remote({ rpcUrl: node.url, chainId: 31404 }), "up"], { SIDEGRID_BLOCKPRI_PRIVATE_KEY: "" });
      expect(noKey.err.trim()).toBe(
        'sidegrid: network "blockpri" is not local: set SIDEGRID_BLOCKPRI_PRIVATE_KEY (or SIDEGRID_PRIVATE_KEY) to the operator\'s private key',
      );
      expect([wrongId.code, unfunded.code, noKey.code]).toEqual([1, 1, 1]);
    } finally {
      await node.stop();
    }
  });

  it("rejects a broken config file with exit code 1 and one line", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "sidegrid-cli-"));
    const file = path.join(dir, "broken.json");
    fs.writeFileSync(file, '{"networks": {"blockpri": {"chainId": "x"}}}');
    const r = await sidegrid(["-c", file, "status"]);
    expect(r.code).toBe(1);
    expect(r.err.trim()).toBe(`sidegrid: ${file}: networks.blockpri.chainId must be a positive integer, got "x"`);
  });
});

describe("foreground services", () => {
  /** Runs `sidegrid meters simulate <args>` until its first stdout line; the caller kills it. */
  async function simulate(args: string[]) {
    const { spawn } = await import("node:child_process");
    const bin = path.join(__dirname, "..", "bin", "sidegrid.js");
    const child = spawn(process.execPath, [bin, "meters", "simulate", ...args], { stdio: ["ignore", "pipe", "pipe"] });
    const line = new Promise<string>((resolve, reject) => {
      let buf = "";
      child.stdout.on("data", (d: Buffer) => {
        buf += d.toString();
        if (buf.includes("\n")) resolve(buf.split("\n")[0]!);
      });
      child.once("exit", (code) => reject(new Error(`exited with ${code}`)));
    });
    return { child, line };
  }

  it("runs simulated meters with `meters simulate` and prints their endpoint", async () => {
    const net = await import("node:net");
    const { child, line: first } = await simulate(["--count", "3", "--seed", "t", "--dlms", "1"]);
    try {
      const line = await first;
      const info = JSON.parse(line) as { count: number; port: number; addressed: boolean; seed: string; dlms: { meterId: number; protocol: string; port: number }[] };
      expect(info).toMatchObject({ count: 3, addressed: true, seed: "t" });
      // The last meter speaks DLMS on its own port.
      expect(info.dlms.map((e) => [e.meterId, e.protocol])).toEqual([[3, "dlms-wrapper"]]);
      expect(info.dlms[0]!.port).not.toBe(info.port);
      // An address frame for meter 2 ("SG" + id) is echoed: the meter is there.
      const echo = await new Promise<Buffer>((resolve, reject) => {
        const s = net.connect(info.port, "127.0.0.1", () => s.write(Buffer.from([0x00, 0x06, 0x53, 0x47, 0, 0, 0, 2])));
        s.once("data", (d) => {
          s.destroy();
          resolve(d);
        });
        s.once("error", reject);
      });
      expect(echo.toString("hex")).toBe("0006534700000002");
    } finally {
      child.kill("SIGTERM");
    }
  });

  it("runs a DLMS-only fleet with `meters simulate --protocol dlms`: wrapper on TCP, HDLC and wrapper on UDP in turn", async () => {
    const { child, line: first } = await simulate(["--count", "3", "--seed", "t", "--protocol", "dlms"]);
    try {
      const line = await first;
      const info = JSON.parse(line) as { count: number; dlms: { meterId: number; protocol: string; port: number }[] };
      expect(info.dlms.map((e) => [e.meterId, e.protocol])).toEqual([[1, "dlms-wrapper"], [2, "dlms-hdlc"], [3, "dlms-udp"]]);
      expect(new Set(info.dlms.map((e) => e.port)).size).toBe(3);
    } finally {
      child.kill("SIGTERM");
    }
  });

  it("rejects bad arguments and a missing system for `meters simulate`, `demo`, `audit` and `federation start` with one line", async () => {
    const bad = await sidegrid(["meters", "simulate", "--count", "0"]);
    expect([bad.code, bad.err.trim()]).toEqual([2, 'sidegrid: --count must be an integer ≥ 1, got "0"']);
    const tooMany = await sidegrid(["meters", "simulate", "--count", "2", "--dlms", "3"]);
    expect([tooMany.code, tooMany.err.trim()]).toEqual([2, "sidegrid: --dlms (3) cannot exceed --count (2)"]);
    const badTransport = await sidegrid(["meters", "simulate", "--count", "2", "--dlms", "1", "--dlms-transport", "serial"]);
    expect([badTransport.code, badTransport.err.trim()]).toEqual([2, 'sidegrid: --dlms-transport must be mixed, wrapper, hdlc or udp, got "serial"']);
    const badProtocol = await sidegrid(["meters", "simulate", "--count", "2", "--protocol", "modbus"]);
    expect([badProtocol.code, badProtocol.err.trim()]).toEqual([2, 'sidegrid: --protocol must be osgp, dlms or mixed, got "modbus"']);
    const { file } = await localConfig();
    const noSystem = await sidegrid(["-c", file, "demo", "--json"]);
    expect([noSystem.code, noSystem.out, noSystem.err.trim()]).toEqual([1, "", "sidegrid: nothing is running: start the system with `sidegrid up` first"]);
    const badReadings = await sidegrid(["-c", file, "chaos", "--readings", "many"]);
    expect([badReadings.code, badReadings.err.trim()]).toEqual([2, 'sidegrid: --readings must be an integer ≥ 1, got "many"']);
    const badFault = await sidegrid(["-c", file, "chaos", "--faults", "gateway,everything"]);
    expect(badFault.code).toBe(2);
    expect(badFault.err.trim()).toMatch(/^sidegrid: --faults: unknown fault "everything"/);
    const chaosNoSystem = await sidegrid(["-c", file, "chaos"]);
    expect([chaosNoSystem.code, chaosNoSystem.err.trim()]).toEqual([1, "sidegrid: nothing is running: start the system with `sidegrid up` first"]);
    const badTimeout = await sidegrid(["-c", file, "demo", "--timeout", "soon"]);
    expect([badTimeout.code, badTimeout.err.trim()]).toEqual([2, 'sidegrid: --timeout must be a positive number of seconds, got "soon"']);
    const noAudit = await sidegrid(["-c", file, "audit", "--consumer", "0x0000000000000000000000000000000000000001"]);
    expect(noAudit.code).toBe(1);
    expect(noAudit.err.trim()).toMatch(/^sidegrid: no deployment in .*: run `sidegrid up` first$/);
    const noWho = await sidegrid(["-c", file, "audit"]);
    expect([noWho.code, noWho.err.trim()]).toEqual([2, "sidegrid: audit needs --consumer <address> or --report <file>"]);
    const noReport = await sidegrid(["-c", file, "audit", "--report", "/nonexistent/report.json"]);
    expect([noReport.code, noReport.err.trim()]).toEqual([2, "sidegrid: --report /nonexistent/report.json: no such file"]);
    const notReport = await sidegrid(["-c", file, "audit", "--report", file]);
    expect(notReport.code).toBe(2);
    expect(notReport.err.trim()).toMatch(/^sidegrid: --report .* is not an audit report: report\.consumer must be the consumer's address/);
    const noFed = await sidegrid(["-c", file, "federation", "start", "--member", "0"]);
    expect(noFed.code).toBe(1);
    expect(noFed.err.trim()).toMatch(/^sidegrid: no federation file at .*federation\.json: run `sidegrid up` first/);
  });
});
