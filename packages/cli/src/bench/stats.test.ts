import { latencyStats, percentile, rate, round, speedup } from "./stats";

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
