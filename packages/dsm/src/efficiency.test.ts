import { InvalidArgumentError } from "./errors";
import { efficiencyBaseline, efficiencyReward, type IntervalEnergy } from "./efficiency";

const DAY = 86_400;
const T = 1_767_268_800; // 2026-01-01T12:00:00Z
/** Fifteen-minute intervals over `days` days ending at T + 1 day, at `wh(start)` each. */
function series(days: number, wh: (start: number) => number): IntervalEnergy[] {
  const out: IntervalEnergy[] = [];
  for (let t = T - days * DAY; t < T + DAY; t += 900) out.push({ start: t, seconds: 900, importWh: wh(t) });
  return out;
}
const event = { start: T + 6 * 3600, end: T + 8 * 3600 }; // 18:00–20:00

describe("proof of efficiency", () => {
  it("is the mean of the same window on the last five days minus her use during the event", () => {
    // 300 Wh per interval normally, 100 Wh during the event: 8 intervals · 200 Wh saved.
    const r = efficiencyBaseline({ intervals: series(10, (t) => (t >= event.start && t < event.end ? 100 : 300)), event });
    expect(r).toEqual({ baselineWh: 2400, actualWh: 800, savedWh: 1600, baselineDays: [1, 2, 3, 4, 5].map((d) => event.start - d * DAY), eligible: true });
    expect(efficiencyReward(r.savedWh, 10n ** 18n)).toBe(16n * 10n ** 17n); // 1.6 kWh at 1 token per kWh
  });

  it("skips baseline days with a gap and never reads a gap as zero use", () => {
    const gapDay = event.start - 2 * DAY + 900;
    const r = efficiencyBaseline({ intervals: series(10, () => 250).filter((x) => x.start !== gapDay), event });
    expect(r.baselineDays).toEqual([1, 3, 4, 5, 6].map((d) => event.start - d * DAY));
    expect(r.savedWh).toBe(0);
    const missing = efficiencyBaseline({ intervals: series(10, () => 250).filter((x) => x.start !== event.start + 900), event });
    expect(missing).toMatchObject({ eligible: false, savedWh: 0, reason: "the event window is not fully metered" });
    const young = efficiencyBaseline({ intervals: series(2, () => 250), event });
    expect(young).toMatchObject({ eligible: false, savedWh: 0, reason: "2 of 5 baseline days fully metered" });
  });

  it("rewards nothing for using more, and rounds down to the watt-hour and the token unit", () => {
    expect(efficiencyBaseline({ intervals: series(6, (t) => (t >= event.start && t < event.end ? 400 : 300)), event }).savedWh).toBe(0);
    // Baseline 8 × 300.6 = 2404.8 → 2404 Wh; actual 800.
    expect(efficiencyBaseline({ intervals: series(6, (t) => (t >= event.start && t < event.end ? 100 : 300.6)), event }).savedWh).toBe(1604);
    expect(efficiencyReward(1, 999n)).toBe(0n);
  });

  it("refuses windows and data it cannot judge, with typed errors", () => {
    const s = series(6, () => 1);
    expect(() => efficiencyBaseline({ intervals: s, event: { start: event.end, end: event.start } })).toThrow(InvalidArgumentError);
    expect(() => efficiencyBaseline({ intervals: s, event: { start: event.start + 60, end: event.end } })).toThrow(/aligned to the 900-second intervals/);
    expect(() => efficiencyBaseline({ intervals: [...s, { start: s[0]!.start, seconds: 900, importWh: 99 }], event })).toThrow(/one figure per interval/);
    expect(() => efficiencyBaseline({ intervals: [{ start: T, seconds: 900, importWh: -1 }], event })).toThrow(/non-negative importWh/);
    expect(() => efficiencyReward(1.5, 1n)).toThrow(InvalidArgumentError);
  });
});
