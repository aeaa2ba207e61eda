import { intervalRates, latencyStats, percentile, rate, round, speedup, spread } from "./stats";

describe("percentile (nearest rank)", () => {
  const xs = Array.from({ length: 100 }, (_, i) => i + 1); // 1..100

  it("returns a sample that happened: the smallest with at least p % at or below it", () => {
    expect(percentile(xs, 50)).toBe(50);
    expect(percentile(xs, 99)).toBe(99);
    expect(percentile(xs, 100)).toBe(100);
    expect(percentile(xs, 0)).toBe(1);
    expect(percentile([10, 20, 30], 50)).toBe(20);
    expect(percentile([10, 20, 30], 99)).toBe(30);
    expect(percentile([10, 20, 30, 40], 50)).toBe(20); // no interpolation to 25
  });

  it("is NaN for no samples and refuses a p outside 0..100", () => {
    expect(percentile([], 50)).toBeNaN();
    expect(() => percentile(xs, 101)).toThrow(RangeError);
    expect(() => percentile(xs, -1)).toThrow(RangeError);
  });

  it("of one sample is that sample", () => {
    expect(percentile([7], 1)).toBe(7);
    expect(percentile([7], 99)).toBe(7);
  });
});

describe("latencyStats", () => {
  it("sorts its input and rounds to 0.1 ms", () => {
    const s = latencyStats([30.04, 10, 20.26, 40, 50]);
    expect(s).toEqual({ samples: 5, p50: 30, p90: 50, p99: 50, max: 50, mean: 30.1 });
  });

  it("reports NaN figures for no samples instead of inventing zeros", () => {
    const s = latencyStats([]);
    expect(s.samples).toBe(0);
    expect(s.p99).toBeNaN();
    expect(s.mean).toBeNaN();
  });
});

describe("rates and speed-ups", () => {
  it("speed-up is the first time over the second, to 2 decimals", () => {
    expect(speedup(10, 2)).toBe(5);
    expect(speedup(1, 3)).toBe(0.33);
  });

  it("rate rounds readings per second", () => {
    expect(rate(1000, 0.75)).toBe(1333);
    expect(rate(10, 0)).toBe(Infinity);
  });

  it("round keeps non-finite values", () => {
    expect(round(1.005, 2)).toBe(1);
    expect(round(NaN, 1)).toBeNaN();
    expect(round(12.34)).toBe(12);
  });
});

describe("repeated rounds", () => {
  it("spread gives min, the lower median and max of the rounds, in any order", () => {
    expect(spread([961, 691, 1003])).toEqual({ rounds: 3, min: 691, median: 961, max: 1003 });
    expect(spread([4, 1, 3, 2])).toEqual({ rounds: 4, min: 1, median: 2, max: 4 });
    expect(spread([]).rounds).toBe(0);
  });

  it("intervalRates turns a cumulative counter into per-interval rates", () => {
    expect(intervalRates([{ t: 0, n: 0 }, { t: 1000, n: 3999 }, { t: 2500, n: 9999 }, { t: 2500, n: 10_000 }])).toEqual([3999, 4000]);
  });
});
