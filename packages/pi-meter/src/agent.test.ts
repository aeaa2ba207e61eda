// The Pi agent reading a DLMS meter over a serial port (serialport's mock binding, the meter's
// HDLC answers from the simulated DLMS meter), keeping its LevelDB log deduplicated by device time.
import fs from "node:fs";
import { deriveMeterKey } from "@sidegrid/osgp-codec";
import os from "node:os";
import path from "node:path";
import { AgentLog } from "./agentLog";
import { dlmsSource, startPiMeterAgent, type PiMeterAgent } from "./agent";
import { SimClock } from "./clock";
import { SimulatedMeter } from "./meter";
import { serialStream } from "./serial";
import { simulatorMasterKey } from "./simulator";
import { meterOnMockPort, resetMockPorts } from "./test-utils/mockSerialMeter";

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
