// When demo scenario (iv) can be played: its event lies an hour or more ahead on the meters' clock,
// which a clock still catching up with real time reaches in seconds and a clock that met it in hours.
import { SimClock } from "@sidegrid/pi-meter";
import { demandResponseSkip, demandResponseWindow } from "./demoDemandResponse";

const Q = 900_000;

describe("demandResponseWindow / demandResponseSkip", () => {
  it("meters two days behind at ×120: the event's next report comes within about a minute and a quarter", () => {
    const now = Date.now();
    const clock = new SimClock({ simStartMs: now - 2 * 86_400_000, realStartMs: now, speed: 120, capAtReal: true });
    const w = demandResponseWindow(clock);
    expect(w.start % Q).toBe(0);
    expect(w.end - w.start).toBe(4 * Q);
    expect(w.start - clock.now()).toBeGreaterThanOrEqual(4 * Q);
    // At most nine and a bit quarters of meter time ahead: ≤ 9 × 900 s / 120 + a second.
    expect(w.readyAtMs - now).toBeLessThanOrEqual((10 * Q) / 120 + 1000);
    expect(demandResponseSkip(clock, 120_000)).toBeUndefined();
  });

  it("meters that keep real time: over two hours of real time, so the demo skips it unless told to wait that long", () => {
    const now = Date.now();
    const clock = new SimClock({ simStartMs: now - 86_400_000, realStartMs: now - 3_600_000, speed: 120, capAtReal: true });
    expect(Math.abs(clock.now() - Date.now())).toBeLessThan(1000);
    const skip = demandResponseSkip(clock, 120_000, now);
    expect(skip?.reason).toBe("the simulated meters' clock has met the wall clock");
    expect(skip!.waitMs).toBeGreaterThanOrEqual(9 * Q - 1000);
    expect(skip!.waitMs).toBeLessThanOrEqual(10 * Q + 1000);
    expect(demandResponseSkip(clock, skip!.waitMs + 60_000, now)).toBeUndefined();
  });
});
