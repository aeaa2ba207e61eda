import { type DlmsData, decodeData, encodeData } from "./axdr";
import { bytesToHex, hexToBytes } from "./hex";
import { Reader } from "./layout";
import { parseObis } from "./obis";
import { decodeProfileBuffer, extractRegisters, reading } from "./push";

const obis = (o: string): DlmsData => ({ type: "octet-string", value: parseObis(o) });

describe("registers", () => {
  it("scales numbers and names units", () => {
    expect(reading("1.0.32.7.0.255", { type: "long-unsigned", value: 2301 }, { scaler: -1, unit: 35 })).toEqual({ value: 230.1, raw: 2301, scaler: -1, unit: "V", name: "voltage L1" });
    expect(reading("1.0.1.8.0.255", { type: "double-long-unsigned", value: 12 }, { scaler: 3, unit: 30 })).toMatchObject({ value: 12000, unit: "Wh" });
    expect(reading("1.0.14.7.0.255", { type: "long-unsigned", value: 5001 }, { scaler: -2, unit: 44 })).toMatchObject({ value: 50.01, unit: "Hz" });
    expect(reading("1.0.13.7.0.255", { type: "long", value: -980 }, { scaler: -3, unit: 255 })).toMatchObject({ value: -0.98, unit: "" });
    // Found by the 1M fuzz run: a scaler of -128 must not throw (toFixed allows 100 digits at most).
    expect(reading("1.0.1.7.0.255", { type: "double-long-unsigned", value: 5 }, { scaler: -128, unit: 27 })).toMatchObject({ value: 5e-128, scaler: -128 });
    expect(reading("1.0.1.7.0.255", { type: "double-long-unsigned", value: 5 }, { scaler: 127, unit: 27 })).toMatchObject({ value: 5e127 });
    expect(reading("1.0.9.7.0.255", { type: "double-long-unsigned", value: 10 })).toMatchObject({ unit: "VA" });
    expect(reading("0.0.96.1.0.255", { type: "octet-string", value: new Uint8Array([0x01, 0xff]) })).toMatchObject({ value: "01ff", raw: null });
  });

  it("recognises OBIS entries, OBIS/value pairs and positional lists; nothing else", () => {
    const entries: DlmsData = { type: "array", value: [{ type: "structure", value: [obis("1.0.1.7.0.255"), { type: "double-long-unsigned", value: 5 }, { type: "structure", value: [{ type: "integer", value: 1 }, { type: "enum", value: 27 }] }] }] };
    expect(extractRegisters(entries)).toEqual({ list: "obis-entries", registers: { "1.0.1.7.0.255": { value: 50, raw: 5, scaler: 1, unit: "W", name: "active power import (+P)" } } });
    const pairs: DlmsData = { type: "structure", value: [obis("1.0.1.7.0.255"), { type: "double-long-unsigned", value: 5 }, obis("1.0.2.7.0.255"), { type: "double-long-unsigned", value: 6 }] };
    expect(extractRegisters(pairs)?.list).toBe("obis-value-pairs");
    expect(extractRegisters({ type: "structure", value: [{ type: "double-long-unsigned", value: 7 }] })?.list).toBe("kaifa-list-1");
    expect(extractRegisters({ type: "structure", value: [{ type: "visible-string", value: "x" }, { type: "unsigned", value: 1 }] })).toBeNull();
    expect(extractRegisters({ type: "octet-string", value: new Uint8Array(3) })).toBeNull();
  });

  it("keys a load profile buffer (1.0.99.1.0.255 attribute 2) by its capture objects", () => {
    // Capture objects: clock (class 8), 1.8.0 and 2.8.0 (class 3), attribute 2.
    const capture: DlmsData = {
      type: "array",
      value: [["0.0.1.0.0.255", 8], ["1.0.1.8.0.255", 3], ["1.0.2.8.0.255", 3]].map(([o, c]) => ({
        type: "structure" as const,
        value: [{ type: "long-unsigned" as const, value: c as number }, obis(o as string), { type: "integer" as const, value: 2 }, { type: "long-unsigned" as const, value: 0 }],
      })),
    };
    // Rows as dlms-cosem's test_a_xdr.py buffer: date-time octet string and two double-long-unsigned.
    const hex = "01010203090c07e30c1001073b28ff8000ff06000005ed0600000654";
    const buffer = decodeData(new Reader(hexToBytes(hex)));
    const rows = decodeProfileBuffer(buffer, capture, { "1.0.1.8.0.255": { scaler: 0, unit: 30 } });
    expect(rows).toEqual([{
      "0.0.1.0.0.255": { value: "2019-12-16T07:59:40", raw: null, scaler: 0, unit: null, name: "clock" },
      "1.0.1.8.0.255": { value: 1517, raw: 1517, scaler: 0, unit: "Wh", name: "active energy import (+A)" },
      "1.0.2.8.0.255": { value: 1620, raw: 1620, scaler: 0, unit: "Wh", name: "active energy export (-A)" },
    }]);
    expect(bytesToHex(encodeData(buffer))).toBe(hex);
  });
});
