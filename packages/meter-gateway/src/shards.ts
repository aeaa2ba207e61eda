// Several gateways split one fleet. Each holds a lease in a shared Redis sorted set (member =
// gateway id, score = lease expiry on Redis' own clock, so hosts' clocks never matter) and renews
// it every third of its length. A meter belongs to the live gateway with the highest
// rendezvous hash of (gateway, meter): when a gateway joins or its lease runs out, only the meters
// it gains or loses move, and every gateway reaches the same answer from the same live set.
// A gateway that dies is out of the set within one lease; its meters are then polled by the
// others, and since sharded gateways acknowledge to a meter only what is anchored (poll.ts,
// `ackBound`), whatever it held unanchored is still at the meter to be read again. The ledger
// skips a (meter, sequence) it already holds, so a record read by two gateways is stored once.
import { createHash } from "node:crypto";
import type { RedisClient } from "./redis";

/** Joins/renews, drops expired leases, returns the live ids; one key, so it runs on any cluster slot. */
const RENEW = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if ARGV[1] ~= '' then redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1]) end
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]) * 10)
return redis.call('ZRANGE', KEYS[1], 0, -1)
`;

export interface ShardOptions {
  /** Gateways sharing a fleet share a group name (default "default"). */
  group?: string;
  /** This gateway's id in the group (default: its account address). */
  id: string;
  /** Lease length in ms (default 6,000): a dead gateway's meters move within about this long. */
  leaseMs?: number;
}

export interface ShardStats {
  id: string;
  live: string[];
  owned: number;
  /** Ownership changes this gateway has seen (joins, deaths, its own rejoin). */
  rebalances: number;
  renewFailures: number;
}

/** The rendezvous weight of (gateway, meter): 64 bits of SHA-256, compared as bigints. */
export function shardWeight(gatewayId: string, meterId: number): bigint {
  return createHash("sha256").update(`${gatewayId}\0${meterId}`).digest().readBigUInt64BE(0);
}

/**
 * The live gateway that owns a meter (highest weight; ids break ties).
 * @example
 * shardOwner(["gw-a", "gw-b"], 17) // "gw-a" or "gw-b", the same on every host
 */
export function shardOwner(live: readonly string[], meterId: number): string | undefined {
  let best: string | undefined;
  let bestW = -1n;
  for (const id of live) {
    const w = shardWeight(id, meterId);
    if (w > bestW || (w === bestW && best !== undefined && id < best)) {
      best = id;
      bestW = w;
    }
  }
  return best;
}

/**
 * One gateway's place in a sharded fleet.
 * @example
 * const shard = new ShardMembership(redis, { id: "gw-1", group: "utility-a" }, (owned) => poller.syncSchedules(owned));
 * await shard.start(allMeterIds); ... await shard.stop();
 */
export class ShardMembership {
  readonly key: string;
  readonly leaseMs: number;
  private live: string[] = [];
  private owned = new Set<number>();
  private meters: readonly number[] = [];
  private timer: NodeJS.Timeout | undefined;
  private renewing: Promise<void> | undefined;
  private stopped = false;
  private lastRenewedAt = 0;
  readonly stats: ShardStats;

  constructor(
    private readonly redis: RedisClient,
    private readonly o: ShardOptions,
    /** Called with the meters this gateway owns whenever that set changes (awaited before the next renewal). */
    private readonly onChange: (owned: ReadonlySet<number>, previous: ReadonlySet<number>) => Promise<void>,
    private readonly onError: (e: unknown) => void = () => undefined,
  ) {
    // A hash tag: the one key of the group is addressable on a cluster.
    this.key = `{sidegrid:shards:${o.group ?? "default"}}:live`;
    this.leaseMs = o.leaseMs ?? 6000;
    this.stats = { id: o.id, live: [], owned: 0, rebalances: 0, renewFailures: 0 };
  }

  /** Joins the group and computes the first ownership (throws when Redis cannot be reached). */
  async start(meters: readonly number[]): Promise<ReadonlySet<number>> {
    this.meters = meters;
    await this.renew(true);
    this.timer = setInterval(() => void this.tick(), Math.max(200, Math.floor(this.leaseMs / 3)));
    return this.owned;
  }

  owns(meterId: number): boolean {
    return this.owned.has(meterId);
  }

  ownedMeters(): ReadonlySet<number> {
    return this.owned;
  }

  /** The live set as last read. */
  members(): readonly string[] {
    return this.live;
  }

  private async tick(): Promise<void> {
    if (this.renewing || this.stopped) return;
    this.renewing = this.renew(false).catch(async (e) => {
      this.stats.renewFailures++;
      this.onError(e);
      // Cut off from Redis past our lease: the others have our meters by now. Stop polling them
      // (two pollers of one meter are harmless for the ledger, but waste both).
      if (Date.now() - this.lastRenewedAt > this.leaseMs && this.owned.size > 0) {
        const previous = this.owned;
        this.owned = new Set();
        this.stats.owned = 0;
        this.stats.rebalances++;
        await this.onChange(this.owned, previous).catch((x) => this.onError(x));
      }
    });
    await this.renewing;
    this.renewing = undefined;
  }

  private async renew(first: boolean): Promise<void> {
    const live = ((await this.redis.eval(RENEW, 1, this.key, this.o.id, String(this.leaseMs))) as string[]).sort();
    this.lastRenewedAt = Date.now();
    this.live = live;
    this.stats.live = live;
    const next = new Set(this.meters.filter((m) => shardOwner(live, m) === this.o.id));
    const changed = next.size !== this.owned.size || [...next].some((m) => !this.owned.has(m));
    if (first || changed) {
      const previous = this.owned;
      this.owned = next;
      this.stats.owned = next.size;
      if (!first) this.stats.rebalances++;
      await this.onChange(next, previous);
    }
  }

  /** Leaves the group at once (a clean stop hands the meters over without waiting for the lease). */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    await this.renewing;
    await this.redis.zrem(this.key, this.o.id).catch(() => undefined);
  }
}
