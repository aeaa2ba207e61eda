// One simulated Sidegrid Pi meter: its own keys, request sequence window, response counter, clock,
// reading counter and load-profile log. Readings are generated lazily from the load profile when a
// request arrives, so a simulator can host thousands of meters without a timer per meter, and the
// readings depend only on (seed, meter id, time), never on how often the meter is polled. Commands
// to the household's controllable appliances (appliances.ts) are part of the meter's state: a
// reading then depends on (seed, meter id, time, the commands effective up to that time), and a
// command effective before the latest served reading is refused, so registers never change afterwards.
import { decodeReadingRecord, encodeReadingRecord, type MeterReading } from "@sidegrid/osgp-codec";
import { ApplianceBank, type ApplianceCommand, type ApplianceState, type CommandApplianceParameters } from "./appliances";
import type { Clock } from "./clock";
import { InvalidArgumentError } from "./errors";
import { hash4 } from "./prng";
import { integrateMinutes, makeLoadProfile, minuteSample, type LoadProfile, type LoadProfileKind } from "./profiles";
import { IDENTIFICATION_LAYOUT, MAX_LOG_RECORDS_PER_FRAME, asciiField } from "@sidegrid/osgp-codec";
import { OsgpDevice, encodeLogView, type MeterSuiteName } from "./osgpDevice";

/** Ways a simulated meter can be told to misbehave (all off by default). */
export interface MeterBehaviour {
  /** Corrupt the authentication tag (aes-gcm) or digest (legacy) of every response. */
  badDigest?: boolean;
  /** Answer with the previous response again: old response sequence number, old content. */
  replay?: boolean;
  /** Serve two already acknowledged records again, with altered values, before the new ones. */
  replayRecords?: boolean;
  /** Registers of records generated while set run this many Wh below the true value. */
  backwardsWh?: number;
  /** Receive but never answer. */
  silent?: boolean;
  /** Offset of the meter clock from true (simulated) time, in ms. */
  clockDriftMs?: number;
  /** Skip one reading sequence number after every `gapEvery` records (0 = never). */
  gapEvery?: number;
  /**
   * The active energy registers advance by this share of the energy actually measured (1 = honest;
   * 0.5 = a tampered register that counts half), while the recorded power stays true.
   */
  energyScale?: number;
}

export type { MeterSuiteName };

export interface SimulatedMeterParameters {
  meterId: number;
  seed: string | number;
  clock: Clock;
  /** Master key the aes-gcm meter key is derived from (16 or 32 bytes). */
  masterKey?: Uint8Array;
  suite?: MeterSuiteName;
  /** 16-byte MEP key for the legacy suite. */
  legacyKey?: Uint8Array;
  kind?: LoadProfileKind;
  prosumerShare?: number;
  /** Load-profile interval (default 900 s). Must divide a day into whole minutes. */
  intervalSeconds?: number;
  /** Records kept in the log ring (default 192 = two days of 15-minute records). */
  capacity?: number;
  /** Records per full read of ET161 (default 64). */
  maxRecordsPerRead?: number;
  /** First interval start (simulated ms); default: the current interval, i.e. installed now. */
  installedAtMs?: number;
  behaviour?: MeterBehaviour;
  /** The acknowledged log position a restarted meter kept (default 0: nothing acknowledged yet). */
  ackedSeq?: number;
  /** Where a restarted meter's response numbers resume (its kept reservation); default: a start derived from the seed. */
  responseSeqStart?: number;
}

interface Registers {
  importWh: number;
  exportWh: number;
  rImportVarh: number;
  rExportVarh: number;
}

interface LogEntry {
  seq: number;
  record: Uint8Array;
}

export interface SimulatedMeterStatus {
  meterId: number;
  kind: LoadProfileKind;
  suite: MeterSuiteName;
  newestSeq: number;
  ackedSeq: number;
  /** Records generated and not acknowledged (including those lost to ring overflow). */
  unacknowledged: number;
  requests: number;
  behaviour: MeterBehaviour;
  registers: Registers;
}

const MINUTE = 60_000;
/** How far ahead of the simulated now a command may be scheduled. */
const COMMAND_HORIZON_MS = 7 * 86_400_000;

/**
 * A simulated meter answering OSGP frames.
 * @example
 * const meter = new SimulatedMeter({ meterId: 1, seed: "demo", clock, masterKey });
 * const response = meter.handleFrame(requestFrame); // null when the meter is silent
 */
export class SimulatedMeter {
  readonly meterId: number;
  readonly profile: LoadProfile;
  readonly suiteName: MeterSuiteName;
  readonly intervalMs: number;
  readonly capacity: number;
  readonly maxRecordsPerRead: number;
  behaviour: MeterBehaviour;
  private readonly clock: Clock;
  private readonly device: OsgpDevice;
  private nextInterval: number;
  private nextReadingSeq = 1;
  private newestSeq = 0;
  private ackedSeq = 0;
  private readonly registers: Registers;
  private readonly ring: (LogEntry | undefined)[];
  private ringCount = 0;
  private ringHead = 0;
  private recordsSinceGap = 0;
  private readonly identification: Uint8Array;
  private readonly bank: ApplianceBank;
  private readonly controlOf = (minute: number) => this.bank.control(minute);

  constructor(params: SimulatedMeterParameters) {
    const { meterId, clock } = params;
    if (!Number.isInteger(meterId) || meterId < 0 || meterId > 0xffffffff) throw new InvalidArgumentError("meterId", meterId, "an integer in 0..2^32-1");
    this.meterId = meterId;
    this.clock = clock;
    this.profile = makeLoadProfile({
      seed: params.seed,
      meterId,
      ...(params.kind !== undefined ? { kind: params.kind } : {}),
      ...(params.prosumerShare !== undefined ? { prosumerShare: params.prosumerShare } : {}),
    });
    const intervalSeconds = params.intervalSeconds ?? 900;
    if (!Number.isInteger(intervalSeconds) || intervalSeconds < 60 || intervalSeconds % 60 !== 0 || 86400 % intervalSeconds !== 0) {
      throw new InvalidArgumentError("intervalSeconds", intervalSeconds, "whole minutes dividing a day (60, 300, 900, 3600, ...)");
    }
    this.intervalMs = intervalSeconds * 1000;
    this.capacity = params.capacity ?? 192;
    this.maxRecordsPerRead = Math.min(params.maxRecordsPerRead ?? 64, MAX_LOG_RECORDS_PER_FRAME);
    this.behaviour = { ...(params.behaviour ?? {}) };
    const s = this.profile.seed;
    this.device = new OsgpDevice({
      meterId,
      ...(params.suite !== undefined ? { suite: params.suite } : {}),
      ...(params.masterKey !== undefined ? { masterKey: params.masterKey } : {}),
      ...(params.legacyKey !== undefined ? { legacyKey: params.legacyKey } : {}),
      // Counters start somewhere random (as a deployed meter's would), deterministically.
      requestSeqStart: hash4(s, meterId, 0x53455157, 1) >>> 1,
      responseSeqStart: params.responseSeqStart ?? hash4(s, meterId, 0x52535051, 2) >>> 1,
      maxRecordsPerRead: this.maxRecordsPerRead,
      tables: {
        identification: () => this.identification,
        currentRecord: () => this.currentRecord(),
        logView: (limit) => this.logView(limit),
        acknowledge: (ackedSeq) => this.acknowledge(ackedSeq),
      },
      faults: () => this.behaviour,
    });
    this.suiteName = this.device.suiteName;
    if (params.ackedSeq !== undefined) {
      if (!Number.isInteger(params.ackedSeq) || params.ackedSeq < 0) throw new InvalidArgumentError("ackedSeq", params.ackedSeq, "an integer ≥ 0");
      this.ackedSeq = params.ackedSeq;
    }
    const installedAt = params.installedAtMs ?? clock.now();
    this.nextInterval = Math.floor(installedAt / this.intervalMs);
    this.bank = new ApplianceBank({ profile: this.profile, acceptFromMs: this.nextInterval * this.intervalMs });
    // Installed meters already carry some energy on their registers.
    this.registers = {
      importWh: 1000 + (hash4(s, meterId, 0x52454731, 3) % 5_000_000),
      exportWh: this.profile.pvPeakW > 0 ? hash4(s, meterId, 0x52454732, 4) % 2_000_000 : 0,
      rImportVarh: hash4(s, meterId, 0x52454733, 5) % 500_000,
      rExportVarh: 0,
    };
    this.ring = new Array(this.capacity);
    this.identification = IDENTIFICATION_LAYOUT.encode({
      manufacturer: asciiField("SGPI", 4),
      model: asciiField(this.profile.phases === 3 ? "PI-M3" : "PI-M1", 8),
      hwVersion: 1,
      hwRevision: 0,
      fwVersion: 1,
      fwRevision: 2,
      serial: asciiField(`SG${meterId.toString().padStart(10, "0")}`, 16),
    });
  }

  /** The newest sequence number the reader acknowledged (what a restart must keep). */
  get acknowledged(): number {
    return this.ackedSeq;
  }

  /** The number the meter's next response carries. */
  get nextResponseSeq(): number {
    return this.device.nextResponseSeq;
  }

  /** Changes behaviour (merged into the current one; pass `false`/0 to turn a fault off). */
  setBehaviour(b: MeterBehaviour): void {
    this.behaviour = { ...this.behaviour, ...b };
  }

  status(): SimulatedMeterStatus {
    this.catchUp();
    return {
      meterId: this.meterId,
      kind: this.profile.kind,
      suite: this.suiteName,
      newestSeq: this.newestSeq,
      ackedSeq: this.ackedSeq,
      unacknowledged: this.newestSeq - this.ackedSeq,
      requests: this.device.requests,
      behaviour: { ...this.behaviour },
      registers: { ...this.registers },
    };
  }

  /**
   * Commands one of the household's controllable appliances (washer, ev, heat_pump, battery) from
   * `atMs` on (default: now) and returns the device's state in that minute. Refused with
   * `ApplianceCommandInPastError` when `atMs` is before the latest reading the meter served.
   * @example
   * meter.commandAppliance({ device: "ev", action: "on", atMs: Date.UTC(2025, 5, 2, 18) }).powerW // 7400 on 3 phases
   */
  commandAppliance(params: CommandApplianceParameters): ApplianceState {
    const now = this.clock.now();
    // Only a missing atMs means now: a null or a string is refused by the bank's checks.
    const atMs = params.atMs === undefined ? now : params.atMs;
    if (typeof atMs === "number" && atMs > now + COMMAND_HORIZON_MS) throw new InvalidArgumentError("atMs", atMs, `at most 7 days after the simulated now (${new Date(now).toISOString()})`);
    return this.bank.command({ ...params, atMs });
  }

  /** Every controllable appliance's state (mode, power, energies, commands so far) at `atMs` (default: now). */
  appliances(atMs: number = this.clock.now()): ApplianceState[] {
    if (!Number.isFinite(atMs)) throw new InvalidArgumentError("atMs", atMs, "a finite simulated Unix time in ms");
    return this.bank.states(atMs);
  }

  /** Every appliance command this meter accepted, in effect order. */
  applianceCommands(): ApplianceCommand[] {
    return this.bank.commands();
  }

  /** Meter clock: true simulated time plus the configured drift. */
  meterClock(): number {
    return this.clock.now() + (this.behaviour.clockDriftMs ?? 0);
  }

  /**
   * Handles one request frame and returns the response frame, or null when the meter stays silent
   * (misbehaviour, or a request that does not authenticate: an aes-gcm meter cannot answer those).
   */
  handleFrame(frame: Uint8Array): Uint8Array | null {
    return this.device.handleFrame(frame);
  }

  private acknowledge(ackedSeq: number): boolean {
    this.catchUp();
    if (ackedSeq > this.newestSeq) return false;
    if (ackedSeq > this.ackedSeq) this.ackedSeq = ackedSeq;
    return true;
  }

  /** Generates every interval that has ended by now (true simulated time). */
  private catchUp(): void {
    const now = this.clock.now();
    const lastComplete = Math.floor(now / this.intervalMs); // intervals before this index have ended
    const perInterval = this.intervalMs / MINUTE;
    // A meter left alone for very long: only the newest `capacity` records can survive anyway, so
    // integrate the older ones without encoding them.
    while (this.nextInterval < lastComplete) {
      const k = this.nextInterval++;
      const e = integrateMinutes(this.profile, k * perInterval, perInterval, this.bank.commanded ? this.controlOf : undefined);
      const scale = this.behaviour.energyScale ?? 1;
      this.registers.importWh += e.importWh * scale;
      this.registers.exportWh += e.exportWh * scale;
      this.registers.rImportVarh += e.reactiveImportVarh;
      this.registers.rExportVarh += e.reactiveExportVarh;
      if (this.behaviour.gapEvery && this.behaviour.gapEvery > 0 && ++this.recordsSinceGap >= this.behaviour.gapEvery) {
        this.recordsSinceGap = 0;
        this.nextReadingSeq++; // a lost record: the counter moves on without it
      }
      const seq = this.nextReadingSeq++;
      if (lastComplete - k > this.capacity) continue; // would be overwritten before anyone reads it
      const endMs = (k + 1) * this.intervalMs;
      const record = encodeReadingRecord(this.reading(seq, endMs + (this.behaviour.clockDriftMs ?? 0), e.meanNetW, e.meanReactiveVar, e.meanVoltageV, e.lastFrequencyHz));
      this.push({ seq, record });
      this.newestSeq = seq;
    }
    if (this.nextReadingSeq - 1 > this.newestSeq) this.newestSeq = this.nextReadingSeq - 1;
    // Registers up to here are final: no appliance command may act before this minute any more.
    this.bank.freeze(this.nextInterval * perInterval);
  }

  private reading(seq: number, clockMs: number, netW: number, reactiveVar: number, voltageV: number, frequencyHz: number): MeterReading {
    const back = this.behaviour.backwardsWh ?? 0;
    const p = this.profile;
    const s = Math.hypot(netW, reactiveVar);
    const pf = s > 0 ? netW / s : 1;
    const phases = p.phaseShares.map((share, i) => {
      const v = voltageV + (i - 1) * 0.4;
      const pw = netW * share;
      const q = reactiveVar * share;
      return {
        voltageV: round(v, 100),
        currentA: round(Math.hypot(pw, q) / v, 1000),
        activePowerW: round(pw, 1000),
        reactivePowerVar: round(q, 1000),
        powerFactor: round(pf, 10000),
      };
    });
    return {
      meterId: this.meterId,
      sequence: seq,
      clockMs: Math.max(0, Math.round(clockMs)),
      activeEnergyImportWh: Math.max(0, Math.floor(this.registers.importWh - back)),
      activeEnergyExportWh: Math.floor(this.registers.exportWh),
      reactiveEnergyImportVarh: Math.floor(this.registers.rImportVarh),
      reactiveEnergyExportVarh: Math.floor(this.registers.rExportVarh),
      activePowerW: round(netW, 1000),
      reactivePowerVar: round(reactiveVar, 1000),
      frequencyHz: round(frequencyHz, 1000),
      powerFactor: round(pf, 10000),
      phases,
      flags: {
        terminalCoverOpen: false,
        caseOpen: false,
        magneticField: false,
        reverseEnergy: false,
        phaseLoss: false,
        clockInvalid: false,
        batteryLow: false,
        selfTestFailed: false,
      },
      tamperEvents: 0,
      powerOutages: 0,
    };
  }

  private push(entry: LogEntry): void {
    const idx = (this.ringHead + this.ringCount) % this.capacity;
    this.ring[idx] = entry;
    if (this.ringCount < this.capacity) this.ringCount++;
    else this.ringHead = (this.ringHead + 1) % this.capacity;
  }

  private logView(limit: number): Uint8Array {
    this.catchUp();
    const picked: Uint8Array[] = [];
    if (this.behaviour.replayRecords) {
      // Two acknowledged records again, with a few Wh added: what a tampered meter might send.
      for (let i = 0; i < this.ringCount && picked.length < 2; i++) {
        const e = this.ring[(this.ringHead + i) % this.capacity]!;
        if (e.seq <= this.ackedSeq && e.seq > this.ackedSeq - 2) {
          const copy = e.record.slice();
          copy[20] = (copy[20] + 7) & 0xff;
          picked.push(copy);
        }
      }
    }
    for (let i = 0; i < this.ringCount && picked.length < limit; i++) {
      const e = this.ring[(this.ringHead + i) % this.capacity]!;
      if (e.seq > this.ackedSeq) picked.push(e.record);
    }
    return encodeLogView({ records: picked, newestSeq: this.newestSeq, ackedSeq: this.ackedSeq, intervalSeconds: this.intervalMs / 1000, clockMs: this.meterClock() });
  }

  /**
   * The interval records the meter still holds, oldest first, decoded: what a DLMS front end
   * serves as its load profile (same household model, same registers as over OSGP).
   */
  loggedReadings(): MeterReading[] {
    this.catchUp();
    const out: MeterReading[] = [];
    for (let i = 0; i < this.ringCount; i++) out.push(decodeReadingRecord(this.ring[(this.ringHead + i) % this.capacity]!.record));
    return out;
  }

  /** Instantaneous values of the current minute and the registers up to it, decoded. */
  currentReading(): MeterReading {
    return decodeReadingRecord(this.currentRecord());
  }

  /** ET160: instantaneous values of the current minute and the registers up to it. */
  private currentRecord(): Uint8Array {
    this.catchUp();
    const now = this.clock.now();
    const perInterval = this.intervalMs / MINUTE;
    const startMinute = this.nextInterval * perInterval;
    const nowMinute = Math.floor(now / MINUTE);
    const control = this.bank.commanded ? this.controlOf : undefined;
    const partial = integrateMinutes(this.profile, startMinute, Math.max(0, nowMinute - startMinute), control);
    const sample = minuteSample(this.profile, nowMinute, control?.(nowMinute));
    // The registers just served cover the minutes before `nowMinute`.
    this.bank.freeze(nowMinute);
    const saved = { ...this.registers };
    this.registers.importWh += partial.importWh;
    this.registers.exportWh += partial.exportWh;
    this.registers.rImportVarh += partial.reactiveImportVarh;
    this.registers.rExportVarh += partial.reactiveExportVarh;
    try {
      return encodeReadingRecord(this.reading(this.newestSeq, now + (this.behaviour.clockDriftMs ?? 0), sample.netW, sample.reactiveVar, sample.voltageV, sample.frequencyHz));
    } finally {
      Object.assign(this.registers, saved);
    }
  }
}

function round(x: number, scale: number): number {
  return Math.round(x * scale) / scale;
}

