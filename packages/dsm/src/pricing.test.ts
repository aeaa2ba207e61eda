import { InvalidArgumentError, InvalidPricingError } from "./errors";
import { MOHSENIAN_RAD_COEFFICIENTS, householdSlotCost, mohsenianRadPricing, resolvePricing, slotCost, slotPrices } from "./pricing";

describe("mohsenianRadPricing", () => {
  it("uses 0.2 at night (00:00–08:00) and 0.3 by day, scaled by 10 / households", () => {
    const p = mohsenianRadPricing({ households: 10 });
    expect(p).toMatchObject({ kind: "quadratic", b: 0, c: 0 });
    const a = p.a as number[];
    expect(a).toHaveLength(96);
    expect(a.slice(0, 32)).toEqual(Array(32).fill(0.2)); // 00:00..07:45
    expect(a.slice(32)).toEqual(Array(64).fill(0.3));
    const scaled = mohsenianRadPricing({ households: 100 }).a as number[];
    expect(scaled[0]).toBeCloseTo(0.02, 15);
    expect(scaled[95]).toBeCloseTo(0.03, 15);
    expect(MOHSENIAN_RAD_COEFFICIENTS).toEqual({ dayA: 0.3, nightA: 0.2, nightEndsMinute: 480, referenceHouseholds: 10 });
  });

  it("follows the wall clock from startMinute and the slot length", () => {
    const a = mohsenianRadPricing({ households: 10, startMinute: 720, slotMinutes: 60 }).a as number[];
    expect(a).toEqual([...Array(12).fill(0.3), ...Array(8).fill(0.2), ...Array(4).fill(0.3)]); // noon..midnight day, 00–08 night, 08–12 day
    expect(mohsenianRadPricing({ households: 1, dayA: 1, nightA: 0.5, slotMinutes: 720 }).a).toEqual([5, 10]);
  });

  it("rejects bad parameters", () => {
    expect(() => mohsenianRadPricing({ households: 0 })).toThrow(InvalidArgumentError);
    expect(() => mohsenianRadPricing({ households: 10, startMinute: 1440 })).toThrow(InvalidArgumentError);
    expect(() => mohsenianRadPricing({ households: 10, slotMinutes: 25 })).toThrow(InvalidArgumentError);
    expect(() => mohsenianRadPricing({ households: 10, nightA: -0.1 })).toThrow(InvalidPricingError);
  });
});

describe("slot cost and the billing rule", () => {
  const p = resolvePricing({ kind: "quadratic", a: 0.5, b: 2, c: 3 }, 30); // Δt = 0.5 h
  it("C_h(L) = Δt·(a·L² + b·L + c)", () => {
    expect(slotCost(p, 0, 4)).toBe(0.5 * (0.5 * 16 + 2 * 4 + 3));
    expect(slotCost(p, 47, 0)).toBe(1.5);
  });
  it("a household pays its load share of the slot cost; shares add up to the cost", () => {
    expect(householdSlotCost(p, 0, 1, 4, 5)).toBeCloseTo(slotCost(p, 0, 4) / 4, 15);
    expect(householdSlotCost(p, 0, 3, 4, 5) + householdSlotCost(p, 0, 1, 4, 5)).toBeCloseTo(slotCost(p, 0, 4), 14);
    expect(householdSlotCost(p, 0, 0, 0, 5)).toBe(1.5 / 5); // nobody draws: c is split equally
  });
  it("fixed prices bill energy × price, negative prices included", () => {
    const f = resolvePricing({ kind: "fixed", pricePerKwh: Array.from({ length: 24 }, (_, h) => h - 3) }, 60);
    expect(slotCost(f, 0, 10)).toBe(-30);
    expect(householdSlotCost(f, 5, 2, 10, 3)).toBe(4);
  });
});

describe("slotPrices", () => {
  it("average = a·L + b + c/L, marginal = 2·a·L + b", () => {
    const loadKw = [...Array(23).fill(10), 0];
    const { averagePerKwh, marginalPerKwh } = slotPrices({ loadKw, pricing: { kind: "quadratic", a: 0.1, b: 1, c: 5 }, slotMinutes: 60 });
    expect(averagePerKwh[0]).toBeCloseTo(0.1 * 10 + 1 + 0.5, 15);
    expect(marginalPerKwh[0]).toBeCloseTo(2 * 0.1 * 10 + 1, 15);
    expect(averagePerKwh[23]).toBe(1);
    expect(marginalPerKwh[23]).toBe(1);
  });
  it("fixed pricing returns the fixed price for both", () => {
    const pricePerKwh = Array.from({ length: 96 }, (_, h) => h / 10);
    expect(slotPrices({ loadKw: Array(96).fill(3), pricing: { kind: "fixed", pricePerKwh } })).toEqual({ averagePerKwh: pricePerKwh, marginalPerKwh: pricePerKwh });
  });
  it("rejects a load of the wrong length or a negative load", () => {
    expect(() => slotPrices({ loadKw: [1, 2], pricing: { kind: "quadratic", a: 1 } })).toThrow(InvalidArgumentError);
    expect(() => slotPrices({ loadKw: [...Array(95).fill(1), -1], pricing: { kind: "quadratic", a: 1 } })).toThrow(/loadKw\[95\] = -1/);
    expect(() => slotPrices({ loadKw: Array(96).fill(1), pricing: { kind: "tiered" } as never })).toThrow(InvalidPricingError);
  });
});
