import { Backpressure } from "./backpressure";

function outbox(pending: number, oldestReadAt?: number) {
  const o = { pendingCount: pending, oldest: oldestReadAt, oldestPendingReadAt: () => o.oldest };
  return o;
}

describe("backpressure", () => {
  it("engages at maxPending and releases only below half of it (no flapping at the limit)", () => {
    const o = outbox(0);
    const bp = new Backpressure(o, { maxPending: 100 }, () => 0);
    expect(bp.update()).toBe(false);
    o.pendingCount = 100;
    expect(bp.update()).toBe(true);
    o.pendingCount = 60;
    expect(bp.update()).toBe(true);
    o.pendingCount = 49;
    expect(bp.update()).toBe(false);
    o.pendingCount = 99;
    expect(bp.update()).toBe(false);
    expect(bp.stats.engagements).toBe(1);
  });

  it("engages when the oldest waiting record is older than maxAgeMs, whatever the count", () => {
    let now = 10_000;
    const o = outbox(5, 9_000);
    const bp = new Backpressure(o, { maxPending: 1_000, maxAgeMs: 1_500 }, () => now);
    expect(bp.update()).toBe(false);
    now = 10_500; // 1.5 s old
    expect(bp.update()).toBe(true);
    o.oldest = 9_700; // older records anchored: the oldest is 0.8 s old, not yet below half the limit
    expect(bp.update()).toBe(true);
    o.oldest = 9_800; // 0.7 s
    expect(bp.update()).toBe(false);
  });

  it("ignores the age of an empty outbox and an unknown oldest record", () => {
    const o = outbox(0, 0);
    const bp = new Backpressure(o, { maxAgeMs: 10 }, () => 1_000_000);
    expect(bp.update()).toBe(false);
    o.pendingCount = 3;
    o.oldest = undefined;
    expect(bp.update()).toBe(false);
  });

  it("defers only meters known to keep a log, and none longer than holdRecords intervals or maxDeferMs", () => {
    let now = 0;
    const bp = new Backpressure(outbox(200), { maxPending: 100, holdRecords: 10, maxDeferMs: 60_000 }, () => now);
    const I = 900_000;
    expect(bp.shouldDefer(undefined, 0)).toBe(false); // never polled: its interval is unknown
    expect(bp.shouldDefer({ polledAtClockMs: 0, polledAtMs: 0 }, I)).toBe(false); // a push meter
    expect(bp.shouldDefer({ polledAtClockMs: 0, polledAtMs: 0, intervalMs: I }, 9 * I)).toBe(true);
    expect(bp.shouldDefer({ polledAtClockMs: 0, polledAtMs: 0, intervalMs: I }, 10 * I)).toBe(false);
    now = 60_000;
    expect(bp.shouldDefer({ polledAtClockMs: 0, polledAtMs: 0, intervalMs: I }, I)).toBe(false);
    // A meter whose last poll left records behind (a page limit) is read: its log is already filling.
    now = 0;
    expect(bp.shouldDefer({ polledAtClockMs: 0, polledAtMs: 0, intervalMs: I, caughtUp: false }, I)).toBe(false);
    expect(bp.shouldDefer({ polledAtClockMs: 0, polledAtMs: 0, intervalMs: I, caughtUp: true }, I)).toBe(true);
    expect(bp.stats).toEqual({ engaged: true, engagements: 1, deferred: 2, overdue: 3 });
  });

  it("defers nothing while anchoring keeps up", () => {
    const bp = new Backpressure(outbox(10), { maxPending: 100 });
    expect(bp.shouldDefer({ polledAtClockMs: 0, polledAtMs: Date.now(), intervalMs: 900_000 }, 1)).toBe(false);
    expect(bp.stats.deferred).toBe(0);
  });
});
