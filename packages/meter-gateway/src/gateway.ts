// startGateway: the whole gateway in one process — polling workers, ingest pipeline, outbox
// anchorer, policy cache and HTTP API — wired from one GatewayConfig.
import fs from "node:fs";
import http from "node:http";
import type net from "node:net";
import path from "node:path";
import { BlockPriClient } from "@sidegrid/blockpri";
import { BlockSecClient, KeyCustodyClient, type AccessCheckpointClaim } from "@sidegrid/blocksec";
import { AccessCheckpointsClient } from "@sidegrid/federation";
import { startGatewayDemandResponse, type GatewayDemandResponse } from "./demandResponse";
import { HeadFollower, TxSender, makeProvider } from "@sidegrid/chain";
import { Wallet, getAddress } from "ethers";
import { dlmsAdapterFactories } from "./dlms/adapter";
import { DLMS_PUSH_PROTOCOL, dlmsPushAdapterFactory } from "./dlms/pushAdapter";
import { AdapterRegistry, type MeterAdapter, type MeterAdapterFactory, type MeterConfig } from "./adapter";
import { Anchorer } from "./anchorer";
import { Backpressure, type MeterPace } from "./backpressure";
import { EpochKeys, chainEpochKeySource } from "./epochKeys";
import { KeyPublisher } from "./keyPublisher";
import { RedisNonceStore } from "./api/auth";
import { ApiChainOps } from "./api/chainOps";
import { PORTAL_DIR, createApiApp, type MeterStatusView } from "./api/app";
import { BlockSecLedger, BlockSecPolicySource } from "./blocksec";
import { SimClock, systemClock, type Clock } from "@sidegrid/pi-meter";
import { configuredMeters, validateGatewayConfig, type GatewayConfig } from "./config";
import { InvalidConfigError } from "./errors";
import { FastJsonRpcProvider, FastWallet } from "./fastRpc";
import { IngestPipeline } from "./ingest";
import { createGatewayMetrics, type GatewayMetrics } from "./metrics";
import { osgpTcpAdapterFactory } from "./osgpAdapter";
import { CachedPolicy } from "./policy";
import { pollMeter } from "./poll";
import { MeterPoller, pollCadenceMs } from "./poller";
import { AdapterPool } from "./connections";
import { createRedis, keyPrefixFor, redisTargetOf } from "./redis";
import { ShardMembership } from "./shards";
import { gatewaySnapshot, type GatewaySnapshot } from "./snapshot";
import { GridAggregator } from "./realtime";
import { GatewayStore } from "./store";
import { TradeSealer } from "./trades";
export type { GatewaySnapshot } from "./snapshot";

export interface StartGatewayParameters {
  config: GatewayConfig;
  /** Extra adapter factories (DLMS/COSEM, G3-PLC...). */
  adapters?: readonly MeterAdapterFactory[];
  /** Log function (default: none). */
  log?: (line: string) => void;
  /** Use this clock instead of config.clock (tests sharing an in-process SimClock). */
  clock?: Clock;
}

export interface Gateway {
  readonly url: string;
  readonly address: string;
  readonly utility: string;
  readonly store: GatewayStore;
  readonly pipeline: IngestPipeline;
  readonly anchorer: Anchorer;
  /** Epoch keys in federation custody (absent without `blocksec.addresses.keyCustody`). */
  readonly epochKeys: EpochKeys | undefined;
  readonly keyPublisher: KeyPublisher | undefined;
  /** Seals the households' relayed trades into their trade logs (absent without key custody). */
  readonly trades: TradeSealer | undefined;
  /** Households' rules run at their meters' reports (absent without `demandResponse` in the config). */
  readonly demandResponse: GatewayDemandResponse | undefined;
  readonly poller: MeterPoller;
  /** Meter adapters (connections) kept between polls, at most `poll.maxConnections`. */
  readonly connections: AdapterPool;
  readonly policy: CachedPolicy;
  readonly policySource: BlockSecPolicySource;
  readonly sec: BlockSecClient;
  readonly metrics: GatewayMetrics;
  readonly grid: GridAggregator;
  readonly meters: readonly MeterConfig[];
  /** This gateway's share of a sharded fleet (absent without `shard` in the config). */
  readonly shard: ShardMembership | undefined;
  snapshot(): Promise<GatewaySnapshot>;
  /** Polls one meter now, outside the queue (tests, operator tools); `limits` override `poll.maxRecords/maxPages`. */
  pollNow(meterId: number, limits?: { maxRecords?: number; maxPages?: number }): ReturnType<typeof pollMeter>;
  stop(options?: { drain?: boolean }): Promise<void>;
}

/**
 * Starts a gateway.
 * @example
 * const gw = await startGateway({ config: loadGatewayConfig("gateway.json") });
 * console.log(gw.url); ... await gw.stop();
 */
export async function startGateway(params: StartGatewayParameters): Promise<Gateway> {
  const cfg = validateGatewayConfig(params.config);
  const log = params.log ?? (() => undefined);
  const clock: Clock = params.clock ?? (cfg.clock ? SimClock.fromState(cfg.clock) : systemClock);
  const meters = configuredMeters(cfg);
  const key = cfg.blocksec.privateKey ?? (cfg.blocksec.privateKeyEnv ? process.env[cfg.blocksec.privateKeyEnv] : undefined);
  if (!key) throw new InvalidConfigError("blocksec.privateKey", undefined, "the gateway account's key (or privateKeyEnv naming an env var holding it)");

  fs.mkdirSync(cfg.dataDir, { recursive: true });
  const store = await GatewayStore.open(path.join(cfg.dataDir, "db"));
  // Buffer-based transport and serializer: anchor transactions are hundreds of kB (fastRpc.ts).
  // Several endpoints: failover (and quorum reads) through @sidegrid/chain's MultiRpcProvider; one: the Buffer transport.
  const secUrls = cfg.blocksec.rpcUrls ?? [cfg.blocksec.rpcUrl];
  const provider = secUrls.length > 1 || (cfg.blocksec.quorum ?? 1) > 1 ? makeProvider(secUrls, cfg.blocksec.chainId, { quorum: cfg.blocksec.quorum ?? 1 }) : new FastJsonRpcProvider(cfg.blocksec.rpcUrl, cfg.blocksec.chainId);
  const sender = await TxSender.create(new FastWallet(key, provider), provider, { network: "blocksec", receiptTimeoutMs: 60_000 });
  const sec = new BlockSecClient({ sender, addresses: cfg.blocksec.addresses });
  const utility = cfg.utility ? getAddress(cfg.utility) : await sec.gatewayUtility(sender.address);
  if (!utility) throw new InvalidConfigError("utility", undefined, `a utility: the ledger has none for gateway ${sender.address} (grantGateway first)`);

  let pri: BlockPriClient | undefined;
  let priProvider: ReturnType<typeof makeProvider> | undefined;
  if (cfg.blockpri) {
    priProvider = makeProvider(cfg.blockpri.rpcUrls ?? cfg.blockpri.rpcUrl, cfg.blockpri.chainId, { quorum: cfg.blockpri.quorum ?? 1 });
    // Reads only: a throwaway account, the consumers sign their own transactions.
    const reader = await TxSender.create(Wallet.createRandom().privateKey, priProvider, { network: "blockpri" });
    pri = new BlockPriClient({ sender: reader, address: cfg.blockpri.ppc });
  }

  const metrics = createGatewayMetrics({ defaultMetrics: true, sender });
  const grid = new GridAggregator();
  // With a WebSocket endpoint the watchers read the chain at each new head; their polls are a fallback.
  const followHeads = cfg.blocksec.wsUrl !== undefined;
  const policySource = new BlockSecPolicySource(sec, { pollMs: cfg.policy?.pollMs ?? (followHeads ? 10_000 : 500), onError: (e) => log(`policy watch: ${(e as Error).message}`) });
  const policy = new CachedPolicy(policySource, { utility, ...(cfg.policy?.ttlMs !== undefined ? { ttlMs: cfg.policy.ttlMs } : {}) });
  let anchorer: Anchorer | undefined;
  const custodyAddress = cfg.blocksec.addresses.keyCustody;
  const custody = custodyAddress ? new KeyCustodyClient({ address: custodyAddress, provider, sender }) : undefined;
  const epochKeys = custody
    ? new EpochKeys({
        source: chainEpochKeySource(custody, store),
        ...(cfg.custody?.epochMs !== undefined ? { epochMs: cfg.custody.epochMs } : {}),
        ...(cfg.custody?.graceMs !== undefined ? { graceMs: cfg.custody.graceMs } : {}),
        ...(cfg.custody?.idleMs !== undefined ? { idleMs: cfg.custody.idleMs } : {}),
      })
    : undefined;
  const keyPublisher = custody ? new KeyPublisher({ store, custody, onError: (e) => log(`key publication: ${(e as Error).message.split("\n")[0]}`) }) : undefined;
  const pipeline = new IngestPipeline({
    store,
    policy,
    ...(epochKeys ? { epochKeys } : {}),
    clock,
    grid,
    metrics,
    // driftThresholdMs, silentAfter, dataKeyMaxUses, holdUndecidedMs: the config's names are the pipeline's.
    ...(cfg.ingest ?? {}),
    ...(cfg.shard ? { sharedMeters: true } : {}),
    onEnqueued: () => anchorer?.wake(),
    onAlert: (a) => log(`alert ${a.kind} meter ${a.meterId}: ${a.message}`),
  });
  const { maxRecordsPerTx, gasLimits } = cfg.anchor ?? {};
  const onGasBoundMiss = (used: bigint, limit: bigint) => log(`anchor: a batch used ${used} gas of its computed limit ${limit}, past the model's margin: anchors are estimated by the node from now on`);
  const ledger = new BlockSecLedger(sec, { ...(maxRecordsPerTx !== undefined ? { maxRecordsPerTx } : {}), ...(gasLimits ? { gasLimits } : {}), searchFromBlock: cfg.blocksec.startBlock ?? 0, onGasBoundMiss });
  anchorer = new Anchorer({
    store,
    ledger,
    policy,
    ...(keyPublisher ? { keys: keyPublisher } : {}),
    metrics,
    ...(cfg.anchor?.maxBatch !== undefined ? { maxBatch: cfg.anchor.maxBatch } : {}),
    ...(cfg.anchor?.flushIntervalMs !== undefined ? { flushIntervalMs: cfg.anchor.flushIntervalMs } : {}),
    ...(cfg.anchor?.maxInFlight !== undefined ? { maxInFlight: cfg.anchor.maxInFlight } : {}),
    ...(cfg.anchor?.watch !== undefined ? { watch: cfg.anchor.watch } : {}),
    onError: (e) => log(`anchor: ${(e as Error).message.split("\n")[0]}`),
    onRollback: (from, n) => {
      metrics.anchorRollbacks.inc();
      log(`anchors from block ${from} on left the chain: ${n} records back in the outbox, sent again`);
    },
  });
  await anchorer.start();
  const trades = epochKeys
    ? new TradeSealer({
        sec,
        store,
        policy,
        epochKeys,
        meterIds: meters.map((m) => m.meterId),
        gateway: sender.address,
        chainId: cfg.blocksec.chainId,
        fromBlock: cfg.blocksec.startBlock ?? 0,
        pollMs: cfg.policy?.pollMs ?? (followHeads ? 10_000 : 1000),
        onEnqueued: () => anchorer?.wake(),
        onError: (e) => log(`trade log: ${(e as Error).message.split("\n")[0]}`),
      })
    : undefined;
  trades?.start();
  const heads = cfg.blocksec.wsUrl
    ? new HeadFollower({
        wsUrl: cfg.blocksec.wsUrl,
        onHead: () => {
          void policySource.poll().catch(() => undefined);
          trades?.kick();
        },
        onError: (e) => log(`heads: ${(e as Error).message.split("\n")[0]}`),
      })
    : undefined;
  heads?.start();
  const recovered = anchorer.stats.recovered;
  if (recovered) log(`recovered ${recovered} anchored records from BlockSEC`);

  const registry = new AdapterRegistry([
    osgpTcpAdapterFactory({ ...(cfg.masterKeyHex ? { masterKey: new Uint8Array(Buffer.from(cfg.masterKeyHex.replace(/^0x/, ""), "hex")) } : {}), ...(cfg.poll?.maxRecords !== undefined ? { maxRecordsPerRead: cfg.poll.maxRecords } : {}) }),
    ...dlmsAdapterFactories(),
    dlmsPushAdapterFactory(),
    ...(params.adapters ?? []),
  ]);
  const byId = new Map(meters.map((m) => [m.meterId, m]));
  const adapters = new AdapterPool(
    async (meterId) => {
      const m = byId.get(meterId);
      if (!m) throw new InvalidConfigError("meterId", meterId, "a configured meter");
      const initialState = await store.adapterState(meterId);
      return registry.create(m, { initialState, persist: (s) => store.putAdapterState(meterId, s), timeoutMs: cfg.poll?.timeoutMs ?? 3000, clock });
    },
    { maxOpen: cfg.poll?.maxConnections ?? 1000, pinned: (id) => byId.get(id)?.protocol === DLMS_PUSH_PROTOCOL },
  );
  const adapterOf = (meterId: number): Promise<MeterAdapter> => adapters.get(meterId);
  const dr = cfg.demandResponse
    ? await startGatewayDemandResponse({
        config: cfg.demandResponse,
        store,
        bindingOfMeter: (m) => policy.bindingOfMeter(m),
        lastReportMs: async (m) => (await pipeline.state(m)).lastAccepted?.clockMs ?? null,
        log,
      })
    : undefined;
  // One poll per meter at a time, whoever asks (the queue, pollNow): they share sequence numbers.
  const locks = new Map<number, Promise<unknown>>();
  // Sharded: a meter forgets only what is anchored, so a gateway's death loses nothing (shards.ts).
  const ackAnchored = (cfg.poll?.ack ?? (cfg.shard ? "anchored" : "ingested")) === "anchored";
  const ackBound = async (meterId: number, ackSeq: number, ackedSeq: number) => {
    const pending = await store.firstPendingSeq(meterId, ackedSeq);
    return pending === undefined ? ackSeq : Math.min(ackSeq, pending - 1);
  };
  const pollOnce = (meterId: number, limits: { maxRecords?: number; maxPages?: number } = {}): ReturnType<typeof pollMeter> => {
    const run = (locks.get(meterId) ?? Promise.resolve()).then(() => pollUnlocked(meterId, { maxRecords: limits.maxRecords ?? cfg.poll?.maxRecords, maxPages: limits.maxPages ?? cfg.poll?.maxPages }));
    const tail = run.catch(() => undefined);
    locks.set(meterId, tail);
    void tail.then(() => locks.get(meterId) === tail && locks.delete(meterId));
    return run;
  };
  const pollUnlocked = async (meterId: number, limits: { maxRecords?: number | undefined; maxPages?: number | undefined }) => {
    const end = metrics.pollDuration.startTimer();
    try {
      const r = await pollMeter({
        adapter: await adapterOf(meterId),
        pipeline,
        clock,
        ...(limits.maxRecords !== undefined ? { maxRecords: limits.maxRecords } : {}),
        ...(limits.maxPages !== undefined ? { maxPages: limits.maxPages } : {}),
        ...(cfg.poll?.instantaneous !== undefined ? { instantaneous: cfg.poll.instantaneous } : {}),
        ...(ackAnchored ? { ackBound } : {}),
      });
      metrics.polls.inc({ result: "ok" });
      await dr?.afterPoll(meterId);
      return r;
    } catch (e) {
      metrics.polls.inc({ result: (e as { code?: string }).code?.toLowerCase() ?? "error" });
      throw e;
    } finally {
      end();
      adapters.release(meterId, (id) => id !== meterId && locks.has(id));
    }
  };

  const redisTarget = redisTargetOf(cfg);
  const prefix = keyPrefixFor(redisTarget, cfg.queuePrefix, sender.address);
  const nextDue = new Map<number, { atMs: number; polledAt: number }>();
  // Real time each meter's last poll job ran (skipped ones too): none for long = its next job was lost.
  const lastJobAt = new Map<number, number>(meters.map((m) => [m.meterId, Date.now()]));
  const quietMs = cfg.poll?.quietMs ?? 60_000;
  const pace = new Map<number, MeterPace>();
  const bp = cfg.backpressure?.enabled === false ? undefined : new Backpressure(store, { maxDeferMs: quietMs, ...cfg.backpressure });
  const poller = new MeterPoller(
    {
      redis: redisTarget,
      prefix,
      ...(cfg.poll?.concurrency !== undefined ? { concurrency: cfg.poll.concurrency } : {}),
      ...(cfg.poll?.limiter ? { limiter: cfg.poll.limiter } : {}),
      ...(cfg.poll?.attempts !== undefined ? { attempts: cfg.poll.attempts } : {}),
      ...(cfg.poll?.backoffMs !== undefined ? { backoffMs: cfg.poll.backoffMs } : {}),
      ...(cfg.poll?.intervalMs !== undefined ? { defaultIntervalMs: cfg.poll.intervalMs } : {}),
      ...(cfg.poll?.stalledIntervalMs !== undefined ? { stalledIntervalMs: cfg.poll.stalledIntervalMs } : {}),
      ...(cfg.poll?.spread !== undefined ? { spread: cfg.poll.spread } : {}),
    },
    async (meterId) => {
      // A scheduled poll before the meter's next record is due reads nothing new: skip it, but look
      // at least every `poll.quietMs` (liveness: a dead meter still raises its alert). Push meters
      // and instantaneous polling always poll; `pollNow` always polls.
      lastJobAt.set(meterId, Date.now());
      if (shard && !shard.owns(meterId)) return { pages: 0, stored: 0, ackSeq: -1, skipped: "not owned" }; // queued before the meter moved
      const due = nextDue.get(meterId);
      if (due && clock.now() < due.atMs && Date.now() - due.polledAt < quietMs) {
        metrics.polls.inc({ result: "not_due" });
        return { pages: 0, stored: 0, ackSeq: -1, skipped: "not due" };
      }
      if (bp?.shouldDefer(pace.get(meterId), clock.now())) {
        metrics.polls.inc({ result: "deferred" });
        return { pages: 0, stored: 0, ackSeq: -1, skipped: "backpressure" };
      }
      const r = await pollOnce(meterId);
      // Push meters send when they like: they cannot hold their log, so they are never deferred.
      if (byId.get(meterId)?.protocol !== DLMS_PUSH_PROTOCOL) pace.set(meterId, { polledAtClockMs: clock.now(), polledAtMs: Date.now(), caughtUp: r.caughtUp, backlog: r.backlog, ...(r.intervalMs !== undefined ? { intervalMs: r.intervalMs } : {}) });
      if (r.nextDueMs !== undefined && !cfg.poll?.instantaneous && byId.get(meterId)?.protocol !== DLMS_PUSH_PROTOCOL) nextDue.set(meterId, { atMs: r.nextDueMs, polledAt: Date.now() });
      else nextDue.delete(meterId);
      return { pages: r.pages, stored: r.outcome.stored, ackSeq: r.outcome.ackSeq };
    },
  );
  const redis = createRedis(redisTarget, { blocking: false });
  redis.on("error", () => undefined);
  const shard = cfg.shard
    ? new ShardMembership(redis, { id: cfg.shard.id ?? sender.address, ...(cfg.shard.group ? { group: cfg.shard.group } : {}), ...(cfg.shard.leaseMs ? { leaseMs: cfg.shard.leaseMs } : {}) }, async (owned, previous) => {
        await poller.syncSchedules(meters.filter((m) => owned.has(m.meterId)));
        for (const m of owned) if (!previous.has(m)) lastJobAt.set(m, Date.now());
        for (const m of previous) if (!owned.has(m)) nextDue.delete(m);
        log(`shard ${shard!.stats.id}: ${owned.size} of ${meters.length} meters (live: ${shard!.members().join(", ")})`);
      }, (e) => log(`shard lease: ${(e as Error).message}`))
    : undefined;
  const ownedMeters = () => (shard ? meters.filter((m) => shard.owns(m.meterId)) : meters);
  await (shard ? shard.start(meters.map((m) => m.meterId)) : poller.syncSchedules(meters));
  poller.start();
  // Push meters send on their own schedule: their listeners open now, not at the first poll.
  for (const m of meters.filter((x) => x.protocol === DLMS_PUSH_PROTOCOL)) {
    try {
      await (await adapterOf(m.meterId)).connect();
    } catch (e) {
      log(`meter ${m.meterId}: push listener not open: ${(e as Error).message}`);
    }
  }

  const nonces = new RedisNonceStore(redis, prefix);
  // The replay memory's marker from the start, so a Redis that restarts empty before the first signed request is noticed too.
  if (nonces instanceof RedisNonceStore) await nonces.init().catch(() => undefined);
  const checkpoints = cfg.checkpoints && priProvider ? new AccessCheckpointsClient({ address: cfg.checkpoints.accessCheckpoints, provider: priProvider }) : undefined;
  const checkpoint = checkpoints
    ? async (): Promise<AccessCheckpointClaim | null> => {
        const cp = await checkpoints.latest();
        if (!cp) return null;
        // Attested from the members' own vote signatures: a BlockPRI node cannot forge them.
        const a = await checkpoints.attest(cp, cfg.checkpoints!.members, cfg.checkpoints!.threshold);
        return { ...cp, attestation: { ...a, threshold: cfg.checkpoints!.threshold } };
      }
    : undefined;
  const chain = new ApiChainOps({ sec, ...(pri ? { pri } : {}), ...(custody ? { custody } : {}), ...(checkpoint ? { checkpoint } : {}), fromBlock: cfg.blocksec.startBlock ?? 0 });
  const meterViews = async (): Promise<MeterStatusView[]> =>
    Promise.all(
      ownedMeters().map(async (m) => {
        const s = await pipeline.state(m.meterId);
        return {
          meterId: m.meterId,
          endpoint: `tcp://${m.host}:${m.port}${m.addressed ? `#${m.meterId}` : ""}`,
          lastSeq: s.lastSeq,
          lastPollAt: s.lastPollAt,
          lastOkAt: s.lastOkAt,
          consecutiveFailures: s.consecutiveFailures,
          silent: s.flags.silent,
          drifting: s.flags.drifting,
          lastError: s.lastError,
          counters: s.counters,
        };
      }),
    );
  const app = createApiApp({
    store,
    chain,
    nonces,
    grid,
    metrics,
    meters: meterViews,
    queue: () => poller.depth(),
    anchorStats: () => ({ ...anchorer!.stats, inFlight: anchorer!.inFlightRecords }),
    health: async () => {
      const checks: Record<string, boolean | string> = {};
      checks.blocksec = await provider.getBlockNumber().then(() => true, (e: Error) => e.message);
      checks.redis = await redis.ping().then((p) => p === "PONG", (e: Error) => e.message);
      checks.store = true;
      return { ok: Object.values(checks).every((v) => v === true), checks };
    },
    operators: cfg.operators ?? [],
    ...(cfg.auth?.maxSkewMs !== undefined ? { maxSkewMs: cfg.auth.maxSkewMs } : {}),
    ...(cfg.http?.portal !== false ? { portalDir: PORTAL_DIR } : {}),
    ...(cfg.http?.devAccounts ? { devAccounts: cfg.http.devAccounts } : {}),
    ...(trades ? { tradingAccounts: trades } : {}),
  });
  const server = http.createServer(app);
  const host = cfg.http?.host ?? "127.0.0.1";
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(cfg.http?.port ?? 0, host, () => resolve());
  });
  const url = `http://${host}:${(server.address() as net.AddressInfo).port}`;
  log(`gateway ${sender.address} for utility ${utility}: ${meters.length} meters, API ${url}`);

  let stopped = false;
  // Redis lost the poll schedules (restarted empty, its append-only file gone, a failover to an
  // empty replica): polling would stop for good. The gauge tick notices and makes them again.
  let resyncing = false;
  const resyncSchedules = async (have: number) => {
    if (resyncing || stopped) return;
    resyncing = true;
    try {
      const mine = ownedMeters();
      await poller.syncSchedules(mine);
      metrics.scheduleResyncs.inc();
      log(`poll schedules re-created: Redis held ${have} of ${mine.length}`);
    } catch {
      /* Redis still away: the next tick tries again */
    } finally {
      resyncing = false;
    }
  };
  const updateQueueGauges = async () => {
    try {
      // Simulated meters that came to keep real time log a record per 15 minutes: poll them less, once each has been read up to date.
      const caughtUp = ownedMeters().every((m) => m.protocol === DLMS_PUSH_PROTOCOL || pace.get(m.meterId)?.backlog === false);
      if (await poller.setDefaultInterval(pollCadenceMs(clock, cfg.poll?.intervalMs ?? 15_000, quietMs, caughtUp))) log(`polling every ${poller.defaultIntervalMs / 1000} s${caughtUp ? ": the meters' clock keeps real time" : ""}`);
      const q = await poller.depth();
      const mine = ownedMeters();
      // Jobs wait but none has started for long: the worker is stuck (a failover took its node).
      const lastAny = Math.max(0, ...lastJobAt.values());
      if (q.waiting + q.prioritized > 0 && mine.length > 0 && Date.now() - lastAny > Math.max(15_000, 4 * poller.defaultIntervalMs)) {
        lastJobAt.set(-1, Date.now());
        await poller.restartWorker();
        metrics.scheduleResyncs.inc();
        log(`poll worker restarted: ${q.waiting + q.prioritized} jobs waiting, none started for ${Math.round((Date.now() - lastAny) / 1000)} s`);
      }
      if (q.schedulers < mine.length) await resyncSchedules(q.schedulers);
      else if (q.waiting + q.prioritized === 0) {
        // Nothing queued, yet a meter's jobs stopped coming: its next job was lost (a failover).
        const now = Date.now();
        const stale = mine.filter((m) => now - (lastJobAt.get(m.meterId) ?? now) > Math.max(3 * (m.pollIntervalMs ?? poller.defaultIntervalMs), 10_000));
        stale.forEach((m) => lastJobAt.set(m.meterId, now));
        if (stale.length) {
          await poller.reschedule(stale);
          metrics.scheduleResyncs.inc();
          log(`poll schedules re-created for ${stale.length} meters whose jobs had stopped`);
        }
      }
      metrics.queueJobs.set({ state: "waiting" }, q.waiting + q.prioritized);
      metrics.queueJobs.set({ state: "active" }, q.active);
      metrics.queueJobs.set({ state: "delayed" }, q.delayed);
      metrics.queueJobs.set({ state: "failed" }, q.failed);
      // Grid figures stay off /metrics (unauthenticated): they are served to distributors only, at /v1/operator/grid.
      metrics.outboxPending.set(store.pendingCount);
      metrics.outboxOldestAge.set((Date.now() - (store.oldestPendingReadAt() ?? Date.now())) / 1000);
      metrics.backpressure.set(bp?.update() ? 1 : 0);
    } catch {
      /* Redis briefly away: the next tick updates */
    }
  };
  const gaugeTimer = setInterval(() => void updateQueueGauges(), cfg.poll?.resyncMs ?? 5000);

  return {
    url,
    address: sender.address,
    utility,
    store,
    pipeline,
    anchorer,
    epochKeys,
    keyPublisher,
    trades,
    demandResponse: dr,
    poller,
    policy,
    policySource,
    sec,
    metrics,
    grid,
    meters,
    shard,
    pollNow: (meterId, limits) => pollOnce(meterId, limits),
    connections: adapters,
    snapshot: () => gatewaySnapshot({ metrics, poller, store, anchorer: anchorer!, meters: meters.length, backpressure: bp, shard }),
    async stop(options: { drain?: boolean } = {}) {
      if (stopped) return;
      stopped = true;
      clearInterval(gaugeTimer);
      await shard?.stop();
      await new Promise((r) => server.close(r));
      server.closeAllConnections?.();
      await poller.close();
      await heads?.stop();
      await trades?.stop();
      if (options.drain) await anchorer!.drain();
      await anchorer!.stop();
      epochKeys?.clear();
      await adapters.closeAll();
      policy.close();
      policySource.close();
      redis.disconnect();
      await store.close();
      provider.destroy();
      priProvider?.destroy();
      dr?.stop();
    },
  };
}
