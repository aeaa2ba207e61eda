import { describeObis, formatObis, parseObis, UNITS } from "./obis";

describe("OBIS codes", () => {
  it.each([
    ["1.0.1.8.0.255", [1, 0, 1, 8, 0, 255]],
    ["1-0:1.8.0*255", [1, 0, 1, 8, 0, 255]],
    ["1-0:32.7.0", [1, 0, 32, 7, 0, 255]],
    ["14.7.0", [1, 0, 14, 7, 0, 255]],
    ["0.0.1.0.0.255", [0, 0, 1, 0, 0, 255]],
  ])("parses %s", (text, bytes) => {
    expect(Array.from(parseObis(text))).toEqual(bytes);
  });
  it("formats and round-trips", () => {
    expect(formatObis(parseObis("1-0:99.1.0*255"))).toBe("1.0.99.1.0.255");
  });
  it("refuses malformed codes with BAD_OBIS", () => {
    for (const t of ["1.0.1.8.0", "1.0.1.8.0.256", "a.b.c.d.e.f", "", "1.0.1.8.0.255.1"]) expect(() => parseObis(t)).toThrow(expect.objectContaining({ code: "BAD_OBIS" }));
    expect(() => formatObis(new Uint8Array(5))).toThrow(expect.objectContaining({ code: "INVALID_ARGUMENT" }));
  });
  it("names the usual registers with their units", () => {
    const unit = (o: string) => UNITS[describeObis(o)!.unit];
    expect([unit("1.0.1.8.0.255"), unit("1.0.2.8.0.255"), unit("1.0.3.8.0.255"), unit("1.0.4.8.0.255")]).toEqual(["Wh", "Wh", "varh", "varh"]);
    expect([unit("1.0.1.7.0.255"), unit("1.0.3.7.0.255"), unit("1.0.32.7.0.255"), unit("1.0.31.7.0.255"), unit("1.0.14.7.0.255"), unit("1.0.13.7.0.255")]).toEqual(["W", "var", "V", "A", "Hz", ""]);
    expect([UNITS[28], UNITS[31]]).toEqual(["VA", "VAh"]);
    expect(describeObis("1.0.99.1.0.255")?.name).toBe("load profile 1");
    expect(describeObis("0.0.1.0.0.255")?.name).toBe("clock");
    expect(describeObis("0.1.1.0.0.255")?.name).toBe("clock");
    expect(describeObis("7.0.1.8.0.255")).toBeUndefined();
  });
});
