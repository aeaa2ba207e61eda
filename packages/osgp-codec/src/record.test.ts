import * as fs from "node:fs";
import * as path from "node:path";
import fc from "fast-check";
import { omaBlockSize } from "./digest";
import { FieldRangeError, InvalidArgumentError, LengthMismatchError } from "./errors";
import { bytesToHex } from "./hex";
import {
  READING_RECORD_LAYOUT,
  READING_RECORD_RESERVED,
  READING_RECORD_SIZE,
  READING_TABLE_ID,
  STATUS_FLAG_BITS,
  decodeReadingRecord,
  encodeReadingRecord,
  type MeterReading,
} from "./record";

const SIZES = { u8: 1, u16le: 2, i16le: 2, u32le: 4, i32le: 4, u64le: 8 } as Record<string, number>;

const sample: MeterReading = {
  meterId: 0x01020304,
  sequence: 77,
  clockMs: 1_700_000_000_123,
  activeEnergyImportWh: 12_345_678,
  activeEnergyExportWh: 4_321,
  reactiveEnergyImportVarh: 55,
  reactiveEnergyExportVarh: 66,
  activePowerW: 2301.5,
  reactivePowerVar: -120.25,
  frequencyHz: 49.987,
  powerFactor: 0.9871,
  phases: [{ voltageV: 230.12, currentA: 10.002, activePowerW: 2301.5, reactivePowerVar: -120.25, powerFactor: 0.9871 }],
  flags: { terminalCoverOpen: false, caseOpen: true, magneticField: false, reverseEnergy: false, phaseLoss: false, clockInvalid: false, batteryLow: true, selfTestFailed: false },
  tamperEvents: 3,
  powerOutages: 9,
};

describe("the 144-byte reading record (ET160)", () => {
  it("is one OMA digest block for a 96-bit key and lives in ET160 = 0x08A0", () => {
    expect(READING_RECORD_SIZE).toBe(omaBlockSize(12));
    expect(READING_TABLE_ID).toBe(0x08a0);
  });

  it("its layout table is contiguous, non-overlapping and exactly 144 bytes with the reserved tail", () => {
    let next = 0;
    for (const f of READING_RECORD_LAYOUT) {
      expect([f.name, f.offset]).toEqual([f.name, next]);
      next += SIZES[f.type];
    }
    expect(next).toBe(READING_RECORD_RESERVED.offset);
    expect(next + READING_RECORD_RESERVED.size).toBe(READING_RECORD_SIZE);
  });

  it("the README's offsets table is this layout table", () => {
    const readme = fs.readFileSync(path.join(__dirname, "..", "README.md"), "utf8");
    const rows = [...readme.matchAll(/^\| (\d+) \| (\d+) \| `([\w.]+)` \| (\w+) \|/gm)].map((m) => [Number(m[1]), Number(m[2]), m[3], m[4]]);
    expect(rows).toEqual(READING_RECORD_LAYOUT.map((f) => [f.offset, SIZES[f.type], f.name, f.type]));
  });

  it("writes each field LSB first at its documented offset, in its documented unit", () => {
    const bytes = encodeReadingRecord(sample);
    const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
    expect(bytes.length).toBe(144);
    expect(v.getUint8(0)).toBe(1); // version
    expect(v.getUint8(1)).toBe(1); // one phase
    expect(v.getUint16(2, true)).toBe((1 << STATUS_FLAG_BITS.caseOpen) | (1 << STATUS_FLAG_BITS.batteryLow));
    expect(v.getUint32(4, true)).toBe(0x01020304);
    expect(v.getUint32(8, true)).toBe(77);
    expect(v.getBigUint64(12, true)).toBe(1_700_000_000_123n);
    expect(v.getBigUint64(20, true)).toBe(12_345_678n);
    expect(v.getBigUint64(28, true)).toBe(4_321n);
    expect(v.getBigUint64(36, true)).toBe(55n);
    expect(v.getBigUint64(44, true)).toBe(66n);
    expect(v.getInt32(52, true)).toBe(2_301_500); // mW
    expect(v.getInt32(56, true)).toBe(-120_250); // mvar
    expect(v.getUint16(60, true)).toBe(49_987); // mHz
    expect(v.getInt16(62, true)).toBe(9_871); // 1e-4
    expect(v.getUint16(64, true)).toBe(23_012); // 10 mV
    expect(v.getInt16(66, true)).toBe(9_871);
    expect(v.getUint32(68, true)).toBe(10_002); // mA
    expect(v.getInt32(72, true)).toBe(2_301_500);
    expect(v.getInt32(76, true)).toBe(-120_250);
    expect(bytesToHex(bytes.subarray(80, 112))).toBe("00".repeat(32)); // absent phases
    expect(v.getUint32(112, true)).toBe(3);
    expect(v.getUint32(116, true)).toBe(9);
    expect(bytesToHex(bytes.subarray(120))).toBe("00".repeat(24));
    expect(decodeReadingRecord(bytes)).toEqual(sample);
  });

  it("decode(encode(x)) = x for any reading on the wire grid", () => {
    const grid = (min: number, max: number, divisor: number) => fc.integer({ min, max }).map((n) => n / divisor);
    const i32 = (d: number) => grid(-0x80000000, 0x7fffffff, d);
    const phase = fc.record({
      voltageV: grid(0, 0xffff, 100),
      currentA: grid(0, 0xffffffff, 1000),
      activePowerW: i32(1000),
      reactivePowerVar: i32(1000),
      powerFactor: grid(-0x8000, 0x7fff, 10000),
    });
    const flags = fc.record(Object.fromEntries(Object.keys(STATUS_FLAG_BITS).map((k) => [k, fc.boolean()])) as Record<keyof typeof STATUS_FLAG_BITS, fc.Arbitrary<boolean>>);
    const reading = fc.record({
      meterId: fc.nat({ max: 0xffffffff }),
      sequence: fc.nat({ max: 0xffffffff }),
      clockMs: fc.maxSafeNat(),
      activeEnergyImportWh: fc.maxSafeNat(),
      activeEnergyExportWh: fc.maxSafeNat(),
      reactiveEnergyImportVarh: fc.maxSafeNat(),
      reactiveEnergyExportVarh: fc.maxSafeNat(),
      activePowerW: i32(1000),
      reactivePowerVar: i32(1000),
      frequencyHz: grid(0, 0xffff, 1000),
      powerFactor: grid(-0x8000, 0x7fff, 10000),
      phases: fc.array(phase, { minLength: 1, maxLength: 3 }),
      flags,
      tamperEvents: fc.nat({ max: 0xffffffff }),
      powerOutages: fc.nat({ max: 0xffffffff }),
    });
    fc.assert(
      fc.property(reading, (r) => {
        expect(decodeReadingRecord(encodeReadingRecord(r))).toEqual(r);
      }),
    );
  });

  it("rounds to the wire resolution (10 mV, mA, mW, mHz, 1e-4)", () => {
    const r = decodeReadingRecord(encodeReadingRecord({ ...sample, frequencyHz: 50.00049, phases: [{ ...sample.phases[0], voltageV: 229.996 }] }));
    expect(r.frequencyHz).toBe(50);
    expect(r.phases[0].voltageV).toBe(230);
  });

  it("ignores reserved bytes and reserved status bits on read", () => {
    const bytes = encodeReadingRecord(sample);
    bytes[143] = 0xff;
    bytes[3] |= 0x80;
    expect(decodeReadingRecord(bytes)).toEqual(sample);
  });

  it("rejects wrong sizes, versions and phase counts on read", () => {
    expect(() => decodeReadingRecord(new Uint8Array(143))).toThrow(LengthMismatchError);
    const bytes = encodeReadingRecord(sample);
    bytes[0] = 2;
    expect(() => decodeReadingRecord(bytes)).toThrow(expect.objectContaining({ code: "FIELD_RANGE", field: "ET160.version", value: 2 }));
    bytes[0] = 1;
    bytes[1] = 4;
    expect(() => decodeReadingRecord(bytes)).toThrow(FieldRangeError);
    bytes[1] = 1;
    bytes[27] = 0xff; // energy import above 2^53
    expect(() => decodeReadingRecord(bytes)).toThrow(FieldRangeError);
  });

  it("rejects values the wire cannot carry on write, naming the field", () => {
    expect(() => encodeReadingRecord({ ...sample, activeEnergyImportWh: 1.5 })).toThrow(expect.objectContaining({ argument: "activeEnergyImportWh" }));
    expect(() => encodeReadingRecord({ ...sample, phases: [{ ...sample.phases[0], voltageV: 700 }] })).toThrow(expect.objectContaining({ argument: "l1.voltageV" }));
    expect(() => encodeReadingRecord({ ...sample, frequencyHz: Number.NaN })).toThrow(InvalidArgumentError);
    expect(() => encodeReadingRecord({ ...sample, phases: [] })).toThrow(expect.objectContaining({ argument: "phases" }));
    expect(() => encodeReadingRecord({ ...sample, activePowerW: -3_000_000 })).toThrow(InvalidArgumentError);
  });
});
