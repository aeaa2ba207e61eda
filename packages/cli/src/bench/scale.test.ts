// `sidegrid bench --scale` at tiny sizes on its own chains (31701–31703) and Redis: real anchoring,
// real figures, files written; the flatness verdict follows from the measured numbers.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { runScaleBench } from "./scale";
import { compositionModel, equalComposition, gasLine, leastSquares } from "./scaleFit";
import { FLAT_RATIO, flatness, parsePositive, parseScaleSizes, type ScaleReport } from "./scaleReport";

let outDir: string;
let report: ScaleReport;
const lines: string[] = [];

describe("sidegrid bench --scale (10 and 200 meters)", () => {
  beforeAll(async () => {
    outDir = fs.mkdtempSync(path.join(os.tmpdir(), "sidegrid-scale-test-"));
    report = await runScaleBench({ sizes: [10, 200], rate: 100, windowSeconds: 8, chainIds: { blockpri: 31701, blocksec: 31702, blocktst: 31703 }, outDir, log: (l) => lines.push(l) });
  }, 300_000);

  afterAll(() => {
    if (outDir) fs.rmSync(outDir, { recursive: true, force: true });
  });

  it("anchors readings at every size after every meter anchored once", () => {
    expect(report.rows.map((r) => r.meters)).toEqual([10, 200]);
    for (const r of report.rows) {
      expect(r.warmup.readings).toBeGreaterThanOrEqual(r.meters);
      expect(r.window.readings).toBeGreaterThan(0);
      expect(r.window.txs).toBeGreaterThan(0);
      expect(r.anchoredPerSecond).toBeGreaterThan(0);
      expect(r.lagMs.samples).toBeGreaterThan(0);
      expect(r.lagMs.p99).toBeGreaterThanOrEqual(r.lagMs.p50);
    }
  });

  it("measures plausible per-reading costs", () => {
    for (const r of report.rows) {
      // A 102–134-byte sealed payload plus its leaf fields, and its meter's group (~20,000 gas) shared by that meter's readings in the transaction.
      expect(r.window.gasPerReading).toBeGreaterThan(1000);
      expect(r.window.gasPerReading).toBeLessThan(40_000);
      expect(r.window.calldataBytesPerReading).toBeGreaterThan(100);
      expect(r.window.calldataBytesPerReading).toBeLessThan(400);
      expect(r.window.metersPerTx).toBeGreaterThan(0);
      expect(r.window.metersPerTx).toBeLessThanOrEqual(r.meters);
    }
  });

  it("charges the warm-up's first contact: groups of one or two readings that first write each meter's bitmap word cost several times the window's per reading", () => {
    // The fresh SSTORE's own price (EIP-2929/2200: 17,100 gas over a later write) cannot be told
    // apart from a meter group's at these sizes: every window transaction holds ~32 readings per
    // meter, and the warm-up's are all first writes, so the pooled fit's fresh-word term swung from
    // -9,700 to +10,100 gas over three runs here (CI once failed on it). The split is measured at
    // 10–100,000 meters (README) and checked on synthetic transactions below.
    for (const r of report.rows) expect(r.warmup.gasPerReading).toBeGreaterThan(3 * r.window.gasPerReading);
    expect(report.model!.gasPerFreshWord).not.toBeNull();
    // Every meter's first record came in the warm-up.
    expect(report.rows[1]!.warmup.readings).toBeGreaterThanOrEqual(200);
  });

  it("keeps the batch composition equal: each poll reads k records, so ~k readings of a meter share a transaction at both sizes, and gas per reading is flat", () => {
    for (const r of report.rows) {
      expect(r.readingsPerPoll).toBe(32);
      // 10 meters × 32 records every 3.2 s, 200 × 32 every 64 s: both offer 100 readings/s.
      expect(r.offeredRate).toBeCloseTo(100, 0);
      expect(r.pollIntervalMs).toBe(r.meters * 320);
      expect(r.window.readingsPerMeterPerTx).toBeGreaterThan(0.6 * 32);
      expect(r.window.readingsPerMeterPerTx).toBeLessThanOrEqual(1.5 * 32);
      expect(r.window.skipped).toBe(0);
      expect(r.window.line.fixedGasPerTx).not.toBeNull();
      expect(r.window.line.gasPerReading).toBeGreaterThan(1000);
    }
    // The goal, measured: gas and calldata per reading within ±10 % over the sizes.
    expect(report.flatness.gasRatio).toBeLessThanOrEqual(FLAT_RATIO);
    expect(report.flatness.bytesRatio).toBeLessThanOrEqual(FLAT_RATIO);
    expect(report.flatness.flat).toBe(true);
    expect(report.flatnessSingle?.sizes).toEqual([10, 200]);
    // The pooled split: a meter's group (header, mirror reads, bitmap SSTORE, event) costs more than a reading.
    const m = report.model!;
    expect(m.gasPerMeterInTx).toBeGreaterThan(m.gasPerReading);
    // Readings and meters per transaction move together (~32 a meter), so the fit's split between
    // them is loose (CI once got 905 a reading); a reading's share at this composition is not.
    expect(m.gasPerReading).toBeGreaterThan(0);
    expect(m.gasPerReading + m.gasPerMeterInTx / 32).toBeGreaterThan(1000);
    for (const r of report.rows) {
      expect(r.equal!.gasRatio).toBeGreaterThan(0.8);
      expect(r.equal!.gasRatio).toBeLessThan(1.25);
      // The ratio is rounded to 0.001 in the report.
      expect(Math.abs(r.equal!.gasPerReading - (m.gasPerReading + m.gasPerMeterInTx) * r.equal!.gasRatio)).toBeLessThan(0.001 * r.equal!.gasPerReading);
    }
  });

  it("reports memory of the gateway, the simulator and Redis", () => {
    for (const r of report.rows) {
      expect(r.gateway.rssMB).toBeGreaterThan(30);
      expect(r.gateway.heapUsedMB).toBeGreaterThan(5);
      expect(r.redis.usedMemoryMB).toBeGreaterThan(0);
      // This size's schedulers are in Redis during its window.
      expect(r.redis.schedulers).toBe(r.meters);
      expect(r.redis.keys).toBeGreaterThan(0);
    }
  });

  it("writes JSON and markdown with numeric fields, and the verdict follows from the numbers", () => {
    const json = JSON.parse(fs.readFileSync(report.files.json, "utf8")) as ScaleReport;
    expect(fs.readFileSync(path.join(outDir, "scale-latest.json"), "utf8")).toBe(fs.readFileSync(report.files.json, "utf8"));
    for (const r of json.rows) {
      for (const v of [r.window.gasPerReading, r.window.calldataBytesPerReading, r.gateway.rssMB, r.gateway.heapUsedMB, r.redis.usedMemoryMB, r.redis.keys, r.lagMs.p50, r.lagMs.p99, r.warmup.gasPerReading]) {
        expect(typeof v).toBe("number");
        expect(Number.isFinite(v)).toBe(true);
      }
    }
    const gas = json.rows.map((r) => r.window.gasPerReading);
    const bytes = json.rows.map((r) => r.window.calldataBytesPerReading);
    expect(json.flatness.gasRatio).toBeCloseTo(Math.max(...gas) / Math.min(...gas), 2);
    expect(json.flatness.bytesRatio).toBeCloseTo(Math.max(...bytes) / Math.min(...bytes), 2);
    expect(json.flatness.flat).toBe(json.flatness.gasRatio <= FLAT_RATIO && json.flatness.bytesRatio <= FLAT_RATIO);
    const md = fs.readFileSync(report.files.markdown, "utf8");
    expect(md).toContain("**Flatness (as measured):**");
    expect(md).toContain("**Flatness at equal composition");
    expect(md).toContain("| meters |");
  });
});

describe("flatness and the CLI's arguments", () => {
  it("judges max ÷ min against ±10 %", () => {
    expect(flatness([{ gas: 6000, bytes: 300 }, { gas: 6500, bytes: 300 }])).toMatchObject({ gasRatio: 1.083, gasFlat: true, flat: true });
    expect(flatness([{ gas: 3000, bytes: 300 }, { gas: 6000, bytes: 301 }])).toMatchObject({ gasRatio: 2, gasFlat: false, bytesFlat: true, flat: false });
    // A size that anchored nothing is never flat.
    expect(flatness([{ gas: NaN, bytes: 300 }, { gas: 6000, bytes: 300 }]).flat).toBe(false);
  });

  it("splits gas into per-transaction, per-reading and per-meter parts", () => {
    expect(leastSquares([[1, 1], [1, 2], [1, 3]], [7, 9, 11])!.map((x) => Math.round(x * 1e6) / 1e6)).toEqual([5, 2]);
    expect(leastSquares([[1, 2], [1, 2]], [1, 1])).toBeNull();
    const tx = (readings: number, meters: number, fresh = 0) => ({ gas: 60_000 + 5000 * readings + 20_000 * meters + 17_100 * fresh, calldata: 140 + 120 * readings + 56 * meters, readings, meters, fresh });
    const txs = [tx(400, 7), tx(500, 8), tx(600, 300), tx(500, 280), tx(480, 480), tx(520, 510)];
    expect(gasLine([tx(4, 4), tx(8, 8)])).toEqual({ fixedGasPerTx: 60_000, gasPerReading: 25_000, calldataBytesPerReading: 176 });
    const m = compositionModel(txs)!;
    expect(m).toMatchObject({ fixedGasPerTx: 60_000, gasPerReading: 5000, gasPerMeterInTx: 20_000, gasPerFreshWord: null, calldataPerReading: 120, calldataPerMeterInTx: 56 });
    // Warm-up transactions (first writes, groups of one and two readings) beside windows of equal groups separate all four parts.
    const mixed = compositionModel([tx(320, 10), tx(640, 20), tx(960, 30), tx(150, 100, 100), tx(160, 100, 100), tx(300, 250, 240)])!;
    expect(mixed).toMatchObject({ fixedGasPerTx: 60_000, gasPerReading: 5000, gasPerMeterInTx: 20_000, gasPerFreshWord: 17_100 });
    expect(equalComposition(m, txs.slice(0, 2))).toEqual({ gasRatio: 1, calldataRatio: 1, gasPerReading: 25_000, calldataBytesPerReading: 176 });
    // A size whose transactions cost 10 % more than the model shows it at equal composition.
    expect(equalComposition(m, txs.slice(4).map((t) => ({ ...t, gas: t.gas * 1.1 }))).gasPerReading).toBe(27_500);
  });

  it("parses --scale-sizes and refuses bad values with BAD_ARGUMENT", () => {
    expect(parseScaleSizes("10,1000,10_000")).toEqual([10, 1000, 10_000]);
    for (const bad of ["", "10,,20", "0,10", "1000,10", "10,10", "ten", "2000000"]) expect(() => parseScaleSizes(bad)).toThrow(expect.objectContaining({ code: "BAD_ARGUMENT" }));
    expect(parsePositive("--scale-rate", "250", 1000)).toBe(250);
    for (const bad of ["0", "-1", "x", "2000"]) expect(() => parsePositive("--scale-rate", bad, 1000)).toThrow(expect.objectContaining({ code: "BAD_ARGUMENT" }));
  });
});
