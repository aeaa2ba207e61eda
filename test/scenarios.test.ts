// The seed paper's scenarios end to end on a whole local system (three anvil chains, Redis, three
// federation member processes, simulated Pi meters, the gateway), exactly as `sidegrid up` and
// `sidegrid demo` run them, with every outcome asserted; plus the paper's privacy-violation test.
import fs from "node:fs";
import path from "node:path";
import { Wallet, hexlify, randomBytes } from "ethers";
import { BlockPriClient, signMeterBinding } from "@sidegrid/blockpri";
import { ContractRevertError, connectNetwork, isAlive, loadConfig, type SidegridConfig } from "@sidegrid/chain";
import { BlockSecClient, type MeterRecord } from "@sidegrid/blocksec";
import { consumerKeys, createUi, readDeployment, readState, roleKey, runDemo, stopAll, up, writeTestConfig, type DemoReport, type SystemDeployment } from "@sidegrid/cli";
import { meterIdToBytes32, meterSimulatorControl, readSecretFile, signRequest } from "@sidegrid/meter-gateway";

let cfg: SidegridConfig;
let dir: string;
let d: SystemDeployment;
let report: DemoReport;
const narration: string[] = [];
const ui = createUi(process.stderr, true);

beforeAll(async () => {
  // Meter 6 speaks DLMS/COSEM (over the IP wrapper): the demo's fifth household, Erin, owns it.
  // Meter 5 stays unbound (issue 12's stranger tries to claim it).
  const t = await writeTestConfig([31601, 31602, 31603], { meters: 6, meterSpeed: 240, dlmsMeters: 1 });
  dir = t.dir;
  cfg = loadConfig({ file: t.file });
  await up(cfg, ui);
  d = readDeployment(cfg);
  report = await runDemo(cfg, { say: (l) => narration.push(l), timeoutMs: 90_000 });
}, 240_000);

afterAll(async () => {
  const pids = (readState(cfg)?.processes ?? []).map((p) => p.pid);
  await stopAll(cfg, ui);
  expect(pids.filter(isAlive)).toEqual([]);
  fs.rmSync(dir, { recursive: true, force: true });
});

const sec = async (key: string) => {
  const n = await connectNetwork({ config: cfg, network: "blocksec", privateKey: key, requireFunds: false });
  return { client: new BlockSecClient({ sender: n.sender, addresses: { policyMirror: d.blocksec.policyMirror, meterDataLedger: d.blocksec.meterDataLedger, accessLedger: d.blocksec.accessLedger, tradeLog: d.blocksec.tradeLog } }), close: () => n.provider.destroy() };
};

describe("scenario (i): consumers register meters and set preferences on BlockPRI", () => {
  it("registers five households (Erin's meter speaks DLMS) and relays their choices to BlockSEC and BlockTST", () => {
    const c = report.scenario1.consumers;
    expect(c.map((x) => [x.name, x.meter, x.address])).toEqual([1, 2, 3, 4, 6].map((m, i) => [["Alice", "Bob", "Carol", "Dave", "Erin"][i], m, consumerKeys(m).address]));
    for (const x of c) {
      expect(x.registerTx).toMatch(/^0x[0-9a-f]{64}$/);
      expect(x.preferenceTxs).toHaveLength(2);
    }
    expect(report.scenario1.relayedToBlockSecMs).toBeGreaterThanOrEqual(0);
    expect(report.scenario1.relayedToBlockSecMs).toBeLessThan(90_000);
  });
});

describe("scenario (ii): CP and CC trades on BlockTST with meter-confirmed delivery", () => {
  it("prices the four situations of Table 3 at 30 / 20 / 30 / 10 SGT", () => {
    expect(report.scenario2.trades.map((t) => [t.situation, t.kind, t.demand, t.generation, t.dataSharing, t.energyKWh, t.priceSgt])).toEqual([
      [1, "CP", 75, 25, false, 50, "30"],
      [2, "CC", 25, 75, false, 50, "20"],
      [3, "CP", 75, 25, true, 50, "30"],
      [4, "CC", 25, 75, true, 50, "10"],
    ]);
    expect(report.scenario2.table3Reproduced).toBe(true);
  });

  it("lets Bob trade from a certified trading account that no BlockTST log ties to his identity, and seals the trade into his own log", () => {
    const t = report.scenario2.tradingAccount;
    expect(t).toMatchObject({ household: "Bob", identityOnBlockTst: false, sealedInHisLog: true, certifiedBy: d.accounts.installer });
    expect(t.account).not.toBe(consumerKeys(2).address);
    expect(t.deliverySigner).not.toBe(consumerKeys(2).meterSigner);
  });

  it("seals a trade into the buyer's trade log on BlockSEC only when she lets utilities monitor trades", () => {
    expect(report.scenario2.trades.map((t) => t.sealedOnBlockSec)).toEqual([false, false, true, true]);
  });
});

describe("scenario (iii): monitoring, a denied read, the stored structure and a court audit", () => {
  it("anchors the consenting consumers' readings and nothing of the one who refused", () => {
    expect(report.scenario3.anchoredForConsenting.find((x) => x.consumer === "Alice")!.records).toBeGreaterThan(0);
    expect(report.scenario3.refusingConsumerRecords).toBe(0);
  });

  it("anchors the readings of Erin's DLMS meter like those of the Pi meters", async () => {
    expect(report.scenario1.consumers.map((c) => [c.name, c.meter, c.protocol])).toEqual([
      ["Alice", 1, "osgp-tcp"],
      ["Bob", 2, "osgp-tcp"],
      ["Carol", 3, "osgp-tcp"],
      ["Dave", 4, "osgp-tcp"],
      ["Erin", 6, "dlms-wrapper"],
    ]);
    expect(report.scenario3.anchoredForConsenting.find((x) => x.consumer === "Erin")!.records).toBeGreaterThan(0);
    const s = await sec(roleKey(cfg, "utility"));
    try {
      const recs = await s.client.storedRecords({ consumer: consumerKeys(6).address, fromBlock: d.blocksec.startBlock });
      expect(recs.length).toBeGreaterThan(0);
      expect(recs.every((r) => BigInt(r.record.meterId) === 6n && r.record.resolution === "QUARTER_HOURLY")).toBe(true);
    } finally {
      s.close();
    }
  });

  it("returns Alice's readings after a logged grant, each provable against its anchored root, opened only with her key", () => {
    const g = report.scenario3.grant;
    expect(g).toMatchObject({ granted: true, reason: "NONE", requester: d.accounts.utility, consumer: consumerKeys(1).address, proofVerifiedOnChain: true });
    expect(g.readings).toBeGreaterThan(0);
    expect(g.opened).toMatchObject({ meterId: 1 });
    expect(Number(g.opened!.energyImportWh)).toBeGreaterThan(0);
  });

  it("denies the utility's read of Carol's data and records the attempt (Figure 10)", () => {
    expect(report.scenario3.denial).toMatchObject({ granted: false, reason: "NOT_PERMITTED", requester: d.accounts.utility, consumer: consumerKeys(3).address });
    expect(report.scenario3.denial.txHash).toMatch(/^0x[0-9a-f]{64}$/);
  });

  it("shows Alice's stored structure: destination, value in SGT and the OSGP table (Figure 11)", () => {
    const f = report.scenario3.figure11;
    // Her trades as the utility opened them after a TRADES grant and the federation's release.
    const mine = report.scenario2.trades.filter((t) => t.dataSharing).map((t) => t.tradeId);
    expect(f.trades.filter((t) => mine.includes(t.tradeId)).map((t) => t.valueSgt)).toEqual(["30", "10"]);
    expect(f.trades.every((t) => /^0x[0-9a-fA-F]{40}$/.test(t.destination) && t.proven)).toBe(true);
    expect(f.tradeGrant.keysReleased).toBeGreaterThan(0);
    expect(f.osgpRecords.length).toBeGreaterThan(0);
    for (const r of f.osgpRecords) {
      expect(r.resolution).toBe("QUARTER_HOURLY");
      expect((r.osgpPlaintext!.length - 2) / 2).toBe(144);
      expect(r.ciphertext).not.toContain(r.osgpPlaintext!.slice(2));
    }
  });

  it("lets a court see both the granted and the denied attempts, with the hash chain verified", () => {
    const [alice, carol] = report.scenario3.audit;
    expect(alice).toMatchObject({ consumer: "Alice", ok: true, granted: 2, denied: 0 }); // her readings and her trades
    expect(carol).toMatchObject({ consumer: "Carol", ok: true, granted: 0, denied: 1 });
    expect(carol!.courtReadTx).toMatch(/^0x[0-9a-f]{64}$/);
  });
});

describe("federation: peg round trip and revocation", () => {
  it("locks SGT, mints wSGT on BlockPRI, burns it and releases the SGT", () => {
    expect(report.scenario4.peg).toMatchObject({ amountSgt: "40", roundTripOk: true });
  });

  it("makes a revocation on BlockPRI refuse the next request on BlockSEC", () => {
    expect(report.scenario4.revocation.afterRevocation).toMatchObject({ granted: false, reason: "NOT_PERMITTED" });
  });

  it("reports the whole demo as ok and narrates every scenario", () => {
    expect(report.ok).toBe(true);
    for (const s of ["Scenario (i)", "Scenario (ii)", "Scenario (iii)", "Federation", "Scenario (iv)"]) expect(narration.some((l) => l.startsWith(s))).toBe(true);
  });
});

describe("scenario (iv): demand response and day-ahead DSM", () => {
  it("publishes the day-ahead price from the DSM game and settles that day on BlockTST", () => {
    const dr = report.demandResponse!;
    expect(dr.prices.slots).toBe(96);
    expect(dr.dsm.parAfter).toBeLessThan(dr.dsm.parBefore);
    expect(dr.dsm.households).toBe(100);
  });

  it("runs the households' rules at their meters' reports: Alice's battery discharges and Bob's washer stops during the event, both back to their own behaviour after", () => {
    const dr = report.demandResponse!;
    const did = (h: string, device: string, action: string) => dr.actions.filter((a) => a.household === h && a.device === device && a.action === action);
    expect(did("Alice", "battery", "discharge").map((a) => a.drEventId)).toEqual([dr.event.id]);
    expect(did("Bob", "washer", "off").map((a) => a.drEventId)).toEqual([dr.event.id]);
    expect(did("Alice", "battery", "auto").length).toBeGreaterThanOrEqual(1);
    expect(did("Bob", "washer", "auto").length).toBeGreaterThanOrEqual(1);
    // Never an EV charge while the event runs: her later rule wins.
    expect(did("Alice", "ev", "on").filter((a) => a.atMs >= dr.event.start * 1000 && a.atMs < dr.event.end * 1000)).toEqual([]);
  });

  it("pays Alice for the energy she saved, computed from her anchored readings, as she computes it herself", () => {
    const e = report.demandResponse!.efficiency;
    expect(e.savedWh).toBeGreaterThan(0);
    expect(e.savedWh).toBe(e.baselineWh - e.actualWh);
    expect(e.independentSavedWh).toBe(e.savedWh);
    expect(e.balanceDeltaSgt).toBe(e.rewardSgt);
    expect(Number(e.rewardSgt)).toBeCloseTo(e.savedWh / 1000, 9);
    expect(e.payTx).toMatch(/^0x[0-9a-f]{64}$/);
  });
});

describe("the paper's privacy-violation test (§5.4)", () => {
  it("refuses a distributor the history of a consumer who protected herself, on chain and through the gateway", async () => {
    const carol = consumerKeys(3);
    const company = await sec(roleKey(cfg, "company"));
    try {
      // A distributor other than the utility: Carol refused it too.
      await expect(company.client.getEnergyUsage(carol.address)).rejects.toMatchObject({ name: "AccessDeniedError", reason: "NOT_PERMITTED" });
      // Not a distributor at all: refused for that reason, and recorded as well.
      const stranger = Wallet.createRandom();
      const before = (await company.client.accessHead(carol.address)).count;
      const op = await sec(roleKey(cfg, "prosumer"));
      try {
        await expect(op.client.getEnergyUsage(carol.address)).rejects.toMatchObject({ name: "AccessDeniedError", reason: "NOT_A_DISTRIBUTOR" });
      } finally {
        op.close();
      }
      expect((await company.client.accessHead(carol.address)).count).toBe(before + 1);
      // The gateway's API serves a consumer's readings to that consumer only.
      const gw = readState(cfg)!.processes.find((p) => p.kind === "gateway")!.url!;
      const path = `/v1/consumers/${carol.address}/readings`;
      const utility = new Wallet(roleKey(cfg, "utility"));
      const asUtility = await fetch(`${gw}${path}`, { headers: await signRequest({ signer: utility, method: "GET", path }) });
      expect(asUtility.status).toBe(403);
      const asStranger = await fetch(`${gw}${path}`, { headers: await signRequest({ signer: stranger, method: "GET", path }) });
      expect(asStranger.status).toBe(403);
    } finally {
      company.close();
    }
  });

  it("rejects the gateway's attempt to store Carol's readings on BlockSEC", async () => {
    const carol = consumerKeys(3);
    const gateway = await sec(roleKey(cfg, "gateway"));
    try {
      const record: MeterRecord = {
        consumer: carol.address,
        meterId: meterIdToBytes32(3),
        sequence: 999_999n,
        periodStart: Math.floor(Date.now() / 1000),
        resolution: "QUARTER_HOURLY",
        category: "CONSUMPTION",
        payload: hexlify(randomBytes(242)),
      };
      const res = await gateway.client.anchorBatch({ batchId: hexlify(randomBytes(32)), records: [record] });
      expect(res.stored).toBe(0);
      expect(res.rejected).toMatchObject([{ consumer: carol.address, reason: "NOT_PERMITTED", sequences: [999_999n] }]);
      expect(await gateway.client.isAnchored(meterIdToBytes32(3), 999_999n)).toBe(false);
      expect(await gateway.client.storedRecords({ consumer: carol.address, fromBlock: d.blocksec.startBlock })).toEqual([]);
    } finally {
      gateway.close();
    }
  });
});

describe("issue 12: nobody claims a household's meter; the simulator keeps its secrets", () => {
  it("refuses a stranger who claims the unbound meter 5 without the meter's or an installer's signature, and shows the refusal on chain", async () => {
    const n = await connectNetwork({ config: cfg, network: "blockpri", privateKey: roleKey(cfg, "trader") });
    try {
      const stranger = new BlockPriClient({ sender: n.sender, address: d.blockpri.ppc });
      const meterId = meterIdToBytes32(5);
      expect(await stranger.meterOf(meterId)).toEqual({ deviceKey: consumerKeys(5).meterSigner, nextNonce: 0n, consumer: undefined });
      const binding = await stranger.meterBinding({ meterId, consumer: stranger.sender.address });
      const signature = await signMeterBinding({ signer: n.wallet, chainId: stranger.chainId, ppc: stranger.address, binding });
      const e = await stranger.consumerRegister({ binding, signature, encryptionKey: hexlify(randomBytes(32)) }).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(ContractRevertError);
      expect([(e as ContractRevertError).errorName, (e as ContractRevertError).args]).toEqual(["PPCBindingUnauthorizedSigner", [meterId, n.wallet.address]]);
      expect(await stranger.consumerOfMeter(meterId)).toBeUndefined();
    } finally {
      n.provider.destroy();
    }
  });

  it("serves the simulator's control port only with the token, and keeps the master key out of state and logs", async () => {
    const meters = path.join(cfg.dataDir, "meters");
    const state = fs.readFileSync(path.join(meters, "state.json"), "utf8");
    const sim = JSON.parse(state) as { controlUrl: string; masterKeyFile: string; controlTokenFile: string };
    const res = await fetch(`${sim.controlUrl}/meters/3`);
    expect(res.status).toBe(401);
    expect(await res.text()).not.toMatch(/registers/);
    expect((await meterSimulatorControl(sim).request<{ meterId: number }>("GET", "/meters/3")).meterId).toBe(3);
    const key = readSecretFile(sim.masterKeyFile);
    expect(fs.statSync(sim.masterKeyFile).mode & 0o777).toBe(0o600);
    expect(fs.statSync(sim.controlTokenFile).mode & 0o777).toBe(0o600);
    expect(state).not.toContain(key);
    const log = fs.readFileSync(path.join(cfg.dataDir, "logs", "meters.log"), "utf8");
    expect(log).not.toContain(key);
    expect(log).toMatch(/control: refused GET \/meters\/3/);
  });
});
