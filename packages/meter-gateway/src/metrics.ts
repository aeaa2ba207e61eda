// Prometheus metrics of one gateway, on a registry of its own (several gateways can live in one
// process in tests without clashing on prom-client's global registry).
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";

export interface GatewayMetrics {
  registry: Registry;
  polls: Counter<"result">;
  pollDuration: Histogram<string>;
  readings: Counter<"outcome">;
  alerts: Counter<"kind">;
  outboxPending: Gauge<string>;
  outboxOldestAge: Gauge<string>;
  backpressure: Gauge<string>;
  anchoredRecords: Counter<string>;
  anchorTxs: Counter<string>;
  anchorGas: Counter<string>;
  droppedRecords: Counter<"reason">;
  readingToAnchor: Histogram<string>;
  queueJobs: Gauge<"state">;
  scheduleResyncs: Counter<string>;
  anchorRollbacks: Counter<string>;
  apiRequests: Counter<"route" | "status">;
  txRecoveries: Gauge<"kind">;
}

/** What a TxSender worked around in its node's pool, as it counts it (`stall.ts` in @sidegrid/chain). */
export interface TxRecoveryCounts {
  readonly stalledFlushed: number;
  readonly rebroadcast: number;
  readonly gapsFilled: number;
  readonly resubmitted: number;
}

/**
 * Creates the gateway's metrics on a fresh registry.
 * @example
 * const m = createGatewayMetrics(); m.polls.inc({ result: "ok" }); await m.registry.metrics();
 */
export function createGatewayMetrics(options: { defaultMetrics?: boolean; sender?: TxRecoveryCounts } = {}): GatewayMetrics {
  const sender = options.sender;
  const registry = new Registry();
  // The event-loop lag monitor samples every 200 ms, not prom-client's 10 ms: at 10 ms it woke an idle
  // gateway ~100 times a second (epoll wakes 243/s → 66/s measured; CPU within noise either way).
  if (options.defaultMetrics) collectDefaultMetrics({ register: registry, prefix: "sidegrid_gateway_", eventLoopMonitoringPrecision: 200 });
  const r = [registry];
  return {
    registry,
    polls: new Counter({ name: "sidegrid_gateway_polls_total", help: "Meter polls by result", labelNames: ["result"], registers: r }),
    pollDuration: new Histogram({ name: "sidegrid_gateway_poll_duration_seconds", help: "Time of one poll (read, ingest, acknowledge)", buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5], registers: r }),
    readings: new Counter({ name: "sidegrid_gateway_readings_total", help: "Meter readings by outcome", labelNames: ["outcome"], registers: r }),
    alerts: new Counter({ name: "sidegrid_gateway_alerts_total", help: "Tamper and health alerts by kind", labelNames: ["kind"], registers: r }),
    outboxPending: new Gauge({ name: "sidegrid_gateway_outbox_pending", help: "Encrypted records waiting to be anchored", registers: r }),
    outboxOldestAge: new Gauge({ name: "sidegrid_gateway_outbox_oldest_age_seconds", help: "Age of the oldest record waiting to be anchored", registers: r }),
    backpressure: new Gauge({ name: "sidegrid_gateway_backpressure", help: "1 while polls of meters that keep their log are deferred because anchoring is behind", registers: r }),
    anchoredRecords: new Counter({ name: "sidegrid_gateway_anchored_records_total", help: "Records anchored on BlockSEC", registers: r }),
    anchorTxs: new Counter({ name: "sidegrid_gateway_anchor_txs_total", help: "anchorBatch transactions mined", registers: r }),
    anchorGas: new Counter({ name: "sidegrid_gateway_anchor_gas_total", help: "Gas used by anchorBatch transactions", registers: r }),
    droppedRecords: new Counter({ name: "sidegrid_gateway_dropped_records_total", help: "Pending records dropped before anchoring", labelNames: ["reason"], registers: r }),
    readingToAnchor: new Histogram({ name: "sidegrid_gateway_reading_to_anchor_seconds", help: "From reading received to anchored receipt", buckets: [0.1, 0.25, 0.5, 1, 1.5, 2, 3, 5, 10, 30], registers: r }),
    queueJobs: new Gauge({ name: "sidegrid_gateway_queue_jobs", help: "Polling jobs by state", labelNames: ["state"], registers: r }),
    anchorRollbacks: new Counter({ name: "sidegrid_gateway_anchor_rollbacks_total", help: "Times anchors left the chain (reorg, node restarted from an older state) and their records were sent again", registers: r }),
    scheduleResyncs: new Counter({ name: "sidegrid_gateway_schedule_resyncs_total", help: "Times the poll schedules were re-created because Redis had lost them", registers: r }),
    apiRequests: new Counter({ name: "sidegrid_gateway_api_requests_total", help: "HTTP API requests", labelNames: ["route", "status"], registers: r }),
    // A dev node's pool trouble was visible only in a timeout's message; these count each fix.
    txRecoveries: new Gauge({
      name: "sidegrid_gateway_tx_recoveries",
      help: "Times the anchoring account's sender worked around its node: flushed (mined a block for a ready transaction), rebroadcast (sent a dropped one again), gaps_filled (nonces a rollback took), resubmitted (a pool that filed a minable transaction as queued)",
      labelNames: ["kind"],
      registers: r,
      collect() {
        if (!sender) return;
        this.set({ kind: "flushed" }, sender.stalledFlushed);
        this.set({ kind: "rebroadcast" }, sender.rebroadcast);
        this.set({ kind: "gaps_filled" }, sender.gapsFilled);
        this.set({ kind: "resubmitted" }, sender.resubmitted);
      },
    }),
  };
}
