// The Pi agent reading a DLMS meter over a serial port (serialport's mock binding, the meter's
// HDLC answers from the simulated DLMS meter), keeping its LevelDB log deduplicated by device time.
import fs from "node:fs";
import { deriveMeterKey } from "@sidegrid/osgp-codec";
import os from "node:os";
import path from "node:path";
import { AgentLog } from "./agentLog";
import { dlmsSource, hanSource, startPiMeterAgent, type PiMeterAgent } from "./agent";
import { startDlmsPushMeter } from "./dlmsPushMeter";
import { SimClock } from "./clock";
import { SimulatedMeter } from "./meter";
import { serialStream } from "./serial";
import { simulatorMasterKey } from "./simulator";
import { meterOnMockPort, pushOnMockPort, resetMockPorts } from "./test-utils/mockSerialMeter";

const T0 = Date.UTC(2025, 5, 2, 12);
const MIN = 60_000;
let dir: string;
let clock: SimClock;
let meter: SimulatedMeter;
const masterKey = simulatorMasterKey("agent");

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "sidegrid-agent-"));
  clock = new SimClock({ simStartMs: T0, manual: true });
  meter = new SimulatedMeter({ meterId: 7, seed: "agent", clock, masterKey, installedAtMs: T0 - 4 * 3600_000 });
});
afterEach(() => {
  resetMockPorts();
  fs.rmSync(dir, { recursive: true, force: true });
});

async function startAgent(portPath: string): Promise<PiMeterAgent> {
  return startPiMeterAgent({
    meterId: 7,
    source: dlmsSource({ meterId: 7, transport: "hdlc", stream: serialStream(portPath, { mock: true }), timeoutMs: 2000 }),
    logDir: path.join(dir, "log"),
    meterKey: deriveMeterKey({ masterKey, meterId: 7 }),
    // Reads are driven by the test (readNow), not by the timers.
    variablesEveryMs: 3_600_000,
    profileEveryMs: 3_600_000,
  });
}

describe("the Pi agent on a serial DLMS meter", () => {
  it("stores the meter's 15-minute rows once each, numbered in device-time order, with the meter's registers", async () => {
    const line = meterOnMockPort("/dev/ttyMOCK7", meter);
    const agent = await startAgent("/dev/ttyMOCK7");
    try {
      const truth = meter.loggedReadings();
      expect(truth.length).toBe(16);
      const stored = await agent.log.records();
      expect(stored.map((r) => r.clockMs)).toEqual(truth.map((r) => r.clockMs));
      expect(stored.map((r) => r.activeEnergyImportWh)).toEqual(truth.map((r) => r.activeEnergyImportWh));
      expect(stored.map((r) => r.sequence)).toEqual(Array.from({ length: 16 }, (_, i) => i + 1));
      expect(line.writes()).toBeGreaterThan(10); // SNRM, AARQ, GETs with RR: it really went over the port

      // The same rows read again (no time passed): nothing new, counted as duplicates.
      await agent.readNow();
      expect(agent.stats()).toMatchObject({ records: 16, newestSeq: 16, readFailures: 0 });
      expect(agent.stats().duplicateRecords).toBeGreaterThanOrEqual(0);
      expect((await agent.log.records()).length).toBe(16);

      // A quarter of an hour later: exactly one new row, sequence 17, its mean power from the delta.
      clock.advance(15 * MIN);
      await agent.readNow();
      const after = await agent.log.records();
      expect(after.length).toBe(17);
      const last = after[16]!;
      const lastTruth = meter.loggedReadings().at(-1)!;
      expect(last).toMatchObject({ sequence: 17, clockMs: lastTruth.clockMs, activeEnergyImportWh: lastTruth.activeEnergyImportWh });
      const deltaWh = lastTruth.activeEnergyImportWh - after[15]!.activeEnergyImportWh - (lastTruth.activeEnergyExportWh - after[15]!.activeEnergyExportWh);
      expect(last.activePowerW).toBeCloseTo(deltaWh * 4, 0);
    } finally {
      await agent.close();
    }
  });

  it("keeps one set of electrical variables per device minute however often it reads", async () => {
    meterOnMockPort("/dev/ttyMOCK8", meter);
    const agent = await startAgent("/dev/ttyMOCK8");
    try {
      expect(agent.stats().variables).toBe(1);
      await agent.readNow();
      await agent.readNow();
      expect(agent.stats()).toMatchObject({ variables: 1, duplicateVariables: 2 });
      clock.advance(MIN);
      await agent.readNow();
      clock.advance(MIN);
      await agent.readNow();
      const vars = await agent.log.variables(T0 - MIN, T0 + 10 * MIN);
      expect(vars.map((v) => v.clockMs)).toEqual([T0, T0 + MIN, T0 + 2 * MIN]);
      const now = meter.currentReading();
      expect(vars[2]!.voltageV).toBeCloseTo(now.phases[0]!.voltageV, 1);
      expect(vars[2]!.frequencyHz).toBeCloseTo(now.frequencyHz, 2);
      expect(vars[2]!.activePowerW).toBeCloseTo(now.activePowerW, 0);
    } finally {
      await agent.close();
    }
  });

  it("survives a restart: its log, acknowledgements and response counter carry over", async () => {
    meterOnMockPort("/dev/ttyMOCK9", meter);
    let agent = await startAgent("/dev/ttyMOCK9");
    expect(agent.log.acknowledge(10)).toBe(true);
    expect(agent.log.acknowledge(99)).toBe(false); // a record not made yet
    expect(agent.log.unacknowledged(64).length).toBe(6);
    await agent.close();
    const log = await AgentLog.open({ dir: path.join(dir, "log") });
    expect(log.stats()).toMatchObject({ newestSeq: 16, ackedSeq: 10 });
    await log.close();
    agent = await startAgent("/dev/ttyMOCK9");
    try {
      expect(agent.stats()).toMatchObject({ newestSeq: 16, ackedSeq: 10, records: 16 });
      expect(agent.log.unacknowledged(64).length).toBe(6);
      expect(Number(await agent.log.getMeta("responseSeq"))).toBe(200_000); // a second block reserved
    } finally {
      await agent.close();
    }
  });

  it("counts a meter that stops answering as a read failure and carries on", async () => {
    meterOnMockPort("/dev/ttyMOCK10", meter);
    const agent = await startAgent("/dev/ttyMOCK10");
    try {
      meter.setBehaviour({ silent: true });
      await agent.readNow();
      expect(agent.stats().readFailures).toBe(2);
      expect(agent.stats().lastError).toMatch(/meter 7: reading (registers|load profile) failed/);
      meter.setBehaviour({ silent: false });
      clock.advance(15 * MIN);
      await agent.readNow();
      expect({ ...agent.stats(), lastError: agent.stats().readFailures > 2 ? agent.stats().lastError : null }).toMatchObject({ records: 17, readFailures: 2, lastError: null });
    } finally {
      await agent.close();
    }
  });
});

describe("the Pi agent on a HAN (P1) port", () => {
  const keys = { ek: new Uint8Array(16).fill(1), ak: new Uint8Array(16).fill(2), systemTitle: Uint8Array.from([0x4b, 0x46, 0x4d, 0, 0, 0, 0, 7]) };

  async function startHanAgent(portPath: string, withKeys: boolean) {
    const port = pushOnMockPort(portPath);
    const starting = startPiMeterAgent({
      meterId: 7,
      source: hanSource({ meterId: 7, stream: serialStream(portPath, { mock: true }), firstPushMs: 3000, clock: () => clock.now(), ...(withKeys ? { keys } : {}) }),
      logDir: path.join(dir, "log"),
      meterKey: deriveMeterKey({ masterKey, meterId: 7 }),
      variablesEveryMs: 3_600_000,
      profileEveryMs: 3_600_000,
    });
    await port.opened();
    return { port, starting };
  }

  it("stores the meter's interval pushes once each and answers from its newest instantaneous push", async () => {
    const { port, starting } = await startHanAgent("/dev/ttyHAN1", true);
    const pusher = await startDlmsPushMeter({ meter, target: { write: port.write }, transport: "hdlc", keys });
    await pusher.pushNow();
    const agent = await starting;
    try {
      expect(await pusher.pushLogged()).toBe(16);
      await agent.readNow();
      const truth = meter.loggedReadings();
      const stored = await agent.log.records();
      expect(stored.map((r) => [r.clockMs, r.activeEnergyImportWh])).toEqual(truth.map((r) => [r.clockMs, r.activeEnergyImportWh]));
      expect(stored.map((r) => r.sequence)).toEqual(truth.map((_, i) => i + 1));
      // The same pushes again (a meter that repeats its list): nothing stored twice.
      const again = await startDlmsPushMeter({ meter, target: { write: port.write }, transport: "wrapper", keys });
      expect(await again.pushLogged()).toBe(16);
      await agent.readNow();
      expect(agent.stats()).toMatchObject({ records: 16, newestSeq: 16 });
      // Variables come from the instantaneous list: the voltage the meter pushed, not 0.
      const [v] = await agent.log.variables(0, Number.MAX_SAFE_INTEGER);
      expect(v!.voltageV).toBeCloseTo(meter.currentReading().phases[0]!.voltageV, 1);
    } finally {
      await agent.close();
    }
  });

  it("with the meter's keys configured, refuses plain pushes from whoever reaches the port", async () => {
    const { port, starting } = await startHanAgent("/dev/ttyHAN2", true);
    const forger = await startDlmsPushMeter({ meter, target: { write: port.write }, transport: "hdlc" });
    const honest = await startDlmsPushMeter({ meter, target: { write: port.write }, transport: "hdlc", keys });
    await forger.pushNow();
    await honest.pushNow();
    const agent = await starting;
    try {
      await forger.pushLogged();
      await agent.readNow();
      expect(agent.stats().records).toBe(0);
      await honest.pushLogged();
      await agent.readNow();
      expect(agent.stats().records).toBe(16);
    } finally {
      await agent.close();
    }
  });
});
