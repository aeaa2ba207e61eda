// The gateway's figures in one object (tests, benches, `sidegrid status`), read from its metrics.
import type { Anchorer } from "./anchorer";
import type { Backpressure, BackpressureStats } from "./backpressure";
import type { GatewayMetrics } from "./metrics";
import type { MeterPoller } from "./poller";
import type { ShardMembership, ShardStats } from "./shards";
import type { GatewayStore } from "./store";

export interface GatewaySnapshot {
  at: number;
  meters: number;
  /** `skipped`: deferred by backpressure or not due yet (no record expected); not failures. */
  polls: { ok: number; failed: number; skipped: number };
  readings: { stored: number; notPermitted: number; rejected: number; duplicates: number };
  outboxPending: number;
  anchored: number;
  anchorTxs: number;
  alerts: number;
  queue: { waiting: number; active: number; delayed: number; failed: number };
  /** Deferred polls while anchoring was behind (backpressure.ts). */
  backpressure: BackpressureStats;
  shard?: ShardStats;
}

async function counter(metrics: GatewayMetrics, name: string, label?: Record<string, string>): Promise<number> {
  const m = (await metrics.registry.getSingleMetric(name)?.get()) as { values: { value: number; labels: Record<string, string> }[] } | undefined;
  return (m?.values ?? []).filter((v) => !label || Object.entries(label).every(([k, x]) => v.labels[k] === x)).reduce((s, v) => s + v.value, 0);
}

/** A snapshot of one running gateway. */
export async function gatewaySnapshot(d: {
  metrics: GatewayMetrics;
  poller: MeterPoller;
  store: GatewayStore;
  anchorer: Anchorer;
  meters: number;
  backpressure: Backpressure | undefined;
  shard: ShardMembership | undefined;
}): Promise<GatewaySnapshot> {
  const q = await d.poller.depth();
  const c = (name: string, label?: Record<string, string>) => counter(d.metrics, name, label);
  const polls = await c("sidegrid_gateway_polls_total");
  const ok = await c("sidegrid_gateway_polls_total", { result: "ok" });
  const skipped = (await c("sidegrid_gateway_polls_total", { result: "deferred" })) + (await c("sidegrid_gateway_polls_total", { result: "not_due" }));
  return {
    at: Date.now(),
    meters: d.meters,
    polls: { ok, failed: polls - ok - skipped, skipped },
    readings: {
      stored: await c("sidegrid_gateway_readings_total", { outcome: "stored" }),
      notPermitted: await c("sidegrid_gateway_readings_total", { outcome: "not_permitted" }),
      rejected: await c("sidegrid_gateway_readings_total", { outcome: "rejected" }),
      duplicates: await c("sidegrid_gateway_readings_total", { outcome: "duplicate" }),
    },
    outboxPending: d.store.pendingCount,
    anchored: d.anchorer.stats.anchored,
    anchorTxs: d.anchorer.stats.txs,
    alerts: await c("sidegrid_gateway_alerts_total"),
    queue: { waiting: q.waiting + q.prioritized, active: q.active, delayed: q.delayed, failed: q.failed },
    backpressure: d.backpressure ? { ...d.backpressure.stats } : { engaged: false, engagements: 0, deferred: 0, overdue: 0 },
    ...(d.shard ? { shard: { ...d.shard.stats, live: [...d.shard.stats.live] } } : {}),
  };
}
