// `pnpm bench`: the gas report with books up to the hard cap (256 orders per side).
import { measureGas, writeGasReport } from "./test-utils/gas";

describe("gas bench", () => {
  it("measures clearing gas up to 256 orders per side", async () => {
    const report = await measureGas(31298, [1, 5, 10, 25, 50, 100, 150, 200, 256], 256);
    writeGasReport(report);
    expect(report.clearing.at(-1)!.perSide).toBe(256);
  });
});
