// The member's checkpointer: one job, carrying BlockSEC's AccessLedger heads to BlockPRI. It folds
// the ledger's events into every consumer's (count, head), checking each entry continues its chain,
// and at every multiple of `intervalBlocks` (the latest at or below BlockSEC's head minus
// confirmations, so every member picks the same block) votes the root on AccessCheckpoints. It
// works from events alone: nodes that keep no state of past blocks serve the same answer.
// The heads and cursor live in the member's LevelDB, so a restart resumes without a rescan.
import { getAddress, type JsonRpcProvider } from "ethers";
import { settledBlock } from "@sidegrid/chain";
import { AccessHeadsTracker, readAccessEntries, type AccessHead, type AccessHeadsSnapshot } from "@sidegrid/blocksec";
import { AccessCheckpointsClient, checkpointsRevert, type CheckpointVote } from "../checkpoints";
import { AccessCheckpoints__factory } from "../generated";
import { CheckpointMisconfiguredError, CheckpointVoteError, type FederationError } from "../errors";
import type { FederationCheckpointerConfig } from "./config";
import type { MemberStore } from "./store";
import { Ticker } from "./ticker";
import type { RelayReceipt, RelaySender } from "./wire";

// A vote estimated while it was not the deciding one can become it: another member's vote lands
// between this one's estimate and its transaction, and this one then also stores the checkpoint
// (new storage slots and an event). Unused gas is not paid for, so every vote carries room for it.
export const FINALIZE_HEADROOM_GAS = 120_000n;

/** What became of the vote for one checkpoint block. */
export type CheckpointVoteOutcome =
  | { status: "voted" | "finalized"; vote: CheckpointVote; blockNumber: number }
  /** A checkpoint at or past this block exists, or this member voted for it before a restart. */
  | { status: "covered" | "already-voted"; secBlock: number }
  /** This member is not in BlockPRI's current member set. */
  | { status: "not-member"; secBlock: number };

/** Progress since the process started (the store holds the heads and the cursor). */
export interface CheckpointerStats {
  /** Last BlockSEC block folded into the heads. */
  cursor: number;
  /** The heads at `cursor` when it is a checkpoint block. */
  lastRoot: { secBlock: number; root: string; consumers: number; entries: number } | null;
  lastOutcome: CheckpointVoteOutcome | null;
  votes: number;
  finalized: number;
  lastError: string | null;
}

export interface CheckpointerDeps {
  config: FederationCheckpointerConfig;
  /** BlockSEC: its chain id, confirmations in the member's chain config, and a provider. */
  secChainId: number;
  secConfirmations: number;
  /** BlockSEC's `minBlockAgeMs`: a checkpoint block must be this old too (a root a rollback could undo is not voted). */
  secMinBlockAgeMs?: number;
  secProvider: JsonRpcProvider;
  /** BlockPRI, where AccessCheckpoints lives. */
  priProvider: JsonRpcProvider;
  address: string;
  store: MemberStore;
  /** The member's BlockPRI sender (undefined until the relayer set it up): one nonce sequence with relaying. */
  sender(): RelaySender | undefined;
  log: (level: "info" | "warn" | "error", msg: string, fields?: Record<string, unknown>) => void;
  onOutcome?: (o: CheckpointVoteOutcome) => void;
  onCursor?: (block: number) => void;
  onError?: (e: unknown) => void;
}

const CHECKPOINTED = AccessCheckpoints__factory.createInterface().getEvent("Checkpointed").topicHash;
const STATE_KEY = "checkpoint!state";
const VOTED_KEY = "checkpoint!voted";
const RANGE = 2000;

interface SavedState {
  cursor: number;
  heads: AccessHead[];
}

/**
 * Votes the AccessLedger heads' root on BlockPRI every `intervalBlocks` BlockSEC blocks.
 * @example
 * const c = new Checkpointer({ config, secChainId, secConfirmations: 0, secProvider, priProvider, address, store, sender: () => priSender, log });
 * await c.start(); // ... await c.stop();
 */
export class Checkpointer {
  readonly stats: CheckpointerStats = { cursor: 0, lastRoot: null, lastOutcome: null, votes: 0, finalized: 0, lastError: null };
  private readonly client: AccessCheckpointsClient;
  private readonly me: string;
  private tracker = new AccessHeadsTracker();
  private lastVoted = -1;
  private ticker: Ticker | undefined;
  private stopped = false;
  private verified = false;

  constructor(private readonly d: CheckpointerDeps) {
    this.client = new AccessCheckpointsClient({ address: d.config.accessCheckpoints, provider: d.priProvider });
    this.me = getAddress(d.address);
  }

  /** Starts the poll loop (it never throws: failures are logged, kept in `stats.lastError` and retried). */
  async start(): Promise<void> {
    const saved = await this.d.store.getValue<SavedState>(STATE_KEY);
    this.stats.cursor = saved?.cursor ?? this.d.config.startBlock - 1;
    this.tracker = new AccessHeadsTracker(saved?.heads ?? []);
    this.lastVoted = (await this.d.store.getValue<number>(VOTED_KEY)) ?? -1;
    this.ticker = new Ticker(() => this.tick(), this.d.config.pollMs ?? 1000);
    this.ticker.start();
  }

  /** Looks at once (the member saw a new head on the chain it reads). */
  kick(): void {
    this.ticker?.kick();
  }

  /** Stops after the step in hand (a vote being sent is waited for). */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.ticker?.stop();
  }


  private async tick(): Promise<void> {
    try {
      if (!this.verified) await this.verifyConfig();
      // The checkpoint block: the latest multiple of the interval at or below the newest block that is
      // confirmations deep (and minBlockAgeMs old), so every member picks the same one.
      const settled = await settledBlock(this.d.secProvider, { confirmations: this.d.config.confirmations ?? this.d.secConfirmations, minAgeMs: this.d.secMinBlockAgeMs ?? 0, floor: Math.max(-1, this.stats.cursor) });
      const target = settled.block < 0 ? -1 : Math.floor(settled.block / this.d.config.intervalBlocks) * this.d.config.intervalBlocks;
      if (target < this.d.config.startBlock) return;
      // The cursor never passes the next checkpoint block: the heads must be those at its end.
      if (this.stats.cursor < target) await this.fold(target);
      if (this.stats.cursor === target && target > this.lastVoted && !this.stopped) await this.vote(this.tracker.snapshot(target));
      this.stats.lastError = null;
    } catch (e) {
      const msg = (e as FederationError).shortMessage ?? (e as Error)?.message?.split("\n")[0] ?? String(e);
      if (msg !== this.stats.lastError) this.d.log(e instanceof CheckpointMisconfiguredError ? "error" : "warn", "checkpointer: will retry", { error: msg });
      this.stats.lastError = msg;
      this.d.onError?.(e);
    }
  }

  /** AccessCheckpoints must attest the ledger this member follows, or its votes would certify another one. */
  private async verifyConfig(): Promise<void> {
    const c = await this.client.config();
    if (c.secChainId !== this.d.secChainId) throw new CheckpointMisconfiguredError("secChainId", this.d.secChainId, c.secChainId);
    if (c.accessLedger !== getAddress(this.d.config.accessLedger)) throw new CheckpointMisconfiguredError("accessLedger", this.d.config.accessLedger, c.accessLedger);
    this.verified = true;
  }

  /** Folds events up to `target` into the heads; a chunk and the cursor are saved together. */
  private async fold(target: number): Promise<void> {
    while (!this.stopped && this.stats.cursor < target) {
      const from = this.stats.cursor + 1;
      const to = Math.min(target, from + RANGE - 1);
      const entries = await readAccessEntries(this.d.secProvider, this.d.config.accessLedger, from, to);
      // On a chunk that breaks a chain nothing is kept: the heads stay those of `cursor`.
      const next = new AccessHeadsTracker(this.tracker.snapshot(this.stats.cursor).heads);
      next.apply(entries);
      await this.d.store.putValue(STATE_KEY, { cursor: to, heads: next.snapshot(to).heads } as unknown as Record<string, unknown>);
      this.tracker = next;
      this.stats.cursor = to;
      this.d.onCursor?.(to);
    }
  }

  private async vote(snap: AccessHeadsSnapshot): Promise<void> {
    const vote: CheckpointVote = { secBlock: snap.block, root: snap.root, consumers: snap.consumers, entries: snap.entries };
    this.stats.lastRoot = vote;
    const outcome = await this.send(vote);
    if (outcome.status !== "not-member") {
      this.lastVoted = vote.secBlock;
      await this.d.store.putValue(VOTED_KEY, vote.secBlock);
    } else {
      // Asked again at the next checkpoint block (a set update may admit this member).
      this.lastVoted = vote.secBlock;
    }
    this.stats.lastOutcome = outcome;
    if (outcome.status === "voted" || outcome.status === "finalized") this.stats.votes++;
    if (outcome.status === "finalized") this.stats.finalized++;
    this.d.log("info", `checkpointer: ${outcome.status}`, { secBlock: vote.secBlock, root: vote.root, consumers: vote.consumers, entries: vote.entries });
    this.d.onOutcome?.(outcome);
  }

  private async send(vote: CheckpointVote): Promise<CheckpointVoteOutcome> {
    const secBlock = vote.secBlock;
    const latest = await this.client.latest();
    if (latest && latest.secBlock >= secBlock) return { status: "covered", secBlock };
    if (await this.client.hasVoted(secBlock, this.me)) return { status: "already-voted", secBlock };
    const data = this.client.encodeVote(vote);
    let gas: bigint;
    try {
      gas = await this.d.priProvider.estimateGas({ from: this.me, to: this.client.address, data });
    } catch (e) {
      const r = checkpointsRevert(e);
      if (r?.name === "CheckpointsStaleBlock") return { status: "covered", secBlock };
      if (r?.name === "CheckpointsAlreadyVoted") return { status: "already-voted", secBlock };
      if (r?.name === "CheckpointsNotMember") return { status: "not-member", secBlock };
      throw new CheckpointVoteError(secBlock, `gas estimation failed: ${(e as Error).message?.slice(0, 200)}`, r?.name, { cause: e });
    }
    const sender = this.d.sender();
    if (!sender) throw new CheckpointVoteError(secBlock, "the member's BlockPRI sender is not ready yet");
    let receipt: RelayReceipt;
    try {
      receipt = await (await sender.send(this.client.address, data, (gas * 12n) / 10n + FINALIZE_HEADROOM_GAS)).wait();
    } catch (e) {
      throw new CheckpointVoteError(secBlock, `transaction failed: ${(e as Error).message?.slice(0, 200)}`, undefined, { cause: e });
    }
    if (receipt.status !== 1) {
      // Another member's vote finalized the block in between.
      const now = await this.client.latest();
      if (now && now.secBlock >= secBlock) return { status: "covered", secBlock };
      throw new CheckpointVoteError(secBlock, `vote reverted in block ${receipt.blockNumber}`);
    }
    // This vote finalized the checkpoint if its own transaction emitted Checkpointed.
    const finalized = receipt.logs.some((l) => l.topics[0] === CHECKPOINTED);
    return { status: finalized ? "finalized" : "voted", vote, blockNumber: receipt.blockNumber };
  }
}
