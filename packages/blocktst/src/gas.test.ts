// Gas of buyEnergy (and the rest of the market), of clearing for growing books and of the
// DemandResponse operations, printed and written to bench-results/gas.json. `pnpm bench` runs the same up to the hard cap of 256 per side.
import fs from "node:fs";
import { DEMAND_RESPONSE_LIMITS } from "./demandResponse";
import { DR_HOUSEHOLDS, measureGas, writeGasReport } from "./test-utils/gas";

describe("gas", () => {
  it("reports buyEnergy, clearing and demand-response gas; clearing grows about linearly and stays far below a block", async () => {
    const report = await measureGas(31208, [1, 5, 10, 25, 50, 100], 100);
    const file = writeGasReport(report);
    expect(JSON.parse(fs.readFileSync(file, "utf8")).clearing).toHaveLength(6);
    expect(report.market["buyEnergy CP"]).toBeGreaterThan(50_000);
    expect(report.market["buyEnergy CP"]).toBeLessThan(250_000);
    const big = report.clearing.at(-1)!;
    const mid = report.clearing.find((c) => c.perSide === 25)!;
    expect(big.gas).toBeLessThan(30_000_000);
    // Per-order cost is bounded: the sort is in memory, settlement is linear.
    expect(big.gasPerOrder).toBeLessThan(mid.gasPerOrder * 2);
    // DemandResponse: at the contract's caps of households per call, the dearest case (paying
    // addresses that hold no SGT yet) stays below half a 30M block.
    const dr = report.demandResponse;
    const perHousehold = (k: string) => dr[`${k} (${DR_HOUSEHOLDS} households, new holders)`]! / DR_HOUSEHOLDS;
    expect(perHousehold("settleDayAhead") * DEMAND_RESPONSE_LIMITS.maxDayAheadHouseholds).toBeLessThan(15_000_000);
    expect(perHousehold("payEfficiencyRewards") * DEMAND_RESPONSE_LIMITS.maxEfficiencyHouseholds).toBeLessThan(15_000_000);
    expect(dr[`settleDayAhead (${DR_HOUSEHOLDS} households, holders)`]).toBeLessThan(dr[`settleDayAhead (${DR_HOUSEHOLDS} households, new holders)`]!);
    expect(dr["publishPrices (96 slots)"]).toBeLessThan(1_000_000);
  });
});
