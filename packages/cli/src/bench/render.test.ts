import { evaluateGoals } from "./goals";
import { fmt, renderMarkdown, table } from "./markdown";
import { figure9Series, renderDayAheadSvg, renderFigure9Svg } from "./svg";
import type { BenchReport, DayAheadRun, Figure9Row, LatencyStats } from "./types";

const lat = (p50: number, p99: number): LatencyStats => ({ samples: 10, p50, p90: p99, p99, max: p99, mean: p50 });
const timing = (seconds: number, n: number, txs: number) => ({ seconds, readingsPerSecond: Math.round(n / seconds), txs, gasUsed: 1000 * n });

function row(n: number, a: number, b: number): Figure9Row {
  return {
    n,
    baselineSequential: timing(a * 2, n, n),
    baseline: timing(a, n, n),
    sidegrid: timing(b, n, 1),
    speedup: Math.round((a / b) * 100) / 100,
    speedupVsSequential: Math.round(((2 * a) / b) * 100) / 100,
    paperSeconds: n === 10 ? 0.8 : n === 1000 ? 94 : null,
  };
}

const rows = [row(10, 0.06, 0.04), row(100, 0.6, 0.09), row(1000, 6, 0.5)];

/** A day of 96 slots from noon: an evening peak before, flattened after (same energy). */
function dayAhead(households: number): DayAheadRun {
  const before = Array.from({ length: 96 }, (_, s) => (s >= 24 && s < 40 ? 400 : 100));
  const after = Array.from({ length: 96 }, () => 150);
  return {
    households,
    flexibleLoads: 249,
    seed: 1,
    startMinute: 720,
    slotMinutes: 15,
    converged: true,
    iterations: 9,
    moves: 447,
    parBefore: 2.667,
    parAfter: 1,
    parReductionPercent: 62.5,
    peakKwBefore: 400,
    peakKwAfter: 150,
    averageKw: 150,
    totalCostBefore: 17_623,
    totalCostAfter: 7_057,
    gameMs: { rounds: 3, min: 1.5, median: 1.6, max: 2.5 },
    loadBeforeKw: before,
    loadAfterKw: after,
  };
}

function report(): BenchReport {
  const run = { messages: 2000, seconds: 2.5, messagesPerSecond: 800, appSendSeconds: 2, deliverTxs: 15, meanBatch: 133, gasPerMessage: 28000 };
  return {
    version: 1,
    quick: true,
    startedAt: "2026-01-01T00:00:00.000Z",
    finishedAt: "2026-01-01T00:01:00.000Z",
    wallSeconds: 60,
    machine: { platform: "linux", arch: "x64", cpus: 2, cpuModel: "test cpu", node: "v20" },
    chains: { blockpri: 31901, blocksec: 31902, blocktst: 31903 },
    figure9: { rows, meters: 10, payloadBytes: 144, notes: ["a note with a | pipe"] },
    gas: {
      deploy: [{ contract: "PPC", chain: "BlockPRI", gas: 2_606_555, note: "the paper's Access" }],
      operations: [{ operation: "anchorBatch | per record", contract: "MeterDataLedger", gas: 6147, per: "record" }],
      paper: [{ table: 5, paper: "Storage.setTranslog", paperEth: 0.000821, paperGasEstimate: 167207, ours: "baseline setTransLog", oursGas: 167207 }],
      impliedGweiPerGas: 4.91,
      notes: [],
    },
    endToEnd: { meters: 500, targetRate: 3000, seconds: 6, warmup: 3, anchoredPerSecond: 3500, storedPerSecond: 3400, pollsPerSecond: 300, latencyMs: lat(370, 830), gasPerRecord: 10700, recordsPerTx: 600, pollFailures: 0, notes: [] },
    revocation: { revokeMs: lat(80, 140), grantMs: lat(100, 150), notes: [] },
    relay: { live: run, backlog: { ...run, appSendSeconds: 0 }, idleRestartSeconds: 1.25, notes: [] },
    api: { records: 96, responseBytes: 146_537, queryMs: lat(14, 28), accessRequestMs: lat(47, 112), notes: [] },
    keyRelease: { reads: 5, readingsPerRead: 96, keysPerRead: 2, allProven: true, grantToPlaintextMs: lat(300, 520), releaseMs: lat(200, 400), openMs: lat(60, 90), notes: [] },
    codec: { perSecond: 361_052, best: 365_448, rounds: 3, aesGcmPerSecond: 112_059 },
    demandResponse: {
      rules: {
        households: 10_000,
        rulesPerHousehold: 4,
        slots: 96,
        evaluatePerSecond: { rounds: 5, min: 480_000, median: 512_345, max: 530_000 },
        decodeAndEvaluatePerSecond: { rounds: 5, min: 90_000, median: 95_500, max: 99_000 },
        decisionsPerRound: 12_345,
      },
      agent: { meters: 10_000, rounds: 4, firstIntervalMinute: 1050, reportsPerSecond: { rounds: 4, min: 40_000, median: 45_000, max: 47_000 }, commandsByRound: [120, 3_400, 9_000, 0] },
      dayAhead: [dayAhead(100)],
      deployGas: 2_345_678,
      gas: [
        { operation: "publishPrices (96 slots)", gas: 511_594 },
        { operation: "settleDayAhead (100 households, new holders)", gas: 2_991_127, households: 100, gasPerHousehold: 29_911, note: "a | pipe" },
      ],
      notes: ["a demand-response note"],
    },
    goals: evaluateGoals({ "anchor-gas": 6147, "relay-throughput": 800 }),
    files: { json: "/x/2026-01-01T00-00-00Z.json", markdown: "/x/2026-01-01T00-00-00Z.md", svg: "/x/2026-01-01T00-00-00Z.svg", dayAheadSvg: "/x/2026-01-01T00-00-00Z.dsm.svg" },
  };
}

/** Minimal well-formedness check: every opened element is closed, in order. */
function balanced(xml: string): boolean {
  const stack: string[] = [];
  for (const m of xml.matchAll(/<(\/?)([a-zA-Z][\w:-]*)[^>]*?(\/?)>/g)) {
    const [, close, name, self] = m;
    if (self) continue;
    if (close) {
      if (stack.pop() !== name) return false;
    } else stack.push(name!);
  }
  return stack.length === 0;
}

describe("Figure 9 SVG", () => {
  const svg = renderFigure9Svg(rows, "quick run & test <1>");

  it("is one well-formed svg element with escaped text", () => {
    expect(svg.startsWith("<svg xmlns=\"http://www.w3.org/2000/svg\"")).toBe(true);
    expect(svg.trimEnd().endsWith("</svg>")).toBe(true);
    expect(balanced(svg)).toBe(true);
    expect(svg).toContain("quick run &amp; test &lt;1&gt;");
  });

  it("draws three lines (baselines and Sidegrid) and the paper's two points", () => {
    expect(svg.match(/<polyline/g)).toHaveLength(3);
    expect(figure9Series(rows)[0]!.points).toEqual([
      { n: 10, seconds: 0.8 },
      { n: 1000, seconds: 94 },
    ]);
    // 2 paper markers + 1 in the legend, besides the background rect.
    expect(svg.match(/<rect [^>]*fill="none"/g)).toHaveLength(3);
    for (const label of ["paper", "baseline (a), pipelined", "Sidegrid (b)"]) expect(svg).toContain(label);
  });

  it("puts N on a log axis and faster runs lower on a log time axis", () => {
    const xs = [...svg.matchAll(/<circle cx="([\d.]+)" cy="([\d.]+)"/g)].map((m) => [Number(m[1]), Number(m[2])] as const);
    // Sidegrid is the last series: its three points.
    const side = xs.slice(-3);
    const base = xs.slice(-6, -3);
    // 10 → 100 → 1000 are equally spaced on a log axis.
    expect(side[1]![0] - side[0]![0]).toBeCloseTo(side[2]![0] - side[1]![0], 0);
    // Fewer seconds sit lower on the chart, i.e. at a larger SVG y.
    for (let i = 0; i < 3; i++) expect(side[i]![1]).toBeGreaterThan(base[i]![1]);
    // decade ticks from 0.01 s to 100 s
    for (const t of ["0.01", "0.1", ">1<", ">10<", ">100<"]) expect(svg).toContain(t.startsWith(">") ? t : `>${t}<`);
  });

  it("says so when there is nothing to draw", () => {
    const empty = renderFigure9Svg([]);
    expect(empty).toContain("no data");
    expect(balanced(empty)).toBe(true);
  });
});

describe("day-ahead DSM SVG", () => {
  const run = dayAhead(1000);
  const svg = renderDayAheadSvg(run, "quick run & <test>");
  const polyline = (id: string) => {
    const m = svg.match(new RegExp(`<g id="series-${id}"><polyline [^>]*points="([^"]+)"`));
    return m![1]!.split(" ").map((p) => p.split(",").map(Number) as [number, number]);
  };

  it("is one well-formed svg element with escaped text", () => {
    expect(svg.startsWith("<svg xmlns=\"http://www.w3.org/2000/svg\"")).toBe(true);
    expect(svg.trimEnd().endsWith("</svg>")).toBe(true);
    expect(balanced(svg)).toBe(true);
    expect(svg).toContain("quick run &amp; &lt;test&gt;");
    expect(svg).toContain("1,000 households");
  });

  it("draws 96 slots before and after, the flattened load lower at the old peak, and the average", () => {
    expect(svg.match(/<polyline/g)).toHaveLength(2);
    const before = polyline("before");
    const after = polyline("after");
    expect(before).toHaveLength(96);
    expect(after).toHaveLength(96);
    // Slots are equally spaced, left to right.
    expect(before[1]![0] - before[0]![0]).toBeCloseTo(before[95]![0] - before[94]![0], 0);
    // At the evening peak (slot 30) the load after sits lower on the chart (a larger SVG y).
    expect(after[30]![1]).toBeGreaterThan(before[30]![1]);
    // The average line is where the flat "after" series is.
    const avg = Number(svg.match(/<line id="average" x1="[\d.]+" y1="([\d.]+)"/)![1]);
    expect(avg).toBeCloseTo(after[0]![1], 0);
    expect(svg).toContain("PAR 2.667");
    expect(svg).toContain("PAR 1,");
  });

  it("labels the x axis with the wall clock from the day's start", () => {
    for (const t of [">12:00<", ">15:00<", ">18:00<", ">00:00<", ">09:00<"]) expect(svg).toContain(t);
    expect(svg).toContain("grid load (kW)");
  });

  it("says so when there is nothing to draw", () => {
    const empty = renderDayAheadSvg({ ...run, loadBeforeKw: [], loadAfterKw: [] });
    expect(empty).toContain("no data");
    expect(balanced(empty)).toBe(true);
  });
});

describe("markdown report", () => {
  const md = renderMarkdown(report(), "2026-01-01T00-00-00Z.svg");

  it("starts with the goals, each with its issue and a yes/no", () => {
    expect(md.split("\n")[0]).toBe("# Sidegrid bench, quick run of 2026-01-01T00:00:00.000Z");
    expect(md).toContain("## Goals (1 of 11 met)");
    expect(md).toMatch(/\| anchorBatch gas per record, 1,000 records of 144-byte payloads \| #4 \| ≤ 7,000 gas\/record \| 6,147 gas\/record \| ✅ yes \|/);
    expect(md).toMatch(/\| federation messages relayed per second, with batching \| #6 \| ≥ 1,000 msg\/s locally \| 800 msg\/s \| ❌ no \|/);
  });

  it("has a Figure 9 row per N with the paper's figure where it gives one, and links the chart", () => {
    expect(md).toContain("| 10 | 0.8 | 0.12 | 0.06 | 167 | 0.04 | 250 | 1 | 1.5× | 3× |");
    expect(md).toContain("| 100 | — |");
    expect(md).toContain("| 1000 | 94 |");
    expect(md).toContain("![Figure 9: seconds vs N](2026-01-01T00-00-00Z.svg)");
    expect(md).toContain("- a note with a | pipe");
  });

  it("escapes pipes inside table cells and names the files without their directory", () => {
    expect(md).toContain("| anchorBatch \\| per record | MeterDataLedger | 6,147 | record |");
    expect(md).toContain("`2026-01-01T00-00-00Z.json`");
    expect(md).not.toContain("/x/");
  });

  it("has the demand-response section: rule rates, the DSM runs with their chart, gas per household", () => {
    expect(md).toContain("## Demand response");
    expect(md).toContain("| evaluateRules, 10,000 households × 4 rules (evaluations) | 512,345 (min 480,000, max 530,000; 5 rounds) |");
    expect(md).toContain("| decodeRule × 4 (bytes32) + evaluateRules (households) | 95,500 (min 90,000, max 99,000; 5 rounds) |");
    expect(md).toMatch(/\| DemandResponseAgent\.onReport, 10,000 meters × 4 reports, reads from memory \(reports\) \| 45,000 \(min 40,000, max 47,000; 4 rounds\) \|/);
    expect(md).toContain("12,345 device decisions per round");
    expect(md).toContain("120, 3,400, 9,000, 0 appliance commands");
    expect(md).toContain("| 100 | 249 | 2.667 | 1.000 |");
    expect(md).toContain("| 62.5 % | 400.0 | 150.0 | 17,623 → 7,057 | 9 | yes | 1.6 (1.5, 2.5) |");
    expect(md).toContain("![Day-ahead DSM, 100 households: grid load before and after](2026-01-01T00-00-00Z.dsm.svg)");
    expect(md).toContain("| deploy DemandResponse (and its three role grants, not counted) | 2,345,678 |");
    expect(md).toContain("| publishPrices (96 slots) | 511,594 |  |  |  |");
    expect(md).toContain("| settleDayAhead (100 households, new holders) | 2,991,127 | 100 | 29,911 | a \\| pipe |");
    expect(md).toContain("- a demand-response note");
    expect(md).toContain("`2026-01-01T00-00-00Z.dsm.svg`");
  });

  it("shows both relay runs and the latency percentiles", () => {
    expect(md).toMatch(/\| live \| 2,000 \| 2.5 \| 800 \| 2 \| 15 \| 133 \| 28,000 \|/);
    expect(md).toMatch(/\| backlog \| 2,000 \| 2.5 \| 800 \| 0 \|/);
    expect(md).toContain("that start takes 1.25 s");
    const rounds = report();
    rounds.relay.backlogRounds = [900.4, 1000, 1100];
    expect(renderMarkdown(rounds, "x.svg")).toContain("| backlog (median of 3 rounds: 900, 1,000, 1,100 msg/s) |");
    expect(md).toContain("p50 80 ms, p90 140 ms, p99 140 ms, max 140 ms (10 samples)");
  });
});

describe("table and fmt", () => {
  it("right-aligns the columns asked for", () => {
    expect(table(["a", "b"], [[1, "x"]], ["r", "l"])).toBe("| a | b |\n| ---: | --- |\n| 1 | x |");
  });

  it("formats integers with separators and fractions to a few digits", () => {
    expect(fmt(1234567)).toBe("1,234,567");
    expect(fmt(0.0456)).toBe("0.046");
    expect(fmt(12.345)).toBe("12.3");
    expect(fmt(null)).toBe("—");
    expect(fmt(NaN)).toBe("—");
    expect(fmt(0.000821, 6)).toBe("0.000821");
  });
});
