import { blockNumber, ContractRevertError } from "@sidegrid/chain";
import type { JsonRpcProvider } from "ethers";
import type { BlockSecClient } from "./client";

/** One payload as BlockPRI emitted it (the shape of `@sidegrid/blockpri`'s RelayPayloadEvent). */
export interface RelayPayloadLike {
  consumer: string;
  version: bigint;
  kind: string;
  payload: string;
  blockNumber: number;
  transactionHash: string;
  logIndex: number;
}

/**
 * Where preference payloads come from: `@sidegrid/blockpri`'s BlockPriClient fits (described here
 * structurally because the chain packages do not depend on one another).
 */
export interface RelayPayloadSource {
  readonly address: string;
  readonly chainId: bigint;
  readonly provider: JsonRpcProvider;
  relayPayloads(params: { fromBlock?: number; toBlock?: number | "latest" }): Promise<RelayPayloadLike[]>;
}

export interface RelayPreferencesParameters {
  from: RelayPayloadSource;
  /** BlockSEC client whose sender holds FEDERATION_ROLE on the mirror. */
  to: BlockSecClient;
  /** First BlockPRI block to read (default 0). */
  fromBlock?: number;
  /** Last block to read (default: BlockPRI's latest). */
  toBlock?: number;
}

export interface RelayOutcome {
  payload: RelayPayloadLike;
  /** The delivery transaction on BlockSEC (absent when refused before mining). */
  txHash?: string;
  /** The revert's error name when not delivered. */
  error?: string;
}

export interface RelayPreferencesReturnType {
  delivered: RelayOutcome[];
  /** Refused as not newer than what the mirror holds (already relayed, or overtaken). */
  stale: RelayOutcome[];
  /** Refused for another reason (wrong source, malformed): recorded and skipped, like the inbox does. */
  failed: RelayOutcome[];
  /** Where the next run should start. */
  nextFromBlock: number;
}

/**
 * The trusted-relayer stand-in for the federation: reads BlockPRI's RelayPayload events in a block
 * range and delivers each, in order, to BlockSEC's PolicyMirror via `onFederatedMessage`. Stale
 * deliveries (the mirror already holds that version or a newer one) are reported, not thrown, so
 * relaying the same range twice is harmless.
 *
 * @example
 * let next = 0;
 * ({ nextFromBlock: next } = await relayPreferences({ from: blockpriClient, to: blocksecClient, fromBlock: next }));
 */
export async function relayPreferences(params: RelayPreferencesParameters): Promise<RelayPreferencesReturnType> {
  const toBlock = params.toBlock ?? (await blockNumber(params.from.provider));
  const fromBlock = params.fromBlock ?? 0;
  const out: RelayPreferencesReturnType = { delivered: [], stale: [], failed: [], nextFromBlock: toBlock + 1 };
  if (toBlock < fromBlock) return { ...out, nextFromBlock: fromBlock };
  const payloads = await params.from.relayPayloads({ fromBlock, toBlock });
  for (const p of payloads) {
    try {
      const r = await params.to.deliverPreferences(params.from.chainId, params.from.address, p.payload);
      out.delivered.push({ payload: p, txHash: r.transactionHash });
    } catch (e) {
      if (!(e instanceof ContractRevertError)) throw e;
      const outcome: RelayOutcome = { payload: p, error: e.errorName ?? "unknown revert", ...(e.txHash ? { txHash: e.txHash } : {}) };
      if (e.errorName === "StalePreferenceVersion" || e.errorName === "StaleRegistrationVersion") out.stale.push(outcome);
      else out.failed.push(outcome);
    }
  }
  return out;
}
