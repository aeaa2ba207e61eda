import fc from "fast-check";
import { FieldRangeError, InvalidArgumentError, LengthMismatchError, TruncatedFrameError } from "./errors";
import { bytesToHex, hexToBytes } from "./hex";
import { compileLayout } from "./layout";

describe("compileLayout", () => {
  const header = compileLayout("hdr", [
    { name: "tableId", type: "u16be" },
    { name: "offset", type: "u24be" },
    { name: "seq", type: "u32be" },
    { name: "count", type: "u16be", lengthOf: "data" },
    { name: "data", type: "bytes", length: "count" },
  ] as const);

  it("writes header fields MSB first and derives count from the data", () => {
    const bytes = header.encode({ tableId: 0x0832, offset: 0x1e, seq: 0x77636e2f, data: hexToBytes("01") });
    expect(bytesToHex(bytes)).toBe("083200001e77636e2f000101");
    expect(header.decode(bytes)).toEqual({ tableId: 0x0832, offset: 0x1e, seq: 0x77636e2f, data: hexToBytes("01") });
    expect(header.fixedSize).toBeUndefined();
    expect(header.minSize).toBe(11);
  });

  it("reads table data LSB first, signed and unsigned, and bit parts", () => {
    const data = compileLayout("data", [
      { name: "a", type: "u16le" },
      { name: "b", type: "i16le" },
      { name: "c", type: "u32le" },
      { name: "d", type: "i32le" },
      { name: "e", type: "u64le" },
      { name: "f", type: "i8" },
      { name: "w", type: "u16le", parts: [{ name: "lo", bits: 12 }, { name: "hi", bits: 4 }] },
    ] as const);
    const bytes = hexToBytes("3412 feff 78563412 ffffff7f 0807060504030201 80 1108");
    // The u64 above exceeds 2^53: decoding refuses to round it.
    expect(() => data.decode(bytes)).toThrow(FieldRangeError);
    bytes[19] = 0x00;
    bytes[18] = 0x1f;
    const v = data.decode(bytes);
    expect(v).toEqual({ a: 0x1234, b: -2, c: 0x12345678, d: 0x7fffffff, e: 0x001f030405060708, f: -128, lo: 0x811, hi: 0 });
    expect(bytesToHex(data.encode(v))).toBe(bytesToHex(bytes));
    expect(data.fixedSize).toBe(23);
  });

  it("reports truncation, count mismatch and trailing bytes with the field name", () => {
    expect(() => header.decode(hexToBytes("0832"))).toThrow(expect.objectContaining({ field: "hdr.offset", needed: 3, available: 0 }));
    expect(() => header.decode(hexToBytes("083200001e77636e2f0002 01"))).toThrow(expect.objectContaining({ field: "hdr.count", declared: 2, actual: 1 }));
    expect(() => header.decode(hexToBytes("083200001e77636e2f0001 0102"))).toThrow(LengthMismatchError);
    expect(header.decode(hexToBytes("083200001e77636e2f0001 0102"), 0, 13, false).data).toEqual(hexToBytes("01"));
    expect(() => header.decode(hexToBytes("08"))).toThrow(TruncatedFrameError);
  });

  it("refuses values that do not fit, with InvalidArgumentError", () => {
    expect(() => header.encode({ tableId: 65536, offset: 0, seq: 0, data: new Uint8Array(0) })).toThrow(InvalidArgumentError);
    expect(() => header.encode({ tableId: 1.5, offset: 0, seq: 0, data: new Uint8Array(0) })).toThrow(InvalidArgumentError);
    expect(() => header.encode({ tableId: 1, offset: 0, seq: 0, data: "x" as unknown as Uint8Array })).toThrow(InvalidArgumentError);
  });

  it("rejects malformed layout tables when compiled", () => {
    expect(() => compileLayout("x", [{ name: "data", type: "bytes", length: "count" }] as const)).toThrow(/sized by an earlier field/);
    expect(() => compileLayout("x", [{ name: "a", type: "u8" }, { name: "a", type: "u8" }] as const)).toThrow(/duplicate/);
    expect(() => compileLayout("x", [{ name: "r", type: "rest" }, { name: "a", type: "u8" }] as const)).toThrow(/must be last/);
    expect(() => compileLayout("x", [{ name: "w", type: "u16le", parts: [{ name: "p", bits: 3 }] }] as const)).toThrow(/cover 3 of 16/);
  });

  it("round-trips random values of every integer type", () => {
    const all = compileLayout("all", [
      { name: "u8", type: "u8" },
      { name: "u16be", type: "u16be" },
      { name: "u24be", type: "u24be" },
      { name: "u32be", type: "u32be" },
      { name: "u16le", type: "u16le" },
      { name: "u32le", type: "u32le" },
      { name: "u64le", type: "u64le" },
      { name: "i8", type: "i8" },
      { name: "i16le", type: "i16le" },
      { name: "i32le", type: "i32le" },
    ] as const);
    fc.assert(
      fc.property(
        fc.record({
          u8: fc.integer({ min: 0, max: 0xff }),
          u16be: fc.integer({ min: 0, max: 0xffff }),
          u24be: fc.integer({ min: 0, max: 0xffffff }),
          u32be: fc.integer({ min: 0, max: 0xffffffff }),
          u16le: fc.integer({ min: 0, max: 0xffff }),
          u32le: fc.integer({ min: 0, max: 0xffffffff }),
          u64le: fc.maxSafeNat(),
          i8: fc.integer({ min: -128, max: 127 }),
          i16le: fc.integer({ min: -0x8000, max: 0x7fff }),
          i32le: fc.integer({ min: -0x80000000, max: 0x7fffffff }),
        }),
        (v) => {
          expect(all.decode(all.encode(v))).toEqual(v);
        },
      ),
    );
  });
});
