import { isDlmsError } from "./errors";
import { Reader, Writer, compileLayout } from "./layout";

const rec = compileLayout("rec", [
  { name: "a", type: "u8" },
  { name: "b", type: "i16" },
  { name: "c", type: "u32" },
  { name: "d", type: { bytes: 2 } },
  { name: "e", type: "i8" },
] as const);

describe("compileLayout", () => {
  it("derives size, decode and encode from the table (big-endian)", () => {
    const bytes = Uint8Array.of(0x7f, 0xff, 0xfe, 0x01, 0x23, 0x45, 0x67, 0xaa, 0xbb, 0x80);
    expect(rec.size).toBe(10);
    const v = rec.decode(bytes);
    expect(v).toEqual({ a: 0x7f, b: -2, c: 0x01234567, d: Uint8Array.of(0xaa, 0xbb), e: -128 });
    expect(rec.encode(v)).toEqual(bytes);
  });
  it("refuses short input and out-of-range values with typed errors", () => {
    expect(() => rec.decode(new Uint8Array(9))).toThrow(expect.objectContaining({ code: "TRUNCATED", needed: 10, available: 9 }));
    expect(() => rec.encode({ a: 256, b: 0, c: 0, d: new Uint8Array(2), e: 0 })).toThrow(expect.objectContaining({ code: "INVALID_ARGUMENT", argument: "rec.a" }));
    expect(() => rec.encode({ a: 0, b: 0, c: 0, d: new Uint8Array(3), e: 0 })).toThrow(expect.objectContaining({ code: "INVALID_ARGUMENT", argument: "rec.d" }));
  });
  it("refuses duplicate field names when compiled", () => {
    expect(() => compileLayout("x", [{ name: "a", type: "u8" }, { name: "a", type: "u8" }])).toThrow(/duplicate/);
  });
});

describe("Reader / Writer", () => {
  it("reads within bounds and throws TRUNCATED past the end", () => {
    const r = new Reader(Uint8Array.of(1, 2, 3, 4, 5), 1, 4);
    expect(r.u16("x")).toBe(0x0203);
    expect(r.remaining).toBe(1);
    let err: unknown;
    try {
      r.u16("y");
    } catch (e) {
      err = e;
    }
    expect(isDlmsError(err, "TRUNCATED")).toBe(true);
    expect(err).toMatchObject({ field: "y", needed: 2, available: 1 });
  });
  it("writes and grows", () => {
    const w = new Writer();
    for (let i = 0; i < 100; i++) w.u8(i);
    w.u16(0x1234).u32(0xdeadbeef).layout(rec, { a: 1, b: -1, c: 2, d: Uint8Array.of(3, 4), e: 5 });
    const out = w.finish();
    expect(out.length).toBe(116);
    expect(Array.from(out.subarray(100, 106))).toEqual([0x12, 0x34, 0xde, 0xad, 0xbe, 0xef]);
  });
});
