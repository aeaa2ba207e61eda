import { formatProgress } from "./progress";
import type { GatewaySnapshot } from "./gateway";

const snap = (at: number, n: number): GatewaySnapshot => ({
  at,
  meters: 1000,
  polls: { ok: 10 * n, failed: 2, skipped: 0 },
  readings: { stored: 100 * n, notPermitted: 5, rejected: 0, duplicates: 0 },
  outboxPending: 1234,
  anchored: 90 * n,
  anchorTxs: n,
  alerts: 3,
  queue: { waiting: 12, active: 8, delayed: 980, failed: 0 },
  backpressure: { engaged: false, engagements: 0, deferred: 0, overdue: 0 },
});

describe("progress display", () => {
  it("shows totals and per-second rates between two snapshots", () => {
    const line = formatProgress(snap(0, 10), snap(2000, 110));
    expect(line).toBe(
      "meters 1,000 │ polls 1,100 +500/s (2 failed) │ stored 11,000 +5,000/s │ not permitted 5 │ outbox 1,234 │ anchored 9,900 +4,500/s in 110 txs │ queue w12 a8 d980 f0 │ alerts 3",
    );
    expect(formatProgress(undefined, snap(0, 1))).not.toMatch(/\/s/);
    const held = { ...snap(0, 1), backpressure: { engaged: true, engagements: 1, deferred: 40, overdue: 0 } };
    expect(formatProgress(undefined, held)).toContain("outbox 1,234 (backpressure: polls deferred) │");
  });
});
