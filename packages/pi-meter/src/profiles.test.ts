import { SimClock } from "./clock";
import { integrateMinutes, makeLoadProfile, minuteSample } from "./profiles";

const JUNE_21 = Date.UTC(2025, 5, 21);
const DEC_21 = Date.UTC(2025, 11, 21);
const minuteOf = (ms: number) => Math.floor(ms / 60000);

describe("load profiles", () => {
  it("are deterministic in (seed, meter, minute) and differ between meters and seeds", () => {
    const a = makeLoadProfile({ seed: "s", meterId: 1 });
    const b = makeLoadProfile({ seed: "s", meterId: 1 });
    const c = makeLoadProfile({ seed: "s", meterId: 2 });
    const d = makeLoadProfile({ seed: "t", meterId: 1 });
    const m = minuteOf(JUNE_21 + 18 * 3600_000);
    expect(minuteSample(a, m)).toEqual(minuteSample(b, m));
    expect(minuteSample(a, m).consumptionW).not.toBe(minuteSample(c, m).consumptionW);
    expect(minuteSample(a, m).consumptionW).not.toBe(minuteSample(d, m).consumptionW);
  });

  it("gives households a daily energy of a few kWh with an evening peak above the night", () => {
    const days: number[] = [];
    let night = 0;
    let evening = 0;
    for (let id = 1; id <= 20; id++) {
      const p = makeLoadProfile({ seed: "households", meterId: id, kind: "household" });
      const day = integrateMinutes(p, minuteOf(DEC_21), 1440);
      days.push(day.importWh);
      // Local time is UTC+1: 03:00 local = 02:00 UTC, 19:30 local = 18:30 UTC.
      night += integrateMinutes(p, minuteOf(DEC_21 + 2 * 3600_000), 60).importWh;
      evening += integrateMinutes(p, minuteOf(DEC_21 + 18.5 * 3600_000), 60).importWh;
      expect(day.exportWh).toBe(0);
    }
    const mean = days.reduce((s, x) => s + x, 0) / days.length;
    expect(mean).toBeGreaterThan(4000);
    expect(mean).toBeLessThan(20000);
    expect(evening).toBeGreaterThan(1.8 * night);
  });

  it("makes prosumers export around solar noon in summer and never at night", () => {
    let noonExport = 0;
    for (let id = 1; id <= 10; id++) {
      const p = makeLoadProfile({ seed: "pv", meterId: id, kind: "prosumer" });
      expect(p.pvPeakW).toBeGreaterThan(0);
      for (let h = 0; h < 24; h++) {
        const s = minuteSample(p, minuteOf(JUNE_21 + h * 3600_000));
        if (h <= 1 || h >= 21) expect(s.pvW).toBe(0);
      }
      const summer = integrateMinutes(p, minuteOf(JUNE_21), 1440);
      const winter = integrateMinutes(p, minuteOf(DEC_21), 1440);
      noonExport += integrateMinutes(p, minuteOf(JUNE_21 + 11 * 3600_000), 60).exportWh;
      // Longer days: more generation in June whatever the weather draw.
      expect(summer.exportWh + 0.5).toBeGreaterThanOrEqual(winter.exportWh);
    }
    expect(noonExport).toBeGreaterThan(5000);
  });

  it("SimClock accelerates, advances and serialises", () => {
    const c = new SimClock({ simStartMs: JUNE_21, realStartMs: Date.now(), speed: 1000 });
    const again = SimClock.fromState(c.state());
    expect(Math.abs(again.now() - c.now())).toBeLessThan(1000 * 50);
    const m = new SimClock({ simStartMs: JUNE_21, manual: true });
    m.advance(900_000);
    expect(m.now()).toBe(JUNE_21 + 900_000);
  });
});
