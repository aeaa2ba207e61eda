import { bytesToHex, hexToBytes } from "./hex";
import { decodeWrapper, encodeWrapper } from "./wrapper";
import { UDP_GGC } from "./test-utils/captures";

describe("IP wrapper (IEC 62056-47)", () => {
  it("splits a captured UDP frame (dlms-cosem tests/test_udp_message.py) and rebuilds it", () => {
    const w = decodeWrapper(hexToBytes(UDP_GGC));
    expect(w.header).toEqual({ version: 1, sourcePort: 1, destinationPort: 1, length: 70 });
    expect(w.apdu[0]).toBe(0xdb);
    expect(bytesToHex(encodeWrapper({ sourcePort: 1, destinationPort: 1, apdu: w.apdu }))).toBe(UDP_GGC);
  });
  it("leaves trailing bytes of a stream when not exact, and reports what it used", () => {
    const two = hexToBytes("00010010000100020f00" + "0001");
    expect(decodeWrapper(two, false)).toMatchObject({ consumed: 10, apdu: Uint8Array.of(0x0f, 0x00) });
    expect(() => decodeWrapper(two)).toThrow(expect.objectContaining({ code: "TRAILING_BYTES", extra: 2 }));
  });
  it("refuses another version, a short APDU and a short header", () => {
    expect(() => decodeWrapper(hexToBytes("0002000100010000"))).toThrow(expect.objectContaining({ code: "BAD_WRAPPER_VERSION", value: 2 }));
    expect(() => decodeWrapper(hexToBytes("00010001000100050f00"))).toThrow(expect.objectContaining({ code: "LENGTH_MISMATCH", declared: 5, actual: 2 }));
    expect(() => decodeWrapper(hexToBytes("000100"))).toThrow(expect.objectContaining({ code: "TRUNCATED" }));
    expect(() => encodeWrapper({ sourcePort: 0x10000, destinationPort: 1, apdu: new Uint8Array(1) })).toThrow(expect.objectContaining({ code: "INVALID_ARGUMENT" }));
  });
});
