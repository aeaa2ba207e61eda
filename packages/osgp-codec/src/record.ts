// The Sidegrid Pi meter reading record: one table of 144 bytes — exactly one OMA digest block with
// a 96-bit key. It lives in manufacturer table ET160 (table id 2048 + 160 = 0x08A0), above the
// ET01–ET98 range the MEP guide assigns. Its groups mirror C12.19's standard tables: energy
// registers (BT23), present values (BT28), clock (BT52), status (BT03). Table data is LSB first.
import { FieldRangeError, InvalidArgumentError, LengthMismatchError } from "./errors";
import { readInt, writeInt, type IntegerType } from "./layout";
import { tableId } from "./tableId";

export const READING_TABLE_NUMBER = 160;
export const READING_TABLE_ID = tableId({ number: READING_TABLE_NUMBER, extended: true });
export const READING_RECORD_SIZE = 144;
export const READING_RECORD_VERSION = 1;

export interface PhaseReading {
  voltageV: number;
  currentA: number;
  /** Positive = import. */
  activePowerW: number;
  reactivePowerVar: number;
  powerFactor: number;
}

/** Status word bits (bits 8–15 reserved: written 0, ignored on read). */
export const STATUS_FLAG_BITS = {
  terminalCoverOpen: 0,
  caseOpen: 1,
  magneticField: 2,
  reverseEnergy: 3,
  phaseLoss: 4,
  clockInvalid: 5,
  batteryLow: 6,
  selfTestFailed: 7,
} as const;

export type MeterStatusFlags = { -readonly [K in keyof typeof STATUS_FLAG_BITS]: boolean };

export interface MeterReading {
  meterId: number;
  /** The meter's reading counter (not the frame sequence number). */
  sequence: number;
  /** Meter clock, Unix time in milliseconds (UTC). */
  clockMs: number;
  activeEnergyImportWh: number;
  activeEnergyExportWh: number;
  reactiveEnergyImportVarh: number;
  reactiveEnergyExportVarh: number;
  /** Total over phases; positive = import. */
  activePowerW: number;
  reactivePowerVar: number;
  frequencyHz: number;
  powerFactor: number;
  /** L1..L3; 1 to 3 entries. */
  phases: PhaseReading[];
  flags: MeterStatusFlags;
  tamperEvents: number;
  powerOutages: number;
}

type TopKey = Exclude<keyof MeterReading, "phases" | "flags">;
type RecordKey = TopKey | "version" | "phaseCount" | "status";

export interface ReadingRecordField {
  readonly offset: number;
  readonly name: string;
  readonly type: IntegerType;
  /** wire integer / divisor = value in `unit`. */
  readonly divisor: number;
  readonly unit: string;
  readonly description: string;
  /** Top-level MeterReading key, or the PhaseReading key of `phase`. */
  readonly key: RecordKey | keyof PhaseReading;
  readonly phase?: 1 | 2 | 3;
}

function phaseFields(phase: 1 | 2 | 3, base: number): ReadingRecordField[] {
  return [
    { offset: base, name: `l${phase}.voltageV`, type: "u16le", divisor: 100, unit: "V", description: `L${phase} RMS voltage, 10 mV steps`, key: "voltageV", phase },
    { offset: base + 2, name: `l${phase}.powerFactor`, type: "i16le", divisor: 10000, unit: "", description: `L${phase} power factor, 1e-4 steps`, key: "powerFactor", phase },
    { offset: base + 4, name: `l${phase}.currentA`, type: "u32le", divisor: 1000, unit: "A", description: `L${phase} RMS current, mA`, key: "currentA", phase },
    { offset: base + 8, name: `l${phase}.activePowerW`, type: "i32le", divisor: 1000, unit: "W", description: `L${phase} active power, mW, + import`, key: "activePowerW", phase },
    { offset: base + 12, name: `l${phase}.reactivePowerVar`, type: "i32le", divisor: 1000, unit: "var", description: `L${phase} reactive power, mvar`, key: "reactivePowerVar", phase },
  ];
}

/** The record layout: offsets, wire types, unit conversion. README "Reading record" is this table. */
export const READING_RECORD_LAYOUT: readonly ReadingRecordField[] = [
  { offset: 0, name: "version", type: "u8", divisor: 1, unit: "", description: "layout version, 1", key: "version" },
  { offset: 1, name: "phaseCount", type: "u8", divisor: 1, unit: "", description: "phases present, 1..3", key: "phaseCount" },
  { offset: 2, name: "status", type: "u16le", divisor: 1, unit: "bits", description: "status/tamper flags, see STATUS_FLAG_BITS", key: "status" },
  { offset: 4, name: "meterId", type: "u32le", divisor: 1, unit: "", description: "meter id", key: "meterId" },
  { offset: 8, name: "sequence", type: "u32le", divisor: 1, unit: "", description: "reading counter", key: "sequence" },
  { offset: 12, name: "clockMs", type: "u64le", divisor: 1, unit: "ms", description: "meter clock, Unix ms UTC", key: "clockMs" },
  { offset: 20, name: "activeEnergyImportWh", type: "u64le", divisor: 1, unit: "Wh", description: "cumulative active energy import", key: "activeEnergyImportWh" },
  { offset: 28, name: "activeEnergyExportWh", type: "u64le", divisor: 1, unit: "Wh", description: "cumulative active energy export", key: "activeEnergyExportWh" },
  { offset: 36, name: "reactiveEnergyImportVarh", type: "u64le", divisor: 1, unit: "varh", description: "cumulative reactive energy import", key: "reactiveEnergyImportVarh" },
  { offset: 44, name: "reactiveEnergyExportVarh", type: "u64le", divisor: 1, unit: "varh", description: "cumulative reactive energy export", key: "reactiveEnergyExportVarh" },
  { offset: 52, name: "activePowerW", type: "i32le", divisor: 1000, unit: "W", description: "total active power, mW, + import", key: "activePowerW" },
  { offset: 56, name: "reactivePowerVar", type: "i32le", divisor: 1000, unit: "var", description: "total reactive power, mvar", key: "reactivePowerVar" },
  { offset: 60, name: "frequencyHz", type: "u16le", divisor: 1000, unit: "Hz", description: "network frequency, mHz", key: "frequencyHz" },
  { offset: 62, name: "powerFactor", type: "i16le", divisor: 10000, unit: "", description: "total power factor, 1e-4 steps", key: "powerFactor" },
  ...phaseFields(1, 64),
  ...phaseFields(2, 80),
  ...phaseFields(3, 96),
  { offset: 112, name: "tamperEvents", type: "u32le", divisor: 1, unit: "", description: "tamper events since manufacture", key: "tamperEvents" },
  { offset: 116, name: "powerOutages", type: "u32le", divisor: 1, unit: "", description: "power outages since manufacture", key: "powerOutages" },
];
/** Bytes 120..143 are reserved: written as zero, ignored on read. */
export const READING_RECORD_RESERVED = { offset: 120, size: 24 } as const;

const FLAG_ENTRIES = Object.entries(STATUS_FLAG_BITS) as [keyof MeterStatusFlags, number][];
const SIZE: Record<IntegerType, number> = { u8: 1, u16be: 2, u24be: 3, u32be: 4, u16le: 2, u32le: 4, u64le: 8, i8: 1, i16le: 2, i32le: 4 };
const RANGES: Record<IntegerType, [number, number]> = {
  u8: [0, 0xff],
  u16be: [0, 0xffff],
  u24be: [0, 0xffffff],
  u32be: [0, 0xffffffff],
  u16le: [0, 0xffff],
  u32le: [0, 0xffffffff],
  u64le: [0, Number.MAX_SAFE_INTEGER],
  i8: [-0x80, 0x7f],
  i16le: [-0x8000, 0x7fff],
  i32le: [-0x80000000, 0x7fffffff],
};

interface FieldReader {
  readonly key: string;
  readonly divisor: number;
  readonly read: (b: Uint8Array) => number;
}

/** A reader specialised to one field's offset and type, so decoding does no type dispatch. */
function fieldReader(f: ReadingRecordField): FieldReader {
  const o = f.offset;
  let read: (b: Uint8Array) => number;
  switch (f.type) {
    case "u8":
      read = (b) => b[o];
      break;
    case "u16le":
      read = (b) => b[o] | (b[o + 1] << 8);
      break;
    case "i16le":
      read = (b) => ((b[o] | (b[o + 1] << 8)) << 16) >> 16;
      break;
    case "u32le":
      read = (b) => (b[o] | (b[o + 1] << 8) | (b[o + 2] << 16)) + b[o + 3] * 0x1000000;
      break;
    case "i32le":
      read = (b) => b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24);
      break;
    default:
      read = (b) => readInt(b, o, f.type, "ET160", f.name);
  }
  return { key: f.key, divisor: f.divisor, read };
}

// The table split once by destination, so decoding is a loop of reads into fixed-shape objects.
const HEADER_KEYS = new Set<string>(["version", "phaseCount", "status"]);
const TOP_FIELDS = READING_RECORD_LAYOUT.filter((f) => f.phase === undefined && !HEADER_KEYS.has(f.key)).map(fieldReader);
const PHASE_FIELDS = [1, 2, 3].map((p) => READING_RECORD_LAYOUT.filter((f) => f.phase === p).map(fieldReader));
const FIELD = Object.fromEntries(READING_RECORD_LAYOUT.map((f) => [f.name, f])) as Record<string, ReadingRecordField>;
{
  // The table must tile bytes 0..119 exactly; checked once at load so a bad edit fails loudly.
  let next = 0;
  for (const f of READING_RECORD_LAYOUT) {
    if (f.offset !== next) throw new Error(`ET160 layout: ${f.name} at ${f.offset}, expected ${next}`);
    next += SIZE[f.type];
  }
  if (next !== READING_RECORD_RESERVED.offset || next + READING_RECORD_RESERVED.size !== READING_RECORD_SIZE) throw new Error("ET160 layout size");
}

function toWire(f: ReadingRecordField, value: unknown): number {
  const [min, max] = RANGES[f.type];
  const raw = typeof value === "number" && Number.isFinite(value) ? Math.round(value * f.divisor) : NaN;
  if (!(raw >= min && raw <= max) || (f.divisor === 1 && raw !== value)) {
    throw new InvalidArgumentError(f.name, value, `${f.divisor === 1 ? "an integer" : "a number"} in ${min / f.divisor}..${max / f.divisor}${f.unit ? ` ${f.unit}` : ""}`);
  }
  return raw;
}

/**
 * Encodes a reading into the 144-byte ET160 record (units converted, reserved bytes zero).
 * @example
 * encodeReadingRecord(reading).length // 144
 */
export function encodeReadingRecord(reading: MeterReading): Uint8Array {
  if (typeof reading !== "object" || reading === null) throw new InvalidArgumentError("reading", reading, "a MeterReading");
  const phases = reading.phases;
  if (!Array.isArray(phases) || phases.length < 1 || phases.length > 3) throw new InvalidArgumentError("phases", phases, "1 to 3 phase readings");
  const flags = reading.flags;
  if (typeof flags !== "object" || flags === null) throw new InvalidArgumentError("flags", flags, "MeterStatusFlags");
  let status = 0;
  for (const [name, bit] of FLAG_ENTRIES) if (flags[name]) status |= 1 << bit;
  const out = new Uint8Array(READING_RECORD_SIZE);
  for (const f of READING_RECORD_LAYOUT) {
    let value: unknown;
    if (f.phase !== undefined) {
      const p = phases[f.phase - 1];
      value = p === undefined ? 0 : (p as unknown as Record<string, unknown>)[f.key];
    } else if (f.key === "version") value = READING_RECORD_VERSION;
    else if (f.key === "phaseCount") value = phases.length;
    else if (f.key === "status") value = status;
    else value = reading[f.key as TopKey];
    writeInt(out, f.offset, f.type, toWire(f, value));
  }
  return out;
}

/**
 * Decodes a 144-byte ET160 record into a reading in SI-ish units.
 * @example
 * decodeReadingRecord(response.data).activeEnergyImportWh
 */
export function decodeReadingRecord(data: Uint8Array): MeterReading {
  if (!(data instanceof Uint8Array)) throw new InvalidArgumentError("data", data, "bytes (Uint8Array)");
  if (data.length !== READING_RECORD_SIZE) throw new LengthMismatchError("ET160 record", READING_RECORD_SIZE, data.length);
  const version = readInt(data, FIELD.version.offset, FIELD.version.type);
  if (version !== READING_RECORD_VERSION) throw new FieldRangeError("ET160.version", version, `${READING_RECORD_VERSION}`);
  const phaseCount = readInt(data, FIELD.phaseCount.offset, FIELD.phaseCount.type);
  if (phaseCount < 1 || phaseCount > 3) throw new FieldRangeError("ET160.phaseCount", phaseCount, "1..3");
  const status = readInt(data, FIELD.status.offset, FIELD.status.type);
  const flags = {} as MeterStatusFlags;
  for (const [name, bit] of FLAG_ENTRIES) flags[name] = ((status >> bit) & 1) === 1;
  const phases: PhaseReading[] = [];
  for (let p = 0; p < phaseCount; p++) {
    const phase: PhaseReading = { voltageV: 0, currentA: 0, activePowerW: 0, reactivePowerVar: 0, powerFactor: 0 };
    const fields = PHASE_FIELDS[p];
    for (let i = 0; i < fields.length; i++) (phase as unknown as Record<string, number>)[fields[i].key] = fields[i].read(data) / fields[i].divisor;
    phases.push(phase);
  }
  // A literal of the full shape first, so every reading shares one hidden class.
  const reading: MeterReading = {
    meterId: 0,
    sequence: 0,
    clockMs: 0,
    activeEnergyImportWh: 0,
    activeEnergyExportWh: 0,
    reactiveEnergyImportVarh: 0,
    reactiveEnergyExportVarh: 0,
    activePowerW: 0,
    reactivePowerVar: 0,
    frequencyHz: 0,
    powerFactor: 0,
    phases,
    flags,
    tamperEvents: 0,
    powerOutages: 0,
  };
  for (let i = 0; i < TOP_FIELDS.length; i++) {
    const f = TOP_FIELDS[i];
    (reading as unknown as Record<string, number>)[f.key] = f.read(data) / f.divisor;
  }
  return reading;
}
