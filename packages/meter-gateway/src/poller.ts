// Polling on Redis queues (BullMQ over ioredis): one job scheduler per meter repeats a poll job at
// the meter's interval; a worker runs them with a per-gateway concurrency and rate limit; failed
// polls retry with exponential backoff. Schedulers and jobs live in Redis, so a restarted gateway
// picks up where it stopped, and jobs that were active when it died are found stalled and re-run.
import { Queue, Worker, type ConnectionOptions, type Job } from "bullmq";
import type { Cluster } from "ioredis";
import type { MeterConfig } from "./adapter";
import { SimClock, hash4, type Clock } from "@sidegrid/pi-meter";
import { bullConnection, type RedisTarget } from "./redis";

export { redisConnectionOptions } from "./redis";

export const POLL_QUEUE = "meter-poll";

export interface MeterPollerOptions {
  /** Redis URL (redis://host:port/db), or `redis` for a Redis Cluster. */
  redisUrl?: string;
  redis?: RedisTarget;
  /** BullMQ key prefix: one per gateway (and per test file); with a hash tag on a cluster. */
  prefix: string;
  /** Parallel polls in this gateway (default 32). */
  concurrency?: number;
  /** At most `max` polls per `durationMs` across the gateway's queue. */
  limiter?: { max: number; durationMs: number };
  /** Attempts per poll job (default 3) and the first backoff delay (default 1000 ms, doubling). */
  attempts?: number;
  backoffMs?: number;
  defaultIntervalMs?: number;
  /** Time after which an active job whose worker died is retried (default 5000 ms). */
  stalledIntervalMs?: number;
  /** Spread first polls over the interval (default true); false polls every meter at once. */
  spread?: boolean;
}

export interface PollJobData {
  meterId: number;
}

export interface QueueDepth {
  waiting: number;
  active: number;
  delayed: number;
  failed: number;
  completed: number;
  prioritized: number;
  schedulers: number;
}

/**
 * Schedules and runs meter polls on BullMQ.
 * @example
 * const poller = new MeterPoller({ redisUrl, prefix: "sidegrid:gw1" }, (meterId) => pollOne(meterId));
 * await poller.syncSchedules(meters); poller.start();
 */
export class MeterPoller {
  readonly queue: Queue<PollJobData>;
  private worker: Worker<PollJobData> | undefined;
  private readonly connection: ConnectionOptions;
  private readonly ownedConnection: Cluster | undefined;
  private readonly running = new Set<number>();
  // Each meter's interval as last scheduled: resume({ skipMissed }) re-creates the schedulers it empties.
  private readonly scheduled = new Map<number, MeterConfig>();
  private readonly o: Required<Omit<MeterPollerOptions, "limiter" | "redis" | "redisUrl">> & { limiter: MeterPollerOptions["limiter"] };

  constructor(
    options: MeterPollerOptions,
    private readonly handler: (meterId: number, job: Job<PollJobData>) => Promise<unknown>,
  ) {
    const { redis, redisUrl, ...rest } = options;
    this.o = {
      concurrency: 32,
      attempts: 3,
      backoffMs: 1000,
      defaultIntervalMs: 15_000,
      stalledIntervalMs: 5000,
      spread: true,
      limiter: undefined,
      ...rest,
    };
    const c = bullConnection(redis ?? { url: redisUrl ?? "" });
    this.connection = c.connection;
    this.ownedConnection = c.owned;
    this.queue = new Queue<PollJobData>(POLL_QUEUE, { connection: this.connection, prefix: options.prefix });
  }

  /** Creates or updates one scheduler per meter and removes schedulers of meters no longer listed. */
  async syncSchedules(meters: readonly MeterConfig[]): Promise<void> {
    const wanted = new Set(meters.map((m) => `meter:${m.meterId}`));
    await this.reschedule(meters);
    const existing = await this.queue.getJobSchedulers(0, -1);
    const gone = existing.filter((s) => s.key && !wanted.has(s.key));
    for (let i = 0; i < gone.length; i += 64) await Promise.all(gone.slice(i, i + 64).map((s) => this.queue.removeJobScheduler(s.key)));
    for (const s of gone) this.scheduled.delete(Number(s.key.replace(/^meter:/, "")));
  }

  /**
   * Creates or updates these meters' schedulers (and with them their next job), leaving the
   * others alone: a scheduler whose next job Redis lost (a failover to a replica that had not
   * received it) repeats nothing until it is upserted again.
   */
  async reschedule(meters: readonly MeterConfig[]): Promise<void> {
    // 64 upserts in flight: one at a time, a 100,000-meter fleet took minutes to schedule.
    for (let i = 0; i < meters.length; i += 64) {
      await Promise.all(
        meters.slice(i, i + 64).map((m) => {
          this.scheduled.set(m.meterId, m);
          const every = m.pollIntervalMs ?? this.o.defaultIntervalMs;
          return this.queue.upsertJobScheduler(
            `meter:${m.meterId}`,
            // Spread the fleet over the interval instead of polling everyone at once.
            this.o.spread ? { every, offset: hash4(m.meterId, 7, 11, 13) % every } : { every },
            {
              name: "poll",
              data: { meterId: m.meterId },
              opts: {
                attempts: this.o.attempts,
                backoff: { type: "exponential", delay: this.o.backoffMs },
                removeOnComplete: true,
                removeOnFail: { count: 1000 },
              },
            },
          );
        }),
      );
    }
  }

  /** The interval of meters without one of their own. */
  get defaultIntervalMs(): number {
    return this.o.defaultIntervalMs;
  }

  /** Changes the interval of meters without one of their own and re-plans their schedulers (false: unchanged). */
  async setDefaultInterval(ms: number): Promise<boolean> {
    if (ms === this.o.defaultIntervalMs) return false;
    this.o.defaultIntervalMs = ms;
    await this.reschedule([...this.scheduled.values()].filter((m) => m.pollIntervalMs === undefined));
    return true;
  }

  start(): void {
    if (this.worker) return;
    this.worker = new Worker<PollJobData>(
      POLL_QUEUE,
      async (job) => {
        const { meterId } = job.data;
        // Overlapping polls of one meter (a slow poll, a retry) would race on its sequence numbers.
        if (this.running.has(meterId)) return { skipped: "busy" };
        this.running.add(meterId);
        try {
          return await this.handler(meterId, job);
        } finally {
          this.running.delete(meterId);
        }
      },
      {
        connection: this.connection,
        prefix: this.o.prefix,
        concurrency: this.o.concurrency,
        stalledInterval: this.o.stalledIntervalMs,
        lockDuration: Math.max(this.o.stalledIntervalMs, 5000),
        ...(this.o.limiter ? { limiter: { max: this.o.limiter.max, duration: this.o.limiter.durationMs } } : {}),
      },
    );
    // Failed polls are recorded by the handler (alerts); the worker's error event is only noise.
    this.worker.on("error", () => undefined);
  }

  /**
   * Replaces the worker (its blocking connection can hang on a node that died in a failover and
   * never be handed another job); running polls finish on their own.
   */
  async restartWorker(): Promise<void> {
    const old = this.worker;
    this.worker = undefined;
    this.start();
    await old?.close(true).catch(() => undefined);
  }

  /** Stops handing out polls (maintenance, a bulk first contact); running polls finish. Due polls wait. */
  async pause(): Promise<void> {
    await this.worker?.pause();
  }

  /**
   * Hands out polls again. With `skipMissed`, the polls that came due while paused are dropped and each
   * such meter is next polled at its own slot: a long pause of a large fleet does not end in a burst.
   */
  async resume(options: { skipMissed?: boolean } = {}): Promise<{ skipped: number }> {
    let skipped = 0;
    if (options.skipMissed) {
      // A paused worker also promotes nothing: due polls may still sit among the delayed jobs.
      const now = Date.now();
      const due = (await this.queue.getDelayed(0, -1)).filter((j) => j.timestamp + (j.delay ?? 0) <= now);
      const missed = [...(await this.queue.getWaiting(0, -1)), ...due];
      const meters: MeterConfig[] = [];
      for (let i = 0; i < missed.length; i += 64) {
        await Promise.all(missed.slice(i, i + 64).map((j) => j.remove().catch(() => undefined)));
      }
      for (const j of missed) {
        const m = this.scheduled.get(j.data.meterId);
        if (m) meters.push(m);
      }
      skipped = missed.length;
      // Upserting a scheduler keeps its last (missed) slot; removed and added again, it plans the next one.
      for (let i = 0; i < meters.length; i += 64) {
        await Promise.all(meters.slice(i, i + 64).map((m) => this.queue.removeJobScheduler(`meter:${m.meterId}`)));
      }
      await this.reschedule(meters);
    }
    this.worker?.resume();
    return { skipped };
  }

  async depth(): Promise<QueueDepth> {
    const c = await this.queue.getJobCounts("waiting", "active", "delayed", "failed", "completed", "prioritized");
    return {
      waiting: c.waiting ?? 0,
      active: c.active ?? 0,
      delayed: c.delayed ?? 0,
      failed: c.failed ?? 0,
      completed: c.completed ?? 0,
      prioritized: c.prioritized ?? 0,
      schedulers: await this.queue.getJobSchedulersCount(),
    };
  }

  /** Stops taking jobs; waits for the running ones unless `force`. */
  async close(force = false): Promise<void> {
    if (this.worker) await this.worker.close(force);
    await this.queue.close();
    // A cluster client passed in as an instance is not BullMQ's to close.
    this.ownedConnection?.disconnect();
  }

  /** Removes every scheduler and job of this gateway's queue (tests, decommissioning). */
  async obliterate(): Promise<void> {
    await this.queue.obliterate({ force: true });
  }
}

/**
 * How often to poll meters on `clock`: `configuredMs` while a simulated clock runs fast; once a
 * clock capped at real time has met the wall clock its meters log a record per `recordIntervalMs`
 * of real time, and polling every `configuredMs` (sized for the fast clock) would only find nothing
 * due: then every `quietMs` (the liveness bound), or the record interval if that is shorter. Not
 * while any meter still holds records its last poll left behind (`allCaughtUp` false): a backlog
 * read four pages a minute would take hours.
 * @example
 * await poller.setDefaultInterval(pollCadenceMs(clock, cfg.poll.intervalMs, 60_000, allCaughtUp));
 */
export function pollCadenceMs(clock: Clock, configuredMs: number, quietMs: number, allCaughtUp: boolean, recordIntervalMs = 900_000): number {
  if (!allCaughtUp || !(clock instanceof SimClock) || !clock.capAtReal || clock.manual) return configuredMs;
  // A clock a second behind the wall clock at its speed is about to meet it.
  if (clock.now() < Date.now() - 1000) return configuredMs;
  return Math.max(configuredMs, Math.min(quietMs, recordIntervalMs));
}
