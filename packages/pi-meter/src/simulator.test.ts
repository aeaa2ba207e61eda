import net from "node:net";
import { READING_RECORD_SIZE, SequenceCounter, createSecuritySuite, decodeReadingRecord } from "@sidegrid/osgp-codec";
import { freePort } from "@sidegrid/chain";
import { SimClock } from "./clock";
import { CLASS, DlmsClient, HdlcLink, OBJECTS, WrapperLink, tcpStream, type DlmsData } from "@sidegrid/dlms";
import { FrameReader, LOG_ACK_LAYOUT, LOG_ACK_TABLE_ID, LOG_HEADER_LAYOUT, LOG_HEADER_SIZE, LOG_TABLE_ID, encodeAddressFrame, logReadCount } from "@sidegrid/osgp-codec";
import { startMeterSimulator, simulatorMasterKey, type MeterSimulator } from "./simulator";

const T0 = Date.UTC(2025, 5, 2);

/** A bare client speaking the wire protocol by hand, to test the simulator independently of the adapter. */
async function rawClient(port: number, meterId: number, addressed: boolean) {
  const socket = net.connect(port, "127.0.0.1");
  await new Promise<void>((r) => socket.once("connect", () => r()));
  const reader = new FrameReader();
  const frames: Uint8Array[] = [];
  const waiters: ((f: Uint8Array) => void)[] = [];
  socket.on("data", (c) => {
    for (const f of reader.push(c)) {
      const w = waiters.shift();
      if (w) w(f);
      else frames.push(f);
    }
  });
  const next = () => new Promise<Uint8Array>((r) => (frames.length ? r(frames.shift()!) : waiters.push(r)));
  if (addressed) {
    socket.write(encodeAddressFrame(meterId));
    expect(Buffer.from(await next()).toString("hex")).toBe(Buffer.from(encodeAddressFrame(meterId)).toString("hex"));
  }
  return { socket, next };
}

describe("meter simulator", () => {
  let sim: MeterSimulator;
  let clock: SimClock;
  beforeAll(async () => {
    clock = new SimClock({ simStartMs: T0, manual: true });
    sim = await startMeterSimulator({ count: 3, seed: "simtest", clock, installedAtMs: T0 - 86_400_000, capacity: 200 });
  });
  afterAll(() => sim.close());

  it("answers a log read with authenticated 144-byte records, then honours the acknowledgement", async () => {
    const suite = createSecuritySuite("aes-gcm", { masterKey: simulatorMasterKey("simtest"), meterId: 2 });
    const c = await rawClient(sim.port, 2, true);
    const counter = new SequenceCounter(0);
    const ask = async (request: Parameters<typeof suite.encodeRequest>[0]["request"]) => {
      for (;;) {
        const { frame, exchange } = suite.encodeRequest({ request, seq: counter.take() });
        c.socket.write(frame);
        const res = suite.decodeResponse(await c.next(), exchange);
        if (res.response.response === "invalidSequenceNumber") {
          counter.resync(res.response.seq);
          continue;
        }
        return res;
      }
    };
    const res = await ask({ service: "partialRead", tableId: LOG_TABLE_ID, offset: 0, count: logReadCount(10) });
    expect(res.response.response).toBe("okData");
    const data = (res.response as { data: Uint8Array }).data;
    const h = LOG_HEADER_LAYOUT.decode(data, 0, LOG_HEADER_SIZE);
    // A day of 15-minute intervals since installation.
    expect(h.newestSeq).toBe(96);
    expect(h.count).toBe(10);
    expect(h.clockMs).toBe(T0);
    const first = decodeReadingRecord(data.slice(LOG_HEADER_SIZE, LOG_HEADER_SIZE + READING_RECORD_SIZE));
    expect(first).toMatchObject({ meterId: 2, sequence: 1, clockMs: T0 - 86_400_000 + 900_000 });
    const ack = await ask({ service: "fullWrite", tableId: LOG_ACK_TABLE_ID, data: LOG_ACK_LAYOUT.encode({ ackedSeq: 10, reserved: 0 }) });
    expect(ack.response.response).toBe("ok");
    const again = await ask({ service: "fullRead", tableId: LOG_TABLE_ID });
    const d2 = (again.response as { data: Uint8Array }).data;
    expect(decodeReadingRecord(d2.slice(LOG_HEADER_SIZE, LOG_HEADER_SIZE + READING_RECORD_SIZE)).sequence).toBe(11);
    // Time passes: one more interval appears.
    clock.advance(900_000);
    expect(sim.meter(2).status().newestSeq).toBe(97);
    // Acknowledging beyond the newest record is refused.
    const bad = await ask({ service: "fullWrite", tableId: LOG_ACK_TABLE_ID, data: LOG_ACK_LAYOUT.encode({ ackedSeq: 1000, reserved: 0 }) });
    expect(bad.response.response).toBe("operationNotPossible");
    c.socket.destroy();
  });

  it("refuses an unknown meter address with NK", async () => {
    const socket = net.connect(sim.port, "127.0.0.1");
    const got: Buffer[] = [];
    socket.on("data", (d) => got.push(d));
    await new Promise<void>((r) => socket.once("connect", () => r()));
    socket.write(encodeAddressFrame(999));
    await new Promise<void>((r) => socket.once("close", () => r()));
    expect(Buffer.concat(got).toString("hex")).toBe("00024e4b");
  });

  it("serves the last meters of a mixed fleet over DLMS (wrapper and HDLC alternating), and not on the OSGP port", async () => {
    const s3 = await startMeterSimulator({ count: 5, seed: "mixed", dlms: { count: 2 }, clock: { simStartMs: T0, manual: true }, installedAtMs: T0 - 3600_000 });
    try {
      const eps = s3.endpoints();
      expect(eps.map((e) => [e.meterId, e.protocol, e.addressed])).toEqual([
        [1, "osgp-tcp", true],
        [2, "osgp-tcp", true],
        [3, "osgp-tcp", true],
        [4, "dlms-wrapper", false],
        [5, "dlms-hdlc", false],
      ]);
      expect(new Set(eps.slice(3).map((e) => e.port)).size).toBe(2);
      // Meter 4 answers DLMS on its own port, with the same model's registers.
      for (const e of eps.slice(3)) {
        const lp = { meterId: e.meterId, timeoutMs: 2000 };
        const link = e.protocol === "dlms-hdlc" ? new HdlcLink(lp, tcpStream(e.host, e.port), { physical: e.meterId }) : new WrapperLink(lp, tcpStream(e.host, e.port));
        const client = new DlmsClient({ meterId: e.meterId, link });
        try {
          await client.associate();
          const rows = (await client.get({ classId: CLASS.profileGeneric, obis: OBJECTS.loadProfile, attribute: 2 }) as { value: DlmsData[] }).value;
          // Column 3 of load profile 1 is +A (1.0.1.8.0.255) in Wh, scaler 0.
          expect(rows.map((r) => Number(((r as { value: DlmsData[] }).value[2] as { value: unknown }).value))).toEqual(s3.meter(e.meterId).loggedReadings().map((r) => r.activeEnergyImportWh));
          expect(rows.length).toBe(4);
        } finally {
          await client.release();
        }
      }
      // The OSGP port does not know them.
      const socket = net.connect(s3.port, "127.0.0.1");
      const got: Buffer[] = [];
      socket.on("data", (d) => got.push(d));
      await new Promise<void>((r) => socket.once("connect", () => r()));
      socket.write(encodeAddressFrame(4));
      await new Promise<void>((r) => socket.once("close", () => r()));
      expect(Buffer.concat(got).toString("hex")).toBe("00024e4b");
    } finally {
      await s3.close();
    }
  });

  it("registers are monotonic and sequence numbers consecutive over days of simulated time", () => {
    const m = sim.meter(3);
    const before = m.status();
    clock.advance(3 * 86_400_000);
    const after = m.status();
    expect(after.newestSeq - before.newestSeq).toBe(3 * 96);
    expect(after.registers.importWh).toBeGreaterThan(before.registers.importWh);
  });

  it("serves meters on their own ports in per-port mode", async () => {
    const base = await freePort(2);
    const s2 = await startMeterSimulator({ count: 2, seed: "ports", basePort: base, clock: { simStartMs: T0, manual: true } });
    try {
      expect(s2.endpoints()).toEqual([
        { meterId: 1, host: "127.0.0.1", port: base, addressed: false, protocol: "osgp-tcp" },
        { meterId: 2, host: "127.0.0.1", port: base + 1, addressed: false, protocol: "osgp-tcp" },
      ]);
      const suite = createSecuritySuite("aes-gcm", { masterKey: simulatorMasterKey("ports"), meterId: 2 });
      const c = await rawClient(base + 1, 2, false);
      const { frame, exchange } = suite.encodeRequest({ request: { service: "fullRead", tableId: 1 }, seq: 5 });
      c.socket.write(frame);
      // Out of window: answered with 0x0C and the meter's current number, authenticated.
      const res = suite.decodeResponse(await c.next(), exchange);
      expect(res.response.response).toBe("invalidSequenceNumber");
      c.socket.destroy();
    } finally {
      await s2.close();
    }
  });
});

describe("appliance control API", () => {
  const T = Date.UTC(2025, 5, 2, 17);
  let sim: MeterSimulator;
  let plain: MeterSimulator;
  const refused: string[] = [];
  beforeAll(async () => {
    const opts = { count: 2, seed: "dr-api", installedAtMs: Date.UTC(2025, 5, 2), kind: "household" as const, dlms: { count: 1, transport: "wrapper" as const } };
    // Meter 2 speaks DLMS: the same household model, so commands show in its load profile too.
    sim = await startMeterSimulator({ ...opts, clock: { simStartMs: T, manual: true }, controlPort: 0, controlLog: (l) => refused.push(l) });
    plain = await startMeterSimulator({ ...opts, clock: { simStartMs: T, manual: true } });
  });
  afterAll(() => Promise.all([sim.close(), plain.close()]));

  const call = async (method: string, path: string, body?: unknown, token: string | null = sim.controlToken!) => {
    const res = await fetch(`${sim.controlUrl}${path}`, {
      method,
      headers: token === null ? {} : { authorization: `Bearer ${token}` },
      ...(body !== undefined ? { body: typeof body === "string" ? body : JSON.stringify(body) } : {}),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };

  it("answers only its bearer token (401 otherwise, logged)", async () => {
    expect(await call("GET", "/meters/1/appliances", undefined, null)).toEqual({ status: 401, body: { error: "unauthorized" } });
    expect((await call("POST", "/meters/1/appliances", { device: "ev", action: "on" }, "x".repeat(64))).status).toBe(401);
    expect(refused).toEqual([expect.stringMatching(/refused GET \/meters\/1\/appliances .*no bearer token/), expect.stringMatching(/refused POST \/meters\/1\/appliances .*wrong bearer token/)]);
    expect(sim.meter(1).applianceCommands()).toEqual([]);
  });

  it("lists every controllable device, switches the DLMS meter's EV on and serves the energy in its load profile", async () => {
    const list = await call("GET", "/meters/2/appliances");
    expect(list.status).toBe(200);
    expect(list.body.meterId).toBe(2);
    expect(list.body.atMs).toBe(T);
    const devices = list.body.appliances as { device: string; mode: string; powerW: number; commands: unknown[] }[];
    expect(devices.map((d) => [d.device, d.mode, d.commands])).toEqual([
      ["washer", "auto", []],
      ["ev", "auto", []],
      ["heat_pump", "auto", []],
      ["battery", "auto", []],
    ]);
    const chargerW = sim.meter(2).profile.phases === 3 ? 7400 : 3700;
    const on = await call("POST", "/meters/2/appliances", { device: "ev", action: "on", atMs: T, energyWh: chargerW });
    expect(on.status).toBe(200);
    expect(on.body).toMatchObject({ device: "ev", mode: "on", atMs: T, powerW: chargerW, chargerW, sessionRemainingWh: chargerW, commands: [{ device: "ev", action: "on", atMs: T, seq: 1, energyWh: chargerW }] });
    const after = await call("GET", "/meters/2/appliances");
    expect((after.body.appliances as { device: string; mode: string }[])[1]).toMatchObject({ device: "ev", mode: "on", powerW: chargerW });

    for (const s of [sim, plain]) (s.clock as SimClock).advance(2 * 3600_000);
    const ep = sim.endpoints().find((e) => e.meterId === 2)!;
    const client = new DlmsClient({ meterId: 2, link: new WrapperLink({ meterId: 2, timeoutMs: 2000 }, tcpStream(ep.host, ep.port)) });
    let served: number[];
    try {
      await client.associate();
      const rows = (await client.get({ classId: CLASS.profileGeneric, obis: OBJECTS.loadProfile, attribute: 2 })) as { value: DlmsData[] };
      served = rows.value.map((r) => Number(((r as { value: DlmsData[] }).value[2] as { value: unknown }).value));
    } finally {
      await client.release();
    }
    const base = plain.meter(2).loggedReadings().map((r) => r.activeEnergyImportWh);
    expect(served.length).toBe(base.length);
    // An hour at the charger's power from 17:00: a quarter of it in each of the four intervals, then nothing more.
    const extra = served.map((wh, i) => wh - base[i]!);
    const at1700 = base.length - 9;
    expect(extra.slice(0, at1700)).toEqual(new Array(at1700).fill(0));
    for (let k = 1; k <= 4; k++) expect(Math.abs(extra[at1700 + k]! - (k * chargerW) / 4)).toBeLessThanOrEqual(2);
    for (let k = 5; k <= 8; k++) expect(Math.abs(extra[at1700 + k]! - chargerW)).toBeLessThanOrEqual(2);
  });

  it("refuses bad commands with 400 and a stable code, and commands before the served readings with 409", async () => {
    const bad = async (body: unknown) => {
      const r = await call("POST", "/meters/1/appliances", body);
      return [r.status, r.body.code];
    };
    expect(await bad({ device: "dryer", action: "on" })).toEqual([400, "UNKNOWN_APPLIANCE"]);
    expect(await bad({ action: "on" })).toEqual([400, "UNKNOWN_APPLIANCE"]);
    expect(await bad({ device: "ev", action: "explode" })).toEqual([400, "UNSUPPORTED_APPLIANCE_ACTION"]);
    expect(await bad({ device: "battery", action: "on" })).toEqual([400, "UNSUPPORTED_APPLIANCE_ACTION"]);
    expect(await bad({ device: "ev", action: "on", atMs: "tonight" })).toEqual([400, "INVALID_ARGUMENT"]);
    expect(await bad({ device: "ev", action: "on", atMs: null })).toEqual([400, "INVALID_ARGUMENT"]);
    expect(await bad({ device: "ev", action: "on", atMs: -1 })).toEqual([400, "INVALID_ARGUMENT"]);
    expect(await bad({ device: "ev", action: "on", priority: 1 })).toEqual([400, "INVALID_ARGUMENT"]);
    expect(await bad({ device: "heat_pump", action: "defer", durationMin: 1000 })).toEqual([400, "INVALID_ARGUMENT"]);
    expect(await bad("{not json")).toEqual([400, "INVALID_ARGUMENT"]);
    expect(await bad([])).toEqual([400, "INVALID_ARGUMENT"]);
    expect(await bad("")).toEqual([400, "INVALID_ARGUMENT"]);
    sim.meter(1).loggedReadings();
    const past = await call("POST", "/meters/1/appliances", { device: "washer", action: "off", atMs: sim.clock.now() - 3600_000 });
    expect(past.status).toBe(409);
    expect(past.body).toEqual({ code: "APPLIANCE_COMMAND_IN_PAST", error: expect.stringMatching(/^meter 1: washer command at .* is before the latest served reading/) });
    expect(sim.meter(1).applianceCommands()).toEqual([]);
    // Without atMs: the simulator's now.
    const now = await call("POST", "/meters/1/appliances", { device: "battery", action: "discharge" });
    expect(now).toMatchObject({ status: 200, body: { device: "battery", mode: "discharge", atMs: sim.clock.now(), powerW: -5000 } });
    expect(sim.appliances(1)[3]).toMatchObject({ mode: "discharge", commands: [{ action: "discharge", atMs: sim.clock.now(), seq: 1 }] });
  });
});
