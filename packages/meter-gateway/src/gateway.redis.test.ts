// Redis killed with SIGKILL and restarted empty (its append-only file removed): the gateway's poll
// schedules are gone with it. The gateway notices, makes them again, and polling goes on without a
// manual step; every reading is anchored exactly once. The API's record of used nonces went too: a
// request captured before is still refused. Its own redis-server, so killing it touches no other test.
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { freePort } from "@sidegrid/chain";
import { signRequest } from "./api/auth";
import { startConsentingFleet, until, type ConsentingFleet } from "./test-utils/fleet";

const Q = 15 * 60_000;
const METERS = [1, 2, 3];
let f: ConsentingFleet;
let redis: ChildProcess;
let redisPort: number;
let redisDir: string;
const logLines: string[] = [];

function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, "127.0.0.1");
    s.on("connect", () => s.write("PING\r\n"));
    s.on("data", (d) => {
      s.destroy();
      resolve(d.toString().startsWith("+PONG"));
    });
    s.on("error", () => resolve(false));
  });
}

async function startRedis(): Promise<ChildProcess> {
  const bin = execFileSync("sh", ["-c", "command -v redis-server"]).toString().trim();
  fs.mkdirSync(redisDir, { recursive: true });
  const child = spawn(bin, ["--port", String(redisPort), "--bind", "127.0.0.1", "--dir", redisDir, "--appendonly", "yes", "--save", ""], { stdio: "ignore" });
  await until("redis-server to answer", () => ping(redisPort), 10_000);
  return child;
}

beforeAll(async () => {
  redisPort = await freePort();
  redisDir = fs.mkdtempSync(path.join(os.tmpdir(), "mg-redis-fault-"));
  redis = await startRedis();
  f = await startConsentingFleet({
    chainIds: [31565, 31566],
    meters: METERS,
    seed: "redis-fault",
    startMs: Date.UTC(2025, 6, 4, 0, 0),
    redisUrl: `redis://127.0.0.1:${redisPort}`,
    queuePrefix: "test-redis-fault",
    config: { poll: { intervalMs: 100, timeoutMs: 2000, spread: false, quietMs: 600_000, resyncMs: 500 }, anchor: { flushIntervalMs: 50 } },
    log: (l) => logLines.push(l),
  });
}, 90_000);
afterAll(async () => {
  await f?.stop();
  redis?.kill("SIGKILL");
  fs.rmSync(redisDir, { recursive: true, force: true });
});

it("polls on after Redis is killed and comes back empty, anchors every reading exactly once, and still refuses a replay", async () => {
  f.clock.advance(4 * Q);
  await until("the first readings anchored", () => f.unacked().every((n) => n === 0) && f.gw.store.pendingCount === 0 && f.gw.anchorer.stats.anchored === 12);
  expect((await f.gw.poller.depth()).schedulers).toBe(METERS.length);

  // A household reads her records; someone on the path keeps a copy of the signed request.
  const alice = f.fx.consumers.get(1)!;
  const path_ = `/v1/consumers/${alice.address}/readings`;
  const captured = await signRequest({ signer: alice.wallet, method: "GET", path: path_ });
  expect((await fetch(f.gw.url + path_, { headers: captured })).status).toBe(200);
  expect((await fetch(f.gw.url + path_, { headers: captured })).status).toBe(401);

  // kill -9, the append-only file gone with its directory, a new empty server on the same port.
  redis.kill("SIGKILL");
  await new Promise((r) => redis.once("exit", r));
  fs.rmSync(redisDir, { recursive: true, force: true });
  redis = await startRedis();

  f.clock.advance(4 * Q);
  await until("the readings after the restart read", () => f.unacked().every((n) => n === 0));
  expect(await f.gw.anchorer.drain(30_000)).toBe(true);
  expect((await f.gw.poller.depth()).schedulers).toBe(METERS.length);
  expect((await f.gw.metrics.scheduleResyncs.get()).values[0]?.value).toBeGreaterThanOrEqual(1);
  expect(logLines.some((l) => /poll schedules re-created: Redis held 0 of 3/.test(l))).toBe(true);
  for (const m of METERS) expect(await f.anchoredSequences(m)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
  expect(await f.alerts()).toBe(0);

  // The used nonces went with Redis: the captured request, replayed within the clock skew, is
  // refused all the same; a request she signs now is served.
  const replay = await fetch(f.gw.url + path_, { headers: captured });
  expect(replay.status).toBe(401);
  expect(((await replay.json()) as { error: { message: string } }).error.message).toMatch(/lost its record of used nonces \(Redis restarted empty\)/);
  const fresh = await signRequest({ signer: alice.wallet, method: "GET", path: path_ });
  expect((await fetch(f.gw.url + path_, { headers: fresh })).status).toBe(200);
  expect((await fetch(f.gw.url + path_, { headers: fresh })).status).toBe(401);
});
