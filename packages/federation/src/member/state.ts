// What the member's collaborators share about each chain it serves (the watcher fills in heads,
// cursors, member sets and pauses; the attester keeps the pending batches and their messages; the
// submitter its flush and gas state), and the small pure rules they all apply: quorum and pause.
import { EventFragment, Interface, type JsonRpcProvider } from "ethers";
import { makeProvider, rpcCall } from "@sidegrid/chain";
import type { MerkleTree } from "../merkle";
import { domainSeparator, messageKey, type FederationBatch, type FederationMessage } from "../messages";
import type { EventSourceConfig, MemberChainConfig } from "./config";
import type { SignatureItem } from "./peers";
import type { StoredBatch, StoredMessage } from "./store";
import type { RelaySender } from "./wire";

export type MemberLogger = (level: "info" | "warn" | "error", msg: string, fields?: Record<string, unknown>) => void;

/** An app contract whose events the RelayPayload adapter turns into messages. */
export interface EventSource {
  cfg: EventSourceConfig;
  address: string; // lower case
  iface: Interface;
  topic: string;
}

export interface MemberSetView {
  members: string[]; // checksummed, in set order
  threshold: number;
}

export interface ChainState {
  cfg: MemberChainConfig;
  id: bigint;
  provider: JsonRpcProvider;
  /** Raw JSON-RPC (native fetch and JSON.parse: ethers' response decoding costs ~0.3 ms per KB). */
  rpc: { send(method: string, params: unknown[]): Promise<unknown> };
  separator: string;
  sender: RelaySender | undefined;
  ready: boolean;
  cursor: number;
  head: number;
  lastPollAt: number;
  lastError: string | undefined;
  current: MemberSetView;
  previous: MemberSetView | undefined;
  previousExpiresAt: number;
  /** Source chain id (0n = all) → chain time its pause ends (a minority pause expires by itself). */
  paused: Map<bigint, number>;
  appGasLimit: bigint;
  /** Signers the inbox refused although their signatures recover (e.g. a grace period that ended). */
  excluded: Set<string>;
  /** Apps on this chain relayed through the RelayPayload adapter. */
  sources: EventSource[];
  /** Chain time minus local time, seconds (updated every poll). */
  clockOffset: number;
  /** Last time each member (address) was seen delivering a batch here (BatchDelivered). */
  progress: Map<string, number>;
  // relayer state, this chain as destination
  /** Messages signed (within a batch) and not seen executed, by message key. */
  pending: Map<string, PendingMessage>;
  /** Signed batches with messages still pending or not yet final, by batch key (in the order they were signed). */
  batches: Map<string, PendingBatch>;
  /**
   * Executions seen on this chain and not yet final, by message key, oldest first: re-checked
   * (`areExecuted`) until final, and back to pending if a rollback undid them.
   */
  executed: Map<string, SeenExecution>;
  inFlight: number;
  flushing: boolean;
  flushAgain: boolean;
  flushTimer: NodeJS.Timeout | undefined;
  flushAt: number;
  perMessageGas: bigint;
  batchCap: number;
}

/**
 * A batch this member signed: messages of one source chain for this destination, one root. The
 * signatures gathered are over `digest` (the inbox's `batchDigest`); readiness is the batch's.
 */
export interface PendingBatch {
  key: string;
  batch: FederationBatch;
  digest: string;
  /** Over every message digest of the batch, executed ones included (proofs need the whole tree). */
  tree: MerkleTree;
  /** Message keys in leaf order. */
  keys: string[];
  /** Messages not yet seen executed, by leaf index. */
  open: Map<number, PendingMessage>;
  /** Messages seen executed, not yet final (a rollback may undo them), by leaf index. */
  settling: Map<number, PendingMessage>;
  firstSeen: number;
  own: string;
  sigs: Map<string, string>; // lower-case signer -> signature
  bad: Set<string>;
  readyAt: number | undefined;
  lastResend: number;
}

export interface PendingMessage {
  key: string;
  msg: FederationMessage;
  digest: string;
  firstSeen: number;
  batch: PendingBatch;
  /** Index of this message's leaf in its batch's tree. */
  leaf: number;
  inflight: boolean;
  /** Delivery transactions that included this message. */
  attempts: number;
}

/** An execution seen on a destination (its event, a receipt or `areExecuted`) and not yet final. */
export interface SeenExecution {
  key: string;
  srcChainId: bigint;
  nonce: bigint;
  digest: string;
  /** The block it was executed in (or the head when found by a query): final once deep enough. */
  block: number;
  /** ms since epoch when it was seen. */
  at: number;
  /** The message as this member signed it, when it did (no longer pending, kept until final). */
  p: PendingMessage | undefined;
}

/**
 * The state of chain `cfg` before its first poll: the configured member set, `cursor` where the
 * store left it (or one before the start block), nothing pending.
 */
export function newChainState(cfg: MemberChainConfig, p: { cursor: number; members: string[]; threshold: number; eventSources: readonly EventSourceConfig[]; maxBatch: number }): ChainState {
  const id = BigInt(cfg.chainId);
  return {
    cfg,
    id,
    provider: makeProvider(cfg.rpcUrls ?? cfg.rpcUrl, cfg.chainId, cfg.quorum ? { quorum: cfg.quorum } : {}),
    rpc: { send: (method: string, params: unknown[]) => rpcCall(cfg.rpcUrl, method, params, 15_000) },
    separator: domainSeparator(id, cfg.inbox),
    sender: undefined,
    ready: false,
    cursor: p.cursor,
    head: p.cursor,
    lastPollAt: 0,
    lastError: undefined,
    current: { members: [...p.members], threshold: p.threshold },
    previous: undefined,
    previousExpiresAt: 0,
    paused: new Map(),
    appGasLimit: 1_000_000n,
    excluded: new Set(),
    progress: new Map(),
    clockOffset: 0,
    sources: p.eventSources
      .filter((e) => e.chain === cfg.name)
      .map((e) => {
        const frag = EventFragment.from(e.event);
        return { cfg: e, address: e.contract.toLowerCase(), iface: new Interface([frag]), topic: frag.topicHash };
      }),
    pending: new Map(),
    batches: new Map(),
    executed: new Map(),
    inFlight: 0,
    flushing: false,
    flushAgain: false,
    flushTimer: undefined,
    flushAt: 0,
    perMessageGas: 150_000n,
    batchCap: p.maxBatch,
  };
}

/** Delivery from `src` is paused now, by the chain's clock (expiry honoured, as the inbox does). */
export function isPaused(cs: ChainState, src: bigint): boolean {
  const t = Date.now() / 1000 + cs.clockOffset;
  return (cs.paused.get(0n) ?? 0) > t || (cs.paused.get(src) ?? 0) > t;
}

/**
 * Key of the batch whose lowest nonce is `firstNonce` (batches of a lane never share a nonce, so
 * this names one batch); the message-key layout, so it sorts in lane order.
 *
 * @example
 * batchKey(31002n, 31001n, 401n); // "31002/31001/00000000000000000401"
 */
export function batchKey(dst: bigint, src: bigint, firstNonce: bigint): string {
  return messageKey(dst, src, firstNonce);
}

/** Picks a quorum of batch signatures from one valid set; undefined when there is none yet. */
export function quorum(cs: ChainState, b: PendingBatch): string[] | undefined {
  const pick = (set: MemberSetView): string[] | undefined => {
    const out: string[] = [];
    for (const m of set.members) {
      const l = m.toLowerCase();
      if (b.bad.has(l) || cs.excluded.has(l)) continue;
      const sig = b.sigs.get(l);
      if (sig) out.push(sig);
      if (out.length === set.threshold) return out;
    }
    return undefined;
  };
  const cur = pick(cs.current);
  if (cur) return cur;
  // A few seconds of margin: the transaction lands in a later block than this decision.
  if (cs.previous && Date.now() / 1000 + cs.clockOffset < cs.previousExpiresAt - 5) return pick(cs.previous);
  return undefined;
}

/** A batch signature as members push it to each other. */
export function signatureItem(dst: bigint, b: PendingBatch): SignatureItem {
  return [dst.toString(), b.batch.srcChainId.toString(), b.batch.firstNonce.toString(), b.digest, b.own];
}

export function toStored(p: PendingMessage): StoredMessage {
  return {
    key: p.key,
    srcChainId: p.msg.srcChainId.toString(),
    srcSender: p.msg.srcSender,
    nonce: p.msg.nonce.toString(),
    dstChainId: p.msg.dstChainId.toString(),
    dstContract: p.msg.dstContract,
    payload: p.msg.payload,
    digest: p.digest,
    firstSeen: p.firstSeen,
    batch: p.batch.key,
  };
}

export function toStoredBatch(dst: bigint, b: PendingBatch, digests: readonly string[]): StoredBatch {
  return {
    key: b.key,
    dstChainId: dst.toString(),
    srcChainId: b.batch.srcChainId.toString(),
    firstNonce: b.batch.firstNonce.toString(),
    lastNonce: b.batch.lastNonce.toString(),
    root: b.batch.root,
    digest: b.digest,
    leaves: [...digests],
    keys: b.keys,
    signature: b.own,
    firstSeen: b.firstSeen,
  };
}

/** A stored message back as a pending message (its batch attaches it). */
export function messageFromStored(s: StoredMessage): FederationMessage {
  return {
    srcChainId: BigInt(s.srcChainId),
    srcSender: s.srcSender,
    nonce: BigInt(s.nonce),
    dstChainId: BigInt(s.dstChainId),
    dstContract: s.dstContract,
    payload: s.payload,
  };
}
