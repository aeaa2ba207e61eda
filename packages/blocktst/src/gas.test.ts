// Gas of buyEnergy (and the rest of the market) and of clearing for growing books, printed and
// written to bench-results/gas.json. `pnpm bench` runs the same up to the hard cap of 256 per side.
import fs from "node:fs";
import { measureGas, writeGasReport } from "./test-utils/gas";

describe("gas", () => {
  it("reports buyEnergy and clearing gas; clearing grows about linearly and stays far below a block", async () => {
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
  });
});
