import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import nacl from "tweetnacl";
import { Wallet } from "ethers";
import { deriveCustodyKeyPair, openConsumerEnvelope, openMemberShare, combineShares } from "@sidegrid/blocksec";
import { encodeReadingRecord, decodeReadingRecord } from "@sidegrid/osgp-codec";
import { AdapterRegistry, type MeterAdapter } from "./adapter";
import { SimClock } from "@sidegrid/pi-meter";
import { EpochKeys, type EpochKeySource } from "./epochKeys";
import { IngestPipeline } from "./ingest";
import { OSGP_TCP_PROTOCOL, osgpTcpAdapterFactory } from "./osgpAdapter";
import {
  CONTENT_RAW_COMPACT,
  CONTENT_RAW_RECORD,
  compactRawRecord,
  compactRecordSize,
  openReadingPayload,
  payloadKeyId,
  sealReadingPayloadV2,
} from "./payload";
import { CachedPolicy } from "./policy";
import { pollMeter } from "./poll";
import { GridAggregator } from "./realtime";
import { Resolution } from "./resolution";
import { startMeterSimulator, type MeterSimulator } from "@sidegrid/pi-meter";
import { GatewayStore } from "./store";
import { MemoryPolicySource } from "./test-utils/memoryPolicy";

const T0 = Date.UTC(2025, 4, 5, 0, 0);
const DAY = 86_400_000;
const members = [1, 2, 3].map((i) => deriveCustodyKeyPair(`0x${i.toString(16).padStart(64, "0")}`));
const hex = (b: Uint8Array) => `0x${Buffer.from(b).toString("hex")}`;

function source(taken = new Set<string>()): EpochKeySource & { sets: number } {
  const s = {
    sets: 0,
    async custodySet() {
      s.sets++;
      return { setIndex: 0, keys: members.map((m) => hex(m.publicKey)), threshold: 2 };
    },
    async keyTaken(consumer: string, keyId: number) {
      return taken.has(`${consumer}:${keyId}`);
    },
  };
  return s;
}

const phase = { voltageV: 231.2, currentA: 3.5, activePowerW: 812.5, reactivePowerVar: -20, powerFactor: 0.97 };
const reading = (meterId: number, sequence: number, phases = 1) =>
  encodeReadingRecord({
    meterId,
    sequence,
    clockMs: T0 + sequence * 900_000,
    activeEnergyImportWh: 1234 + sequence,
    activeEnergyExportWh: 7,
    reactiveEnergyImportVarh: 3,
    reactiveEnergyExportVarh: 1,
    activePowerW: 812.5,
    reactivePowerVar: -20,
    frequencyHz: 50.01,
    powerFactor: 0.97,
    phases: Array.from({ length: phases }, () => phase),
    flags: { terminalCoverOpen: false, caseOpen: false, magneticField: false, reverseEnergy: false, phaseLoss: false, clockInvalid: false, batteryLow: false, selfTestFailed: false },
    tamperEvents: 0,
    powerOutages: 1,
  });

describe("payload v2", () => {
  const key = nacl.randomBytes(32);
  const ctx = { meterId: 9, sequence: 41, resolution: Resolution.QUARTER_HOURLY };

  it.each([
    [1, 80, 102],
    [2, 96, 118],
    [3, 112, 134],
  ])("a raw %i-phase reading is %i bytes compact, %i sealed (v1: 242), and opens to the exact 144-byte record", (phases, compact, sealed) => {
    const raw = reading(9, 41, phases);
    const c = compactRawRecord(raw, ctx);
    expect(c).toMatchObject({ contentType: CONTENT_RAW_COMPACT });
    expect(c.plaintext.length).toBe(compact);
    expect(compactRecordSize(phases)).toBe(compact);
    const payload = sealReadingPayloadV2(key, 0xdeadbeef, c.contentType, c.plaintext, ctx);
    expect(payload.length).toBe(sealed);
    expect(payloadKeyId(payload)).toBe(0xdeadbeef);
    const opened = openReadingPayload(payload, { dataKey: key }, ctx);
    expect(opened.version).toBe(2);
    expect(Buffer.from(opened.plaintext).equals(Buffer.from(raw))).toBe(true);
    expect(opened.contentType !== 2 && opened.reading).toEqual(decodeReadingRecord(raw));
  });

  it("is bound to its ledger fields and key id", () => {
    const c = compactRawRecord(reading(9, 41), ctx);
    const payload = sealReadingPayloadV2(key, 5, c.contentType, c.plaintext, ctx);
    expect(() => openReadingPayload(payload, { dataKey: key }, { ...ctx, sequence: 42 })).toThrow(/not this record/);
    expect(() => openReadingPayload(payload, { dataKey: key }, { ...ctx, resolution: Resolution.HOURLY })).toThrow(/not this record/);
    const moved = Uint8Array.from(payload);
    moved[5] = 6; // another key id
    expect(() => openReadingPayload(moved, { dataKey: key }, ctx)).toThrow(/not this record/);
    expect(() => openReadingPayload(payload, { dataKey: nacl.randomBytes(32) }, ctx)).toThrow(/wrong key/);
    expect(() => openReadingPayload(payload, { secretKey: nacl.randomBytes(32) }, ctx)).toThrow(/epoch key/);
  });

  it("keeps the whole record when the compact form would not be exact", () => {
    const raw = reading(9, 41);
    raw[130] = 1; // a reserved byte set by a future layout
    expect(compactRawRecord(raw, ctx).contentType).toBe(CONTENT_RAW_RECORD);
    const phase3 = reading(9, 41);
    phase3[100] = 7; // a value in a phase block the record says is absent
    expect(compactRawRecord(phase3, ctx).contentType).toBe(CONTENT_RAW_RECORD);
    expect(compactRawRecord(reading(9, 41), { ...ctx, sequence: 40 }).contentType).toBe(CONTENT_RAW_RECORD);
  });
});

describe("EpochKeys", () => {
  const consumer = Wallet.createRandom().address;
  const household = nacl.box.keyPair();

  it("one key per (consumer, resolution, epoch); finer resolutions and other days have their own", async () => {
    const keys = new EpochKeys({ source: source() });
    const a = await keys.keyFor(consumer, household.publicKey, Resolution.QUARTER_HOURLY, T0 + 3600_000);
    const b = await keys.keyFor(consumer, household.publicKey, Resolution.QUARTER_HOURLY, T0 + 5 * 3600_000);
    const daily = await keys.keyFor(consumer, household.publicKey, Resolution.DAILY, T0);
    const nextDay = await keys.keyFor(consumer, household.publicKey, Resolution.QUARTER_HOURLY, T0 + DAY);
    expect(a.created).toBeDefined();
    expect(b.created).toBeUndefined();
    expect(b.keyId).toBe(a.keyId);
    expect(new Set([a.keyId, daily.keyId, nextDay.keyId]).size).toBe(3);
    expect(a.created).toMatchObject({ consumer, resolution: Resolution.QUARTER_HOURLY, epochStart: T0 / 1000, epochEnd: (T0 + DAY) / 1000, setIndex: 0, status: "pending" });
    // The publication holds the key only in boxes: the household opens hers, 2 of 3 members theirs.
    const env = a.created!.envelope;
    expect(openConsumerEnvelope(env, { consumer, keyId: a.keyId }, household.secretKey)).toEqual(a.key);
    const shares = [0, 2].map((i) => openMemberShare(env, { consumer, keyId: a.keyId }, i, members[i]!.secretKey));
    expect(await combineShares(shares, 2, a.created!.commitment)).toEqual(a.key);
    expect(env.includes(Buffer.from(a.key).toString("hex"))).toBe(false);
  });

  it("forgets a key once the household's readings moved to a newer epoch (after the grace), or after long idleness", async () => {
    let real = 1_000_000;
    const keys = new EpochKeys({ source: source(), graceMs: 60_000, idleMs: 3 * 3600_000, now: () => real });
    const a = await keys.keyFor(consumer, household.publicKey, Resolution.HOURLY, T0);
    real += 10 * 60_000; // ten minutes later, the same day: the same key
    expect((await keys.keyFor(consumer, household.publicKey, Resolution.HOURLY, T0 + 10)).keyId).toBe(a.keyId);
    const next = await keys.keyFor(consumer, household.publicKey, Resolution.HOURLY, T0 + DAY); // the next day begins
    real += 30_000; // inside the grace: a late aggregate of the old day still finds its key
    expect((await keys.keyFor(consumer, household.publicKey, Resolution.HOURLY, T0 + 20)).keyId).toBe(a.keyId);
    real += 61_000;
    const late = await keys.keyFor(consumer, household.publicKey, Resolution.HOURLY, T0 + 30);
    expect(late.keyId).not.toBe(a.keyId);
    expect(late.created?.epochStart).toBe(T0 / 1000);
    expect(a.key.every((b) => b === 0)).toBe(true); // wiped
    // The current day's key stays while in use, and goes after three idle hours.
    expect((await keys.keyFor(consumer, household.publicKey, Resolution.HOURLY, T0 + DAY + 5)).keyId).toBe(next.keyId);
    real += 3 * 3600_000 + 1000;
    expect((await keys.keyFor(consumer, household.publicKey, Resolution.DAILY, T0)).created).toBeDefined(); // a purge runs
    expect(next.key.every((b) => b === 0)).toBe(true);
    expect(keys.size).toBe(1);
  });

  it("a restarted gateway starts new keys; key ids already taken are skipped", async () => {
    const taken = new Set<string>();
    const first = await new EpochKeys({ source: source(taken) }).keyFor(consumer, household.publicKey, Resolution.DAILY, T0);
    taken.add(`${consumer}:${first.keyId}`);
    const second = await new EpochKeys({ source: source(taken) }).keyFor(consumer, household.publicKey, Resolution.DAILY, T0);
    expect(second.keyId).not.toBe(first.keyId);
    expect(second.created).toBeDefined();
  });

  it("refuses to make keys while a member has no custody key", async () => {
    const keys = new EpochKeys({
      source: { custodySet: async () => ({ setIndex: 1, keys: [hex(members[0]!.publicKey), `0x${"00".repeat(32)}`], threshold: 2 }), keyTaken: async () => false },
    });
    await expect(keys.keyFor(consumer, household.publicKey, Resolution.DAILY, T0)).rejects.toMatchObject({ code: "CUSTODY_UNAVAILABLE" });
    expect(() => new EpochKeys({ source: source(), epochMs: 1500 })).toThrow(/whole seconds/);
  });
});

describe("ingest with epoch keys", () => {
  let sim: MeterSimulator;
  let store: GatewayStore;
  let dir: string;
  let adapter: MeterAdapter;
  let keys: EpochKeys;
  let policy: CachedPolicy;

  afterAll(async () => {
    await adapter?.close();
    policy?.close();
    await sim?.close();
    await store?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("writes v2 payloads and their key publications atomically; no data key reaches the disk", async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "mg-epoch-"));
    const clock = new SimClock({ simStartMs: T0, manual: true });
    sim = await startMeterSimulator({ count: 1, seed: "epoch", clock, installedAtMs: T0 - 30 * 3600_000, capacity: 500 });
    store = await GatewayStore.open(dir);
    const src = new MemoryPolicySource();
    const utility = Wallet.createRandom().address;
    policy = new CachedPolicy(src, { utility });
    const household = nacl.box.keyPair();
    const consumer = Wallet.createRandom().address;
    src.bind(1, { consumer, encryptionKey: household.publicKey });
    src.grant(consumer, utility, Resolution.QUARTER_HOURLY);
    keys = new EpochKeys({ source: { ...source(), keyTaken: (c, id) => store.hasKey(c, id) } });
    const pipeline = new IngestPipeline({ store, policy, clock, grid: new GridAggregator(), epochKeys: keys });
    const registry = new AdapterRegistry([osgpTcpAdapterFactory({ masterKey: sim.masterKey })]);
    adapter = registry.create({ meterId: 1, protocol: OSGP_TCP_PROTOCOL, host: sim.host, port: sim.port, addressed: true }, { initialState: null, persist: (s) => store.putAdapterState(1, s), timeoutMs: 500, clock });
    const { outcome } = await pollMeter({ adapter, pipeline, clock, maxRecords: 64, maxPages: 10 });
    expect(outcome.stored).toBe(120); // 30 h of 15-minute readings: across two UTC days
    const recs = await store.consumerRecords(consumer, 0, Number.MAX_SAFE_INTEGER, 500);
    const pubs = await store.pendingKeys();
    // Two days, one resolution: two keys, each published once.
    expect(pubs.map((p) => p.epochStart).sort()).toEqual([(T0 - 2 * DAY) / 1000, (T0 - DAY) / 1000]);
    const dataKeys = new Map(pubs.map((p) => [p.keyId, openConsumerEnvelope(p.envelope, { consumer, keyId: p.keyId }, household.secretKey)]));
    for (const r of recs) {
      const payload = Buffer.from(r.payload.slice(2), "hex");
      expect(payload[0]).toBe(2);
      expect(payload[1]).toBe(CONTENT_RAW_COMPACT);
      expect([102, 134]).toContain(payload.length);
      const pub = pubs.find((p) => p.keyId === payloadKeyId(payload))!;
      expect(r.periodStart / 1000).toBeGreaterThanOrEqual(pub.epochStart);
      expect(r.periodStart / 1000).toBeLessThan(pub.epochEnd);
      const o = openReadingPayload(payload, { dataKey: dataKeys.get(pub.keyId)! }, r);
      expect(o.contentType !== 2 && o.reading.sequence).toBe(r.sequence);
    }
    await store.close();
    // Grep every file of the LevelDB for every key (raw and hex): none may be there.
    const files = fs.readdirSync(dir).map((f) => fs.readFileSync(path.join(dir, f)));
    for (const k of dataKeys.values()) {
      for (const f of files) {
        expect(f.includes(Buffer.from(k))).toBe(false);
        expect(f.includes(Buffer.from(Buffer.from(k).toString("hex")))).toBe(false);
      }
    }
    store = await GatewayStore.open(dir);
  });
});
