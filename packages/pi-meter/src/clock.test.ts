// SimClock: simulated time against the wall clock, capped at real time or not, and when a simulated
// moment will be reached (what a demo or a test must wait for).
import { SimClock } from "./clock";
import { InvalidArgumentError } from "./errors";

const REAL0 = Date.UTC(2026, 11, 5, 12, 0, 0);
let wall = REAL0;
beforeEach(() => {
  wall = REAL0;
  jest.spyOn(Date, "now").mockImplementation(() => wall);
});
afterEach(() => jest.restoreAllMocks());

describe("SimClock", () => {
  it("runs `speed` times faster than the wall clock from its start", () => {
    const c = new SimClock({ simStartMs: REAL0 - 86_400_000, realStartMs: REAL0, speed: 120 });
    wall += 30_000;
    expect(c.now()).toBe(REAL0 - 86_400_000 + 3_600_000);
  });

  it("capped at real time: fast until it meets the wall clock, then real time, never ahead", () => {
    const c = new SimClock({ simStartMs: REAL0 - 2 * 3_600_000, realStartMs: REAL0, speed: 120, capAtReal: true });
    wall += 30_000; // an hour of simulated time
    expect(c.now()).toBe(REAL0 - 3_600_000);
    wall += 60_000; // uncapped, it would now be an hour ahead of the wall clock
    expect(c.now()).toBe(wall);
    const uncapped = new SimClock({ simStartMs: REAL0 - 2 * 3_600_000, realStartMs: REAL0, speed: 120 });
    expect(uncapped.now()).toBeGreaterThan(wall);
  });

  it("realTimeOf: when the wall clock shows the moment the simulated clock reaches a time", () => {
    const behind = new SimClock({ simStartMs: REAL0 - 2 * 86_400_000, realStartMs: REAL0, speed: 120, capAtReal: true });
    // An hour of simulated time is 30 s at ×120.
    expect(behind.realTimeOf(REAL0 - 2 * 86_400_000 + 3_600_000)).toBe(REAL0 + 30_000);
    // A moment past real time is reached only when real time gets there.
    expect(behind.realTimeOf(REAL0 + 3_600_000)).toBe(REAL0 + 3_600_000);
    const fast = new SimClock({ simStartMs: REAL0, realStartMs: REAL0, speed: 120 });
    expect(fast.realTimeOf(REAL0 + 3_600_000)).toBe(REAL0 + 30_000);
    // What realTimeOf promises, now() keeps.
    wall = behind.realTimeOf(REAL0 - 86_400_000);
    expect(behind.now()).toBe(REAL0 - 86_400_000);
  });

  it("a manual clock: only advance() moves it, so a later moment is never reached on its own", () => {
    const m = new SimClock({ simStartMs: REAL0, manual: true });
    expect(m.realTimeOf(REAL0 + 1)).toBe(Infinity);
    expect(m.realTimeOf(REAL0)).toBe(wall);
    m.advance(1);
    expect(m.realTimeOf(REAL0 + 1)).toBe(wall);
  });

  it("refuses a speed that is not a positive number", () => {
    expect(() => new SimClock({ speed: 0 })).toThrow(InvalidArgumentError);
    expect(() => new SimClock({ speed: Number.NaN })).toThrow(InvalidArgumentError);
  });
});
