import type { MeterReading } from "@sidegrid/osgp-codec";
import { APPLIANCE_MODELS, type EvState, type HeatPumpState, type WasherState } from "./appliances";
import { SimClock } from "./clock";
import { ApplianceCommandInPastError, isPiMeterError } from "./errors";
import { SimulatedMeter } from "./meter";
import { Rng } from "./prng";
import { householdRuns, makeLoadProfile, type LoadProfile } from "./profiles";
import { simulatorMasterKey, startMeterSimulator } from "./simulator";

const SEED = "dr";
const masterKey = simulatorMasterKey(SEED);
const T0 = Date.UTC(2025, 5, 2); // a Monday
const MIN = 60_000;
const at = (h: number, m = 0) => T0 + h * 3600_000 + m * MIN;
const setClock = (clock: SimClock, ms: number) => clock.advance(ms - clock.now());

/** The first household meter id (1..200) whose profile satisfies `pred`. */
function findMeter(pred: (p: LoadProfile) => boolean): number {
  for (let id = 1; id <= 200; id++) if (pred(makeLoadProfile({ seed: SEED, meterId: id, kind: "household" }))) return id;
  throw new Error("no such meter");
}

/** Start minutes of the household's own runs of `name` on day T0. */
function ownRuns(p: LoadProfile, name: string): number[] {
  const starts = new Set<number>();
  for (let m = T0 / MIN; m < T0 / MIN + 1440; m++) for (const s of householdRuns(p, name, m)) starts.add(s);
  return [...starts].sort((a, b) => a - b);
}

/** The same household twice: one left alone (the baseline), one to command. */
function pair(meterId: number, nowMs: number, kind: "household" | "prosumer" = "household") {
  const make = () => {
    const clock = new SimClock({ simStartMs: nowMs, manual: true });
    return { clock, meter: new SimulatedMeter({ meterId, seed: SEED, clock, masterKey, kind, installedAtMs: T0, capacity: 400 }) };
  };
  const base = make();
  const ctl = make();
  return {
    base: base.meter,
    ctl: ctl.meter,
    /** Moves both clocks to `ms`. */
    until(ms: number) {
      setClock(base.clock, ms);
      setClock(ctl.clock, ms);
    },
  };
}

interface Interval {
  endMs: number;
  importWh: number;
  exportWh: number;
}

/** Energy of each served interval, from the registers of consecutive records (as the gateway sees it). */
function intervals(rows: MeterReading[]): Interval[] {
  const out: Interval[] = [];
  for (let i = 1; i < rows.length; i++) {
    out.push({ endMs: rows[i]!.clockMs, importWh: rows[i]!.activeEnergyImportWh - rows[i - 1]!.activeEnergyImportWh, exportWh: rows[i]!.activeEnergyExportWh - rows[i - 1]!.activeEnergyExportWh });
  }
  return out;
}

/** Commanded minus baseline energy, interval by interval, for intervals ending in (fromMs, toMs]. */
function delta(base: SimulatedMeter, ctl: SimulatedMeter, fromMs: number, toMs: number) {
  const b = intervals(base.loggedReadings());
  const c = intervals(ctl.loggedReadings());
  expect(c.map((x) => x.endMs)).toEqual(b.map((x) => x.endMs));
  return c
    .map((x, i) => ({ endMs: x.endMs, importWh: x.importWh - b[i]!.importWh, exportWh: x.exportWh - b[i]!.exportWh, baseImportWh: b[i]!.importWh, importCtl: x.importWh, exportCtl: x.exportWh }))
    .filter((x) => x.endMs > fromMs && x.endMs <= toMs);
}

const sum = (xs: number[]) => xs.reduce((s, x) => s + x, 0);

describe("controllable appliances", () => {
  it("an EV switched on at 18:00 adds 7.4 kW (1,850 Wh per interval) on 3 phases until its energy target is met", () => {
    const id = findMeter((p) => p.phases === 3 && ownRuns(p, "ev").length === 0);
    const { base, ctl, until } = pair(id, at(17));
    const s = ctl.commandAppliance({ device: "ev", action: "on", atMs: at(18) }) as EvState;
    expect(s).toMatchObject({ device: "ev", mode: "on", powerW: 7400, chargerW: 7400, charging: true, sessionRemainingWh: 15_000, atMs: at(18), sinceMs: at(18) });
    until(at(22));
    const d = delta(base, ctl, at(17), at(22));
    // Nothing changes before 18:00.
    expect(d.filter((x) => x.endMs <= at(18)).map((x) => x.importWh)).toEqual([0, 0, 0, 0]);
    const after = d.filter((x) => x.endMs > at(18)).map((x) => x.importWh);
    // 15 kWh at 7.4 kW: eight full intervals, 200 Wh in the ninth, then nothing.
    for (const wh of after.slice(0, 8)) expect(Math.abs(wh - 1850)).toBeLessThanOrEqual(2);
    expect(Math.abs(after[8]! - 200)).toBeLessThanOrEqual(2);
    for (const wh of after.slice(9)) expect(Math.abs(wh)).toBeLessThanOrEqual(2);
    expect(Math.abs(sum(after) - 15_000)).toBeLessThanOrEqual(3);
    expect(ctl.appliances(at(21))[1]).toMatchObject({ device: "ev", mode: "on", powerW: 0, charging: false, sessionRemainingWh: 0 });
  });

  it("charges at 3.7 kW on one phase and stops at the commanded energy", () => {
    const id = findMeter((p) => p.phases === 1 && ownRuns(p, "ev").length === 0);
    const { base, ctl, until } = pair(id, at(17));
    expect(ctl.commandAppliance({ device: "ev", action: "charge", atMs: at(18), energyWh: 3700 })).toMatchObject({ mode: "on", powerW: 3700, chargerW: 3700 });
    until(at(20));
    const after = delta(base, ctl, at(18), at(20)).map((x) => x.importWh);
    for (const wh of after.slice(0, 4)) expect(Math.abs(wh - 925)).toBeLessThanOrEqual(2);
    for (const wh of after.slice(4)) expect(Math.abs(wh)).toBeLessThanOrEqual(2);
  });

  it("turning the washer off during the household's own run removes that run's power; auto brings the household back", () => {
    const washing = makeLoadProfile({ seed: SEED, meterId: 1, kind: "household" }).appliances.find((a) => a.name === "washing")!;
    let start = 0;
    const id = findMeter((p) => {
      const runs = ownRuns(p, "washing").filter((s) => s >= at(6) / MIN && s < at(18) / MIN);
      // One run with no other washing within 3 hours around it.
      start = runs.find((s) => ownRuns(p, "washing").every((o) => o === s || Math.abs(o - s) > 180)) ?? 0;
      return start > 0;
    });
    const s = start * MIN;
    const { base, ctl, until } = pair(id, s - 30 * MIN);
    ctl.commandAppliance({ device: "washer", action: "off", atMs: s + 5 * MIN });
    ctl.commandAppliance({ device: "washer", action: "auto", atMs: s + 120 * MIN });
    // Before the off, the household's own program runs.
    expect(ctl.appliances(s + 2 * MIN)[0]).toMatchObject({ device: "washer", mode: "auto", running: true, programStartMs: s, powerW: 2000 });
    expect(ctl.appliances(s + 6 * MIN)[0]).toMatchObject({ device: "washer", mode: "off", running: false, powerW: 0 });
    until(s + 240 * MIN);
    const d = delta(base, ctl, s - 30 * MIN, s + 240 * MIN);
    // The nominal energy of minutes 5..89 of the program; the household's jitter is ±6 %.
    let nominal = 0;
    for (let i = 5; i < washing.durationMin; i++) nominal += (washing.powerW * washing.shape!(i)) / 60;
    const removed = -sum(d.map((x) => x.importWh));
    expect(removed).toBeGreaterThan(0.93 * nominal - 3);
    expect(removed).toBeLessThan(1.07 * nominal + 3);
    // Every interval is lower or equal; those after the auto are the household's own again.
    for (const x of d) expect(x.importWh).toBeLessThanOrEqual(1);
    for (const x of d.filter((y) => y.endMs > s + 120 * MIN)) expect(Math.abs(x.importWh)).toBeLessThanOrEqual(1);
  });

  it("a deferred washer load runs in full when the deferral ends", () => {
    let start = 0;
    const id = findMeter((p) => {
      start = ownRuns(p, "washing").find((s) => s >= at(6) / MIN && s < at(16) / MIN && ownRuns(p, "washing").every((o) => o === s || Math.abs(o - s) > 300)) ?? 0;
      return start > 0;
    });
    const s = start * MIN;
    const { base, ctl, until } = pair(id, s - 30 * MIN);
    ctl.commandAppliance({ device: "washer", action: "defer", atMs: s + 5 * MIN, durationMin: 120 });
    expect(ctl.appliances(s + 60 * MIN)[0]).toMatchObject({ mode: "defer", running: false, deferredLoad: true, deferredUntilMs: s + 125 * MIN, resumeMode: "auto" });
    const resumed = ctl.appliances(s + 130 * MIN)[0] as WasherState;
    expect(resumed).toMatchObject({ mode: "auto", running: true, programStartMs: s + 125 * MIN, deferredLoad: false });
    until(s + 300 * MIN);
    const d = delta(base, ctl, s - 30 * MIN, s + 300 * MIN);
    // The whole program (950 Wh at nominal power) after the deferral, and the household's own run
    // (minutes 5..89, about 783 Wh ± 6 % jitter) gone.
    expect(resumed.programWh).toBe(950);
    expect(Math.abs(sum(d.filter((x) => x.endMs > s + 120 * MIN).map((x) => x.importWh)) - 950)).toBeLessThanOrEqual(3);
    const total = sum(d.map((x) => x.importWh));
    expect(total).toBeGreaterThan(950 - 1.07 * 783.4 - 3);
    expect(total).toBeLessThan(950 - 0.93 * 783.4 + 3);
  });

  it("battery discharge lowers import and exports the rest; charge imports until full", () => {
    const id = findMeter(() => true);
    const { base, ctl, until } = pair(id, at(0, 30));
    ctl.commandAppliance({ device: "battery", action: "discharge", atMs: at(1) });
    expect(ctl.appliances(at(1))[3]).toMatchObject({ device: "battery", mode: "discharge", powerW: -5000, socWh: 5000, socPercent: 50 });
    until(at(3));
    const d = delta(base, ctl, at(1), at(3));
    // At night the household draws far less than 5 kW: no import, and 1,250 Wh − its own load exported.
    for (const x of d.slice(0, 3)) {
      expect(x.importCtl).toBe(0);
      expect(Math.abs(x.exportCtl - (1250 - x.baseImportWh))).toBeLessThanOrEqual(2);
    }
    // 5 kWh stored, 95 % out: 4,750 Wh reach the grid side (57 minutes at 5 kW), then the battery is empty.
    const moved = sum(d.map((x) => x.exportWh - x.importWh));
    expect(Math.abs(moved - 4750)).toBeLessThanOrEqual(4);
    expect(ctl.appliances(at(2, 30))[3]).toMatchObject({ mode: "discharge", powerW: 0, socWh: 0 });

    ctl.commandAppliance({ device: "battery", action: "charge", atMs: at(3) });
    until(at(5, 30));
    const c = delta(base, ctl, at(3), at(5, 30));
    // 10 kWh of room at 95 % in: 10,526 Wh from the grid, 5 kW for 126 minutes.
    for (const x of c.slice(0, 8)) expect(Math.abs(x.importWh - 1250)).toBeLessThanOrEqual(2);
    expect(Math.abs(sum(c.map((x) => x.importWh)) - 10_000 / 0.95)).toBeLessThanOrEqual(4);
    expect(Math.abs(c[8]!.importWh - (10_000 / 0.95 - 10_000))).toBeLessThanOrEqual(2);
    expect(ctl.appliances(at(5, 15))[3]).toMatchObject({ mode: "charge", powerW: 0, socWh: 10_000, socPercent: 100 });
  });

  it("a deferred heat pump makes up the energy it held back, at 3 kW, up to the cap", () => {
    // 2.1..2.3 kW: an hour's debt is made up within the afternoon, two hours' exceed the cap.
    const id = findMeter((p) => makeHeatPumpW(p) >= 2100 && makeHeatPumpW(p) <= 2300);
    const { base, ctl, until } = pair(id, at(11));
    const on = ctl.commandAppliance({ device: "heat_pump", action: "on", atMs: at(12) }) as HeatPumpState;
    const w = on.nominalW;
    expect(on).toMatchObject({ mode: "on", powerW: w, makeUpW: 3000, deferredWh: 0 });
    // Deferred for an hour from 13:00: it resumes by itself at 14:00 with an hour of energy to make up.
    ctl.commandAppliance({ device: "heat_pump", action: "defer", atMs: at(13), durationMin: 60 });
    expect(ctl.appliances(at(13, 30))[2]).toMatchObject({ mode: "defer", powerW: 0, deferredUntilMs: at(14), resumeMode: "on" });
    expect((ctl.appliances(at(14))[2] as HeatPumpState).deferredWh).toBeCloseTo(w, 6);
    expect(ctl.appliances(at(14))[2]).toMatchObject({ mode: "on", powerW: 3000 });
    until(at(18));
    const d = delta(base, ctl, at(12), at(18));
    for (const x of d.slice(0, 4)) expect(Math.abs(x.importWh - w / 4)).toBeLessThanOrEqual(2);
    for (const x of d.slice(4, 8)) expect(Math.abs(x.importWh)).toBeLessThanOrEqual(2);
    expect(Math.abs(d[8]!.importWh - 750)).toBeLessThanOrEqual(2);
    // Nothing lost: six hours of nominal power, the deferred hour included.
    expect(Math.abs(sum(d.map((x) => x.importWh)) - 6 * w)).toBeLessThanOrEqual(4);
    expect(Math.abs(d[d.length - 1]!.importWh - w / 4)).toBeLessThanOrEqual(2);

    // A two-hour deferral holds back more than the 4 kWh cap: only the cap is made up.
    ctl.commandAppliance({ device: "heat_pump", action: "defer", atMs: at(18) });
    expect(ctl.appliances(at(20))[2]).toMatchObject({ mode: "on", deferredWh: APPLIANCE_MODELS.heat_pump.deferredCapWh, powerW: 3000 });
    ctl.commandAppliance({ device: "heat_pump", action: "off", atMs: at(26) });
    until(at(27));
    const e = delta(base, ctl, at(18), at(27));
    expect(Math.abs(sum(e.map((x) => x.importWh)) - (6 * w + 4000))).toBeLessThanOrEqual(4);
    for (const x of e.slice(-4)) expect(Math.abs(x.importWh)).toBeLessThanOrEqual(2);
  });

  it("refuses commands before the latest served reading, and accepts them up to it", () => {
    const id = findMeter(() => true);
    const clock = new SimClock({ simStartMs: at(10, 7), manual: true });
    const meter = new SimulatedMeter({ meterId: id, seed: SEED, clock, masterKey, kind: "household", installedAtMs: T0 });
    // Nothing served yet: a past minute after installation is still open.
    expect(meter.commandAppliance({ device: "battery", action: "charge", atMs: at(9) }).mode).toBe("charge");
    meter.loggedReadings(); // serves the intervals up to 10:00
    let err: unknown;
    try {
      meter.commandAppliance({ device: "ev", action: "on", atMs: at(9, 59) });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ApplianceCommandInPastError);
    expect(err).toMatchObject({ code: "APPLIANCE_COMMAND_IN_PAST", meterId: id, device: "ev", atMs: at(9, 59), servedUpToMs: at(10) });
    expect(meter.commandAppliance({ device: "ev", action: "on", atMs: at(10) }).mode).toBe("on");
    meter.currentReading(); // serves the registers up to 10:07
    expect(() => meter.commandAppliance({ device: "ev", action: "off", atMs: at(10, 6) })).toThrow(ApplianceCommandInPastError);
    expect(meter.commandAppliance({ device: "ev", action: "off" })).toMatchObject({ mode: "off", atMs: at(10, 7) });
    // Refused commands leave no trace.
    expect(meter.applianceCommands().map((c) => [c.device, c.action, c.atMs, c.seq])).toEqual([
      ["battery", "charge", at(9), 1],
      ["ev", "on", at(10), 2],
      ["ev", "off", at(10, 7), 3],
    ]);
  });

  it("validates commands with stable codes", () => {
    const clock = new SimClock({ simStartMs: at(10), manual: true });
    const meter = new SimulatedMeter({ meterId: 1, seed: SEED, clock, masterKey, installedAtMs: T0 });
    const code = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        return isPiMeterError(e) ? e.code : String(e);
      }
      return "accepted";
    };
    expect(code(() => meter.commandAppliance({ device: "dryer" as never, action: "on" }))).toBe("UNKNOWN_APPLIANCE");
    expect(code(() => meter.commandAppliance({ device: "battery", action: "defer" }))).toBe("UNSUPPORTED_APPLIANCE_ACTION");
    expect(code(() => meter.commandAppliance({ device: "washer", action: "explode" as never }))).toBe("UNSUPPORTED_APPLIANCE_ACTION");
    expect(code(() => meter.commandAppliance({ device: "ev", action: "on", atMs: Number.NaN }))).toBe("INVALID_ARGUMENT");
    expect(code(() => meter.commandAppliance({ device: "ev", action: "on", atMs: "10:00" as never }))).toBe("INVALID_ARGUMENT");
    expect(code(() => meter.commandAppliance({ device: "ev", action: "on", atMs: at(10) + 8 * 86_400_000 }))).toBe("INVALID_ARGUMENT");
    expect(code(() => meter.commandAppliance({ device: "ev", action: "on", energyWh: 0 }))).toBe("INVALID_ARGUMENT");
    expect(code(() => meter.commandAppliance({ device: "washer", action: "on", energyWh: 1000 }))).toBe("INVALID_ARGUMENT");
    expect(code(() => meter.commandAppliance({ device: "heat_pump", action: "defer", durationMin: 121 }))).toBe("INVALID_ARGUMENT");
    expect(code(() => meter.commandAppliance({ device: "heat_pump", action: "on", durationMin: 30 }))).toBe("INVALID_ARGUMENT");
    expect(code(() => meter.commandAppliance({ device: "ev", action: "on", when: 1 } as never))).toBe("INVALID_ARGUMENT");
    expect(meter.applianceCommands()).toEqual([]);
    expect(code(() => meter.commandAppliance({ device: "heat_pump", action: "defer", durationMin: 120 }))).toBe("accepted");
  });

  it("no command, or a command that changes nothing, serves the very same records as a meter never commanded", () => {
    const id = findMeter(() => true);
    const { base, ctl, until } = pair(id, at(6), "prosumer");
    ctl.commandAppliance({ device: "battery", action: "off", atMs: at(8) });
    ctl.commandAppliance({ device: "heat_pump", action: "auto", atMs: at(9) });
    until(at(30));
    expect(ctl.loggedReadings()).toEqual(base.loggedReadings());
    expect(ctl.currentReading()).toEqual(base.currentReading());
    expect(ctl.status().registers).toEqual(base.status().registers);
  });

  it("random command sequences: registers monotonic, and the same commands give the same records however often the meters are read", async () => {
    const clockParams = { simStartMs: at(0), manual: true } as const;
    const opts = { count: 3, seed: SEED, installedAtMs: T0, capacity: 400, prosumerShare: 0.5 };
    const polled = await startMeterSimulator({ ...opts, clock: clockParams });
    const lazy = await startMeterSimulator({ ...opts, clock: clockParams });
    const plain = await startMeterSimulator({ ...opts, clock: clockParams });
    try {
      const rng = new Rng(20250602);
      const devices = { washer: ["on", "off", "defer", "auto"], ev: ["on", "charge", "off", "defer", "auto"], heat_pump: ["on", "off", "defer", "auto"], battery: ["charge", "discharge", "off", "auto"] } as const;
      const names = Object.keys(devices) as (keyof typeof devices)[];
      let issued = 0;
      for (let step = 1; step <= 2 * 96; step++) {
        const now = at(0) + step * 900_000;
        for (const s of [polled, lazy, plain]) setClock(s.clock as SimClock, now);
        for (const m of polled.meters) {
          m.loggedReadings();
          m.currentReading();
        }
        if (rng.next() < 0.6) {
          const meterId = rng.int(1, 3);
          const device = names[rng.int(0, 3)]!;
          const action = devices[device][rng.int(0, devices[device].length - 1)]!;
          const command = { device, action, atMs: now + rng.int(0, 40) * MIN };
          expect(polled.commandAppliance(meterId, command)).toEqual(lazy.commandAppliance(meterId, command));
          issued++;
        }
      }
      setClock(polled.clock as SimClock, at(0) + 2 * 86_400_000 + 900_000);
      setClock(lazy.clock as SimClock, at(0) + 2 * 86_400_000 + 900_000);
      setClock(plain.clock as SimClock, at(0) + 2 * 86_400_000 + 900_000);
      expect(issued).toBeGreaterThan(80);
      for (const id of [1, 2, 3]) {
        const rows = polled.meter(id).loggedReadings();
        expect(rows).toEqual(lazy.meter(id).loggedReadings());
        expect(rows.length).toBe(2 * 96 + 1);
        expect(rows).not.toEqual(plain.meter(id).loggedReadings());
        for (let i = 1; i < rows.length; i++) {
          expect(rows[i]!.sequence).toBe(rows[i - 1]!.sequence + 1);
          expect(rows[i]!.activeEnergyImportWh).toBeGreaterThanOrEqual(rows[i - 1]!.activeEnergyImportWh);
          expect(rows[i]!.activeEnergyExportWh).toBeGreaterThanOrEqual(rows[i - 1]!.activeEnergyExportWh);
        }
        expect(polled.appliances(id)).toEqual(lazy.appliances(id));
      }
    } finally {
      await Promise.all([polled.close(), lazy.close(), plain.close()]);
    }
  });
});

function makeHeatPumpW(p: LoadProfile): number {
  const clock = new SimClock({ simStartMs: T0, manual: true });
  const m = new SimulatedMeter({ meterId: p.meterId, seed: SEED, clock, masterKey, kind: "household", installedAtMs: T0 });
  return (m.appliances()[2] as HeatPumpState).nominalW;
}
