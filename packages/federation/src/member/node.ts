// One federation member: a chain watcher per chain (watcher.ts) hands what it observed to the
// attester (attester.ts), which cuts it into batches per source block and destination, signs each
// batch's Merkle root as EIP-712 typed data, persists it with the cursor in one LevelDB batch and
// gathers the other members' signatures (pushed over HTTP by peers.ts); the submitter
// (submitter.ts) delivers ready batches to the destination inbox, each message with its proof,
// when this member is the batch's relayer (or the designated one is late); the reconciler (reconciler.ts)
// drops what others delivered. This file wires them, serves the peer API, /health and /metrics,
// and runs the custodian and checkpointer beside them. See README "The member node: design".
import http from "node:http";
import express from "express";
import { SigningKey, getAddress } from "ethers";
import { MemberStartError } from "../errors";
import { Attester } from "./attester";
import type { MemberConfig } from "./config";
import { Checkpointer, type CheckpointerStats } from "./checkpointer";
import { Custodian, type CustodianStats } from "./custodian";
import { createMemberMetrics, type MemberMetrics } from "./metrics";
import { PeerExchange, SIGNATURES_PATH, authenticatePush } from "./peers";
import { Reconciler } from "./reconciler";
import { newChainState, type ChainState, type MemberLogger } from "./state";
import { MemberStore } from "./store";
import { Submitter } from "./submitter";
import { ChainWatcher } from "./watcher";

/** A running member: its address and URL, a health snapshot, and `stop()`. */
export interface MemberHandle {
  index: number;
  address: string;
  url: string;
  metrics: MemberMetrics;
  health(): MemberHealth;
  /**
   * Takes a new member directory (address and URL of every member; the operator added or removed
   * one): pushes go to these members and only their pushes are accepted. Which signatures count is
   * still the inbox's member set, read from each chain.
   */
  updatePeers(peers: readonly { address: string; url: string }[]): void;
  stop(): Promise<void>;
}

export interface MemberHealth {
  ok: boolean;
  member: number;
  address: string;
  uptimeSec: number;
  chains: { name: string; chainId: number; head: number; cursor: number; lag: number; ready: boolean; lastPollAgoMs: number; error: string | null }[];
  pending: number;
  ready: number;
  inFlight: number;
  /** Executions seen and not yet final (kept and re-checked until `finalityMs` has passed and the chain's confirmations are deep). */
  settling: number;
  signatures: { own: number; peer: number };
  peers: { address: string; url: string; up: boolean; queued: number }[];
  /** The custodian's progress (key shares released on grants), when custody is configured. */
  custody?: CustodianStats;
  /** The checkpointer's progress (AccessLedger roots voted on BlockPRI), when configured. */
  checkpointer?: CheckpointerStats;
}

export interface StartMemberOptions {
  log?: MemberLogger;
}

/**
 * Starts one federation member in this process: opens its LevelDB, serves the peer API, /health and
 * /metrics on its URL, watches every chain, signs each observed message, exchanges signatures with
 * the other members and relays when it is the message's relayer (or its relayer is late).
 *
 * @example
 * const member = await startMember(loadMemberConfig(".sidegrid/federation.json", 0));
 * // ...
 * await member.stop();
 */
export async function startMember(config: MemberConfig, options: StartMemberOptions = {}): Promise<MemberHandle> {
  const node = new MemberNode(config, options.log ?? defaultLogger(config.index));
  await node.start();
  return {
    index: config.index,
    address: config.address,
    url: config.url,
    metrics: node.metrics,
    health: () => node.health(),
    updatePeers: (peers) => node.updatePeers(peers),
    stop: () => node.stop(),
  };
}

function defaultLogger(index: number): MemberLogger {
  return (level, msg, fields) => {
    const line = JSON.stringify({ t: new Date().toISOString(), level, member: index, msg, ...fields });
    if (level === "error") process.stderr.write(`${line}\n`);
    else process.stdout.write(`${line}\n`);
  };
}

class MemberNode {
  readonly metrics: MemberMetrics;
  private readonly key: SigningKey;
  private readonly me: string;
  private readonly chains = new Map<bigint, ChainState>();
  private readonly watchers = new Map<bigint, ChainWatcher>();
  private readonly seenHeads = new Map<bigint, number>();
  private memberSet: Set<string>;
  private store!: MemberStore;
  private peers!: PeerExchange;
  private attester!: Attester;
  private submitter!: Submitter;
  private reconciler!: Reconciler;
  private custodian: Custodian | undefined;
  private checkpointer: Checkpointer | undefined;
  private server: http.Server | undefined;
  private resendTimer: NodeJS.Timeout | undefined;
  private stopped = false;
  private readonly started = Date.now();

  constructor(
    private readonly cfg: MemberConfig,
    private readonly log: MemberLogger,
  ) {
    this.metrics = createMemberMetrics(cfg.index);
    this.key = new SigningKey(cfg.privateKey);
    this.me = getAddress(cfg.address);
    this.memberSet = new Set(cfg.peers.map((p) => p.address.toLowerCase()));
  }

  async start(): Promise<void> {
    try {
      this.store = await MemberStore.open(this.cfg.dataDir);
    } catch (e) {
      throw new MemberStartError(this.cfg.index, `cannot open LevelDB in ${this.cfg.dataDir} (another process using it?)`, { cause: e });
    }
    const { tuning } = this.cfg;
    this.peers = new PeerExchange(this.me, this.cfg.peers, this.key, this.metrics);
    for (const c of this.cfg.chains) {
      const cursor = (await this.store.cursor(c.chainId)) ?? c.startBlock - 1;
      const members = this.cfg.peers.map((p) => p.address);
      const cs = newChainState(c, { cursor, members, threshold: this.cfg.threshold, eventSources: this.cfg.eventSources, maxBatch: tuning.maxBatch });
      this.chains.set(BigInt(c.chainId), cs);
      this.metrics.recoverySources.set(c.name, () => cs.sender?.unmined);
    }
    const watcherOf = (cs: ChainState) => this.watchers.get(cs.id)!;
    this.submitter = new Submitter({
      address: this.me,
      takeoverMs: tuning.takeoverMs,
      roundSize: tuning.roundSize,
      maxBatch: tuning.maxBatch,
      maxInFlight: tuning.maxInFlight,
      metrics: this.metrics,
      log: this.log,
      hooks: {
        markExecuted: (cs, ps, block) => this.attester.markExecuted(cs, ps, block),
        dropInvalidSignatures: (cs, ps, notMember) => this.attester.dropInvalidSignatures(cs, ps, notMember),
        refreshPause: (cs) => watcherOf(cs).refreshPause(),
        refreshSets: (cs) => watcherOf(cs).refreshSets(),
      },
    });
    this.attester = new Attester({
      key: this.key,
      address: this.me,
      chains: this.chains,
      store: this.store,
      peers: this.peers,
      metrics: this.metrics,
      log: this.log,
      resendMs: tuning.resendMs,
      batchDelayMs: tuning.batchDelayMs,
      scheduleFlush: (cs, delayMs) => this.submitter.schedule(cs, delayMs),
    });
    this.reconciler = new Reconciler({
      chains: this.chains,
      olderThanMs: tuning.resendMs * 2,
      intervalMs: Math.max(1000, tuning.resendMs * 2),
      finalityMs: tuning.finalityMs,
      markExecuted: (cs, ps, block) => this.attester.markExecuted(cs, ps, block),
      settle: (cs, es) => this.attester.settle(cs, es),
      reopen: async (cs, es) => {
        // An execution undone is a rollback: this member's own deliveries in it are gone too.
        await cs.sender?.resyncAfterRollback().catch(() => undefined);
        await this.attester.reopen(cs, es);
      },
    });
    const chainIds = [...this.chains.keys()];
    for (const cs of this.chains.values()) {
      this.watchers.set(
        cs.id,
        new ChainWatcher({
          chain: cs,
          chainIds,
          key: this.key,
          address: this.me,
          pollIntervalMs: tuning.pollIntervalMs,
          idlePollMs: tuning.idlePollMs,
          logRangeBlocks: tuning.logRangeBlocks,
          metrics: this.metrics,
          log: this.log,
          hooks: {
            observed: (c, o, to) => this.attester.observed(c, o, to),
            ready: (c) => {
              this.attester.reevaluate(c);
              this.submitter.schedule(c, 0);
            },
            membershipChanged: (c) => this.attester.reevaluate(c),
            polled: (c, unpaused) => {
              this.submitter.schedule(c, unpaused ? 0 : tuning.batchDelayMs);
              // A new head on the chain the custodian and checkpointer read: they look now, not at their next poll.
              if (c.head > (this.seenHeads.get(c.id) ?? -1)) {
                this.seenHeads.set(c.id, c.head);
                if (c.cfg.name === (this.cfg.custody?.chain ?? "blocksec")) this.custodian?.kick();
                if (c.cfg.name === (this.cfg.checkpointer?.secChain ?? "blocksec")) this.checkpointer?.kick();
              }
            },
          },
        }),
      );
    }
    const resumed = await this.attester.resume();
    await this.listen();
    for (const w of this.watchers.values()) w.start();
    this.resendTimer = setInterval(() => this.attester.antiEntropy(), Math.max(250, Math.floor(tuning.resendMs / 2)));
    this.reconciler.start();
    if (this.cfg.custody) await this.startCustodian();
    if (this.cfg.checkpointer) await this.startCheckpointer();
    this.log("info", "member started", { address: this.me, url: this.cfg.url, listen: this.cfg.listen ?? null, dataDir: this.cfg.dataDir, resumed, custody: Boolean(this.custodian) });
  }

  /** Key release runs beside relaying; it sends through the same BlockSEC sender (one nonce sequence). */
  private async startCustodian(): Promise<void> {
    const custody = this.cfg.custody!;
    const name = custody.chain ?? "blocksec";
    const cs = [...this.chains.values()].find((c) => c.cfg.name === name);
    if (!cs) throw new MemberStartError(this.cfg.index, `custody names chain "${name}", which is not configured`);
    this.custodian = new Custodian({
      config: custody,
      chainConfirmations: cs.cfg.confirmations,
      ...(cs.cfg.minBlockAgeMs ? { chainMinBlockAgeMs: cs.cfg.minBlockAgeMs } : {}),
      provider: cs.provider,
      privateKey: this.cfg.privateKey,
      address: this.me,
      store: this.store,
      sender: () => cs.sender,
      log: this.log,
      onOutcome: (o) => {
        this.metrics.custodyGrants.inc({ outcome: o.status, reason: o.status === "skipped" ? o.reason : "" });
        if (o.status === "released") this.metrics.custodyKeysReleased.inc(o.keyIds.length);
      },
      onError: () => this.metrics.custodyErrors.inc(),
    });
    await this.custodian.start();
  }

  /** AccessLedger checkpoints: reads BlockSEC, votes on BlockPRI through the member's BlockPRI sender. */
  private async startCheckpointer(): Promise<void> {
    const c = this.cfg.checkpointer!;
    const find = (name: string) => {
      const cs = [...this.chains.values()].find((x) => x.cfg.name === name);
      if (!cs) throw new MemberStartError(this.cfg.index, `checkpointer names chain "${name}", which is not configured`);
      return cs;
    };
    const sec = find(c.secChain ?? "blocksec");
    const pri = find(c.chain ?? "blockpri");
    this.checkpointer = new Checkpointer({
      config: c,
      secChainId: sec.cfg.chainId,
      secConfirmations: sec.cfg.confirmations,
      ...(sec.cfg.minBlockAgeMs ? { secMinBlockAgeMs: sec.cfg.minBlockAgeMs } : {}),
      secProvider: sec.provider,
      priProvider: pri.provider,
      address: this.me,
      store: this.store,
      sender: () => pri.sender,
      log: this.log,
      onOutcome: (o) => this.metrics.checkpointVotes.inc({ outcome: o.status }),
      onCursor: (b) => this.metrics.checkpointCursor.set(b),
      onError: () => this.metrics.checkpointErrors.inc(),
    });
    await this.checkpointer.start();
  }

  updatePeers(peers: readonly { address: string; url: string }[]): void {
    this.memberSet = new Set(peers.map((p) => p.address.toLowerCase()));
    this.peers.setPeers(peers);
    const listed = this.memberSet.has(this.me.toLowerCase());
    this.log(listed ? "info" : "warn", listed ? "member directory updated" : "member directory updated; this member is no longer listed", { peers: peers.map((p) => p.url) });
  }

  private listen(): Promise<void> {
    const app = express();
    app.disable("x-powered-by");
    app.post(SIGNATURES_PATH, express.raw({ type: () => true, limit: "32mb" }), (req, res) => {
      try {
        const { signer, items } = authenticatePush(req.body as Buffer, req.headers, this.memberSet);
        this.attester.onPeerSignatures(signer, items);
        res.status(204).end();
      } catch (e) {
        this.metrics.signaturesRejected.inc({ reason: "auth" });
        res.status(401).json({ error: (e as Error).message });
      }
    });
    app.get("/health", (_req, res) => {
      const h = this.health();
      res.status(h.ok ? 200 : 503).json(h);
    });
    app.get("/metrics", async (_req, res) => {
      res.set("content-type", this.metrics.registry.contentType);
      res.send(await this.metrics.registry.metrics());
    });
    // Bind where the file says (`listen`), else on the URL's host: on its own host a member answers
    // only on the address the others use, never on every interface by accident.
    const u = new URL(this.cfg.url);
    const bind = this.cfg.listen ?? { host: u.hostname.replace(/^\[|\]$/g, ""), port: Number(u.port) };
    return new Promise((resolve, reject) => {
      const server = http.createServer(app);
      server.keepAliveTimeout = 30_000;
      server.once("error", (e) => reject(new MemberStartError(this.cfg.index, `cannot listen on ${bind.host}:${bind.port} (URL ${this.cfg.url}): ${e.message}`, { cause: e })));
      server.listen(bind.port, bind.host, () => {
        this.server = server;
        resolve();
      });
    });
  }

  health(): MemberHealth {
    const now = Date.now();
    const chains = [...this.chains.values()].map((cs) => ({
      name: cs.cfg.name,
      chainId: cs.cfg.chainId,
      head: cs.head,
      cursor: cs.cursor,
      lag: Math.max(0, cs.head - cs.cursor),
      ready: cs.ready,
      lastPollAgoMs: cs.lastPollAt ? now - cs.lastPollAt : -1,
      error: cs.lastError ?? null,
    }));
    let pending = 0;
    let ready = 0;
    let inFlight = 0;
    let settling = 0;
    for (const cs of this.chains.values()) {
      pending += cs.pending.size;
      settling += cs.executed.size;
      inFlight += cs.inFlight;
      for (const b of cs.batches.values()) if (b.readyAt !== undefined) ready += b.open.size;
    }
    const stale = Math.max(5000, this.cfg.tuning.pollIntervalMs * 20);
    return {
      ok: chains.every((c) => c.ready && c.lastPollAgoMs >= 0 && c.lastPollAgoMs < stale),
      member: this.cfg.index,
      address: this.me,
      uptimeSec: Math.round((now - this.started) / 1000),
      chains,
      pending,
      ready,
      inFlight,
      settling,
      signatures: { ...this.attester.stats },
      peers: this.peers.peerStatus(),
      ...(this.custodian ? { custody: { ...this.custodian.stats } } : {}),
      ...(this.checkpointer ? { checkpointer: { ...this.checkpointer.stats } } : {}),
    };
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.resendTimer) clearInterval(this.resendTimer);
    this.reconciler.stop();
    this.submitter.stop(this.chains.values());
    await Promise.all([...this.watchers.values()].map((w) => w.stop()));
    await this.custodian?.stop();
    await this.checkpointer?.stop();
    this.peers.stop();
    await new Promise<void>((resolve) => {
      if (!this.server) return resolve();
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
    // Give in-flight deliveries a moment to finish their LevelDB batch.
    for (let i = 0; i < 50 && [...this.chains.values()].some((c) => c.inFlight > 0); i++) await new Promise((r) => setTimeout(r, 20));
    for (const cs of this.chains.values()) cs.provider.destroy();
    await this.store.close();
  }
}
