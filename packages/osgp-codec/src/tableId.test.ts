import { InvalidArgumentError } from "./errors";
import { EXTENDED_TABLE_OFFSET, PENDING_TABLE_OFFSET, formatTableId, parseTableId, parseTableName, tableId } from "./tableId";

describe("table ids", () => {
  it("BTn = n, ETn = 2048 + n, pending adds 4096", () => {
    expect(tableId({ number: 23 })).toBe(23);
    expect(tableId({ number: 52, extended: true })).toBe(2100);
    expect(tableId({ number: 52, extended: true, pending: true })).toBe(2100 + 4096);
    expect([EXTENDED_TABLE_OFFSET, PENDING_TABLE_OFFSET]).toEqual([2048, 4096]);
  });
  it("matches the guide's ET numbering, e.g. ET50 = 0x0832, ET11 = 0x080B", () => {
    expect(tableId({ number: 50, extended: true })).toBe(0x0832);
    expect(tableId({ number: 11, extended: true })).toBe(0x080b);
  });
  it("parses ids back into number and flags", () => {
    expect(parseTableId(0x1835)).toEqual({ number: 53, extended: true, pending: true });
    expect(parseTableId(7)).toEqual({ number: 7, extended: false, pending: false });
  });
  it("formats and parses names", () => {
    expect(formatTableId(23)).toBe("BT23");
    expect(formatTableId(0x0834)).toBe("ET52");
    expect(formatTableId(0x1007)).toBe("BT07 pending");
    expect(formatTableId(0x8007)).toBe("BT07 +0x8000");
    expect(parseTableName("ET52")).toBe(2100);
    expect(parseTableName("bt7")).toBe(7);
    expect(parseTableName("EP17")).toBe(2065);
    expect(parseTableName("ET52 pending")).toBe(2100 + 4096);
    expect(parseTableName("0x0834")).toBe(0x0834);
    expect(parseTableName("2100")).toBe(2100);
  });
  it("rejects out-of-range numbers and junk with InvalidArgumentError", () => {
    expect(() => tableId({ number: 2048 })).toThrow(InvalidArgumentError);
    expect(() => parseTableId(0x10000)).toThrow(InvalidArgumentError);
    expect(() => parseTableName("XT1")).toThrow(InvalidArgumentError);
    expect(() => parseTableName("70000")).toThrow(InvalidArgumentError);
  });
});
