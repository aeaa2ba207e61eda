// The ways around consent of issue 12, tried against a whole local system (`sidegrid up`: three
// anvil chains, Redis, three federation members, simulated meters, the gateway). Each block names
// the adversary and shows the attempt refused.
import fs from "node:fs";
import path from "node:path";
import { devPrivateKey, loadConfig, type SidegridConfig } from "@sidegrid/chain";
import { consumerKeys, createUi, readState, roleKey, stopAll, up, writeTestConfig, ROLES } from "@sidegrid/cli";

let cfg: SidegridConfig;
let dir: string;
const ui = createUi(process.stderr, true);

beforeAll(async () => {
  const t = await writeTestConfig([31721, 31722, 31723], { meters: 3 });
  dir = t.dir;
  cfg = loadConfig({ file: t.file });
  await up(cfg, ui);
}, 300_000);

afterAll(async () => {
  await stopAll(cfg, ui);
  fs.rmSync(dir, { recursive: true, force: true });
});

function* files(root: string): Generator<string> {
  for (const e of fs.readdirSync(root, { withFileTypes: true })) {
    const p = path.join(root, e.name);
    if (e.isDirectory()) yield* files(p);
    else if (e.isFile()) yield p;
  }
}

describe("whoever reads the data directory or the logs (another local user, a log shipper)", () => {
  it("finds every key only in files of mode 0600 inside a 0700 directory, and none in a log", () => {
    const gwConfig = path.join(cfg.dataDir, "gateway", "gateway.config.json");
    const masterKeyHex = (JSON.parse(fs.readFileSync(gwConfig, "utf8")) as { masterKeyHex: string }).masterKeyHex;
    expect(masterKeyHex).toMatch(/^[0-9a-f]{32}$/);
    const controlToken = fs.readFileSync(path.join(cfg.dataDir, "meters", "control.token"), "utf8").trim();
    expect(controlToken.length).toBeGreaterThanOrEqual(32);
    const secrets = new Map<string, string>([
      ["OSGP master key", masterKeyHex],
      ["simulator control token", controlToken],
    ]);
    for (let i = 0; i < 10; i++) secrets.set(`anvil dev key ${i}`, devPrivateKey(i));
    for (const r of ROLES) secrets.set(`${r} key`, roleKey(cfg, r));
    for (let i = 0; i < 3; i++) secrets.set(`member ${i} key`, devPrivateKey(20 + i));
    for (let m = 1; m <= 3; m++) {
      secrets.set(`household ${m} key`, consumerKeys(m).privateKey);
      secrets.set(`meter ${m} key`, consumerKeys(m).meterKey);
    }
    expect(fs.statSync(cfg.dataDir).mode & 0o777).toBe(0o700);
    const holders: string[] = [];
    const leaks: string[] = [];
    for (const f of files(cfg.dataDir)) {
      const text = fs.readFileSync(f).toString("latin1").toLowerCase();
      const found = [...secrets].filter(([, v]) => text.includes(v.replace(/^0x/, "").toLowerCase())).map(([k]) => k);
      if (found.length === 0) continue;
      const rel = path.relative(cfg.dataDir, f);
      holders.push(rel);
      const mode = fs.statSync(f).mode & 0o777;
      if (rel.startsWith("logs") || mode !== 0o600) leaks.push(`${rel} (mode ${mode.toString(8)}): ${found.join(", ")}`);
    }
    expect(leaks).toEqual([]);
    // The key files are where they should be, and nowhere else.
    expect(holders).toEqual(
      expect.arrayContaining([path.join("federation", "federation.json"), path.join("gateway", "gateway.config.json"), path.join("meters", "master.key"), path.join("meters", "control.token")]),
    );
  });

  it("reads no grid-level or per-household figure on the gateway's unauthenticated endpoints", async () => {
    const gw = readState(cfg)!.processes.find((p) => p.kind === "gateway")!.url!;
    const metrics = await (await fetch(`${gw}/metrics`)).text();
    expect(metrics).toMatch(/sidegrid_gateway_polls_total/);
    expect(metrics).not.toMatch(/sidegrid_grid_|_watts/);
    for (let m = 1; m <= 3; m++) expect(metrics.toLowerCase()).not.toContain(consumerKeys(m).address.slice(2).toLowerCase());
    const grid = await fetch(`${gw}/v1/operator/grid`);
    expect(grid.status).toBe(401);
    expect(JSON.stringify(await grid.json())).not.toMatch(/importW|exportW/);
  });
});
