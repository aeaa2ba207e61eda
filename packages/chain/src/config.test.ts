import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { defaultConfig, devPrivateKey, loadConfig, operatorKey } from "./config";
import { ConfigError } from "./errors";

function withFile(content: string): { dir: string; file: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "sidegrid-config-"));
  const file = path.join(dir, "sidegrid.config.json");
  fs.writeFileSync(file, content);
  return { dir, file };
}

describe("loadConfig", () => {
  it("falls back to embedded defaults: three local chains 31001-31003 and a local redis", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "sidegrid-config-"));
    const cfg = loadConfig({ cwd: dir, env: {} });
    expect(cfg.source).toBe("embedded defaults");
    expect([cfg.networks.blockpri.chainId, cfg.networks.blocksec.chainId, cfg.networks.blocktst.chainId]).toEqual([31001, 31002, 31003]);
    expect(cfg.networks.blocksec.rpcUrl).toBe("http://127.0.0.1:31002");
    expect(cfg.redis.url).toBe("redis://127.0.0.1:6390");
    expect(cfg.services).toEqual({ members: 3, threshold: 2, memberBasePort: 31011, gatewayPort: 31080, meters: 10, meterSpeed: 120, dlmsMeters: 2 });
  });

  it("overrides single service settings and keeps the other defaults", () => {
    const { dir, file } = withFile(JSON.stringify({ services: { meters: 0, gatewayPort: 9000 } }));
    const cfg = loadConfig({ cwd: dir, file });
    expect(cfg.services).toMatchObject({ meters: 0, gatewayPort: 9000, members: 3, threshold: 2, dlmsMeters: 0 });
  });

  it("reads SIDEGRID_CONFIG and treats a remote rpcUrl as a non-local network needing a key", () => {
    const { dir, file } = withFile(JSON.stringify({ networks: { blocksec: { rpcUrl: "https://besu.example:8545", chainId: 1337 } } }));
    const cfg = loadConfig({ cwd: dir, env: { SIDEGRID_CONFIG: file } });
    expect(cfg.networks.blocksec).toMatchObject({ rpcUrl: "https://besu.example:8545", chainId: 1337, local: false });
    expect(cfg.networks.blockpri.local).toBe(true);
    expect(() => operatorKey(cfg, "blocksec", {})).toThrow(/set SIDEGRID_BLOCKSEC_PRIVATE_KEY/);
    const key = `0x${"11".repeat(32)}`;
    expect(operatorKey(cfg, "blocksec", { SIDEGRID_BLOCKSEC_PRIVATE_KEY: key })).toBe(key);
    expect(operatorKey(cfg, "blockpri", {})).toBe(devPrivateKey(0));
  });

  it.each([
    ["not json", "{", /not valid JSON/],
    ["unknown network", '{"networks":{"mainnet":{}}}', /unknown network "mainnet"/],
    ["bad chainId", '{"networks":{"blockpri":{"chainId":-1}}}', /networks.blockpri.chainId must be a positive integer/],
    ["bad url", '{"networks":{"blockpri":{"rpcUrl":"localhost:8545"}}}', /rpcUrl must be an http/],
    ["unknown service setting", '{"services":{"gateways":2}}', /unknown services.gateways/],
    ["threshold above members", '{"services":{"members":2,"threshold":3}}', /threshold \(3\) cannot exceed services.members \(2\)/],
    ["more DLMS meters than meters", '{"services":{"meters":3,"dlmsMeters":4}}', /dlmsMeters \(4\) cannot exceed services.meters \(3\)/],
    ["duplicate chain ids", '{"networks":{"blockpri":{"chainId":31002}}}', /three different chainIds/],
  ])("rejects %s with one clear ConfigError", (_name, content, message) => {
    const { dir, file } = withFile(content);
    let err: unknown;
    try {
      loadConfig({ cwd: dir, file });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).code).toBe("CONFIG_INVALID");
    expect((err as ConfigError).shortMessage).toMatch(message);
  });

  it("loads the production example in docker/ as three remote networks", () => {
    const file = path.join(__dirname, "..", "..", "..", "docker", "sidegrid.config.json");
    const cfg = loadConfig({ file, env: {} });
    expect(Object.values(cfg.networks).map((n) => [n.chainId, n.local, n.confirmations])).toEqual([
      [41001, false, 2],
      [41002, false, 2],
      [41003, false, 2],
    ]);
    expect(cfg.redis).toMatchObject({ url: "redis://redis:6379", local: false });
    expect(cfg.services).toMatchObject({ members: 7, threshold: 5, meters: 0 });
  });

  it("derives the well-known anvil dev keys", () => {
    expect(devPrivateKey(0)).toBe("0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80");
    expect(defaultConfig().networks.blocktst.port).toBe(31003);
  });
});
