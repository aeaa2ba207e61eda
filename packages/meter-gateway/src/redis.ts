// Where the gateway's Redis is: one server (`redisUrl`) or a Redis Cluster (`redisCluster`, seed
// nodes). On a cluster every multi-key operation must stay inside one hash slot, so the gateway's
// key prefix carries a hash tag ({...}): all of one gateway's queue keys land on one master.
import IORedis, { Cluster, type RedisOptions } from "ioredis";
import type { ConnectionOptions } from "bullmq";
import { InvalidConfigError } from "./errors";

export type RedisTarget = { url: string } | { cluster: readonly string[] };

/** A client on either kind of target (ioredis' Redis and Cluster share the command API). */
export type RedisClient = IORedis | Cluster;

function nodeOf(url: string): { host: string; port: number } {
  const u = new URL(url);
  return { host: u.hostname, port: Number(u.port || 6379) };
}

function authOf(url: string): Pick<RedisOptions, "password" | "username"> {
  const u = new URL(url);
  return { ...(u.password ? { password: decodeURIComponent(u.password) } : {}), ...(u.username ? { username: decodeURIComponent(u.username) } : {}) };
}

/**
 * A new client. `blocking: true` gives what BullMQ wants (`maxRetriesPerRequest: null`: its
 * blocking commands wait out a failover instead of failing after two retries).
 * @example
 * const redis = createRedis({ cluster: ["redis://127.0.0.1:7000"] }, { blocking: false });
 */
export function createRedis(target: RedisTarget, o: { blocking: boolean }): RedisClient {
  const maxRetriesPerRequest = o.blocking ? null : 2;
  if ("url" in target) return new IORedis(target.url, { maxRetriesPerRequest });
  if (target.cluster.length === 0) throw new InvalidConfigError("redisCluster", "[]", "at least one seed node");
  return new Cluster(target.cluster.map(nodeOf), {
    // After a master dies its slots move to the promoted replica: ask again soon, not after 30 s.
    slotsRefreshTimeout: 2000,
    clusterRetryStrategy: (times) => Math.min(100 * times, 2000),
    redisOptions: { maxRetriesPerRequest, ...authOf(target.cluster[0]) },
  });
}

/**
 * What BullMQ's Queue and Worker take: connection options for one server; for a cluster a
 * Cluster instance (BullMQ duplicates it for its blocking connection). The caller closes it.
 */
export function bullConnection(target: RedisTarget): { connection: ConnectionOptions; owned?: Cluster } {
  if ("url" in target) return { connection: redisConnectionOptions(target.url) };
  const c = createRedis(target, { blocking: true }) as Cluster;
  return { connection: c, owned: c };
}

/** The gateway's Redis from its configuration (`redisCluster` wins over `redisUrl`). */
export function redisTargetOf(cfg: { redisUrl?: string; redisCluster?: readonly string[] }): RedisTarget {
  if (cfg.redisCluster && cfg.redisCluster.length > 0) return { cluster: cfg.redisCluster };
  if (cfg.redisUrl) return { url: cfg.redisUrl };
  throw new InvalidConfigError("redisUrl", undefined, "redisUrl or redisCluster");
}

/**
 * The key prefix: the configured one, else one per gateway account. On a cluster the prefix must
 * hold a hash tag, or BullMQ's scripts fail with CROSSSLOT on the first job.
 */
export function keyPrefixFor(target: RedisTarget, configured: string | undefined, account: string): string {
  if (configured !== undefined) {
    if ("cluster" in target && !/\{[^}]+\}/.test(configured)) throw new InvalidConfigError("queuePrefix", configured, "a hash tag such as {gw1} on a Redis Cluster (all of a queue's keys in one slot)");
    return configured;
  }
  const base = `sidegrid:gw:${account.toLowerCase()}`;
  return "cluster" in target ? `{${base}}` : base;
}

/**
 * ioredis options for a redis:// URL, as BullMQ wants them (its blocking connections need
 * `maxRetriesPerRequest: null`). BullMQ opens and closes its own connections from these.
 * @example
 * redisConnectionOptions("redis://127.0.0.1:6390/0") // { host: "127.0.0.1", port: 6390, db: 0, ... }
 */
export function redisConnectionOptions(url: string): ConnectionOptions {
  const u = new URL(url);
  const opts: Record<string, unknown> = { host: u.hostname, port: Number(u.port || 6379), maxRetriesPerRequest: null };
  const db = u.pathname.replace("/", "");
  if (db) opts.db = Number(db);
  if (u.password) opts.password = decodeURIComponent(u.password);
  if (u.username) opts.username = decodeURIComponent(u.username);
  return opts as ConnectionOptions;
}
