import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import nacl from "tweetnacl";
import { Wallet } from "ethers";
import { AdapterRegistry, type MeterAdapter } from "./adapter";
import { SimClock } from "@sidegrid/pi-meter";
import { IngestPipeline } from "./ingest";
import { OSGP_TCP_PROTOCOL, osgpTcpAdapterFactory } from "./osgpAdapter";
import { CONTENT_AGGREGATE, CONTENT_RAW_RECORD, openReadingPayload } from "./payload";
import { CachedPolicy } from "./policy";
import { pollMeter } from "./poll";
import { GridAggregator } from "./realtime";
import { Resolution } from "./resolution";
import { startMeterSimulator, type MeterSimulator } from "@sidegrid/pi-meter";
import { GatewayStore } from "./store";
import { MemoryPolicySource } from "./test-utils/memoryPolicy";

const T0 = Date.UTC(2025, 4, 5, 0, 0);
const UTILITY = Wallet.createRandom().address;

describe("ingest pipeline (simulator → adapter → checks → consent → encrypted outbox)", () => {
  let sim: MeterSimulator;
  let clock: SimClock;
  let store: GatewayStore;
  let source: MemoryPolicySource;
  let policy: CachedPolicy;
  let pipeline: IngestPipeline;
  let grid: GridAggregator;
  let dir: string;
  const adapters = new Map<number, MeterAdapter>();
  const consumers = new Map<number, { address: string; keys: nacl.BoxKeyPair }>();
  let registry: AdapterRegistry;

  const adapter = async (id: number) => {
    let a = adapters.get(id);
    if (!a) {
      a = registry.create(
        { meterId: id, protocol: OSGP_TCP_PROTOCOL, host: sim.host, port: sim.port, addressed: true },
        { initialState: await store.adapterState(id), persist: (s) => store.putAdapterState(id, s), timeoutMs: 300, clock },
      );
      adapters.set(id, a);
    }
    return a;
  };
  const poll = async (id: number) => pollMeter({ adapter: await adapter(id), pipeline, clock, maxRecords: 32, maxPages: 10 });

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "mg-ingest-"));
    clock = new SimClock({ simStartMs: T0, manual: true });
    // Installed 6 hours before T0: 24 records waiting per meter.
    sim = await startMeterSimulator({ count: 11, seed: "ingest", clock, installedAtMs: T0 - 6 * 3600_000, capacity: 500 });
    registry = new AdapterRegistry([osgpTcpAdapterFactory({ masterKey: sim.masterKey })]);
    store = await GatewayStore.open(dir);
    source = new MemoryPolicySource();
    policy = new CachedPolicy(source, { utility: UTILITY });
    grid = new GridAggregator();
    pipeline = new IngestPipeline({ store, policy, clock, grid });
    for (let id = 1; id <= 11; id++) {
      const c = { address: Wallet.createRandom().address, keys: nacl.box.keyPair() };
      consumers.set(id, c);
      source.bind(id, { consumer: c.address, encryptionKey: c.keys.publicKey });
    }
  });
  afterAll(async () => {
    for (const a of adapters.values()) await a.close();
    policy.close();
    await sim.close();
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("stores every quarter-hour record of a consenting consumer, encrypted to that consumer", async () => {
    const c = consumers.get(1)!;
    source.grant(c.address, UTILITY, Resolution.QUARTER_HOURLY);
    const { outcome } = await poll(1);
    expect(outcome).toMatchObject({ ackSeq: 24, stored: 24, notPermitted: 0, rejected: 0, duplicates: 0 });
    const recs = await store.consumerRecords(c.address, 0, Number.MAX_SAFE_INTEGER, 100);
    expect(recs.map((r) => r.sequence)).toEqual(Array.from({ length: 24 }, (_, i) => i + 1));
    const r5 = recs[4];
    expect(r5).toMatchObject({ meterId: 1, resolution: Resolution.QUARTER_HOURLY, periodStart: T0 - 6 * 3600_000 + 4 * 900_000, status: "pending" });
    const opened = openReadingPayload(Buffer.from(r5.payload.slice(2), "hex"), { secretKey: c.keys.secretKey }, r5);
    expect(opened.contentType).toBe(CONTENT_RAW_RECORD);
    if (opened.contentType === CONTENT_RAW_RECORD) expect(opened.reading).toMatchObject({ meterId: 1, sequence: 5, clockMs: r5.periodEnd });
    // Another consumer's key opens nothing.
    expect(() => openReadingPayload(Buffer.from(r5.payload.slice(2), "hex"), { secretKey: consumers.get(2)!.keys.secretKey }, r5)).toThrow(/envelope/);
    // Bound to its record: moved to another sequence it does not open.
    expect(() => openReadingPayload(Buffer.from(r5.payload.slice(2), "hex"), { secretKey: c.keys.secretKey }, { ...r5, sequence: 6 })).toThrow(/not this record/);
    expect(sim.meter(1).status().ackedSeq).toBe(24);
  });

  it("aggregates to the permitted resolution: hourly records whose energy matches the registers", async () => {
    const c = consumers.get(2)!;
    source.grant(c.address, UTILITY, Resolution.HOURLY);
    await poll(2);
    const recs = await store.consumerRecords(c.address, 0, Number.MAX_SAFE_INTEGER, 100);
    // 24 quarter hours = 6 complete hours.
    expect(recs.length).toBe(6);
    const aggs = recs.map((r) => openReadingPayload(Buffer.from(r.payload.slice(2), "hex"), { secretKey: c.keys.secretKey }, r));
    let total = 0;
    for (const [i, o] of aggs.entries()) {
      expect(o.contentType).toBe(CONTENT_AGGREGATE);
      if (o.contentType !== CONTENT_AGGREGATE) continue;
      expect(o.aggregate).toMatchObject({ resolution: Resolution.HOURLY, count: i === 0 ? 4 : 4, firstSeq: i * 4 + 1, lastSeq: i * 4 + 4, periodStartMs: T0 - (6 - i) * 3600_000 });
      total += o.aggregate.importWh;
      expect(recs[i].sequence).toBe(i * 4 + 1);
    }
    const last = aggs[5].contentType === CONTENT_AGGREGATE ? aggs[5].aggregate : undefined;
    const first = aggs[1].contentType === CONTENT_AGGREGATE ? aggs[1].aggregate : undefined;
    // Hours 2..6 add up to the register difference between the end of hour 1 and the end of hour 6.
    const hour1End = aggs[0].contentType === CONTENT_AGGREGATE ? aggs[0].aggregate.importRegisterWh : 0;
    expect(last!.importRegisterWh - hour1End).toBe(total - (aggs[0].contentType === CONTENT_AGGREGATE ? aggs[0].aggregate.importWh : 0));
    expect(first!.importWh).toBeGreaterThan(0);
  });

  it("keeps a non-consenting consumer's readings out of the store; they only feed grid totals", async () => {
    const before = grid.snapshot().periods.reduce((s, p) => s + p.meters, 0);
    const { outcome } = await poll(3);
    expect(outcome).toMatchObject({ stored: 0, notPermitted: 24 });
    expect(await store.consumerRecords(consumers.get(3)!.address, 0, Number.MAX_SAFE_INTEGER, 100)).toEqual([]);
    expect(grid.snapshot().periods.reduce((s, p) => s + p.meters, 0)).toBe(before + 23);
    // The meter is still acknowledged: nothing is re-read.
    expect(sim.meter(3).status().ackedSeq).toBe(24);
  });

  it("stops storing as soon as consent is revoked (cache invalidated by the change event)", async () => {
    const c = consumers.get(4)!;
    source.grant(c.address, UTILITY, Resolution.QUARTER_HOURLY);
    await poll(4);
    clock.advance(3600_000);
    source.grant(c.address, UTILITY, Resolution.NONE);
    const { outcome } = await poll(4);
    expect(outcome).toMatchObject({ stored: 0, notPermitted: 4 });
    const recs = await store.consumerRecords(c.address, 0, Number.MAX_SAFE_INTEGER, 100);
    expect(recs.length).toBe(24);
  });

  it("alerts on registers running backwards and does not store those readings", async () => {
    const c = consumers.get(5)!;
    source.grant(c.address, UTILITY, Resolution.QUARTER_HOURLY);
    const n0 = (await poll(5)).outcome.ackSeq;
    sim.setBehaviour(5, { backwardsWh: 5000 });
    clock.advance(3600_000);
    const { outcome } = await poll(5);
    expect(outcome.rejected).toBe(4);
    expect(outcome.alerts.map((a) => a.kind)).toEqual(["register-backwards", "register-backwards", "register-backwards", "register-backwards"]);
    expect(outcome.alerts[0].details).toMatchObject({ register: "activeEnergyImportWh" });
    sim.setBehaviour(5, { backwardsWh: 0 });
    clock.advance(900_000);
    const after = await poll(5);
    expect(after.outcome).toMatchObject({ stored: 1, rejected: 0 });
    const seqs = (await store.consumerRecords(c.address, 0, Number.MAX_SAFE_INTEGER, 100)).map((r) => r.sequence);
    expect(seqs).not.toContain(n0 + 1);
    expect(seqs).not.toContain(n0 + 4);
    expect(seqs).toContain(n0 + 5);
  });

  it("alerts on replayed records, forged digests, replayed frames and silence", async () => {
    const c = consumers.get(6)!;
    source.grant(c.address, UTILITY, Resolution.QUARTER_HOURLY);
    const n0 = (await poll(6)).outcome.ackSeq;
    sim.setBehaviour(6, { replayRecords: true });
    clock.advance(900_000);
    const r1 = await poll(6);
    expect(r1.outcome.alerts.map((a) => a.kind)).toEqual(["replay", "replay"]);
    expect(r1.outcome).toMatchObject({ stored: 1, rejected: 2 });
    sim.setBehaviour(6, { replayRecords: false, badDigest: true });
    clock.advance(900_000);
    await expect(poll(6)).rejects.toMatchObject({ code: "METER_AUTHENTICATION" });
    sim.setBehaviour(6, { badDigest: false });
    await poll(6); // the forged answer changed nothing: the record is read again, genuine this time
    sim.setBehaviour(6, { replay: true });
    clock.advance(900_000);
    await expect(poll(6)).rejects.toMatchObject({ code: "METER_REPLAY" });
    sim.setBehaviour(6, { replay: false, silent: true });
    for (let i = 0; i < 3; i++) await expect(poll(6)).rejects.toMatchObject({ code: "METER_TIMEOUT" });
    sim.setBehaviour(6, { silent: false });
    const alerts = await store.alerts({ meterId: 6 });
    expect(alerts.map((a) => a.kind).sort()).toEqual(["bad-digest", "replay", "replay", "replay", "silent"]);
    const seqs = (await store.consumerRecords(c.address, 0, Number.MAX_SAFE_INTEGER, 100)).map((r) => r.sequence);
    expect(seqs).toEqual(Array.from({ length: n0 + 2 }, (_, i) => i + 1));
    const back = await poll(6);
    expect(back.outcome.stored).toBe(1);
  });

  it("raises energy-power-mismatch when a meter's registers disagree with the power it measured, and not for an honest one", async () => {
    const honest = consumers.get(11)!;
    source.grant(honest.address, UTILITY, Resolution.QUARTER_HOURLY);
    const h = await poll(11);
    expect(h.outcome.stored).toBeGreaterThan(20);
    expect(h.outcome.alerts.filter((a) => a.kind === "energy-power-mismatch")).toEqual([]);
    // A tampered register counts a third of the energy; the power it records stays true.
    sim.setBehaviour(11, { energyScale: 0.33 });
    clock.advance(3600_000);
    const t = await poll(11);
    const mismatches = t.outcome.alerts.filter((a) => a.kind === "energy-power-mismatch");
    expect(mismatches.length).toBe(4);
    for (const m of mismatches) {
      const d = m.details as { energyWh: number; powerWh: number };
      expect(d.energyWh).toBeLessThan(d.powerWh * 0.5);
    }
    // Kept (and stored) for the utility and the installer to see, not dropped.
    expect(t.outcome.stored).toBe(4);
    sim.setBehaviour(11, { energyScale: 1 });
  });

  it("reports gaps and clock drift but keeps the readings", async () => {
    const c = consumers.get(7)!;
    source.grant(c.address, UTILITY, Resolution.QUARTER_HOURLY);
    await poll(7);
    sim.setBehaviour(7, { gapEvery: 2, clockDriftMs: 3600_000 });
    clock.advance(3600_000);
    const { outcome } = await poll(7);
    const kinds = outcome.alerts.map((a) => a.kind);
    expect(kinds.filter((k) => k === "gap").length).toBeGreaterThanOrEqual(1);
    expect(kinds).toContain("clock-drift");
    expect(outcome.stored).toBe(4);
  });

  it("is idempotent when the acknowledgement is lost: re-delivered records are duplicates, not new rows", async () => {
    const c = consumers.get(8)!;
    source.grant(c.address, UTILITY, Resolution.QUARTER_HOURLY);
    const a = await adapter(8);
    const before = clock.now();
    const res = await a.read({ kind: "log", maxRecords: 10 });
    await pipeline.processLog(8, res, { before, after: clock.now() }, a.state());
    // Crash here: no acknowledgement. The next poll gets the same 10 records first.
    const { outcome } = await poll(8);
    const n = sim.meter(8).status().newestSeq;
    expect(outcome).toMatchObject({ duplicates: 10, stored: n - 10, rejected: 0, ackSeq: n });
    expect(outcome.alerts).toEqual([]);
    expect((await store.consumerRecords(c.address, 0, Number.MAX_SAFE_INTEGER, 100)).length).toBe(n);
  });

  it("survives a restart of the pipeline from the store alone", async () => {
    const c = consumers.get(9)!;
    source.grant(c.address, UTILITY, Resolution.HOURLY);
    await poll(9);
    const hours = (await store.consumerRecords(c.address, 0, Number.MAX_SAFE_INTEGER, 100)).length;
    expect(hours).toBe(Math.floor(sim.meter(9).status().newestSeq / 4));
    // A new pipeline over the same store (process restart).
    const p2 = new IngestPipeline({ store, policy, clock, grid });
    clock.advance(2 * 3600_000);
    const a = await adapter(9);
    const res = await a.read({ kind: "log" });
    const o = await p2.processLog(9, res, { before: clock.now(), after: clock.now() }, a.state());
    expect(o).toMatchObject({ stored: 8, duplicates: 0, rejected: 0 });
    const recs = await store.consumerRecords(c.address, 0, Number.MAX_SAFE_INTEGER, 100);
    expect(recs.length).toBe(hours + 2);
  });

  it("reads instantaneous values into the real-time totals only", async () => {
    const before = grid.snapshot().instantaneous.meters;
    const r = await pollMeter({ adapter: await adapter(10), pipeline, clock, instantaneous: true });
    const snap = grid.snapshot().instantaneous;
    expect(snap.meters).toBe(before + 1);
    expect(snap.at).toBe(clock.now());
    expect(Number.isFinite(snap.netPowerW)).toBe(true);
    // Meter 10's consumer granted nothing: its log readings were not stored either.
    expect(r.outcome.stored).toBe(0);
    expect(await store.consumerRecords(consumers.get(10)!.address, 0, Number.MAX_SAFE_INTEGER, 10)).toEqual([]);
  });

  it("says when a poll stopped at its page limit with records left (a backlog), and not when it read everything", async () => {
    // Meter 1 consents; four hours later it holds 16 records the gateway has not read.
    source.grant(consumers.get(1)!.address, UTILITY, Resolution.QUARTER_HOURLY);
    const a = await adapter(1);
    await pollMeter({ adapter: a, pipeline, clock, maxRecords: 32, maxPages: 10 });
    clock.advance(4 * 3600_000);
    const part = await pollMeter({ adapter: a, pipeline, clock, maxRecords: 4, maxPages: 2 });
    expect([part.pages, part.outcome.stored, part.caughtUp, part.backlog]).toEqual([2, 8, false, true]);
    const rest = await pollMeter({ adapter: a, pipeline, clock, maxRecords: 32, maxPages: 10 });
    expect([rest.pages, rest.outcome.stored, rest.caughtUp, rest.backlog]).toEqual([1, 8, true, false]);
  });
});
