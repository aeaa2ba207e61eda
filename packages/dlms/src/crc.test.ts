import { crc16x25 } from "./crc";
import { hexToBytes } from "./hex";

describe("crc16x25", () => {
  it("has the CRC-16/X.25 check value 0x906E for '123456789'", () => {
    expect(crc16x25(new TextEncoder().encode("123456789"))).toBe(0x906e);
  });
  it("gives the HCS of a captured SNRM (pwitab/dlms-cosem tests/test_hdlc/test_hdlc.py: 7ea00802232193bd647e)", () => {
    // FCS bytes bd 64 are sent LSB first.
    expect(crc16x25(hexToBytes("a00802232193"))).toBe(0x64bd);
  });
  it("covers a sub-range", () => {
    const b = hexToBytes("ff a0 08 02 23 21 93 ff");
    expect(crc16x25(b, 1, 7)).toBe(0x64bd);
  });
});
