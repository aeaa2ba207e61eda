// The push listener ("dlms-push") against a simulated HAN meter that pushes over HDLC and over the
// IP wrapper, plain and general-glo-ciphered: interval readings sequenced by device time, a push
// repeated for the same interval dropped, a push that does not authenticate or decode refused,
// the instantaneous list, and the stored position across a restart.
import { freePort } from "@sidegrid/chain";
import { decodeReadingRecord } from "@sidegrid/osgp-codec";
import type { AdapterContext, MeterConfig } from "../adapter";
import type { Clock } from "@sidegrid/pi-meter";
import { SimulatedMeter } from "@sidegrid/pi-meter";
import { DLMS_PUSH_PROTOCOL, DLMS_PUSH_RAW_FORMAT, DlmsPushAdapter } from "./pushAdapter";
import { startDlmsPushMeter, type DlmsPushMeter } from "@sidegrid/pi-meter";

const HOUR = 3_600_000;
const INTERVAL = 900_000;
const clock: Clock = { now: () => Date.now() };
const keys = { ek: Uint8Array.from({ length: 16 }, (_, i) => i), ak: Uint8Array.from({ length: 16 }, (_, i) => 0xd0 + i), systemTitle: Uint8Array.from([0x4b, 0x46, 0x4d, 0x10, 0x20, 0x00, 0x00, 0x01]) };
const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");
const open: { close(): Promise<void> }[] = [];

afterEach(async () => {
  for (const o of open.splice(0).reverse()) await o.close();
});

async function rig(transport: "hdlc" | "wrapper", o: { ciphered?: boolean; adapterKeys?: typeof keys; state?: Record<string, unknown>; meterId?: number; port?: number } = {}) {
  const meter = new SimulatedMeter({ meterId: o.meterId ?? 31, seed: "push-test", clock, masterKey: new Uint8Array(16), installedAtMs: Date.now() - 6 * HOUR });
  const port = o.port ?? (await freePort());
  const k = o.adapterKeys ?? (o.ciphered ? keys : undefined);
  const config: MeterConfig = { meterId: meter.meterId, protocol: DLMS_PUSH_PROTOCOL, host: "127.0.0.1", port, ...(k ? { options: { ekHex: hex(k.ek), akHex: hex(k.ak) } } : {}) };
  const persisted: Record<string, unknown>[] = [];
  const ctx: AdapterContext = { initialState: o.state ?? null, persist: async (s) => void persisted.push(s), timeoutMs: 1000, clock };
  const adapter = new DlmsPushAdapter(config, ctx);
  await adapter.connect();
  open.push(adapter);
  const push: DlmsPushMeter = await startDlmsPushMeter({ meter, target: { host: "127.0.0.1", port }, transport, hdlcMaxInfo: 40, ...(o.ciphered ? { keys } : {}) });
  open.push(push);
  return { meter, adapter, push, persisted, port };
}

async function settle(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 1000 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
}

describe.each([
  ["hdlc", false],
  ["wrapper", false],
  ["hdlc", true],
  ["wrapper", true],
] as const)("push listener, pushes over %s (ciphered: %s)", (transport, ciphered) => {
  it("turns each interval push into a reading sequenced by device time, matching the meter's registers", async () => {
    const { meter, adapter, push } = await rig(transport, { ciphered });
    const n = await push.pushLogged();
    expect(n).toBe(24);
    await settle(() => adapter.stats.readings === 24);
    const log = await adapter.read({ kind: "log" });
    expect(log.readings.length).toBe(24);
    const model = meter.loggedReadings();
    for (const [i, r] of log.readings.entries()) {
      expect(r.clockMs).toBe(model[i]!.clockMs);
      expect(r.sequence).toBe(model[i]!.clockMs / INTERVAL);
      expect(r.activeEnergyImportWh).toBe(model[i]!.activeEnergyImportWh);
      if (i > 0) expect(r.activePowerW).toBeCloseTo((r.activeEnergyImportWh - log.readings[i - 1]!.activeEnergyImportWh - (r.activeEnergyExportWh - log.readings[i - 1]!.activeEnergyExportWh)) * 4, 3);
      expect(r.rawFormat).toBe(DLMS_PUSH_RAW_FORMAT);
      expect(decodeReadingRecord(r.raw).sequence).toBe(r.sequence);
    }
    expect(adapter.stats).toMatchObject({ pushes: 24, duplicates: 0, rejected: 0 });
  });
});

describe("push listener", () => {
  it("drops a second push for an interval it holds or has stored (deduplicated by device time)", async () => {
    const { meter, adapter, push, port } = await rig("hdlc");
    await push.pushLogged();
    await settle(() => adapter.stats.readings === 24);
    // The meter reconnects and pushes its list again (as after a power cycle).
    await push.close();
    const again = await startDlmsPushMeter({ meter, target: { host: "127.0.0.1", port }, transport: "hdlc" });
    open.push(again);
    await again.pushLogged();
    await settle(() => adapter.stats.duplicates === 24);
    expect(adapter.stats).toMatchObject({ readings: 24, duplicates: 24 });
    expect((await adapter.read({ kind: "log" })).readings.length).toBe(24);
  });

  it("refuses pushes that do not authenticate under its keys, and frames that do not decode", async () => {
    const wrongKeys = { ...keys, ak: new Uint8Array(16).fill(0xee) };
    const { adapter, push } = await rig("wrapper", { ciphered: true, adapterKeys: wrongKeys });
    await push.pushLogged();
    await push.pushRaw(Uint8Array.from([0x00, 0x01, 0x00, 0x01, 0x00, 0x66, 0x00, 0x03, 0x0f, 0xff, 0xff]));
    await settle(() => adapter.stats.rejected >= 25);
    expect(adapter.stats.rejected).toBe(25);
    expect(adapter.stats.readings).toBe(0);
    expect((await adapter.read({ kind: "log" })).readings).toEqual([]);
  });

  it("refuses a recorded ciphered push sent again (its invocation counter is not above the last), also after a restart", async () => {
    const { meter, adapter, push, port } = await rig("wrapper", { ciphered: true });
    // Someone on the network recorded the meter's first push (invocation counter 1) earlier.
    const recorded: Uint8Array[] = [];
    const recorder = await startDlmsPushMeter({ meter, target: { write: (b) => void recorded.push(b) }, transport: "wrapper", keys });
    await recorder.pushNow();
    expect(await push.pushLogged()).toBe(24);
    await settle(() => adapter.stats.readings === 24);
    await push.pushRaw(recorded[0]!);
    await settle(() => adapter.stats.replayed === 1);
    expect(adapter.stats).toMatchObject({ readings: 24, replayed: 1, rejected: 0 });
    expect(adapter.state()).toMatchObject({ lastIc: 24 });
    // A restarted listener keeps the counter: the replay is refused there too.
    const { lastIc } = adapter.state() as { lastIc: number };
    await adapter.close();
    const again = new DlmsPushAdapter({ meterId: meter.meterId, protocol: DLMS_PUSH_PROTOCOL, host: "127.0.0.1", port, options: { ekHex: hex(keys.ek), akHex: hex(keys.ak) } }, { initialState: { ackedSeq: null, baseline: null, lastIc }, persist: async () => undefined, timeoutMs: 1000, clock });
    await again.connect();
    open.push(again);
    const replayer = await startDlmsPushMeter({ meter, target: { host: "127.0.0.1", port }, transport: "wrapper" });
    open.push(replayer);
    await replayer.pushRaw(recorded[0]!);
    await settle(() => again.stats.replayed === 1);
    expect(again.stats).toMatchObject({ replayed: 1, pushes: 0 });
  });

  it("with keys configured, refuses plain pushes (a forger on the network has no keys)", async () => {
    const { meter, adapter, port } = await rig("wrapper", { adapterKeys: keys });
    // The rig's own pusher sends plain pushes here: none may count.
    const forger = await startDlmsPushMeter({ meter, target: { host: "127.0.0.1", port }, transport: "hdlc" });
    open.push(forger);
    await forger.pushLogged();
    await settle(() => adapter.stats.rejected >= 24);
    expect(adapter.stats).toMatchObject({ readings: 0, rejected: 24 });
    // The meter's own, ciphered, do.
    const genuine = await startDlmsPushMeter({ meter, target: { host: "127.0.0.1", port }, transport: "wrapper", keys });
    open.push(genuine);
    await genuine.pushLogged();
    await settle(() => adapter.stats.readings === 24);
    expect(adapter.stats.readings).toBe(24);
  });

  it("reads the instantaneous list, and says METER_TIMEOUT before any push", async () => {
    const { meter, adapter, push } = await rig("hdlc");
    await expect(adapter.read({ kind: "instantaneous" })).rejects.toMatchObject({ code: "METER_TIMEOUT" });
    await push.pushNow();
    await settle(() => adapter.stats.pushes === 1);
    const now = await adapter.read({ kind: "instantaneous" });
    const model = meter.currentReading();
    expect(now.reading.phases[0]!.voltageV).toBeCloseTo(model.phases[0]!.voltageV, 0);
    expect(Math.abs(now.reading.activePowerW - model.activePowerW)).toBeLessThanOrEqual(1);
    // An instantaneous list is not an interval reading.
    expect(adapter.stats.readings).toBe(0);
  });

  it("keeps its stored position and power baseline across a restart", async () => {
    const first = await rig("wrapper", { meterId: 32 });
    await first.push.pushLogged();
    await settle(() => first.adapter.stats.readings === 24);
    const log = await first.adapter.read({ kind: "log" });
    await first.adapter.acknowledge(log.readings[11]!.sequence);
    expect((await first.adapter.read({ kind: "log" })).readings.map((r) => r.sequence)).toEqual(log.readings.slice(12).map((r) => r.sequence));
    const state = first.persisted.at(-1)!;
    await first.push.close();
    await first.adapter.close();
    // The restarted listener gets the whole list again: only the unstored half is new.
    const second = await rig("wrapper", { meterId: 32, state });
    await second.push.pushLogged();
    await settle(() => second.adapter.stats.pushes === 24);
    const next = await second.adapter.read({ kind: "log" });
    expect(next.readings.map((r) => r.sequence)).toEqual(log.readings.slice(12).map((r) => r.sequence));
    expect(next.readings[0]!.activePowerW).toBeCloseTo(log.readings[12]!.activePowerW, 3);
    expect(second.adapter.stats.duplicates).toBe(12);
  });

  it("names a bad key option", () => {
    const ctx: AdapterContext = { initialState: null, persist: async () => undefined, timeoutMs: 1000, clock };
    expect(() => new DlmsPushAdapter({ meterId: 1, protocol: DLMS_PUSH_PROTOCOL, host: "127.0.0.1", port: 1, options: { ekHex: "00" } }, ctx)).toThrow(/options\.ekHex/);
    expect(() => new DlmsPushAdapter({ meterId: 1, protocol: DLMS_PUSH_PROTOCOL, host: "127.0.0.1", port: 1, options: { intervalSeconds: 0 } }, ctx)).toThrow(/options\.intervalSeconds/);
  });
});
