import { type DlmsData, dataToJson, decodeData, decodeDateTime, encodeData, formatDateTime, readLength, writeLength } from "./axdr";
import { isDlmsError } from "./errors";
import { bytesToHex, hexToBytes } from "./hex";
import { Reader, Writer } from "./layout";

const dec = (h: string) => {
  const r = new Reader(hexToBytes(h));
  const d = decodeData(r);
  expect(r.remaining).toBe(0);
  return d;
};
const roundTrip = (h: string) => expect(bytesToHex(encodeData(dec(h)))).toBe(h);

describe("A-XDR lengths", () => {
  it.each([
    [0, "00"], [0x7f, "7f"], [0x80, "8180"], [0xff, "81ff"], [0x49e, "82049e"], [0x10000, "83010000"], [0x1000000, "8401000000"],
  ])("%d <-> %s", (n, h) => {
    expect(bytesToHex(writeLength(new Writer(), n).finish())).toBe(h);
    expect(readLength(new Reader(hexToBytes(h)), "len")).toBe(n);
  });
  it("refuses 0x80 and 0x85+ as BAD_LENGTH_ENCODING", () => {
    for (const h of ["80", "8500000000ff"]) expect(() => readLength(new Reader(hexToBytes(h)), "len")).toThrow(expect.objectContaining({ code: "BAD_LENGTH_ENCODING" }));
  });
});

describe("A-XDR data", () => {
  it.each([
    ["00", { type: "null-data" }],
    ["0301", { type: "boolean", value: true }],
    ["0405a8", { type: "bit-string", value: "10101" }],
    ["05fffffffe", { type: "double-long", value: -2 }],
    ["0600000528", { type: "double-long-unsigned", value: 1320 }],
    ["0903010203", { type: "octet-string", value: Uint8Array.of(1, 2, 3) }],
    ["0a074b464d5f303031", { type: "visible-string", value: "KFM_001" }],
    ["0c03c3a961", { type: "utf8-string", value: "éa" }],
    ["0d12", { type: "bcd", value: 0x12 }],
    ["0fff", { type: "integer", value: -1 }],
    ["10ff9c", { type: "long", value: -100 }],
    ["1107", { type: "unsigned", value: 7 }],
    ["1200e6", { type: "long-unsigned", value: 230 }],
    ["14fffffffffffffffe", { type: "long64", value: -2n }],
    ["15ffffffffffffffff", { type: "long64-unsigned", value: 0xffffffffffffffffn }],
    ["161b", { type: "enum", value: 27 }],
    ["173fc00000", { type: "float32", value: 1.5 }],
    ["18400921fb54442d18", { type: "float64", value: Math.PI }],
    ["1a07e1090c02", { type: "date", value: { year: 2017, month: 9, dayOfMonth: 12, dayOfWeek: 2 } }],
    ["1b17122aff", { type: "time", value: { hour: 23, minute: 18, second: 42, hundredths: null } }],
  ] as [string, DlmsData][])("%s decodes and re-encodes", (h, value) => {
    expect(dec(h)).toEqual(value);
    roundTrip(h);
  });

  it("decodes date-time with deviation and clock status (dlms-cosem tests/test_time.py: 07e40101ff00030000ff8800)", () => {
    // -120 minutes deviation = UTC+2, clock status 0x00; hundredths 0.
    const dt = decodeDateTime(hexToBytes("07e40101ff00030000ff8800"));
    expect(dt).toEqual({ year: 2020, month: 1, dayOfMonth: 1, dayOfWeek: null, hour: 0, minute: 3, second: 0, hundredths: 0, deviation: -120, clockStatus: 0 });
    expect(formatDateTime(dt)).toBe("2020-01-01T00:03:00.00+02:00");
    roundTrip("1907e40101ff00030000ff8800");
    expect(decodeDateTime(hexToBytes("07e1090c0217122aff800000"))).toMatchObject({ hundredths: null, deviation: null, clockStatus: 0 });
  });

  it("nests arrays and structures and round-trips them (dlms-cosem tests/test_a_xdr.py)", () => {
    const h = "0207060000000012000011001100120000120000120000";
    const d = dec(h);
    expect(d.type).toBe("structure");
    expect(dataToJson(d)).toEqual([0, 0, 0, 0, 0, 0, 0]);
    roundTrip(h);
    roundTrip("02051202d0120ca81112111e0fc0");
  });

  it("decodes a compact-array and re-encodes it", () => {
    // array of 2 structures {long-unsigned, integer}: description 01 0002 02 02 12 0f, contents 6 bytes.
    const h = "130100020202120f06000a010014fe";
    const d = dec(h);
    expect(d).toMatchObject({ type: "compact-array", value: [{ type: "array" }] });
    expect(dataToJson(d)).toEqual([[[10, 1], [20, -2]]]);
    roundTrip(h);
  });

  it("refuses unknown tags, truncation, lying counts and deep nesting with typed errors", () => {
    const codes = (h: string) => {
      try {
        decodeData(new Reader(hexToBytes(h)));
        return "ok";
      } catch (e) {
        if (!isDlmsError(e)) throw e;
        return e.code;
      }
    };
    expect(codes("07")).toBe("UNKNOWN_TAG");
    expect(codes("0600")).toBe("TRUNCATED");
    expect(codes("0184ffffffff")).toBe("TRUNCATED");
    expect(codes("0910")).toBe("TRUNCATED");
    expect(codes("0101".repeat(40) + "00")).toBe("TOO_DEEP");
    // compact arrays whose elements take no bytes (null-data, empty arrays) would loop or explode
    expect(codes("130003ffff")).toBe("BAD_FORMAT"); // elements of type null-data
    expect(codes("1301ffff01ffff0001ff")).toBe("BAD_FORMAT"); // array(65535, array(65535, null-data))
    expect(codes("1301000012020001ff")).toBe("BAD_FORMAT"); // array(0, ...)
    expect(() => encodeData({ type: "unsigned", value: 256 })).toThrow(expect.objectContaining({ code: "INVALID_ARGUMENT" }));
  });
});
