import { InvalidArgumentError } from "./errors";
import { createPrng, shuffle } from "./prng";

describe("createPrng", () => {
  it("is a pure function of the seed", () => {
    const a = createPrng(42);
    const b = createPrng(42);
    const xs = Array.from({ length: 5 }, () => a.next());
    expect(Array.from({ length: 5 }, () => b.next())).toEqual(xs);
    expect(createPrng(43).next()).not.toBe(xs[0]);
  });
  it("stays in range and is roughly uniform", () => {
    const p = createPrng(1);
    const counts = [0, 0, 0, 0];
    let sum = 0;
    for (let i = 0; i < 40_000; i++) {
      const k = p.int(0, 3);
      counts[k]!++;
      const u = p.uniform(2, 3);
      expect(u).toBeGreaterThanOrEqual(2);
      expect(u).toBeLessThan(3);
      sum += p.normal(5, 2);
    }
    for (const c of counts) expect(Math.abs(c - 10_000)).toBeLessThan(400);
    expect(Math.abs(sum / 40_000 - 5)).toBeLessThan(0.05);
  });
  it("shuffles deterministically into a permutation", () => {
    const s = shuffle([1, 2, 3, 4, 5, 6, 7, 8], createPrng(9));
    expect([...s].sort()).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(shuffle([1, 2, 3, 4, 5, 6, 7, 8], createPrng(9))).toEqual(s);
  });
  it("rejects seeds outside uint32", () => {
    expect(() => createPrng(-1)).toThrow(InvalidArgumentError);
    expect(() => createPrng(2 ** 32)).toThrow(InvalidArgumentError);
  });
});
