// What a restarted simulator keeps. The registers its appliance commands made: otherwise a household
// whose battery was commanded to discharge would see its export register fall back to the profile's
// (the gateway rejects every later record of that meter as a register going backwards). And each
// meter's acknowledged log position: otherwise every meter hands its whole log over again, which
// the gateway reports as replayed records.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { LOG_ACK_LAYOUT, LOG_ACK_TABLE_ID, SequenceCounter, createSecuritySuite } from "@sidegrid/osgp-codec";
import { SimClock } from "./clock";
import { replayCommands } from "./commandJournal";
import type { SimulatedMeter } from "./meter";
import { RESPONSE_SEQ_RESERVATION } from "./ackStore";
import { simulatorMasterKey, startMeterSimulator, type MeterSimulator, type StartMeterSimulatorParameters } from "./simulator";

const T = Date.UTC(2025, 5, 2, 12);
const HOUR = 3600_000;

/** Acknowledges `seq` the way the gateway does: an authenticated write of the acknowledgement table. */
function acknowledge(m: SimulatedMeter, seq: number): string {
  const suite = createSecuritySuite("aes-gcm", { masterKey: simulatorMasterKey("journal"), meterId: m.meterId });
  const counter = new SequenceCounter(0);
  for (;;) {
    const { frame, exchange } = suite.encodeRequest({ request: { service: "fullWrite", tableId: LOG_ACK_TABLE_ID, data: LOG_ACK_LAYOUT.encode({ ackedSeq: seq, reserved: 0 }) }, seq: counter.take() });
    const res = suite.decodeResponse(m.handleFrame(frame)!, exchange).response;
    if (res.response !== "invalidSequenceNumber") return res.response;
    counter.resync(res.seq);
  }
}

describe("what a restarted simulator keeps", () => {
  let dir: string;
  let file: string;
  const opened: MeterSimulator[] = [];
  const start = async (p: Partial<StartMeterSimulatorParameters>, atMs: number) => {
    const sim = await startMeterSimulator({ count: 3, seed: "journal", kind: "household", installedAtMs: T - 24 * HOUR, clock: new SimClock({ simStartMs: atMs, manual: true }), ...p });
    opened.push(sim);
    return sim;
  };
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "sg-journal-"));
    file = path.join(dir, "meters", "commands.jsonl");
  });
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((s) => s.close()));
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("a restarted simulator replays the commands and serves the registers they made", async () => {
    const first = await start({ commandsFile: file }, T);
    expect(first.replayed).toEqual({ replayed: 0, skipped: [] });
    first.commandAppliance(1, { device: "battery", action: "discharge" }); // "now": kept as T
    first.commandAppliance(1, { device: "ev", action: "on", atMs: T + HOUR, energyWh: 3700 });
    expect(() => first.commandAppliance(1, { device: "battery", action: "explode" as "on" })).toThrow(/does not take action/);
    (first.clock as SimClock).advance(6 * HOUR);
    const before = first.meter(1).status().registers;
    const commands = first.meter(1).applianceCommands();
    expect(fs.readFileSync(file, "utf8").trim().split("\n").map((l) => JSON.parse(l) as unknown)).toEqual([
      { meterId: 1, command: { device: "battery", action: "discharge", atMs: T } },
      { meterId: 1, command: { device: "ev", action: "on", atMs: T + HOUR, energyWh: 3700 } },
    ]);
    await first.close();

    // The same meters after a restart, read at the same simulated time.
    const second = await start({ commandsFile: file }, T + 6 * HOUR);
    expect(second.replayed).toEqual({ replayed: 2, skipped: [] });
    expect(second.meter(1).applianceCommands()).toEqual(commands);
    expect(second.meter(1).status().registers).toEqual(before);
    // Without the journal the battery's 5 kWh never left: the export register would go back.
    const forgetful = await start({}, T + 6 * HOUR);
    const forgot = forgetful.meter(1).status().registers;
    expect(forgot.exportWh).toBeLessThan(before.exportWh - 4000);
    // Commands after the restart are journaled behind the replayed ones.
    second.commandAppliance(2, { device: "washer", action: "off" });
    expect(fs.readFileSync(file, "utf8").trim().split("\n")).toHaveLength(3);
  });

  it("skips a torn last line, a meter no longer simulated and a command the meter refuses, and replays the rest", async () => {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(
      file,
      [
        JSON.stringify({ meterId: 2, command: { device: "heat_pump", action: "defer", atMs: T, durationMin: 60 } }),
        JSON.stringify({ meterId: 9, command: { device: "ev", action: "on", atMs: T } }),
        JSON.stringify({ meterId: 3, command: { device: "battery", action: "on", atMs: T } }),
        JSON.stringify({ meterId: 1, command: { device: "battery", action: "charge", atMs: T } }),
        '{"meterId":1,"command":{"device":"ev","act',
      ].join("\n"),
    );
    const sim = await start({ commandsFile: file }, T + HOUR);
    expect(sim.replayed!.replayed).toBe(2);
    expect(sim.replayed!.skipped).toEqual([
      { line: 2, reason: expect.stringMatching(/^meterId = 9; expected a meter this simulator runs/) },
      { line: 3, reason: expect.stringMatching(/battery does not take action "?on"?/) },
      { line: 5, reason: expect.stringMatching(/^unreadable: /) },
    ]);
    expect(sim.appliances(2, T + HOUR / 2)[2]).toMatchObject({ device: "heat_pump", mode: "defer" });
    expect(sim.appliances(1)[3]).toMatchObject({ device: "battery", mode: "charge" });
  });

  it("keeps the meters' acknowledged positions (written on close, and every 2 s while running)", async () => {
    const acks = path.join(dir, "meters", "acks.json");
    const first = await start({ acksFile: acks }, T);
    expect(acknowledge(first.meter(1), 40)).toBe("ok");
    expect(acknowledge(first.meter(3), 90)).toBe("ok");
    await new Promise((r) => setTimeout(r, 2500));
    // While it runs (what a kill -9 leaves behind).
    expect(JSON.parse(fs.readFileSync(acks, "utf8"))).toMatchObject({ firstMeterId: 1, acked: [40, 0, 90] });
    expect(acknowledge(first.meter(2), 7)).toBe("ok");
    await first.close();
    expect(JSON.parse(fs.readFileSync(acks, "utf8"))).toMatchObject({ firstMeterId: 1, acked: [40, 7, 90] });

    const second = await start({ acksFile: acks }, T + HOUR);
    expect(second.meters.map((m) => m.status())).toMatchObject([
      { meterId: 1, ackedSeq: 40, newestSeq: 100, unacknowledged: 60 },
      { meterId: 2, ackedSeq: 7 },
      { meterId: 3, ackedSeq: 90 },
    ]);
    // Another numbering (or no file): nothing is carried over to meters it does not name.
    const shifted = await start({ acksFile: acks, firstMeterId: 3, count: 2 }, T + HOUR);
    expect(shifted.meters.map((m) => m.acknowledged)).toEqual([90, 0]);
    fs.writeFileSync(acks, "{not json");
    const fresh = await start({ acksFile: acks }, T + HOUR);
    expect(fresh.meters.map((m) => m.acknowledged)).toEqual([0, 0, 0]);
  });

  it("keeps each meter's response numbers climbing across restarts, a kill -9 included", async () => {
    const acks = path.join(dir, "meters", "acks.json");
    /** The response number an answer of `m` carries. */
    const answerSeq = (m: SimulatedMeter) => {
      const suite = createSecuritySuite("aes-gcm", { masterKey: simulatorMasterKey("journal"), meterId: m.meterId });
      const counter = new SequenceCounter(0);
      for (;;) {
        const { frame, exchange } = suite.encodeRequest({ request: { service: "fullRead", tableId: 1 }, seq: counter.take() });
        const res = suite.decodeResponse(m.handleFrame(frame)!, exchange);
        if (res.response.response !== "invalidSequenceNumber") return res.seq!;
        counter.resync(res.response.seq);
      }
    };
    const first = await start({ acksFile: acks }, T);
    const used: number[] = [];
    for (let i = 0; i < 5; i++) used.push(answerSeq(first.meter(2)));
    // Not closed: what a kill -9 leaves is the reservation written at start.
    const second = await start({ acksFile: acks }, T + HOUR);
    const after = answerSeq(second.meter(2));
    expect(used.every((u) => ((after - u) >>> 0) > 0 && ((after - u) >>> 0) < 2 ** 31)).toBe(true);
    expect((after - used[4]!) >>> 0).toBeLessThanOrEqual(RESPONSE_SEQ_RESERVATION);
    // Without the file a meter starts from its seed's number again: the number it used first,
    // which the gateway would refuse as a replay.
    const forgetful = await start({}, T + HOUR);
    expect(answerSeq(forgetful.meter(2))).toBe(used[0]);
  });

  it("without a file there is nothing to replay, and the directory is made for the first command", () => {
    const applied: number[] = [];
    expect(replayCommands(file, (id) => applied.push(id))).toEqual({ replayed: 0, skipped: [] });
    expect(applied).toEqual([]);
    expect(fs.existsSync(path.dirname(file))).toBe(true);
  });
});
