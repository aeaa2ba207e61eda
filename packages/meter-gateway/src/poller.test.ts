import { sleep } from "@sidegrid/chain";
import type { MeterConfig } from "./adapter";
import { SimClock, systemClock } from "@sidegrid/pi-meter";
import { MeterPoller, pollCadenceMs } from "./poller";

const REDIS = process.env.SIDEGRID_TEST_REDIS_URL!;
const PREFIX = `test-poller-${process.pid}`;
const meters = (n: number, every: number): MeterConfig[] =>
  Array.from({ length: n }, (_, i) => ({ meterId: i + 1, protocol: "osgp-tcp", host: "127.0.0.1", port: 1, pollIntervalMs: every }));

describe("MeterPoller (BullMQ)", () => {
  it("runs one repeating job per meter, and the schedules survive a restart of the gateway", async () => {
    const calls = new Map<number, number>();
    const handler = async (id: number) => void calls.set(id, (calls.get(id) ?? 0) + 1);
    const p1 = new MeterPoller({ redisUrl: REDIS, prefix: `${PREFIX}-a`, concurrency: 4, spread: false }, handler);
    await p1.syncSchedules(meters(5, 200));
    p1.start();
    await sleep(1100);
    await p1.close();
    expect([...calls.keys()].sort()).toEqual([1, 2, 3, 4, 5]);
    for (const n of calls.values()) expect(n).toBeGreaterThanOrEqual(3);

    // A new gateway process: no syncSchedules call, the schedulers are still in Redis.
    const after = new Map<number, number>();
    const p2 = new MeterPoller({ redisUrl: REDIS, prefix: `${PREFIX}-a` }, async (id) => void after.set(id, (after.get(id) ?? 0) + 1));
    expect((await p2.depth()).schedulers).toBe(5);
    p2.start();
    await sleep(700);
    await p2.obliterate();
    await p2.close();
    expect([...after.keys()].sort()).toEqual([1, 2, 3, 4, 5]);
  });

  it("removes schedulers of meters no longer configured", async () => {
    const p = new MeterPoller({ redisUrl: REDIS, prefix: `${PREFIX}-b` }, async () => undefined);
    await p.syncSchedules(meters(4, 60_000));
    await p.syncSchedules(meters(2, 60_000));
    expect((await p.queue.getJobSchedulers()).map((s) => s.key).sort()).toEqual(["meter:1", "meter:2"]);
    await p.obliterate();
    await p.close();
  });

  it("retries a failing poll with exponential backoff", async () => {
    const attempts: number[] = [];
    const p = new MeterPoller({ redisUrl: REDIS, prefix: `${PREFIX}-c`, attempts: 3, backoffMs: 100, spread: false }, async (_id, job) => {
      attempts.push(Date.now());
      if (job.attemptsMade < 2) throw new Error("meter unreachable");
      return "ok";
    });
    await p.syncSchedules(meters(1, 60_000));
    p.start();
    const deadline = Date.now() + 5000;
    while (attempts.length < 3 && Date.now() < deadline) await sleep(50);
    await p.obliterate();
    await p.close();
    expect(attempts.length).toBe(3);
    // 100 ms then 200 ms between attempts (exponential).
    expect(attempts[1] - attempts[0]).toBeGreaterThanOrEqual(90);
    expect(attempts[2] - attempts[1]).toBeGreaterThanOrEqual(190);
  });

  it("enforces the gateway's rate limit", async () => {
    let n = 0;
    const p = new MeterPoller({ redisUrl: REDIS, prefix: `${PREFIX}-d`, limiter: { max: 4, durationMs: 1000 }, concurrency: 16 }, async () => void n++);
    await p.syncSchedules(meters(20, 100));
    p.start();
    await sleep(1500);
    await p.obliterate();
    await p.close();
    // 20 meters every 100 ms would be 300 polls; the limiter lets 4 per second through.
    expect(n).toBeGreaterThanOrEqual(4);
    expect(n).toBeLessThanOrEqual(12);
  });

  it("pauses: due polls wait; resuming with skipMissed drops them and keeps every meter's slot", async () => {
    const calls: { id: number; at: number }[] = [];
    const p = new MeterPoller({ redisUrl: REDIS, prefix: `${PREFIX}-e` }, async (id) => void calls.push({ id, at: Date.now() }));
    p.start();
    await p.pause();
    await p.syncSchedules(meters(3, 3000));
    // Each meter's slots are offset + k × 3 s (spread over the interval).
    const schedulers = await p.queue.getJobSchedulers(0, -1);
    const offsetOf = new Map(schedulers.map((s) => [Number(s.key.replace("meter:", "")), Number(s.offset)]));
    const offsets = [...offsetOf.values()];
    expect(offsets).toHaveLength(3);
    await sleep(3100);
    expect(calls).toEqual([]);
    // One due job per meter waits (delayed or waiting: a paused worker promotes nothing, and a scheduler plans
    // its next job only when one runs).
    const paused = await p.depth();
    expect(paused.waiting + paused.delayed).toBe(3);
    // Resume where no meter's slot is within 500 ms, so what follows is each meter's next slot, not a missed poll.
    const msToSlot = (o: number, now = Date.now()) => (((o - now) % 3000) + 3000) % 3000;
    while (!offsets.every((o) => msToSlot(o) > 500)) await sleep(20);
    const resumedAt = Date.now();
    expect(await p.resume({ skipMissed: true })).toEqual({ skipped: 3 });
    const d = await p.depth();
    expect(d.waiting + d.active + d.delayed).toBe(3);
    expect(d.schedulers).toBe(3);
    // Each meter is polled again at its next slot (a loaded machine may run it a little late).
    for (let i = 0; i < 120 && new Set(calls.map((c) => c.id)).size < 3; i++) await sleep(50);
    await p.obliterate();
    await p.close();
    expect([...new Set(calls.map((c) => c.id))].sort()).toEqual([1, 2, 3]);
    // None ran before its next slot after the resume (a missed poll run at once would): the missed ones were dropped.
    for (const c of calls) expect(c.at).toBeGreaterThanOrEqual(resumedAt + msToSlot(offsetOf.get(c.id)!, resumedAt) - 50);
  });

  it("setDefaultInterval re-plans the schedulers of meters without their own interval, and only when it changes", async () => {
    const p = new MeterPoller({ redisUrl: REDIS, prefix: `${PREFIX}-cadence`, defaultIntervalMs: 7_500 }, async () => undefined);
    const own: MeterConfig = { meterId: 9, protocol: "osgp-tcp", host: "127.0.0.1", port: 1, pollIntervalMs: 5_000 };
    const plain = meters(2, 0).map(({ pollIntervalMs: _omit, ...m }) => m);
    await p.syncSchedules([...plain, own]);
    const every = async () => Object.fromEntries((await p.queue.getJobSchedulers()).map((s) => [s.key, Number(s.every)]));
    expect(await every()).toEqual({ "meter:1": 7_500, "meter:2": 7_500, "meter:9": 5_000 });
    expect(await p.setDefaultInterval(60_000)).toBe(true);
    expect(p.defaultIntervalMs).toBe(60_000);
    expect(await every()).toEqual({ "meter:1": 60_000, "meter:2": 60_000, "meter:9": 5_000 });
    expect(await p.setDefaultInterval(60_000)).toBe(false);
    await p.obliterate();
    await p.close();
  });
});

describe("pollCadenceMs", () => {
  const now = Date.now();
  it("keeps the configured interval while a simulated clock runs fast, on the wall clock, and on a clock not capped at real time", () => {
    expect(pollCadenceMs(new SimClock({ simStartMs: now - 86_400_000, realStartMs: now, speed: 120, capAtReal: true }), 7_500, 60_000, true)).toBe(7_500);
    expect(pollCadenceMs(new SimClock({ simStartMs: now, realStartMs: now, speed: 120 }), 7_500, 60_000, true)).toBe(7_500);
    expect(pollCadenceMs(systemClock, 15_000, 60_000, true)).toBe(15_000);
    expect(pollCadenceMs(new SimClock({ simStartMs: now, manual: true, capAtReal: true }), 7_500, 60_000, true)).toBe(7_500);
  });

  it("once a capped clock has met the wall clock and every meter is read up to date: every quietMs (at most the record interval, never below the configured one)", () => {
    const caughtUp = new SimClock({ simStartMs: now - 3_600_000, realStartMs: now - 3_600_000, speed: 120, capAtReal: true });
    expect(Math.abs(caughtUp.now() - Date.now())).toBeLessThan(50);
    expect(pollCadenceMs(caughtUp, 7_500, 60_000, true)).toBe(60_000);
    expect(pollCadenceMs(caughtUp, 7_500, 3_600_000, true)).toBe(900_000);
    expect(pollCadenceMs(caughtUp, 120_000, 60_000, true)).toBe(120_000);
    // A meter still holding records its last poll left behind: the fast cadence until it is read up to date.
    expect(pollCadenceMs(caughtUp, 7_500, 60_000, false)).toBe(7_500);
  });
});
