import { InvalidArgumentError } from "./errors";
import { DAY_SLOTS, peakToAverageRatio, slotsPerDay } from "./types";

describe("slotsPerDay", () => {
  it("divides the day by the slot length", () => {
    expect(DAY_SLOTS).toBe(96);
    expect([slotsPerDay(), slotsPerDay(5), slotsPerDay(60), slotsPerDay(1440)]).toEqual([96, 288, 24, 1]);
  });
  it.each([0, 7, 14.5, -15, 2880])("rejects %p", (m) => {
    expect(() => slotsPerDay(m)).toThrow(InvalidArgumentError);
  });
});

describe("peakToAverageRatio", () => {
  it("is max / mean", () => {
    expect(peakToAverageRatio([1, 2, 3, 2])).toBe(1.5);
    expect(peakToAverageRatio([4, 4])).toBe(1);
    expect(peakToAverageRatio([0, 0])).toBe(0);
  });
  it("rejects empty or non-finite profiles", () => {
    expect(() => peakToAverageRatio([])).toThrow(InvalidArgumentError);
    expect(() => peakToAverageRatio([1, Number.NaN])).toThrow(/profileKw = NaN/);
  });
});
