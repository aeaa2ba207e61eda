import IORedis from "ioredis";
import { ShardMembership, shardOwner } from "./shards";

const REDIS = process.env.SIDEGRID_TEST_REDIS_URL!;
const METERS = Array.from({ length: 3000 }, (_, i) => i + 1);

describe("rendezvous ownership", () => {
  it("splits a fleet evenly and moves only a dead gateway's meters", () => {
    const three = ["gw-a", "gw-b", "gw-c"];
    const owners = new Map(METERS.map((m) => [m, shardOwner(three, m)!]));
    for (const g of three) {
      const n = METERS.filter((m) => owners.get(m) === g).length;
      expect(n).toBeGreaterThan(850);
      expect(n).toBeLessThan(1150);
    }
    const two = ["gw-a", "gw-c"];
    const moved = METERS.filter((m) => shardOwner(two, m) !== owners.get(m));
    // Exactly gw-b's meters move, and nothing else.
    expect(moved.length).toBe(METERS.filter((m) => owners.get(m) === "gw-b").length);
    expect(moved.every((m) => owners.get(m) === "gw-b")).toBe(true);
    expect(shardOwner([], 5)).toBeUndefined();
    // The order of the live list does not matter.
    expect(METERS.slice(0, 200).every((m) => shardOwner(["gw-c", "gw-a", "gw-b"], m) === owners.get(m))).toBe(true);
  });
});

describe("ShardMembership on Redis", () => {
  const redis = new IORedis(REDIS, { maxRetriesPerRequest: 2 });
  const group = `test-shards-${process.pid}`;
  afterAll(() => redis.disconnect());

  it("takes over a dead gateway's meters within a lease, and a clean stop leaves the group at once", async () => {
    const seen: Record<string, number[]> = { a: [], b: [] };
    const make = (id: string) => new ShardMembership(redis, { id, group, leaseMs: 600 }, async (owned) => void seen[id].push(owned.size));
    const a = make("a");
    const b = make("b");
    const ids = METERS.slice(0, 300);
    await a.start(ids);
    expect(a.ownedMeters().size).toBe(300);
    await b.start(ids);
    // b sees both at once; a learns of b at its next renewal (a third of the lease).
    await new Promise((r) => setTimeout(r, 500));
    expect(a.ownedMeters().size + b.ownedMeters().size).toBe(300);
    expect(a.ownedMeters().size).toBeGreaterThan(100);
    expect([...a.ownedMeters()].some((m) => b.owns(m))).toBe(false);
    // b dies without leaving (its timer stops, its lease stays until it expires).
    (b as unknown as { timer: NodeJS.Timeout }).timer && clearInterval((b as unknown as { timer: NodeJS.Timeout }).timer);
    const t0 = Date.now();
    while (a.ownedMeters().size < 300 && Date.now() - t0 < 5000) await new Promise((r) => setTimeout(r, 20));
    const took = Date.now() - t0;
    expect(a.ownedMeters().size).toBe(300);
    // Within a lease plus one renewal period.
    expect(took).toBeLessThan(600 + 200 + 400);
    expect(a.stats.rebalances).toBeGreaterThanOrEqual(2);
    expect(a.members()).toEqual(["a"]);
    await a.stop();
    expect(await redis.zrange(a.key, 0, -1)).toEqual([]);
    expect(seen.a[0]).toBe(300);
  });
});
