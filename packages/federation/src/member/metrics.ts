import { Counter, Gauge, Histogram, Registry } from "prom-client";

/** The Prometheus metrics of one member, in a registry of its own (several members may share a process in tests). */
export interface MemberMetrics {
  registry: Registry;
  chainHead: Gauge<"chain">;
  chainCursor: Gauge<"chain">;
  chainLag: Gauge<"chain">;
  pending: Gauge<"dst">;
  ready: Gauge<"dst">;
  signatures: Counter<"origin">;
  signaturesRejected: Counter<"reason">;
  relayed: Counter<"dst" | "outcome">;
  submissions: Counter<"dst" | "result">;
  relayLatency: Histogram<"dst">;
  peerUp: Gauge<"peer">;
  custodyGrants: Counter<"outcome" | "reason">;
  custodyKeysReleased: Counter;
  custodyErrors: Counter;
  checkpointVotes: Counter<"outcome">;
  checkpointCursor: Gauge;
  checkpointErrors: Counter;
  txRecoveries: Gauge<"chain" | "kind">;
  /** Where `txRecoveries` reads from at each scrape: the member's relay senders by chain name. */
  recoverySources: Map<string, () => RecoveryCounts | undefined>;
}

/** What a relay sender worked around in its node's pool (`UnminedTransactions` in @sidegrid/chain). */
export interface RecoveryCounts {
  readonly flushed: number;
  readonly rebroadcast: number;
  readonly gapsFilled: number;
  readonly resubmitted: number;
}

export function createMemberMetrics(member: number): MemberMetrics {
  const registry = new Registry();
  registry.setDefaultLabels({ member: String(member) });
  const r = { registers: [registry] };
  const recoverySources = new Map<string, () => RecoveryCounts | undefined>();
  return {
    registry,
    recoverySources,
    txRecoveries: new Gauge({
      name: "federation_tx_recoveries",
      help: "Times a relay sender worked around its node, per chain: flushed (mined a block for a ready transaction), rebroadcast (sent a dropped one again), gaps_filled (nonces a rollback took), resubmitted (a pool that filed a minable transaction as queued)",
      labelNames: ["chain", "kind"],
      ...r,
      collect() {
        for (const [chain, read] of recoverySources) {
          const c = read();
          if (!c) continue;
          this.set({ chain, kind: "flushed" }, c.flushed);
          this.set({ chain, kind: "rebroadcast" }, c.rebroadcast);
          this.set({ chain, kind: "gaps_filled" }, c.gapsFilled);
          this.set({ chain, kind: "resubmitted" }, c.resubmitted);
        }
      },
    }),
    chainHead: new Gauge({ name: "federation_chain_head_block", help: "Latest block seen per chain", labelNames: ["chain"], ...r }),
    chainCursor: new Gauge({ name: "federation_chain_cursor_block", help: "Last block fully processed per chain", labelNames: ["chain"], ...r }),
    chainLag: new Gauge({ name: "federation_chain_lag_blocks", help: "Head minus cursor per chain", labelNames: ["chain"], ...r }),
    pending: new Gauge({ name: "federation_pending_messages", help: "Signed messages not yet executed, per destination", labelNames: ["dst"], ...r }),
    ready: new Gauge({ name: "federation_ready_messages", help: "Pending messages with a signature quorum, per destination", labelNames: ["dst"], ...r }),
    signatures: new Counter({ name: "federation_signatures_total", help: "Signatures made (own) or received (peer)", labelNames: ["origin"], ...r }),
    signaturesRejected: new Counter({ name: "federation_signatures_rejected_total", help: "Signatures refused", labelNames: ["reason"], ...r }),
    relayed: new Counter({ name: "federation_relayed_messages_total", help: "Messages this member delivered", labelNames: ["dst", "outcome"], ...r }),
    submissions: new Counter({ name: "federation_relay_submissions_total", help: "deliver transactions by result", labelNames: ["dst", "result"], ...r }),
    relayLatency: new Histogram({
      name: "federation_relay_latency_seconds",
      help: "From first sight of a message to its execution (as this member saw both)",
      labelNames: ["dst"],
      buckets: [0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1, 2, 5, 10, 30],
      ...r,
    }),
    peerUp: new Gauge({ name: "federation_peer_up", help: "1 if the last signature push to the peer succeeded", labelNames: ["peer"], ...r }),
    custodyGrants: new Counter({
      name: "federation_custody_grants_total",
      help: "Access grants handled by the custodian: released, already-released (before a restart) or skipped (with the reason)",
      labelNames: ["outcome", "reason"],
      ...r,
    }),
    custodyKeysReleased: new Counter({ name: "federation_custody_keys_released_total", help: "Epoch-key shares released to grantees", ...r }),
    custodyErrors: new Counter({ name: "federation_custody_errors_total", help: "Custodian polls that failed and will be retried (see /health custody.lastError)", ...r }),
    checkpointVotes: new Counter({ name: "federation_checkpoint_votes_total", help: "AccessLedger checkpoint votes: voted, finalized (this vote made it), covered (a checkpoint at or past the block exists), not-member", labelNames: ["outcome"], ...r }),
    checkpointCursor: new Gauge({ name: "federation_checkpoint_cursor_block", help: "Last BlockSEC block the checkpointer folded into its heads", ...r }),
    checkpointErrors: new Counter({ name: "federation_checkpoint_errors_total", help: "Checkpointer polls that failed and will be retried (see /health checkpointer.lastError)", ...r }),
  };
}
