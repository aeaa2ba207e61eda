import { InvalidConfigError } from "./errors";
import { validateGatewayConfig } from "./config";
import { keyPrefixFor, redisTargetOf } from "./redis";

const base = { dataDir: "/tmp/x", blocksec: { rpcUrl: "http://127.0.0.1:1", chainId: 1, addresses: { policyMirror: `0x${"1".repeat(40)}`, meterDataLedger: `0x${"2".repeat(40)}`, accessLedger: `0x${"3".repeat(40)}`, tradeLog: `0x${"4".repeat(40)}` } } };

describe("the gateway's Redis target", () => {
  it("takes one server or a cluster's seed nodes, and refuses neither", () => {
    expect(redisTargetOf(validateGatewayConfig({ ...base, redisUrl: "redis://h:1" }))).toEqual({ url: "redis://h:1" });
    expect(redisTargetOf(validateGatewayConfig({ ...base, redisCluster: ["redis://a:7000", "redis://b:7001"] }))).toEqual({ cluster: ["redis://a:7000", "redis://b:7001"] });
    expect(() => validateGatewayConfig(base)).toThrow(InvalidConfigError);
    expect(() => validateGatewayConfig({ ...base, redisCluster: [] })).toThrow(/redisCluster/);
    expect(() => validateGatewayConfig({ ...base, redisUrl: "redis://h:1", shard: { leaseMs: 10 } })).toThrow(/shard\/leaseMs/);
    expect(() => validateGatewayConfig({ ...base, redisUrl: "redis://h:1", poll: { ack: "never" } })).toThrow(/poll\/ack/);
    // The ingest block's keys are the pipeline's options: a misspelt or negative one is refused, not passed on.
    expect(() => validateGatewayConfig({ ...base, redisUrl: "redis://h:1", ingest: { holdUndecided: 1000 } })).toThrow(/ingest/);
    expect(() => validateGatewayConfig({ ...base, redisUrl: "redis://h:1", ingest: { holdUndecidedMs: -1 } })).toThrow(/ingest\/holdUndecidedMs/);
    expect(validateGatewayConfig({ ...base, redisUrl: "redis://h:1", ingest: { holdUndecidedMs: 0, driftThresholdMs: 1.5e6 } }).ingest).toEqual({ holdUndecidedMs: 0, driftThresholdMs: 1.5e6 });
    expect(validateGatewayConfig({ ...base, redisUrl: "redis://h:1", shard: { group: "u1", id: "gw-a", leaseMs: 6000 }, poll: { ack: "anchored" } }).shard).toEqual({ group: "u1", id: "gw-a", leaseMs: 6000 });
  });

  it("takes several BlockSEC endpoints, the configured rpcUrl first, and a quorum no larger than the list", () => {
    const sec = { ...base.blocksec, rpcUrls: ["http://127.0.0.1:1", "http://127.0.0.2:1"], quorum: 2 };
    expect(validateGatewayConfig({ ...base, redisUrl: "redis://h:1", blocksec: sec }).blocksec.rpcUrls).toEqual(sec.rpcUrls);
    expect(() => validateGatewayConfig({ ...base, redisUrl: "redis://h:1", blocksec: { ...sec, rpcUrls: ["http://127.0.0.2:1"] } })).toThrow(/blocksec\/rpcUrls/);
    expect(() => validateGatewayConfig({ ...base, redisUrl: "redis://h:1", blocksec: { ...sec, quorum: 3 } })).toThrow(/blocksec\/quorum/);
  });

  it("puts a hash tag in the key prefix on a cluster, and refuses a configured prefix without one", () => {
    const acct = "0xAbC0000000000000000000000000000000000001";
    expect(keyPrefixFor({ url: "redis://h:1" }, undefined, acct)).toBe("sidegrid:gw:0xabc0000000000000000000000000000000000001");
    expect(keyPrefixFor({ cluster: ["redis://h:1"] }, undefined, acct)).toBe("{sidegrid:gw:0xabc0000000000000000000000000000000000001}");
    expect(keyPrefixFor({ cluster: ["redis://h:1"] }, "{gw1}", acct)).toBe("{gw1}");
    expect(() => keyPrefixFor({ cluster: ["redis://h:1"] }, "gw1", acct)).toThrow(expect.objectContaining({ code: "INVALID_CONFIG", field: "queuePrefix" }));
  });
});
