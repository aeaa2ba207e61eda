import { InvalidArgumentError } from "./errors";
import { bestResponseGame } from "./game";
import { SYNTHETIC_DEVICES, syntheticHouseholds } from "./synthetic";

describe("syntheticHouseholds", () => {
  const pop = syntheticHouseholds({ count: 1000, seed: 1 });
  const minuteOf = (slot: number) => (pop.startMinute + slot * pop.slotMinutes) % 1440;

  it("is deterministic in (count, seed), and the seed matters", () => {
    const small = syntheticHouseholds({ count: 100, seed: 1 });
    expect(syntheticHouseholds({ count: 100, seed: 1 })).toEqual(small);
    // The first households do not depend on how many follow.
    expect(pop.base.slice(0, 100)).toEqual(small.base);
    expect(small.flexible.slice(0, 3)).toEqual([
      { household: "h0001", device: "ev", earliestSlot: 24, deadlineSlot: 76, durationSlots: 12, powerKw: 3.7 },
      { household: "h0001", device: "heat_pump", earliestSlot: 22, deadlineSlot: 46, durationSlots: 4, powerKw: 2.87 },
      { household: "h0001", device: "dishwasher", earliestSlot: 35, deadlineSlot: 75, durationSlots: 4, powerKw: 1.719 },
    ]);
    expect(small.base[0]!.kw.slice(0, 4)).toEqual([0.457, 0.463, 0.409, 0.44]);
    expect(syntheticHouseholds({ count: 100, seed: 2 }).flexible).not.toEqual(small.flexible);
  });

  it("runs noon to noon in 96 quarter-hour slots by default", () => {
    expect(pop).toMatchObject({ slotMinutes: 15, startMinute: 720, slots: 96 });
    expect(pop.base).toHaveLength(1000);
    expect(pop.base[999]!.household).toBe("h1000");
    for (const b of pop.base) expect(b.kw).toHaveLength(96);
  });

  it("gives each household 1–4 flexible loads of the four devices, at most one EV and one heat pump", () => {
    const per = new Map<string, string[]>();
    for (const l of pop.flexible) per.set(l.household, [...(per.get(l.household) ?? []), l.device]);
    expect(per.size).toBe(1000);
    const counts = [0, 0, 0, 0, 0];
    for (const devices of per.values()) {
      counts[devices.length]!++;
      expect(devices.filter((d) => d === "ev").length).toBeLessThanOrEqual(1);
      expect(devices.filter((d) => d === "heat_pump").length).toBeLessThanOrEqual(1);
    }
    expect(counts[0]).toBe(0);
    for (const c of counts.slice(1)) expect(c).toBeGreaterThan(200); // roughly uniform 1..4
    expect(new Set(pop.flexible.map((l) => l.device))).toEqual(new Set(SYNTHETIC_DEVICES.map((d) => d.device)));
  });

  it("draws power and duration in the documented ranges", () => {
    const range = { washer: [1.8, 2.2, 4, 8], dishwasher: [1.2, 1.8, 4, 8], ev: [3.7, 7.4, 8, 16], heat_pump: [2, 3, 4, 8] } as Record<string, number[]>;
    for (const l of pop.flexible) {
      const [pMin, pMax, dMin, dMax] = range[l.device]!;
      expect(l.powerKw).toBeGreaterThanOrEqual(pMin!);
      expect(l.powerKw).toBeLessThanOrEqual(pMax!);
      expect(l.durationSlots).toBeGreaterThanOrEqual(dMin!);
      expect(l.durationSlots).toBeLessThanOrEqual(dMax!);
      if (l.device === "ev") expect([3.7, 7.4]).toContain(l.powerKw);
    }
  });

  it("starts most runs in the evening; EVs may charge until the next morning", () => {
    const evening = pop.flexible.filter((l) => minuteOf(l.earliestSlot) >= 16 * 60 && minuteOf(l.earliestSlot) < 23 * 60);
    expect(evening.length / pop.flexible.length).toBeGreaterThan(0.9);
    const evs = pop.flexible.filter((l) => l.device === "ev");
    for (const ev of evs) {
      const end = minuteOf(ev.deadlineSlot + 1);
      expect(end).toBeGreaterThanOrEqual(5.5 * 60);
      expect(end).toBeLessThanOrEqual(8.5 * 60);
    }
  });

  it("has a residential base shape: evening peak > morning peak > night floor", () => {
    const mean = (h: number) => pop.base.reduce((s, b) => s + b.kw[h]!, 0) / pop.base.length;
    const at = (hour: number) => mean((((hour * 60 - pop.startMinute + 1440) % 1440) / 15) | 0);
    expect(at(19.5)).toBeGreaterThan(1.1);
    expect(at(7.5)).toBeGreaterThan(0.7);
    expect(at(3)).toBeLessThan(0.3);
    expect(at(19.5)).toBeGreaterThan(at(7.5));
    expect(at(7.5)).toBeGreaterThan(at(3));
  });

  it("gives loads the game accepts, with midnight as start too (next-morning deadlines cut at 24:00)", () => {
    const midnight = syntheticHouseholds({ count: 50, seed: 3, startMinute: 0 });
    expect(() => bestResponseGame({ base: midnight.base, flexible: midnight.flexible, pricing: { kind: "quadratic", a: 0.01 }, maxIterations: 0 })).not.toThrow();
    expect(midnight.flexible.filter((l) => l.device === "ev").every((l) => l.deadlineSlot === 95)).toBe(true);
    const hourly = syntheticHouseholds({ count: 50, seed: 3, slotMinutes: 60 });
    expect(hourly.slots).toBe(24);
    expect(() => bestResponseGame({ base: hourly.base, flexible: hourly.flexible, pricing: { kind: "quadratic", a: 0.01 }, slotMinutes: 60, maxIterations: 0 })).not.toThrow();
  });

  it("rejects bad parameters", () => {
    expect(() => syntheticHouseholds({ count: 0, seed: 1 })).toThrow(InvalidArgumentError);
    expect(() => syntheticHouseholds({ count: 10, seed: 1.5 })).toThrow(/seed = 1.5/);
    expect(() => syntheticHouseholds({ count: 10, seed: 1, startMinute: -1 })).toThrow(/startMinute = -1/);
    expect(() => syntheticHouseholds({ count: 10, seed: 1, slotMinutes: 11 })).toThrow(/slotMinutes = 11/);
  });
});
