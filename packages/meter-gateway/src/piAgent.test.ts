// The gateway reading a real meter through the Pi agent: a DLMS meter (HDLC over a TCP bridge)
// read by @sidegrid/pi-meter's agent, which the gateway's ordinary OSGP adapter then polls. The
// gateway sees an OSGP Pi meter: same tables, same aes-gcm suite, the agent's own numbering.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { tcpStream } from "@sidegrid/dlms";
import { deriveMeterKey } from "@sidegrid/osgp-codec";
import { SimClock, SimulatedMeter, dlmsSource, simulatorMasterKey, startDlmsMeter, startPiMeterAgent, type DlmsMeterServer, type PiMeterAgent } from "@sidegrid/pi-meter";
import { AdapterRegistry, type AdapterContext } from "./adapter";
import { OSGP_TCP_PROTOCOL, osgpTcpAdapterFactory } from "./osgpAdapter";

const T0 = Date.UTC(2025, 5, 3, 6);
let dir: string;
let clock: SimClock;
let meter: SimulatedMeter;
let dlms: DlmsMeterServer;
let agent: PiMeterAgent;
const masterKey = simulatorMasterKey("pi-agent");

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "sidegrid-pi-agent-"));
  clock = new SimClock({ simStartMs: T0, manual: true });
  meter = new SimulatedMeter({ meterId: 21, seed: "pi-agent", clock, masterKey, installedAtMs: T0 - 3 * 3600_000 });
  dlms = await startDlmsMeter({ meter, transport: "hdlc" });
  agent = await startPiMeterAgent({
    meterId: 21,
    source: dlmsSource({ meterId: 21, transport: "hdlc", stream: tcpStream(dlms.host, dlms.port), timeoutMs: 2000 }),
    logDir: path.join(dir, "log"),
    // The agent holds its meter's key only; the gateway derives it from the master key.
    meterKey: deriveMeterKey({ masterKey, meterId: 21 }),
    variablesEveryMs: 3_600_000,
    profileEveryMs: 3_600_000,
  });
});
afterAll(async () => {
  await agent?.close();
  await dlms?.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

it("the gateway's OSGP adapter reads the agent's log and acknowledges it", async () => {
  const persisted: Record<string, unknown>[] = [];
  const ctx: AdapterContext = { initialState: null, persist: async (s) => void persisted.push(s), timeoutMs: 2000, clock };
  const registry = new AdapterRegistry([osgpTcpAdapterFactory({ masterKey, maxRecordsPerRead: 5 })]);
  const a = registry.create({ meterId: 21, protocol: OSGP_TCP_PROTOCOL, host: agent.host, port: agent.port, addressed: true }, ctx);
  try {
    await a.connect();
    expect(a.identity).toMatchObject({ meterId: 21, protocol: "osgp-tcp", serial: "SG0000000021", manufacturer: "SGD" });
    const seen: { sequence: number; clockMs: number; importWh: number }[] = [];
    for (;;) {
      const r = await a.read({ kind: "log" });
      if (r.readings.length === 0) break;
      for (const x of r.readings) seen.push({ sequence: x.sequence, clockMs: x.clockMs, importWh: x.activeEnergyImportWh });
      await a.acknowledge(r.readings.at(-1)!.sequence);
    }
    const truth = meter.loggedReadings();
    expect(seen.map((s) => s.sequence)).toEqual(truth.map((_, i) => i + 1));
    expect(seen.map((s) => [s.clockMs, s.importWh])).toEqual(truth.map((t) => [t.clockMs, t.activeEnergyImportWh]));
    expect(agent.stats()).toMatchObject({ ackedSeq: truth.length, newestSeq: truth.length });
    const inst = await a.read({ kind: "instantaneous" });
    expect(inst.reading.activeEnergyImportWh).toBe(meter.currentReading().activeEnergyImportWh);
  } finally {
    await a.close();
  }
});
