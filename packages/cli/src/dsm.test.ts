// `sidegrid dsm`: the report is the library's game, told in the command's words and figures.
import { bestResponseGame, mohsenianRadPricing, syntheticHouseholds } from "@sidegrid/dsm";
import { CliError } from "./errors";
import { formatDsmReport, loadChart, runDsm } from "./dsm";

describe("sidegrid dsm", () => {
  it("reports the game's PAR, peak and bills for the synthetic day", () => {
    const r = runDsm({ households: 40, seed: 7 });
    const day = syntheticHouseholds({ count: 40, seed: 7 });
    const g = bestResponseGame({ base: day.base, flexible: day.flexible, pricing: mohsenianRadPricing({ households: 40, startMinute: day.startMinute }) });
    expect(r.par).toEqual({ before: g.before.par, after: g.after.par, reduction: g.parReduction });
    expect(r.peakKw.after).toBe(g.after.peakKw);
    expect(r.flexibleLoads).toBe(day.flexible.length);
    // Bills add up to the grid's cost, before and after.
    const sum = (k: "before" | "after") => r.cost.households.reduce((s, h) => s + h[k], 0);
    expect(sum("before")).toBeCloseTo(r.cost.before, 6);
    expect(sum("after")).toBeCloseTo(r.cost.after, 6);
    expect(r.par.after).toBeLessThan(r.par.before);
  });

  it("prints the figures and an hour-by-hour chart of the load before and after", () => {
    const r = runDsm({ households: 100, seed: 1 });
    const text = formatDsmReport(r);
    expect(text).toContain(`peak-to-average ratio: ${r.par.before.toFixed(3)} → ${r.par.after.toFixed(3)} (−${(r.par.reduction * 100).toFixed(1)} %)`);
    const chart = loadChart(r);
    expect(chart).toHaveLength(24);
    expect(chart[0]).toMatch(/^12:00 ░+ +\d+ kW {2}│ █+ +\d+ kW$/);
    // The uncoordinated evening peak is the longest "before" bar.
    const longest = chart.reduce((best, l) => ((l.split(" ")[1] ?? "").length > (best.split(" ")[1] ?? "").length ? l : best));
    expect(longest.slice(0, 2)).toMatch(/^(17|18|19|20)$/);
  });

  it("refuses bad arguments with a typed error", () => {
    expect(() => runDsm({ households: 0, seed: 1 })).toThrow(CliError);
    expect(() => runDsm({ households: 2.5, seed: 1 })).toThrow(/--households must be an integer from 1 to 100000, got "2.5"/);
    expect(() => runDsm({ households: 10, seed: -1 })).toThrow(/--seed must be a non-negative integer/);
  });
});
