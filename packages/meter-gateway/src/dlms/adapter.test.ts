// The DLMS adapters against a simulated DLMS meter on a real TCP port, over the IP wrapper and
// over HDLC: identity, load profile rows turned into readings (checked against the household model
// the meter runs on), GET blocks and HDLC segments, the stored position surviving a restart, the
// instantaneous registers, and the ways a meter or a configuration can be wrong.
import { decodeReadingRecord, type MeterReading } from "@sidegrid/osgp-codec";
import type { AdapterContext, MeterConfig } from "../adapter";
import type { Clock } from "@sidegrid/pi-meter";
import { SimulatedMeter } from "@sidegrid/pi-meter";
import { DLMS_HDLC_PROTOCOL, DLMS_RAW_FORMAT, DLMS_UDP_PROTOCOL, DLMS_WRAPPER_PROTOCOL, DlmsAdapter } from "./adapter";
import { startDlmsMeter, type DlmsMeterServer, type DlmsTransport } from "@sidegrid/pi-meter";

const HOUR = 3_600_000;
const clock: Clock = { now: () => Date.now() };
const masterKey = new Uint8Array(16).fill(7);
const servers: DlmsMeterServer[] = [];
const adapters: DlmsAdapter[] = [];

afterEach(async () => {
  for (const a of adapters.splice(0)) await a.close();
  for (const s of servers.splice(0)) await s.close();
});

function meterOf(meterId: number): SimulatedMeter {
  // Installed 30 hours ago: 120 quarter-hour rows in its profile.
  return new SimulatedMeter({ meterId, seed: "dlms-test", clock, masterKey, installedAtMs: Date.now() - 30 * HOUR });
}

const HLS = { ek: "000102030405060708090a0b0c0d0e0f", ak: "d0d1d2d3d4d5d6d7d8d9dadbdcdddedf", meterTitle: "4d4d4d0000bc614e", clientTitle: "4d4d4d0000000001" };
const bytes = (h: string) => new Uint8Array(Buffer.from(h, "hex"));

async function rig(transport: DlmsTransport, opts: { meterId?: number; maxPduSize?: number; hdlcMaxInfo?: number; password?: string; adapterPassword?: string; state?: Record<string, unknown> | null; hlsMeter?: boolean; hlsAdapter?: { ekHex: string; akHex: string; systemTitleHex: string } } = {}) {
  const meter = meterOf(opts.meterId ?? 7);
  const server = await startDlmsMeter({
    meter,
    transport,
    ...(opts.maxPduSize ? { maxPduSize: opts.maxPduSize } : {}),
    ...(opts.hdlcMaxInfo ? { hdlcMaxInfo: opts.hdlcMaxInfo } : {}),
    ...(opts.password ? { password: new TextEncoder().encode(opts.password) } : {}),
    ...(opts.hlsMeter ? { security: { systemTitle: bytes(HLS.meterTitle), ek: bytes(HLS.ek), ak: bytes(HLS.ak) } } : {}),
  });
  servers.push(server);
  const persisted: Record<string, unknown>[] = [];
  const config: MeterConfig = {
    meterId: meter.meterId,
    protocol: transport === "hdlc" ? DLMS_HDLC_PROTOCOL : transport === "udp" ? DLMS_UDP_PROTOCOL : DLMS_WRAPPER_PROTOCOL,
    host: server.host,
    port: server.port,
    ...(opts.adapterPassword ? { options: { password: opts.adapterPassword } } : {}),
    ...(opts.hlsAdapter ? { options: opts.hlsAdapter } : {}),
  };
  const ctx: AdapterContext = { initialState: opts.state ?? null, persist: async (s) => void persisted.push(s), timeoutMs: 2000, clock };
  const adapter = new DlmsAdapter(config, ctx);
  adapters.push(adapter);
  return { meter, server, adapter, persisted, config, ctx };
}

/** The model's record closing at the same time, to compare the DLMS reading with. */
function modelAt(meter: SimulatedMeter, clockMs: number): MeterReading {
  const r = meter.loggedReadings().find((x) => x.clockMs === clockMs);
  if (!r) throw new Error(`no model record at ${new Date(clockMs).toISOString()}`);
  return r;
}

describe.each(["wrapper", "hdlc", "udp"] as const)("DLMS adapter over %s", (transport) => {
  it("reads identity and the load profile as consecutive readings that match the meter's registers", async () => {
    const { meter, adapter } = await rig(transport);
    await adapter.connect();
    expect(adapter.identity).toMatchObject({ meterId: 7, protocol: `dlms-${transport}`, serial: "SG0000000007", manufacturer: "SGD" });
    const log = await adapter.read({ kind: "log", maxRecords: 40 });
    expect(log.intervalMs).toBe(900_000);
    expect(Math.abs(log.meterClockMs - Date.now())).toBeLessThan(5000);
    expect(log.readings.length).toBe(40);
    const seqs = log.readings.map((r) => r.sequence);
    expect(seqs).toEqual(seqs.map((_, i) => seqs[0]! + i));
    expect(seqs.at(-1)).toBeLessThanOrEqual(log.newestSeq);
    for (const [i, r] of log.readings.entries()) {
      expect(r.sequence * 900_000).toBe(r.clockMs);
      const m = modelAt(meter, r.clockMs);
      expect(r.activeEnergyImportWh).toBe(m.activeEnergyImportWh);
      expect(r.activeEnergyExportWh).toBe(m.activeEnergyExportWh);
      expect(Math.abs(r.phases[0]!.voltageV - m.phases[0]!.voltageV)).toBeLessThanOrEqual(0.051); // 0.1 V steps on the wire
      expect(Math.abs(r.frequencyHz - m.frequencyHz)).toBeLessThanOrEqual(0.0051); // 10 mHz steps on the wire
      if (i > 0) {
        const prev = log.readings[i - 1]!;
        expect(r.activePowerW).toBeCloseTo((r.activeEnergyImportWh - prev.activeEnergyImportWh - (r.activeEnergyExportWh - prev.activeEnergyExportWh)) * 4, 3);
      }
      expect(r.rawFormat).toBe(DLMS_RAW_FORMAT);
      expect(decodeReadingRecord(r.raw)).toMatchObject({ meterId: 7, sequence: r.sequence, clockMs: r.clockMs, activeEnergyImportWh: r.activeEnergyImportWh });
    }
  });

  it("continues after the stored row, also in a new adapter from the persisted state, with no row twice", async () => {
    const { meter, server, adapter, persisted, config, ctx } = await rig(transport);
    const first = await adapter.read({ kind: "log", maxRecords: 30 });
    // The gateway stored the first ten rows when it stopped.
    const last = first.readings[9]!;
    await adapter.acknowledge(last.sequence);
    expect(persisted.at(-1)).toMatchObject({ ackedSeq: last.sequence });
    const again = new DlmsAdapter(config, { ...ctx, initialState: persisted.at(-1)! });
    adapters.push(again);
    const next = await again.read({ kind: "log", maxRecords: 30 });
    expect(next.ackedSeq).toBe(last.sequence);
    expect(next.readings.map((r) => r.sequence)).toEqual(first.readings.slice(10).map((r) => r.sequence));
    expect(next.readings.map((r) => r.activePowerW)).toEqual(first.readings.slice(10).map((r) => r.activePowerW));
    // The first new row's mean power comes from the stored row's energies, not from nothing.
    const m0 = modelAt(meter, next.readings[0]!.clockMs);
    expect(next.readings[0]!.activePowerW).toBeCloseTo((m0.activeEnergyImportWh - last.activeEnergyImportWh - (m0.activeEnergyExportWh - last.activeEnergyExportWh)) * 4, 3);
    expect(server.requests).toBeGreaterThan(0);
  });

  it("reads the instantaneous registers", async () => {
    const { meter, adapter } = await rig(transport);
    const now = await adapter.read({ kind: "instantaneous" });
    const model = meter.currentReading();
    expect(now.reading.activeEnergyImportWh).toBeGreaterThanOrEqual(meter.loggedReadings().at(-1)!.activeEnergyImportWh);
    expect(Math.abs(now.reading.activeEnergyImportWh - model.activeEnergyImportWh)).toBeLessThanOrEqual(1);
    expect(now.reading.phases[0]!.voltageV).toBeCloseTo(model.phases[0]!.voltageV, 0);
    expect(now.reading.frequencyHz).toBeCloseTo(model.frequencyHz, 1);
    expect(Math.abs(now.reading.activePowerW - model.activePowerW)).toBeLessThan(1.5);
  });

  it("takes a long profile in GET blocks (and, over HDLC, in segments) and gets the same rows", async () => {
    const small = await rig(transport, { maxPduSize: 200, hdlcMaxInfo: 48, meterId: 8 });
    const big = await rig(transport, { meterId: 8 });
    const a = await small.adapter.read({ kind: "log", maxRecords: 96 });
    const b = await big.adapter.read({ kind: "log", maxRecords: 96 });
    expect(a.readings.map((r) => [r.sequence, r.activeEnergyImportWh])).toEqual(b.readings.map((r) => [r.sequence, r.activeEnergyImportWh]));
    expect(a.readings.length).toBe(96);
    // Blocks: many more GETs (get-request-next) than the big-PDU meter needed.
    expect(small.server.requests - big.server.requests).toBeGreaterThanOrEqual(15);
  });

  it("refuses a wrong password with METER_REJECTED and associates with the right one", async () => {
    const wrong = await rig(transport, { password: "12345678", adapterPassword: "00000000" });
    const err = await wrong.adapter.connect().catch((e: unknown) => e);
    expect(err).toMatchObject({ code: "METER_REJECTED" });
    expect((err as Error).message).toContain("AARE result 1");
    const right = await rig(transport, { password: "12345678", adapterPassword: "12345678", meterId: 9 });
    await right.adapter.connect();
    expect(right.adapter.capabilities.security).toBe("dlms-lls");
    expect(right.adapter.identity.serial).toBe("SG0000000009");
  });

  it("times out on a silent meter with METER_TIMEOUT, and reads again once it answers", async () => {
    const { meter, adapter } = await rig(transport);
    meter.setBehaviour({ silent: true });
    const err = await adapter.connect().catch((e: unknown) => e);
    expect(err).toMatchObject({ code: "METER_TIMEOUT" });
    meter.setBehaviour({ silent: false });
    const log = await adapter.read({ kind: "log", maxRecords: 4 });
    expect(log.readings.length).toBe(4);
  });
});

describe.each(["wrapper", "hdlc"] as const)("DLMS adapter with HLS-GMAC and glo-ciphering over %s", (transport) => {
  const keys = { ekHex: HLS.ek, akHex: HLS.ak, systemTitleHex: HLS.clientTitle };

  it("authenticates both ways and reads the same rows as in the clear, every APDU ciphered", async () => {
    const { meter, adapter, persisted } = await rig(transport, { hlsMeter: true, hlsAdapter: keys });
    await adapter.connect();
    expect(adapter.capabilities.security).toBe("dlms-hls-gmac");
    const log = await adapter.read({ kind: "log", maxRecords: 8 });
    expect(log.readings.length).toBe(8);
    for (const r of log.readings) expect(r.activeEnergyImportWh).toBe(modelAt(meter, r.clockMs).activeEnergyImportWh);
    // Counters are reserved before use, so a restarted gateway never repeats one.
    expect(persisted[0]).toMatchObject({ ic: 10_001 });
  });

  it("refuses a client with another authentication key (the meter rejects its answer) with METER_REJECTED", async () => {
    const { adapter } = await rig(transport, { hlsMeter: true, hlsAdapter: { ...keys, akHex: "00".repeat(16) } });
    const err = await adapter.connect().catch((e: unknown) => e);
    expect(err).toMatchObject({ code: "METER_REJECTED" });
  });

  it("refuses a client that asks a secured meter for a plain association", async () => {
    const { adapter } = await rig(transport, { hlsMeter: true });
    const err = await adapter.connect().catch((e: unknown) => e);
    expect(err).toMatchObject({ code: "METER_REJECTED" });
    expect((err as Error).message).toContain("AARE result 1");
  });

  it("resumes above the reserved counter after a restart", async () => {
    const first = await rig(transport, { hlsMeter: true, hlsAdapter: keys, meterId: 11 });
    await first.adapter.read({ kind: "log", maxRecords: 2 });
    const saved = first.persisted.at(-1)!;
    const again = new DlmsAdapter(first.config, { ...first.ctx, initialState: saved });
    adapters.push(again);
    const log = await again.read({ kind: "log", maxRecords: 2 });
    expect(log.readings.length).toBe(2);
    expect((again.state() as { ic: number }).ic).toBeGreaterThanOrEqual(20_001);
  });
});

describe("DLMS adapter configuration", () => {
  const ctx: AdapterContext = { initialState: null, persist: async () => undefined, timeoutMs: 1000, clock };
  it("names the bad option", () => {
    expect(() => new DlmsAdapter({ meterId: 1, protocol: DLMS_HDLC_PROTOCOL, host: "127.0.0.1", port: 1, options: { physicalAddress: 70000 } }, ctx)).toThrow(/options\.physicalAddress/);
    expect(() => new DlmsAdapter({ meterId: 1, protocol: DLMS_WRAPPER_PROTOCOL, host: "127.0.0.1", port: 1, options: { password: 12345678 } }, ctx)).toThrow(/options\.password/);
    expect(() => new DlmsAdapter({ meterId: 1, protocol: "dlms-serial", host: "127.0.0.1", port: 1 }, ctx)).toThrow(/dlms-wrapper/);
    expect(() => new DlmsAdapter({ meterId: 1, protocol: DLMS_WRAPPER_PROTOCOL, host: "127.0.0.1", port: 1, options: { ekHex: "00".repeat(16) } }, ctx)).toThrow(/ekHex, akHex and systemTitleHex together/);
    expect(() => new DlmsAdapter({ meterId: 1, protocol: DLMS_WRAPPER_PROTOCOL, host: "127.0.0.1", port: 1, options: { ekHex: "zz", akHex: "00", systemTitleHex: "00" } }, ctx)).toThrow(/options\.ekHex/);
  });

  it("says METER_CONNECTION when nothing listens", async () => {
    const a = new DlmsAdapter({ meterId: 1, protocol: DLMS_WRAPPER_PROTOCOL, host: "127.0.0.1", port: 1 }, ctx);
    await expect(a.connect()).rejects.toMatchObject({ code: "METER_CONNECTION" });
  });
});
