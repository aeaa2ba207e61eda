import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { PassThrough } from "node:stream";
import { Wallet } from "ethers";
import { loadConfig } from "@sidegrid/chain";
import { run } from "../program";
import { CliError } from "../errors";
import { decodeQbftExtraData, encodeQbftExtraData, qbftGenesis, QBFT_MIX_HASH } from "./genesis";
import { generateComposeGenesis, validatorIp } from "./generate";

const ROOT = path.resolve(__dirname, "../../../..");
const COMPOSE_FILE = path.join(ROOT, "docker/compose.yaml");
const PROD_CONFIG = path.join(ROOT, "docker/sidegrid.config.json");
const CHAINS = [
  ["blockpri", 41001],
  ["blocksec", 41002],
  ["blocktst", 41003],
] as const;

// Besu's QBFT documentation shows this genesis extraData (four validators, block-header selection).
const BESU_DOC_EXTRA_DATA =
  "0xf87aa00000000000000000000000000000000000000000000000000000000000000000f8549464a702e6263b7297a96638cac6ae65e6541f4169943923390ad55e90c237593b3b0e401f3b08a0318594aefdb9a738c9f433e5b6b212a6d62f6370c2f69294c7eeb9a4e00ce683cf93039b212648e01c6c6b78c080c0";

const made: string[] = [];
function tmpDir(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), "sidegrid-compose-"));
  made.push(d);
  return d;
}
afterAll(() => {
  for (const d of made) fs.rmSync(d, { recursive: true, force: true });
});

async function sidegrid(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const errStream = new PassThrough();
  let err = "";
  errStream.on("data", (d: Buffer) => (err += d.toString()));
  let out = "";
  process.exitCode = undefined;
  try {
    const code = await run(args, { stdout: (s) => (out += `${s}\n`), stderr: errStream as unknown as NodeJS.WriteStream });
    return { code, out, err };
  } finally {
    process.exitCode = undefined;
  }
}

/** Runs Debian's docker-compose 1.29.2; fails (never skips) when it is missing: CI installs it. */
function dockerCompose(args: string[], cwd = ROOT): { status: number; stdout: string; stderr: string } {
  const r = spawnSync("docker-compose", args, { cwd, encoding: "utf8", timeout: 60_000 });
  if (r.error && (r.error as NodeJS.ErrnoException).code === "ENOENT") {
    throw new Error("docker-compose is not installed: `apt-get install -y docker-compose` (Debian package docker-compose, v1.29.2) — CI installs it");
  }
  if (r.error) throw r.error;
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** docker-compose is Python with PyYAML: its own parser reads back what `config` printed. */
function parseYaml(text: string): Record<string, any> {
  const r = spawnSync("python3", ["-c", "import json, sys, yaml; print(json.dumps(yaml.safe_load(sys.stdin)))"], { input: text, encoding: "utf8" });
  if (r.status !== 0) throw new Error(`cannot parse docker-compose's output: ${r.stderr}`);
  return JSON.parse(r.stdout) as Record<string, any>;
}

describe("QBFT extraData", () => {
  test("decodes Besu's documented genesis extraData and encodes it back byte for byte", () => {
    const x = decodeQbftExtraData(BESU_DOC_EXTRA_DATA);
    expect(x.vanity).toBe(`0x${"00".repeat(32)}`);
    expect(x.validators.map((v) => v.toLowerCase())).toEqual([
      "0x64a702e6263b7297a96638cac6ae65e6541f4169",
      "0x3923390ad55e90c237593b3b0e401f3b08a03185",
      "0xaefdb9a738c9f433e5b6b212a6d62f6370c2f692",
      "0xc7eeb9a4e00ce683cf93039b212648e01c6c6b78",
    ]);
    expect(x).toMatchObject({ votes: [], round: 0, seals: [] });
    expect(encodeQbftExtraData(x.validators)).toBe(BESU_DOC_EXTRA_DATA);
  });

  test("rejects what is not QBFT extraData, and an empty or repeated validator set", () => {
    expect(() => decodeQbftExtraData("0xc0")).toThrow(CliError);
    expect(() => decodeQbftExtraData("0x1234")).toThrow(/not a QBFT extraData/);
    expect(() => encodeQbftExtraData([])).toThrow(/at least one validator/);
    const a = Wallet.createRandom().address;
    expect(() => encodeQbftExtraData([a, a])).toThrow(/repeats/);
    expect(() => qbftGenesis({ chainId: 1, validators: [a], blockPeriodSeconds: 0 })).toThrow(CliError);
  });
});

describe("sidegrid compose genesis", () => {
  test("writes per chain the configured chainId, the generated validators in extraData, the block period, 0600 keys and static nodes", () => {
    const out = tmpDir();
    const config = loadConfig({ file: PROD_CONFIG });
    const r = generateComposeGenesis({ config, outDir: out, validators: 4, blockPeriodSeconds: 2 });
    expect(r.chains.map((c) => [c.network, c.chainId])).toEqual(CHAINS.map(([n, id]) => [n, id]));
    CHAINS.forEach(([network, chainId], ci) => {
      const dir = path.join(out, network);
      const genesis = JSON.parse(fs.readFileSync(path.join(dir, "genesis.json"), "utf8"));
      expect(genesis.config.chainId).toBe(chainId);
      expect(genesis.config.qbft).toEqual({ blockperiodseconds: 2, epochlength: 30000, requesttimeoutseconds: 4 });
      expect(genesis.mixHash).toBe(QBFT_MIX_HASH);
      const keys = [0, 1, 2, 3].map((i) => fs.readFileSync(path.join(dir, `validator-${i}`, "key"), "utf8"));
      for (let i = 0; i < 4; i++) expect(fs.statSync(path.join(dir, `validator-${i}`, "key")).mode & 0o777).toBe(0o600);
      const addresses = keys.map((k) => new Wallet(k).address);
      expect(new Set(addresses).size).toBe(4);
      expect(decodeQbftExtraData(genesis.extraData).validators).toEqual(addresses);
      // Each enode names the validator's public key at the fixed address compose.yaml gives it.
      const statics = JSON.parse(fs.readFileSync(path.join(dir, "static-nodes.json"), "utf8")) as string[];
      expect(statics).toEqual(keys.map((k, i) => `enode://${new Wallet(k).signingKey.publicKey.slice(4)}@${validatorIp(ci, i)}:30303`));
    });
    // The three chains never share a validator key.
    expect(new Set(r.chains.flatMap((c) => c.validators.map((v) => v.address))).size).toBe(12);
  });

  test("keeps existing keys on a second run and funds the accounts whose keys sit under secrets/", () => {
    const out = tmpDir();
    const config = loadConfig({ file: PROD_CONFIG });
    const first = generateComposeGenesis({ config, outDir: out, validators: 4, blockPeriodSeconds: 2 });
    const member = Wallet.createRandom();
    fs.mkdirSync(path.join(out, "secrets"));
    fs.writeFileSync(path.join(out, "secrets", "SIDEGRID_MEMBER_KEY_0"), `${member.privateKey}\n`, { mode: 0o600 });
    fs.writeFileSync(path.join(out, "secrets", "SIDEGRID_METERS_MASTER_KEY"), "00".repeat(16), { mode: 0o600 });
    const extra = Wallet.createRandom().address;
    const second = generateComposeGenesis({ config, outDir: out, validators: 4, blockPeriodSeconds: 5, fund: [extra] });
    expect(second.chains.map((c) => c.validators.map((v) => v.address))).toEqual(first.chains.map((c) => c.validators.map((v) => v.address)));
    expect(second.chains.every((c) => c.validators.every((v) => v.reused))).toBe(true);
    expect(second.funded).toEqual([extra, member.address]);
    const genesis = JSON.parse(fs.readFileSync(path.join(out, "blocksec", "genesis.json"), "utf8"));
    expect(Object.keys(genesis.alloc)).toEqual([extra, member.address].map((a) => a.slice(2).toLowerCase()));
    expect(genesis.config.qbft.blockperiodseconds).toBe(5);
  });

  test("the CLI subcommand writes the files; bad arguments are BAD_ARGUMENT (exit 2) with one line", async () => {
    const out = tmpDir();
    const ok = await sidegrid(["--config", PROD_CONFIG, "compose", "genesis", "--out", out, "--json"]);
    expect(ok.err).toBe("");
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.out).chains).toHaveLength(3);
    // The brief's spelling: --config after the subcommand.
    const after = await sidegrid(["compose", "genesis", "--config", PROD_CONFIG, "--out", tmpDir(), "--validators", "4", "--block-time", "2"]);
    expect(after.code).toBe(0);
    expect(after.out).toMatch(/blocktst-validator-3/);
    for (const [args, message] of [
      [["--validators", "0"], /--validators must be an integer from 1 to 9, got "0"/],
      [["--block-time", "1.5"], /--block-time must be an integer/],
      [["--fund", "0x1234"], /--fund takes 0x-prefixed 20-byte addresses/],
    ] as const) {
      const bad = await sidegrid(["--config", PROD_CONFIG, "compose", "genesis", "--out", tmpDir(), ...args]);
      expect(bad.code).toBe(2);
      expect(bad.err).toMatch(message);
    }
    const saved = process.env.SIDEGRID_CONFIG;
    delete process.env.SIDEGRID_CONFIG;
    try {
      const noConfig = await sidegrid(["compose", "genesis", "--out", tmpDir()]);
      expect(noConfig.code).toBe(2);
      expect(noConfig.err).toMatch(/compose needs the production config/);
    } finally {
      if (saved !== undefined) process.env.SIDEGRID_CONFIG = saved;
    }
  });
});

describe("docker/compose.yaml", () => {
  test("docker-compose config accepts it on a clean clone and lists every service", () => {
    // `config` checks neither bind-mount sources nor secret files: nothing generated is needed.
    const r = dockerCompose(["-f", COMPOSE_FILE, "config"]);
    expect(r.stderr).not.toMatch(/ERROR/);
    expect(r.status).toBe(0);
    const doc = parseYaml(r.stdout);
    const services = Object.keys(doc.services).sort();
    const validators = CHAINS.flatMap(([n]) => [0, 1, 2, 3].map((i) => `${n}-validator-${i}`));
    const members = Array.from({ length: 7 }, (_, k) => `member-${k}`);
    expect(services).toEqual([...validators, "redis", "deploy", ...members, "gateway", "meters"].sort());

    // Validators: pinned Besu, the generated genesis and own key, the fixed address of the static nodes.
    CHAINS.forEach(([network], ci) => {
      for (let i = 0; i < 4; i++) {
        const s = doc.services[`${network}-validator-${i}`];
        expect(s.image).toMatch(/^hyperledger\/besu:\d+\.\d+\.\d+$/);
        expect(s.networks.sidegrid.ipv4_address).toBe(validatorIp(ci, i));
        expect(s.command).toContain(`--p2p-host=${validatorIp(ci, i)}`);
        expect(s.volumes.some((v: string) => v.endsWith(`docker/generated/${network}/validator-${i}/key:/config/key:ro`))).toBe(true);
        expect(s.healthcheck.test.join(" ")).toMatch(/liveness/);
      }
      // The RPC name sidegrid.config.json points at.
      expect(doc.services[`${network}-validator-0`].networks.sidegrid.aliases).toEqual([`${network}-rpc`]);
    });
    const prod = JSON.parse(fs.readFileSync(PROD_CONFIG, "utf8"));
    for (const [network] of CHAINS) expect(prod.networks[network].rpcUrl).toBe(`http://${network}-rpc:8545`);
    expect(prod.redis.url).toBe("redis://redis:6379");
    expect(doc.services.redis.command).toEqual(["redis-server", "--appendonly", "yes"]);

    // Members: one secret and one volume each, nobody else's.
    for (let k = 0; k < 7; k++) {
      const m = doc.services[`member-${k}`];
      expect(m.secrets).toEqual([{ source: `SIDEGRID_MEMBER_KEY_${k}` }]);
      expect(m.volumes).toContain(`member-${k}-data:/member-data:rw`);
      expect(m.command).toEqual(expect.arrayContaining(["--member", String(k)]));
      expect(m.depends_on.deploy.condition).toBe("service_completed_successfully");
      expect(m.healthcheck).toBeDefined();
    }
    // `config` does not check these references itself: every secret and network a service names is declared.
    for (const [name, svc] of Object.entries<any>(doc.services)) {
      for (const sec of svc.secrets ?? []) expect([name, Object.keys(doc.secrets)]).toEqual([name, expect.arrayContaining([sec.source])]);
      for (const net of Object.keys(svc.networks ?? {})) expect([name, Object.keys(doc.networks)]).toEqual([name, expect.arrayContaining([net])]);
    }
    expect(doc.secrets.SIDEGRID_MEMBER_KEY_6.file).toBe(path.join(ROOT, "docker/generated/secrets/SIDEGRID_MEMBER_KEY_6"));
    expect(doc.services.gateway.depends_on).toMatchObject({ redis: { condition: "service_healthy" }, meters: { condition: "service_healthy" } });
    for (const s of ["deploy", "gateway", "meters", "member-0"]) expect(doc.services[s].build).toMatchObject({ context: ROOT, dockerfile: "docker/Dockerfile" });
  });

  // What 1.29.2's `config` checks: an undefined service in depends_on and an undeclared named volume
  // fail it; an undeclared secret or network does not (only `up` would notice), hence the checks above.
  test.each([
    ["a depends_on naming no service", "      deploy:\n        condition: service_completed_successfully\n", "      deploy-missing:\n        condition: service_completed_successfully\n", /depends on service 'deploy-missing' which is undefined/],
    ["a named volume never declared", "member-3-data:/member-data", "member-3-undeclared:/member-data", /member-3-undeclared.*no declaration was found/],
  ])("docker-compose config rejects %s", (_name, from, to, message) => {
    const dir = tmpDir();
    const source = fs.readFileSync(COMPOSE_FILE, "utf8");
    expect(source).toContain(from);
    fs.writeFileSync(path.join(dir, "compose.yaml"), source.replace(from, to));
    const r = dockerCompose(["-f", path.join(dir, "compose.yaml"), "config"], dir);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(message);
  });
});
