// The quick bench end to end: its own chains, members, gateway and Redis (the jest one), real
// measurements, files written. Asserts on the shape and consistency of the figures, never on speed.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { runBench } from "./index";
import type { BenchReport } from "./types";

let outDir: string;
let report: BenchReport;
const lines: string[] = [];

beforeAll(async () => {
  outDir = fs.mkdtempSync(path.join(os.tmpdir(), "sidegrid-bench-test-"));
  report = await runBench({ quick: true, outDir, log: (l) => lines.push(l) });
}, 180_000);

afterAll(() => {
  if (outDir) fs.rmSync(outDir, { recursive: true, force: true });
});

describe("sidegrid bench --quick", () => {
  it("writes the timestamped JSON, markdown and SVG, and the same as latest.*", () => {
    for (const f of Object.values(report.files)) expect(fs.existsSync(f)).toBe(true);
    for (const ext of ["json", "md", "svg"]) {
      const name = path.basename(report.files[ext === "md" ? "markdown" : (ext as "json" | "svg")]);
      expect(name).toMatch(new RegExp(`^\\d{4}-\\d\\d-\\d\\dT\\d\\d-\\d\\d-\\d\\dZ\\.${ext}$`));
      expect(fs.readFileSync(path.join(outDir, `latest.${ext}`), "utf8")).toBe(fs.readFileSync(path.join(outDir, name), "utf8"));
    }
    const json = JSON.parse(fs.readFileSync(report.files.json, "utf8")) as BenchReport;
    expect(Object.keys(json).sort()).toEqual(
      ["api", "chains", "codec", "demandResponse", "endToEnd", "figure9", "files", "finishedAt", "gas", "goals", "keyRelease", "machine", "quick", "relay", "revocation", "startedAt", "version", "wallSeconds"].sort(),
    );
    expect(json.quick).toBe(true);
    expect(json.chains).toEqual({ blockpri: 31901, blocksec: 31902, blocktst: 31903 });
    const md = fs.readFileSync(report.files.markdown, "utf8");
    for (const h of ["## Goals", "## Figure 9, side by side", "## Gas", "## End-to-end ingest", "## Revocation latency", "## Federation relay throughput", "## API", "## Key release: grant → plaintext", "## OSGP codec", "## Demand response"]) expect(md).toContain(h);
    expect(md).toContain(`](${path.basename(report.files.svg)})`);
    const svg = fs.readFileSync(report.files.svg, "utf8");
    expect(svg.startsWith("<svg")).toBe(true);
    expect(svg.match(/<polyline/g)?.length).toBe(3);
    // The day-ahead chart beside it: <stamp>.dsm.svg, copied to latest.dsm.svg, linked from the report.
    expect(path.basename(report.files.dayAheadSvg)).toBe(path.basename(report.files.svg).replace(/\.svg$/, ".dsm.svg"));
    expect(fs.readFileSync(path.join(outDir, "latest.dsm.svg"), "utf8")).toBe(fs.readFileSync(report.files.dayAheadSvg, "utf8"));
    expect(fs.readFileSync(report.files.dayAheadSvg, "utf8").match(/<polyline/g)?.length).toBe(2);
    expect(md).toContain(`](${path.basename(report.files.dayAheadSvg)})`);
  });

  it("has a Figure 9 row for each quick N, with positive figures and a consistent speed-up", () => {
    expect(report.figure9.rows.map((r) => r.n)).toEqual([10, 50, 100]);
    for (const r of report.figure9.rows) {
      for (const t of [r.baselineSequential, r.baseline, r.sidegrid]) {
        expect(t.seconds).toBeGreaterThan(0);
        expect(t.readingsPerSecond).toBeGreaterThan(0);
        expect(t.gasUsed).toBeGreaterThan(0);
        // readings/s comes from the unrounded time, seconds are rounded to the millisecond.
        expect(Math.abs(t.readingsPerSecond - r.n / t.seconds)).toBeLessThanOrEqual(Math.max(1, 0.03 * t.readingsPerSecond));
      }
      expect(r.baseline.txs).toBe(r.n); // one transaction per record
      expect(r.baselineSequential.txs).toBe(r.n);
      expect(r.sidegrid.txs).toBeGreaterThanOrEqual(1);
      expect(r.speedup).toBeCloseTo(r.baseline.seconds / r.sidegrid.seconds, 1);
      expect(r.speedupVsSequential).toBeCloseTo(r.baselineSequential.seconds / r.sidegrid.seconds, 1);
    }
    expect(report.figure9.rows[0]!.paperSeconds).toBe(0.8);
    expect(report.figure9.rows[1]!.paperSeconds).toBeNull();
  });

  it("has deploy gas for every contract and gas for every priced operation", () => {
    const contracts = report.gas.deploy.map((d) => d.contract);
    for (const c of ["PPC", "MeterDataLedger", "AccessLedger", "PolicyMirror", "TradeLog", "SmartGridToken", "EnergyMarket", "EnergyAuction", "MarketMirror", "FederationInbox", "FederationOutbox", "TokenPeg", "WrappedToken (standalone)", "PaperStorage"]) {
      expect(contracts).toContain(c);
    }
    for (const d of report.gas.deploy) expect(d.gas).toBeGreaterThan(0);
    const ops = report.gas.operations.map((o) => o.operation).join("\n");
    for (const o of ["consumerRegister", "setPreference (consent", "anchorBatch, 1,000 records", "requestAccess, granted", "requestAccess, denied", "sellEnergy", "buyEnergy", "TokenPeg.lock", "TokenPeg.burn", "FederationInbox.deliver, batched", "setTransLog"]) {
      expect(ops).toContain(o);
    }
    for (const o of report.gas.operations) expect(o.gas).toBeGreaterThan(0);
    expect(report.gas.paper.length).toBe(10);
    for (const p of report.gas.paper) {
      expect(p.paperEth).toBeGreaterThan(0);
      expect(p.oursGas).toBeGreaterThan(0);
    }
    // The conversion maps the paper's setTransLog exactly onto our baseline's.
    const st = report.gas.paper.find((p) => p.paper === "Storage.setTranslog" && p.ours.startsWith("baseline"))!;
    expect(st.paperGasEstimate).toBe(st.oursGas);
  });

  it("measures ingest, revocation, relay, API and codec", () => {
    expect(report.endToEnd.anchoredPerSecond).toBeGreaterThan(0);
    expect(report.endToEnd.latencyMs.samples).toBeGreaterThan(0);
    expect(report.revocation.revokeMs.samples).toBe(3);
    expect(report.revocation.revokeMs.p99).toBeGreaterThanOrEqual(report.revocation.revokeMs.p50);
    for (const run of [report.relay.live, report.relay.backlog]) {
      expect(run.messages).toBe(2000);
      expect(run.messagesPerSecond).toBeGreaterThan(0);
      expect(run.deliverTxs).toBeGreaterThan(0);
    }
    expect(report.api.records).toBe(96);
    expect(report.api.queryMs.samples).toBe(50);
    expect(report.codec.perSecond).toBeGreaterThan(0);
    // The API figure's day, read as a grantee: every reading opened and proven, from both epoch keys it spans.
    expect(report.keyRelease).toMatchObject({ reads: 5, allProven: true });
    expect(report.keyRelease.readingsPerRead).toBeGreaterThanOrEqual(90);
    expect(report.keyRelease.keysPerRead).toBeGreaterThanOrEqual(1);
    expect(report.keyRelease.grantToPlaintextMs.samples).toBe(5);
  });

  it("measures rule evaluation, the agent, a day-ahead run of 100 households and the gas of every DemandResponse operation", () => {
    const dr = report.demandResponse;
    expect(dr.rules).toMatchObject({ households: 10_000, rulesPerHousehold: 4, slots: 96 });
    expect(dr.rules.decisionsPerRound).toBeGreaterThan(0);
    for (const s of [dr.rules.evaluatePerSecond, dr.rules.decodeAndEvaluatePerSecond, dr.agent.reportsPerSecond]) {
      expect(s.rounds).toBeGreaterThan(0);
      expect(s.min).toBeGreaterThan(0);
      expect(s.min).toBeLessThanOrEqual(s.median);
      expect(s.median).toBeLessThanOrEqual(s.max);
    }
    expect(dr.agent.commandsByRound).toHaveLength(dr.agent.rounds);
    // The seed-1 population of the dsm package (deterministic, whatever the machine).
    expect(dr.dayAhead.map((d) => d.households)).toEqual([100]);
    expect(dr.dayAhead[0]).toMatchObject({ flexibleLoads: 249, converged: true, iterations: 9, parBefore: 4.221, parAfter: 1.604 });
    expect(dr.dayAhead[0]!.loadAfterKw).toHaveLength(96);
    expect(dr.deployGas).toBeGreaterThan(0);
    const ops = dr.gas.map((o) => o.operation).join("\n");
    for (const o of ["publishPrices (96 slots)", "announceEvent", "setRules (4 rules, first)", "fund", "settleDayAhead (100 households, new holders)", "payEfficiencyRewards (100 households, holders)"]) expect(ops).toContain(o);
    for (const o of dr.gas) {
      expect(o.gas).toBeGreaterThan(0);
      if (o.households !== undefined) expect(o.gasPerHousehold).toBe(Math.round(o.gas / o.households));
    }
  });

  it("holds every goal of the issues with a met boolean that agrees with its value", () => {
    expect(report.goals.map((g) => g.id)).toEqual(["codec-decode", "anchor-gas", "revocation-p99", "relay-throughput", "e2e-throughput", "e2e-latency-p99", "relay-throughput-loaded", "e2e-throughput-loaded", "anchor-gas-v2", "key-release-p99", "bench-wall-time"]);
    for (const g of report.goals) {
      expect(typeof g.met).toBe("boolean");
      expect(g.met).toBe(g.comparator === "<=" ? g.value <= g.target : g.value >= g.target);
    }
  });

  it("printed its figures as it went", () => {
    const text = lines.join("\n");
    expect(text).toContain("== Figure 9");
    expect(text).toMatch(/revoke → refused: p50 \d/);
    expect(text).toMatch(/goal (met|NOT met)/);
  });
});
