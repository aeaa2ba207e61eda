// The HTTP API against real chains: wallet-signature auth, schema validation, consumers changing
// their preferences through BlockPRI, utilities going through BlockSEC's AccessLedger (403 and a
// denied entry without a grant), courts auditing, operators reading status.
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { BOX_KEY_MESSAGE, Resolution as SecResolution, recordLeaf, verifyMerkleProof } from "@sidegrid/blocksec";
import { devPrivateKey } from "@sidegrid/chain";
import { Wallet, type Signer } from "ethers";
import { toMeterRecord } from "../blocksec";
import { SimClock } from "@sidegrid/pi-meter";
import { startGateway, type Gateway } from "../gateway";
import { openReadingPayload } from "../payload";
import { startMeterSimulator, type MeterSimulator } from "@sidegrid/pi-meter";
import { startSidegridFixture, type SidegridFixture } from "../test-utils/fixture";
import { signRequest } from "./auth";
import { ROUTES } from "./app";

const T0 = Date.UTC(2025, 9, 1, 8, 0);
const REDIS = process.env.SIDEGRID_TEST_REDIS_URL!;

describe("gateway HTTP API", () => {
  let fx: SidegridFixture;
  let sim: MeterSimulator;
  let gw: Gateway;
  let dir: string;
  const operator = Wallet.createRandom();
  let outsider: Wallet; // has ETH on BlockSEC, no role

  async function call(signer: Signer | undefined, method: string, p: string, body?: unknown, opts: { headers?: Record<string, string> } = {}) {
    const text = body === undefined ? undefined : JSON.stringify(body);
    const headers: Record<string, string> = { ...(text !== undefined ? { "content-type": "application/json" } : {}) };
    if (signer) Object.assign(headers, await signRequest({ signer, method, path: p, ...(text !== undefined ? { body: text } : {}) }));
    Object.assign(headers, opts.headers ?? {});
    const res = await fetch(gw.url + p, { method, headers, ...(text !== undefined ? { body: text } : {}) });
    const ct = res.headers.get("content-type") ?? "";
    return { status: res.status, body: ct.includes("json") ? ((await res.json()) as any) : await res.text() };
  }

  beforeAll(async () => {
    fx = await startSidegridFixture({ priChainId: 31505, secChainId: 31506 });
    outsider = new Wallet(devPrivateKey(5), fx.sec.provider);
    const clock = new SimClock({ simStartMs: T0, manual: true });
    sim = await startMeterSimulator({ count: 2, seed: "api", clock, installedAtMs: T0 - 2 * 3600_000 });
    await fx.addConsumers([1, 2]);
    await fx.setPreferences(1, [{ utility: fx.utility.address, category: "CONSUMPTION", allowed: true, resolution: "QUARTER_HOURLY" }]);
    await fx.relay();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "mg-api-"));
    gw = await startGateway({
      clock,
      config: {
        dataDir: dir,
        redisUrl: REDIS,
        queuePrefix: `test-api-${process.pid}`,
        blocksec: { rpcUrl: fx.sec.node.url, chainId: 31506, addresses: fx.addresses, privateKey: fx.gatewayKey, startBlock: fx.startBlock },
        blockpri: { rpcUrl: fx.pri.node.url, chainId: 31505, ppc: fx.ppc },
        masterKeyHex: Buffer.from(sim.masterKey).toString("hex"),
        simulator: { host: sim.host, port: sim.port, count: 2 },
        poll: { intervalMs: 3_600_000 },
        policy: { pollMs: 100 },
        anchor: { flushIntervalMs: 50 },
        operators: [operator.address],
        // Consumer 2 registered and chose nothing: written off at once here, not held for her preferences.
        ingest: { holdUndecidedMs: 0 },
      },
    });
    await gw.pollNow(1);
    await gw.pollNow(2);
    await gw.anchorer.drain();
  });
  afterAll(async () => {
    await gw?.poller.obliterate().catch(() => undefined);
    await gw?.stop();
    await sim?.close();
    await fx?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  describe("system endpoints", () => {
    it("serves /healthz, /metrics and an OpenAPI 3.1 document covering every route", async () => {
      const h = await call(undefined, "GET", "/healthz");
      expect(h).toMatchObject({ status: 200, body: { ok: true, checks: { blocksec: true, redis: true, store: true } } });
      const m = await call(undefined, "GET", "/metrics");
      expect(m.status).toBe(200);
      expect(m.body).toMatch(/sidegrid_gateway_readings_total\{outcome="stored"\} 8/);
      expect(m.body).toMatch(/sidegrid_gateway_anchored_records_total 8/);
      // Unauthenticated: operational counters only, no grid-level or per-household figure.
      expect(m.body).not.toMatch(/sidegrid_grid_|import_watts|export_watts/);
      for (const c of fx.consumers.values()) expect(m.body.toLowerCase()).not.toContain(c.address.toLowerCase().slice(2));
      expect((await call(undefined, "GET", "/v1/operator/grid")).status).toBe(401);
      const o = await call(undefined, "GET", "/openapi.json");
      expect(o.body.openapi).toBe("3.1.0");
      for (const r of ROUTES) expect(o.body.paths[r.path][r.method]).toMatchObject({ summary: r.summary, security: [{ walletSignature: [] }] });
      expect(Object.keys(o.body.paths)).toEqual(expect.arrayContaining(["/healthz", "/metrics", "/openapi.json"]));
    });
  });

  describe("portal", () => {
    it("is served with its libraries and modules; no dev account list unless configured", async () => {
      const html = await fetch(gw.url + "/");
      expect(html.status).toBe(200);
      expect(await html.text()).toContain("<title>Sidegrid — your energy data, your decision</title>");
      const files = ["/vendor/ethers.umd.min.js", "/vendor/nacl-fast.min.js", "/vendor/uPlot.iife.min.js", "/vendor/uPlot.min.css", "/vendor/shamir/index.js", "/vendor/shamir/csprng.js", "/portal.css"];
      for (const m of ["main", "api", "keys", "energy", "household", "utility", "court", "operator", "ui"]) files.push(`/js/${m}.js`);
      for (const f of files) expect([f, (await fetch(gw.url + f)).status]).toEqual([f, 200]);
      // The page and its libraries go out gzipped; the API does not.
      expect((await fetch(gw.url + "/vendor/ethers.umd.min.js", { headers: { "accept-encoding": "gzip" } })).headers.get("content-encoding")).toBe("gzip");
      expect((await fetch(gw.url + "/", { headers: { "accept-encoding": "gzip" } })).headers.get("content-encoding")).toBe("gzip");
      expect((await fetch(gw.url + "/openapi.json", { headers: { "accept-encoding": "gzip" } })).headers.get("content-encoding")).toBeNull();
      // The page derives keys with the same text as walletBoxKeys: one character off, another key.
      const keysJs = await (await fetch(gw.url + "/js/keys.js")).text();
      const text = /export const BOX_KEY_MESSAGE = \[([\s\S]*?)\]\.join\("\\n"\);/.exec(keysJs)![1]!;
      expect(JSON.parse(`[${text.trim().replace(/,$/, "")}]`).join("\n")).toBe(BOX_KEY_MESSAGE);
      expect((await fetch(gw.url + "/v1/dev/accounts")).status).not.toBe(200);
    });
  });

  describe("authentication", () => {
    it("rejects missing, altered, stale and replayed signatures with 401", async () => {
      const c = fx.consumers.get(1)!;
      const p = `/v1/consumers/${c.address}/readings`;
      expect((await call(undefined, "GET", p)).body.error).toMatchObject({ code: "AUTH_FAILED" });
      // Signed for another path: the signature does not match.
      const headers = await signRequest({ signer: c.wallet, method: "GET", path: "/v1/me" });
      let r = await fetch(gw.url + p, { headers });
      expect(r.status).toBe(401);
      expect(((await r.json()) as any).error.message).toMatch(/does not match/);
      // Stale.
      const old = await signRequest({ signer: c.wallet, method: "GET", path: p, timestamp: Date.now() - 10 * 60_000 });
      r = await fetch(gw.url + p, { headers: old });
      expect(r.status).toBe(401);
      // Replayed: the same headers twice.
      const once = await signRequest({ signer: c.wallet, method: "GET", path: p });
      expect((await fetch(gw.url + p, { headers: once })).status).toBe(200);
      r = await fetch(gw.url + p, { headers: once });
      expect(r.status).toBe(401);
      expect(((await r.json()) as any).error.message).toMatch(/replayed/);
    });

    it("answers 400 with the schema errors on bad input", async () => {
      const r = await call(fx.utility, "POST", "/v1/access-requests", { consumer: "0x123", category: "GAS", from: -1, to: 5 });
      expect(r.status).toBe(400);
      expect(r.body.error.code).toBe("VALIDATION_FAILED");
      const paths = r.body.error.errors.map((e: { instancePath: string }) => e.instancePath).sort();
      expect(paths).toEqual(["/category", "/consumer", "/from"]);
      const q = await call(operator, "GET", "/v1/operator/alerts?limit=0");
      expect(q.status).toBe(400);
      expect(q.body.error.errors[0]).toMatchObject({ instancePath: "/limit", keyword: "minimum" });
    });
  });

  describe("consumers", () => {
    it("read their own readings, encrypted to them and provable against the anchored root; not someone else's", async () => {
      const c = fx.consumers.get(1)!;
      const r = await call(c.wallet, "GET", `/v1/consumers/${c.address}/readings`);
      expect(r.status).toBe(200);
      expect(r.body.readings.length).toBe(8);
      const x = r.body.readings[3];
      expect(x).toMatchObject({ meterId: 1, sequence: 4, resolution: "QUARTER_HOURLY", status: "anchored" });
      const rec = toMeterRecord({ ...x, resolution: SecResolution.QUARTER_HOURLY, category: 0 });
      expect(verifyMerkleProof(x.anchor.proof, x.anchor.root, recordLeaf(rec))).toBe(true);
      const opened = openReadingPayload(Buffer.from(x.payload.slice(2), "hex"), { secretKey: c.keys.secretKey }, { meterId: 1, sequence: 4, resolution: 4 });
      expect(opened.contentType).toBe(1);
      const other = await call(fx.consumers.get(2)!.wallet, "GET", `/v1/consumers/${c.address}/readings`);
      expect(other.status).toBe(403);
    });

    it("change their preferences: the API prepares the PPC transaction, relays the signed one", async () => {
      const c = fx.consumers.get(2)!;
      const before = await call(c.wallet, "GET", `/v1/consumers/${c.address}/preferences`);
      expect(before.body).toMatchObject({ registered: true, preferences: [] });
      const prep = await call(c.wallet, "POST", `/v1/consumers/${c.address}/preferences`, { preferences: [{ utility: fx.utility.address, category: "CONSUMPTION", allowed: true, resolution: "DAILY" }] });
      expect(prep.status).toBe(200);
      expect(prep.body.tx).toMatchObject({ type: 2, to: fx.ppc, from: c.address, chainId: "31505" });
      const signedTx = await c.wallet.signTransaction(prep.body.tx);
      const relayed = await call(c.wallet, "POST", `/v1/consumers/${c.address}/preferences/relay`, { signedTx });
      expect(relayed.body).toMatchObject({ status: 1 });
      const after = await call(c.wallet, "GET", `/v1/consumers/${c.address}/preferences`);
      expect(after.body.preferences).toEqual([{ utility: fx.utility.address, category: "CONSUMPTION", allowed: true, resolution: "DAILY", expiresAt: 0 }]);
      // Someone else's signed transaction is not relayed for this consumer.
      const stranger = Wallet.createRandom();
      const foreign = await stranger.signTransaction({ ...prep.body.tx, from: stranger.address, nonce: 0 });
      expect((await call(c.wallet, "POST", `/v1/consumers/${c.address}/preferences/relay`, { signedTx: foreign })).status).toBe(403);
    });
  });

  describe("utilities", () => {
    const window = { from: Math.floor((T0 - 3 * 3600_000) / 1000), to: Math.floor(T0 / 1000) };

    async function request(signer: Wallet, consumer: string, resolution: string) {
      const prep = await call(signer, "POST", "/v1/access-requests", { consumer, category: "CONSUMPTION", resolution, ...window });
      expect(prep.status).toBe(200);
      const signedTx = await signer.signTransaction(prep.body.tx);
      return call(signer, "POST", "/v1/access-requests/relay", { signedTx });
    }

    it("without the distributor role get 403, and the attempt is a denied entry on the ledger", async () => {
      const c = fx.consumers.get(1)!;
      const r = await request(outsider, c.address, "QUARTER_HOURLY");
      expect(r.status).toBe(403);
      expect(r.body.error).toMatchObject({ code: "ACCESS_DENIED", entry: { granted: false, reason: "NOT_A_DISTRIBUTOR", requester: outsider.address } });
      const log = await fx.secAdmin.accessLog(c.address);
      expect(log.some((e) => e.requester === outsider.address && !e.granted && e.index === r.body.error.entry.index)).toBe(true);
    });

    it("without the consumer's consent get 403 too (NOT_PERMITTED on the ledger)", async () => {
      // Consumer 2 has not relayed any preference to BlockSEC: the distributor is refused.
      const d = await request(fx.utility, fx.consumers.get(2)!.address, "DAILY");
      expect(d.status).toBe(403);
      expect(d.body.error.entry).toMatchObject({ granted: false, reason: "NOT_PERMITTED", requester: fx.utility.address });
    });

    it("with a grant receive the records only after AccessGranted, and only they can fetch them again", async () => {
      const c = fx.consumers.get(1)!;
      const r = await request(fx.utility, c.address, "HOURLY");
      expect(r.status).toBe(200);
      expect(r.body.entry).toMatchObject({ granted: true, requester: fx.utility.address, resolution: "HOURLY" });
      // Quarter-hour records are finer than the hourly grant: none are released at HOURLY.
      expect(r.body.readings).toEqual([]);
      const q = await request(fx.utility, c.address, "QUARTER_HOURLY");
      expect(q.body.readings.map((x: { sequence: number }) => x.sequence)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
      const again = await call(fx.utility, "GET", `/v1/access/${c.address}/${q.body.entry.index}/readings`);
      expect(again.status).toBe(200);
      expect(again.body.readings.length).toBe(8);
      expect((await call(outsider, "GET", `/v1/access/${c.address}/${q.body.entry.index}/readings`)).status).toBe(403);
      const denied = await call(fx.utility, "GET", `/v1/access/${c.address}/0/readings`);
      expect(denied.status).toBe(403);
    });
  });

  describe("transactions the node will not take", () => {
    it("an access request from a wallet without gas is a 422 with the node's reason, and nothing is logged", async () => {
      const c = fx.consumers.get(1)!;
      const broke = Wallet.createRandom();
      const before = (await fx.secAdmin.accessLog(c.address)).length;
      // Prepared by hand: the API's preparation would already refuse (estimateGas needs funds).
      const data = (await import("@sidegrid/blocksec")).AccessLedger__factory.createInterface().encodeFunctionData("requestAccess", [c.address, 0, 4, 0, 1, "0x" + "00".repeat(32)]);
      const signedTx = await broke.signTransaction({ type: 2, chainId: 31506, to: fx.addresses.accessLedger, data, nonce: 0, gasLimit: 300_000, maxFeePerGas: 10n ** 10n, maxPriorityFeePerGas: 1n });
      const r = await call(broke, "POST", "/v1/access-requests/relay", { signedTx });
      expect(r.status).toBe(422);
      expect(r.body.error).toMatchObject({ code: "TX_REJECTED" });
      expect(r.body.error.message).toMatch(/^BlockSEC refused the transaction: .*insufficient funds/i);
      expect((await fx.secAdmin.accessLog(c.address)).length).toBe(before);
    });

    it("a replayed signed request is a 422 (nonce too low), not a 500", async () => {
      const c = fx.consumers.get(1)!;
      const prep = await call(fx.utility, "POST", "/v1/access-requests", { consumer: c.address, category: "CONSUMPTION", resolution: "DAILY", from: 0, to: 1 });
      const signedTx = await fx.utility.signTransaction(prep.body.tx);
      expect((await call(fx.utility, "POST", "/v1/access-requests/relay", { signedTx })).status).toBe(200);
      const again = await call(fx.utility, "POST", "/v1/access-requests/relay", { signedTx });
      expect(again.status).toBe(422);
      expect(again.body.error).toMatchObject({ code: "TX_REJECTED", details: expect.stringMatching(/^transaction 0x[0-9a-f]{64}$/) });
      expect(again.body.error.message).toMatch(/nonce/i);
    });

    it("a preparation that would revert is a 422 naming the revert", async () => {
      // A consumer cannot set preferences before registering: the PPC reverts in estimateGas.
      const stranger = new Wallet(devPrivateKey(7));
      const r = await call(stranger, "POST", `/v1/consumers/${stranger.address}/preferences`, { preferences: [{ utility: fx.utility.address, category: "CONSUMPTION", allowed: true, resolution: "DAILY" }] });
      expect(r.status).toBe(422);
      expect(r.body.error.code).toBe("TX_REJECTED");
      expect(r.body.error.message).toMatch(/^BlockPRI refused the transaction: it would revert/);
    });

    it("a chain node that cannot be reached is a 503 with one clear message", async () => {
      // The gateway reaches BlockPRI through a TCP proxy, which goes away once the gateway runs.
      const target = new URL(fx.pri.node.url);
      const sockets = new Set<net.Socket>();
      const proxy = net.createServer((s) => {
        const up = net.connect(Number(target.port), target.hostname);
        for (const x of [s, up]) {
          sockets.add(x);
          x.on("error", () => undefined);
        }
        s.pipe(up).pipe(s);
      });
      await new Promise<void>((r) => proxy.listen(0, "127.0.0.1", r));
      const proxyUrl = `http://127.0.0.1:${(proxy.address() as net.AddressInfo).port}`;
      const down = await startGateway({
        clock: new SimClock({ simStartMs: T0, manual: true }),
        config: {
          dataDir: fs.mkdtempSync(path.join(os.tmpdir(), "mg-api-down-")),
          redisUrl: REDIS,
          queuePrefix: `test-api-down-${process.pid}`,
          blocksec: { rpcUrl: fx.sec.node.url, chainId: 31506, addresses: fx.addresses, privateKey: devPrivateKey(9), startBlock: fx.startBlock },
          utility: fx.utility.address,
          blockpri: { rpcUrl: proxyUrl, chainId: 31505, ppc: fx.ppc },
          masterKeyHex: Buffer.from(sim.masterKey).toString("hex"),
          simulator: { host: sim.host, port: sim.port, count: 1 },
          poll: { intervalMs: 3_600_000 },
        },
      });
      try {
        const closed = new Promise((r) => proxy.close(r));
        for (const x of sockets) x.destroy();
        await closed;
        const c = fx.consumers.get(1)!;
        const p = `/v1/consumers/${c.address}/preferences`;
        const r = await fetch(down.url + p, { headers: await signRequest({ signer: c.wallet, method: "GET", path: p }) });
        expect(r.status).toBe(503);
        expect(((await r.json()) as any).error).toMatchObject({ code: "CHAIN_UNAVAILABLE", message: expect.stringMatching(/unavailable: .*ECONNREFUSED/) });
      } finally {
        await down.poller.obliterate().catch(() => undefined);
        await down.stop();
      }
    });
  });

  describe("courts and operators", () => {
    it("a court reads the verified access history (its own read recorded); others may not", async () => {
      const c = fx.consumers.get(1)!;
      const court = new Wallet(devPrivateKey(3), fx.sec.provider);
      const prep = await court.populateTransaction({ to: fx.addresses.accessLedger, data: (await import("@sidegrid/blocksec")).AccessLedger__factory.createInterface().encodeFunctionData("readAccessLog", [c.address]) });
      const signedTx = await court.signTransaction({ ...prep, type: 2, maxFeePerGas: 10n ** 10n, maxPriorityFeePerGas: 1n, gasLimit: 300_000n });
      const read = await call(court, "POST", "/v1/access-requests/relay", { signedTx });
      expect(read.body.entry).toMatchObject({ granted: true, category: "ACCESS_LOG" });
      const h = await call(court, "GET", `/v1/courts/consumers/${c.address}/access-history`);
      expect(h.status).toBe(200);
      expect(h.body).toMatchObject({ ok: true, problems: [] });
      expect(h.body.summary.denied).toBeGreaterThanOrEqual(1);
      expect(h.body.entries.map((e: { requester: string }) => e.requester)).toEqual(expect.arrayContaining([outsider.address, fx.utility.address, court.address]));
      expect((await call(fx.utility, "GET", `/v1/courts/consumers/${c.address}/access-history`)).status).toBe(403);
      // The consumer sees the same log.
      const own = await call(c.wallet, "GET", `/v1/consumers/${c.address}/access-log`);
      expect(own.body.entries.length).toBe(h.body.count);
    });

    it("operators read meter status, alerts, queue depth and grid totals; others may not", async () => {
      const meters = await call(operator, "GET", "/v1/operator/meters");
      expect(meters.body.meters.map((m: { meterId: number; lastSeq: number }) => [m.meterId, m.lastSeq])).toEqual([
        [1, 8],
        [2, 8],
      ]);
      const q = await call(operator, "GET", "/v1/operator/queue");
      expect(q.body).toMatchObject({ outboxPending: 0, queue: { schedulers: 2 } });
      sim.setBehaviour(2, { badDigest: true });
      await expect(gw.pollNow(2)).rejects.toMatchObject({ code: "METER_AUTHENTICATION" });
      const a = await call(operator, "GET", "/v1/operator/alerts?kind=bad-digest");
      expect(a.body.alerts).toEqual([expect.objectContaining({ meterId: 2, kind: "bad-digest" })]);
      const g = await call(fx.utility, "GET", "/v1/operator/grid");
      expect(g.status).toBe(200);
      expect(g.body.periods.length).toBeGreaterThan(0);
      expect((await call(fx.consumers.get(1)!.wallet, "GET", "/v1/operator/meters")).status).toBe(403);
      expect((await call(fx.consumers.get(1)!.wallet, "GET", "/v1/operator/grid")).status).toBe(403);
    });

    it("operators acknowledge an alert once, with who and when; its household sees it, another does not", async () => {
      const open = await call(operator, "GET", "/v1/operator/alerts?kind=bad-digest&open=true");
      const id = open.body.alerts[0].id as string;
      expect(id).toMatch(/^\d{13}!\d{6}$/);
      // Meter 2 is consumer 2's: she sees its alert (still open); consumer 1 sees none of it.
      const hers = await call(fx.consumers.get(2)!.wallet, "GET", `/v1/consumers/${fx.consumers.get(2)!.address}/alerts`);
      expect(hers.body.meters).toEqual([2]);
      expect(hers.body.alerts.map((a: { id: string; acknowledged?: unknown }) => [a.id, a.acknowledged])).toEqual([[id, undefined]]);
      const other = await call(fx.consumers.get(1)!.wallet, "GET", `/v1/consumers/${fx.consumers.get(1)!.address}/alerts`);
      expect([other.body.meters, other.body.alerts]).toEqual([[1], []]);
      expect((await call(fx.consumers.get(1)!.wallet, "GET", `/v1/consumers/${fx.consumers.get(2)!.address}/alerts`)).status).toBe(403);
      expect((await call(fx.consumers.get(1)!.wallet, "POST", `/v1/operator/alerts/${id}/ack`)).status).toBe(403);
      const first = await call(operator, "POST", `/v1/operator/alerts/${id}/ack`);
      expect(first.body.alert).toMatchObject({ id, acknowledged: { by: operator.address } });
      const again = await call(operator, "POST", `/v1/operator/alerts/${id}/ack`);
      expect(again.body.alert.acknowledged).toEqual(first.body.alert.acknowledged);
      expect((await call(operator, "GET", "/v1/operator/alerts?kind=bad-digest&open=true")).body.alerts).toEqual([]);
      expect((await call(operator, "GET", "/v1/operator/alerts?kind=bad-digest")).body.alerts[0].acknowledged.by).toBe(operator.address);
      expect((await call(operator, "POST", "/v1/operator/alerts/0000000000000!000000/ack")).status).toBe(404);
      expect((await call(operator, "POST", "/v1/operator/alerts/not-an-id/ack")).status).toBe(400);
    });

    it("operators follow the fleet as server-sent events; others are refused", async () => {
      const p = "/v1/operator/events";
      const res = await fetch(gw.url + p, { headers: await signRequest({ signer: operator, method: "GET", path: p }) });
      expect([res.status, res.headers.get("content-type"), res.headers.get("content-encoding")]).toEqual([200, "text/event-stream", null]);
      const reader = res.body!.getReader();
      let text = "";
      while ((text.match(/\n\n/g) ?? []).length < 2) text += new TextDecoder().decode((await reader.read()).value);
      await reader.cancel();
      const events = text.split("\n\n").filter(Boolean).slice(0, 2).map((b) => ({ event: /^event: (.*)$/m.exec(b)![1], data: JSON.parse(/^data: (.*)$/m.exec(b)![1]!) }));
      expect(events.map((e) => [e.event, e.data.seq, e.data.meters.length])).toEqual([
        ["fleet", 0, 2],
        ["fleet", 1, 2],
      ]);
      const refused = await fetch(gw.url + p, { headers: await signRequest({ signer: fx.consumers.get(1)!.wallet, method: "GET", path: p }) });
      expect(refused.status).toBe(403);
    });

    it("a consumer reads her own history verified as a court would, and sees BlockSEC's preference version beside BlockPRI's", async () => {
      const c = fx.consumers.get(1)!;
      const h = await call(c.wallet, "GET", `/v1/consumers/${c.address}/access-history`);
      expect(h.body).toMatchObject({ ok: true, consumer: c.address });
      expect(h.body.count).toBe(h.body.entries.length);
      expect((await call(fx.consumers.get(2)!.wallet, "GET", `/v1/consumers/${c.address}/access-history`)).status).toBe(403);
      const prefs = await call(c.wallet, "GET", `/v1/consumers/${c.address}/preferences`);
      expect(prefs.body.mirrorVersion).toBe(prefs.body.version);
    });
  });
});
