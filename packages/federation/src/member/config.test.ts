import fs from "node:fs";
import path from "node:path";
import { Wallet } from "ethers";
import type { DeployFederationReturnType } from "../deploy";
import { FederationConfigError, MemberNotFoundError, isFederationError } from "../errors";
import { parseMemberArgs } from "../cli";
import { tmpDir } from "../test-utils/world";
import { DEFAULT_TUNING, loadFederationPeers, loadMemberConfig, localMemberKeys, writeMemberConfigs, type FederationConfigFile } from "./config";

const keys = localMemberKeys(3);
const deployment: DeployFederationReturnType = {
  chains: [
    { name: "blockpri", chainId: 31001, outbox: Wallet.createRandom().address, inbox: Wallet.createRandom().address, startBlock: 3, peg: null, wrappedToken: null },
    { name: "blocksec", chainId: 31002, outbox: Wallet.createRandom().address, inbox: Wallet.createRandom().address, startBlock: 5, peg: null, wrappedToken: null },
  ],
  members: keys.map((k) => new Wallet(k).address),
  threshold: 2,
  pauseThreshold: 1,
  unpauseThreshold: 2,
  homeChainId: null,
};
const networks = { blockpri: { rpcUrl: "http://127.0.0.1:31001", confirmations: 0 }, blocksec: { rpcUrl: "http://127.0.0.1:31002", confirmations: 2 } };

describe("member configuration", () => {
  const dir = tmpDir("config");
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("writes one file for every member and loads each member's view of it", () => {
    const file = path.join(dir, "federation.json");
    const written = writeMemberConfigs({ file, deployment, networks, memberKeys: keys, basePort: 7301, tuning: { takeoverMs: 500 } });
    expect(written.members.map((m) => m.url)).toEqual(["http://127.0.0.1:7301", "http://127.0.0.1:7302", "http://127.0.0.1:7303"]);
    expect((fs.statSync(file).mode & 0o777).toString(8)).toBe("600");
    const m1 = loadMemberConfig(file, 1);
    expect(m1.address).toBe(deployment.members[1]);
    expect(m1.url).toBe("http://127.0.0.1:7302");
    expect(m1.dataDir).toBe(path.join(dir, "federation", "member-1"));
    expect(m1.chains.map((c) => [c.name, c.chainId, c.startBlock, c.confirmations])).toEqual([
      ["blockpri", 31001, 3, 0],
      ["blocksec", 31002, 5, 2],
    ]);
    expect(m1.tuning).toEqual({ ...DEFAULT_TUNING, takeoverMs: 500 });
    expect(m1.peers.map((p) => p.address)).toEqual(deployment.members);
  });

  it("reads a host's own file: bind address, key file and data directory of its own entry only", () => {
    const hostDir = path.join(dir, "host-1");
    fs.mkdirSync(hostDir, { recursive: true });
    const base = writeMemberConfigs({ file: path.join(dir, "base.json"), deployment, networks, memberKeys: keys, urls: ["http://10.0.0.10:7301", "http://10.0.0.11:7301", "http://10.0.0.12:7301"] });
    fs.writeFileSync(path.join(hostDir, "key"), `${keys[1]!}\n`, { mode: 0o600 });
    const own: FederationConfigFile = {
      ...base,
      members: base.members.map((m, i) => (i === 1 ? { address: m.address, url: m.url, listen: "0.0.0.0", privateKeyFile: "key", dataDir: "data" } : { address: m.address, url: m.url })),
    };
    const file = path.join(hostDir, "federation.json");
    fs.writeFileSync(file, JSON.stringify(own));
    const m1 = loadMemberConfig(file, 1, {});
    expect([m1.address, m1.url, m1.listen, m1.dataDir]).toEqual([deployment.members[1], "http://10.0.0.11:7301", { host: "0.0.0.0", port: 7301 }, path.join(hostDir, "data")]);
    // Another member's entry in this host's file has no key.
    expect(() => loadMemberConfig(file, 0, {})).toThrow(FederationConfigError);
    expect(loadFederationPeers(file)).toEqual({ threshold: 2, peers: base.members.map((m) => ({ address: m.address, url: m.url })) });
    fs.writeFileSync(file, JSON.stringify({ ...own, members: own.members.map((m, i) => (i === 1 ? { ...m, listen: "not a host:port:x" } : m)) }));
    expect(() => loadFederationPeers(file)).toThrow(/members\[1\]\.listen must be host or host:port/);
  });

  it("takes keys from the environment when the file names a variable", () => {
    const file = path.join(dir, "prod.json");
    writeMemberConfigs({ file, deployment, networks, memberKeys: keys, keyEnvPrefix: "FED_KEY_" });
    expect(fs.readFileSync(file, "utf8")).not.toContain(keys[0]!.slice(2));
    expect(loadMemberConfig(file, 2, { FED_KEY_2: keys[2]!.slice(2) }).address).toBe(deployment.members[2]);
    const e = (() => {
      try {
        loadMemberConfig(file, 2, {});
      } catch (x) {
        return x;
      }
      return undefined;
    })();
    expect(e).toBeInstanceOf(FederationConfigError);
    expect(isFederationError(e, "CONFIG_INVALID")).toBe(true);
  });

  it("refuses bad files, unknown members and keys that do not match", () => {
    const file = path.join(dir, "bad.json");
    writeMemberConfigs({ file, deployment, networks, memberKeys: keys });
    expect(() => loadMemberConfig(file, 3)).toThrow(MemberNotFoundError);
    expect(() => loadMemberConfig(file, 3)).toThrow("member 3 does not exist (the configuration has 3 members, 0..2)");
    const cfg = JSON.parse(fs.readFileSync(file, "utf8"));
    for (const [mutate, msg] of [
      [(c: any) => (c.threshold = 1), "threshold must be an integer with n/2 < threshold <= n"],
      [(c: any) => (c.version = 2), "version must be 1"],
      [(c: any) => (c.chains[0].rpcUrl = "ftp://x"), "chains[0].rpcUrl must be an http(s) URL"],
      [(c: any) => (c.members[0].url = "localhost"), "members[0].url must look like http://host:port"],
      [(c: any) => (c.members[1].privateKey = keys[0]), "member 1's key belongs to"],
    ] as const) {
      const copy = JSON.parse(JSON.stringify(cfg));
      mutate(copy);
      fs.writeFileSync(file, JSON.stringify(copy));
      expect(() => loadMemberConfig(file, 1)).toThrow(msg);
    }
    fs.writeFileSync(file, "{not json");
    expect(() => loadMemberConfig(file, 0)).toThrow(FederationConfigError);
    expect(() => writeMemberConfigs({ file, deployment, networks, memberKeys: [keys[1]!, keys[0]!, keys[2]!] })).toThrow("member 0 key is for");
  });

  it("validates RelayPayload adapter sources", () => {
    const file = path.join(dir, "events.json");
    const source = { chain: "blockpri", contract: deployment.chains[0]!.outbox, event: "RelayPayload(uint256 indexed dstChainId, address indexed dstContract, bytes payload)", payloadArg: "payload", dstChainIdArg: "dstChainId", dstContractArg: "dstContract" };
    writeMemberConfigs({ file, deployment, networks, memberKeys: keys, eventSources: [source] });
    expect(loadMemberConfig(file, 0).eventSources).toEqual([source]);
    for (const [bad, msg] of [
      [{ ...source, chain: "nowhere" }, "eventSources[0].chain must name one of the chains"],
      [{ ...source, event: "not an event" }, "eventSources[0].event is not an event signature"],
      [{ ...source, payloadArg: "dstContract" }, "eventSources[0].payloadArg must name a bytes argument of the event"],
      [{ ...source, dstChainIdArg: undefined }, "eventSources[0] needs dstChainIdArg and dstContractArg, or routes"],
    ] as const) {
      writeMemberConfigs({ file, deployment, networks, memberKeys: keys, eventSources: [bad as never] });
      expect(() => loadMemberConfig(file, 0)).toThrow(msg);
    }
    writeMemberConfigs({ file, deployment, networks, memberKeys: keys, eventSources: [{ chain: "blockpri", contract: source.contract, event: "RelayPayload(bytes payload)", payloadArg: "payload", routes: [{ dstChainId: 31002, dstContract: source.contract }] }] });
    expect(loadMemberConfig(file, 0).eventSources[0]!.routes).toEqual([{ dstChainId: 31002, dstContract: source.contract }]);
  });

  it("carries an optional custody section, validated; files without one stay valid", () => {
    const file = path.join(dir, "custody.json");
    writeMemberConfigs({ file, deployment, networks, memberKeys: keys });
    expect(loadMemberConfig(file, 0).custody).toBeUndefined();
    const custody = { keyCustody: Wallet.createRandom().address, accessLedger: Wallet.createRandom().address, policyMirror: Wallet.createRandom().address, startBlock: 5 };
    writeMemberConfigs({ file, deployment, networks, memberKeys: keys, custody });
    expect(JSON.parse(fs.readFileSync(file, "utf8")).custody).toEqual(custody);
    expect(loadMemberConfig(file, 1).custody).toEqual(custody);
    const full = { ...custody, confirmations: 3, pollMs: 250, chain: "blocksec" };
    writeMemberConfigs({ file, deployment, networks, memberKeys: keys, custody: full });
    expect(loadMemberConfig(file, 2).custody).toEqual(full);
    for (const [bad, msg] of [
      [{ ...custody, keyCustody: "0x1234" }, "custody.keyCustody must be an address"],
      [{ ...custody, accessLedger: undefined }, "custody.accessLedger must be an address"],
      [{ ...custody, startBlock: -1 }, "custody.startBlock must be a non-negative integer"],
      [{ ...custody, startBlock: "5" }, "custody.startBlock must be a non-negative integer"],
      [{ ...custody, confirmations: 1.5 }, "custody.confirmations must be a non-negative integer"],
      [{ ...custody, pollMs: 0 }, "custody.pollMs must be a positive integer (ms)"],
      [{ ...custody, chain: "blocktst" }, 'custody.chain must name one of the chains (got "blocktst")'],
      [[custody], "custody must be an object"],
    ] as const) {
      writeMemberConfigs({ file, deployment, networks, memberKeys: keys, custody: bad as never });
      expect(() => loadMemberConfig(file, 0)).toThrow(msg);
    }
  });

  it("carries an optional checkpointer section, validated", () => {
    const file = path.join(dir, "checkpointer.json");
    const checkpointer = { accessCheckpoints: Wallet.createRandom().address, accessLedger: Wallet.createRandom().address, startBlock: 5, intervalBlocks: 10 };
    writeMemberConfigs({ file, deployment, networks, memberKeys: keys, checkpointer });
    expect(loadMemberConfig(file, 1).checkpointer).toEqual(checkpointer);
    for (const [bad, msg] of [
      [{ ...checkpointer, accessCheckpoints: "0x12" }, "checkpointer.accessCheckpoints must be an address"],
      [{ ...checkpointer, intervalBlocks: 0 }, "checkpointer.intervalBlocks must be a positive integer"],
      [{ ...checkpointer, startBlock: -1 }, "checkpointer.startBlock must be a non-negative integer"],
      [{ ...checkpointer, pollMs: 0 }, "checkpointer.pollMs must be a positive integer (ms)"],
      [{ ...checkpointer, chain: "blocktst" }, 'checkpointer.chain must name one of the chains (got "blocktst")'],
    ] as const) {
      writeMemberConfigs({ file, deployment, networks, memberKeys: keys, checkpointer: bad as never });
      expect(() => loadMemberConfig(file, 0)).toThrow(msg);
    }
  });

  it("parses the member command line", () => {
    expect(parseMemberArgs(["--member", "2", "--config", "f.json"])).toEqual({ member: 2, config: "f.json" });
    expect(() => parseMemberArgs(["--member", "x", "--config", "f.json"])).toThrow('--member must be a member index (0, 1, ...), got "x"');
    expect(() => parseMemberArgs(["--config", "f.json"])).toThrow("usage: sidegrid-federation-member --member <k> --config <file>");
    expect(() => parseMemberArgs(["--verbose"])).toThrow('unexpected argument "--verbose"');
  });
});
