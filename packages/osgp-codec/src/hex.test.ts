import { InvalidHexError } from "./errors";
import { bytesToHex, hexToBytes } from "./hex";

describe("hex", () => {
  it("accepts spaces, colons, 0x and either case as in the MEP guide", () => {
    expect(bytesToHex(hexToBytes("7C:FF:9a 53"))).toBe("7cff9a53");
    expect(bytesToHex(hexToBytes("0x00 14\n3F"))).toBe("00143f");
    expect(hexToBytes("")).toEqual(new Uint8Array(0));
  });
  it("rejects odd lengths and non-hex characters with InvalidHexError", () => {
    expect(() => hexToBytes("abc")).toThrow(InvalidHexError);
    expect(() => hexToBytes("zz")).toThrow(expect.objectContaining({ code: "INVALID_HEX", reason: "non-hex character" }));
  });
});
