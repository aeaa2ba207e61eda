import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { defaultConfig, devPrivateKey, loadConfig, networkRpcUrls, operatorKey, redisClusterNodes } from "./config";
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
    ["empty rpcUrls", '{"networks":{"blockpri":{"rpcUrls":[]}}}', /networks.blockpri.rpcUrls must be a non-empty array of URLs/],
    ["rpcUrls not an array", '{"networks":{"blockpri":{"rpcUrls":"http://a:1"}}}', /networks.blockpri.rpcUrls must be a non-empty array of URLs/],
    ["a bad URL in rpcUrls", '{"networks":{"blockpri":{"rpcUrls":["http://a:1","b:2"]}}}', /networks.blockpri.rpcUrls\[1\] must be an http\(s\) or ws\(s\) URL, got "b:2"/],
    ["a URL listed twice", '{"networks":{"blockpri":{"rpcUrls":["http://a:1","http://a:1"]}}}', /rpcUrls lists "http:\/\/a:1" twice/],
    ["an rpcUrl that is not rpcUrls[0]", '{"networks":{"blockpri":{"rpcUrl":"http://b:1","rpcUrls":["http://a:1","http://b:1"]}}}', /rpcUrl must be the first of rpcUrls \(the primary\): got "http:\/\/b:1" and rpcUrls\[0\] "http:\/\/a:1"/],
    ["quorum 0", '{"networks":{"blockpri":{"rpcUrls":["http://a:1","http://b:1"],"quorum":0}}}', /networks.blockpri.quorum must be a positive integer, got 0/],
    ["quorum above the URLs", '{"networks":{"blockpri":{"rpcUrls":["http://a:1","http://b:1"],"quorum":3}}}', /networks.blockpri.quorum \(3\) cannot exceed the number of rpcUrls \(2\)/],
    ["quorum on one URL", '{"networks":{"blocksec":{"quorum":2}}}', /networks.blocksec.quorum \(2\) cannot exceed the number of rpcUrls \(1\)/],
    ["several URLs on a local network", '{"networks":{"blockpri":{"rpcUrls":["http://a:1","http://b:1"],"local":true}}}', /a local network is one anvil node/],
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

  it("reads several endpoints and a quorum; rpcUrl is the first of rpcUrls", () => {
    const urls = ["https://a.example:8545", "wss://b.example/ws", "https://c.example"];
    const { dir, file } = withFile(JSON.stringify({ networks: { blocksec: { rpcUrls: urls, quorum: 2, confirmations: 3 }, blocktst: { rpcUrl: urls[0], rpcUrls: urls } } }));
    const cfg = loadConfig({ cwd: dir, file });
    expect(cfg.networks.blocksec).toMatchObject({ rpcUrl: urls[0], rpcUrls: urls, quorum: 2, confirmations: 3, local: false });
    expect(cfg.networks.blocktst).toMatchObject({ rpcUrl: urls[0], rpcUrls: urls, quorum: 1, local: false });
    // A single rpcUrl is a list of one; the defaults are too.
    expect(cfg.networks.blockpri).toMatchObject({ rpcUrl: "http://127.0.0.1:31001", rpcUrls: ["http://127.0.0.1:31001"], quorum: 1, confirmations: 0 });
    expect(networkRpcUrls(cfg.networks.blocksec)).toEqual(urls);
  });

  it("reads a Redis Cluster: local (masters × (1 + replicas) consecutive ports) or remote seed nodes", () => {
    expect(redisClusterNodes(defaultConfig().redis)).toBeUndefined();
    const local = withFile(JSON.stringify({ redis: { url: "redis://127.0.0.1:6590", port: 6590, cluster: true, replicas: 1 } }));
    const cfg = loadConfig({ cwd: local.dir, file: local.file });
    expect(redisClusterNodes(cfg.redis)).toEqual([6590, 6591, 6592, 6593, 6594, 6595].map((p) => `redis://127.0.0.1:${p}`));
    const remote = withFile(JSON.stringify({ redis: { url: "redis://10.0.0.5:7000", local: false, cluster: true, nodes: ["redis://10.0.0.5:7000", "redis://10.0.0.6:7000"] } }));
    expect(redisClusterNodes(loadConfig({ cwd: remote.dir, file: remote.file }).redis)).toEqual(["redis://10.0.0.5:7000", "redis://10.0.0.6:7000"]);
    for (const [redis, message] of [
      [{ cluster: true, masters: 2 }, /at least 3/],
      [{ local: false, cluster: true }, /redis.nodes must list/],
      [{ cluster: true, nodes: ["http://x:1"] }, /redis.nodes\[0\] must be a redis:\/\/ URL/],
      [{ cluster: "yes" }, /redis.cluster/],
    ] as const) {
      const f = withFile(JSON.stringify({ redis }));
      expect(() => loadConfig({ cwd: f.dir, file: f.file })).toThrow(message);
    }
  });

  it("takes a copy whose rpcUrl alone was changed as that one URL", () => {
    const n = { ...defaultConfig().networks.blockpri, rpcUrl: "http://127.0.0.1:9999" };
    expect(networkRpcUrls(n)).toEqual(["http://127.0.0.1:9999"]);
  });

  it("derives the well-known anvil dev keys", () => {
    expect(devPrivateKey(0)).toBe("0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80");
    expect(defaultConfig().networks.blocktst.port).toBe(31003);
  });
});
