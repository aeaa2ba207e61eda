import { AdapterRegistry, type AdapterContext, type MeterConfig } from "./adapter";
import { SimClock } from "@sidegrid/pi-meter";
import { MeterAuthenticationError, MeterReplayError, MeterTimeoutError, UnknownAdapterError, isGatewayError } from "./errors";
import { OSGP_TCP_PROTOCOL, osgpTcpAdapterFactory } from "./osgpAdapter";
import { startMeterSimulator, type MeterSimulator } from "@sidegrid/pi-meter";

const T0 = Date.UTC(2025, 2, 10);

describe("OSGP-over-TCP adapter against the simulator", () => {
  let sim: MeterSimulator;
  let clock: SimClock;
  let registry: AdapterRegistry;
  const persisted = new Map<number, Record<string, unknown>>();
  const ctx = (meterId: number, timeoutMs = 1000): AdapterContext => ({
    initialState: persisted.get(meterId) ?? null,
    persist: async (s) => void persisted.set(meterId, s),
    timeoutMs,
    clock,
  });
  const cfg = (meterId: number): MeterConfig => ({ meterId, protocol: OSGP_TCP_PROTOCOL, host: sim.host, port: sim.port, addressed: true });

  beforeAll(async () => {
    clock = new SimClock({ simStartMs: T0, manual: true });
    sim = await startMeterSimulator({ count: 6, seed: "adapter", clock, installedAtMs: T0 - 6 * 3600_000 });
    registry = new AdapterRegistry([osgpTcpAdapterFactory({ masterKey: sim.masterKey, maxRecordsPerRead: 16 })]);
  });
  afterAll(() => sim.close());

  it("identifies the meter and reads the log in acknowledged pages", async () => {
    const a = registry.create(cfg(1), ctx(1));
    await a.connect();
    expect(a.identity).toMatchObject({ meterId: 1, protocol: "osgp-tcp", manufacturer: "SGPI", serial: "SG0000000001", firmware: "1.2" });
    expect(a.capabilities).toMatchObject({ loadProfile: true, security: "aes-gcm", insecure: false, maxRecordsPerRead: 16 });
    const seen: number[] = [];
    for (;;) {
      const r = await a.read({ kind: "log" });
      if (r.readings.length === 0) break;
      for (const x of r.readings) seen.push(x.sequence);
      expect(r.intervalMs).toBe(900_000);
      await a.acknowledge(r.readings[r.readings.length - 1].sequence);
    }
    expect(seen).toEqual(Array.from({ length: 24 }, (_, i) => i + 1));
    const inst = await a.read({ kind: "instantaneous" });
    expect(inst.reading.intervalMs).toBe(0);
    expect(inst.reading.clockMs).toBe(T0);
    expect(inst.reading.raw.length).toBe(144);
    await a.close();
  });

  it("resumes after a restart from the persisted sequence reservation without a resync", async () => {
    const a = registry.create(cfg(2), ctx(2));
    await a.connect();
    await a.read({ kind: "log", maxRecords: 1 });
    const st = persisted.get(2)!;
    await a.close();
    const requestsBefore = sim.meter(2).status().requests;
    const b = registry.create(cfg(2), ctx(2));
    await b.connect();
    // One request for BT01 — accepted at once (no 0x0C round trip) since the reservation is within the window.
    expect(sim.meter(2).status().requests - requestsBefore).toBe(1);
    expect((b.state() as { reservedSeq: number }).reservedSeq).toBeGreaterThanOrEqual(st.reservedSeq as number);
    await b.close();
  });

  it("reports forged digests, replayed answers and silence as typed errors", async () => {
    const a = registry.create(cfg(3), ctx(3, 300));
    await a.connect();
    sim.setBehaviour(3, { badDigest: true });
    await expect(a.read({ kind: "log" })).rejects.toBeInstanceOf(MeterAuthenticationError);
    sim.setBehaviour(3, { badDigest: false });
    // That forged answer's sequence number was never accepted; a good one is.
    expect((await a.read({ kind: "log", maxRecords: 1 })).readings.length).toBe(1);
    sim.setBehaviour(3, { replay: true });
    const err = await a.read({ kind: "log" }).catch((e) => e);
    expect(err).toBeInstanceOf(MeterReplayError);
    expect(err).toMatchObject({ meterId: 3, code: "METER_REPLAY" });
    expect(err.seq).toBeLessThanOrEqual(err.lastSeq);
    sim.setBehaviour(3, { replay: false, silent: true });
    const t = await a.read({ kind: "log" }).catch((e) => e);
    expect(t).toBeInstanceOf(MeterTimeoutError);
    expect(isGatewayError(t, "METER_TIMEOUT")).toBe(true);
    sim.setBehaviour(3, { silent: false });
    // Recovers on a fresh connection.
    const r = await a.read({ kind: "log", maxRecords: 2 });
    expect(r.readings.map((x) => x.sequence)).toEqual([1, 2]);
    await a.close();
  });

  it("refuses unknown protocols and the legacy suite unless the meter is marked legacy", () => {
    expect(() => registry.create({ ...cfg(4), protocol: "dlms-hdlc" }, ctx(4))).toThrow(UnknownAdapterError);
    expect(() => registry.create({ ...cfg(4), options: { suite: "legacy-rc4-mep", legacyKeyHex: "01".repeat(16) } }, ctx(4))).toThrow(/legacy/);
    const ok = registry.create({ ...cfg(4), legacy: true, options: { suite: "legacy-rc4-mep", legacyKeyHex: "01".repeat(16) } }, ctx(4));
    expect(ok.capabilities).toMatchObject({ security: "legacy-rc4-mep", insecure: true });
  });

  it("reads a legacy RC4 meter when configured so", async () => {
    const legacyKey = new Uint8Array(16).fill(1);
    const s2 = await startMeterSimulator({ count: 1, seed: "legacy", suite: "legacy-rc4-mep", legacyKey, clock, installedAtMs: T0 - 3600_000 });
    try {
      const a = registry.create({ meterId: 1, protocol: OSGP_TCP_PROTOCOL, host: s2.host, port: s2.port, addressed: true, legacy: true, options: { suite: "legacy-rc4-mep", legacyKeyHex: "01".repeat(16) } }, { ...ctx(100), initialState: null });
      const r = await a.read({ kind: "log" });
      expect(r.readings.map((x) => x.sequence)).toEqual([1, 2, 3, 4]);
      await a.close();
    } finally {
      await s2.close();
    }
  });
});
