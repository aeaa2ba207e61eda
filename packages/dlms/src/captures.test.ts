// End-to-end decodes of real captures published by other projects, through decodeDlms (every layer).
// Each constant names the repository and file it was copied from; values asserted are the ones the
// source documents (or, where it documents none, what the bytes say and a second decoder agrees on).
import { encodeApdu } from "./apdu";
import { decodeDlms, dlmsToJson } from "./decode";
import { decodeHdlcFrame, encodeHdlcFrame } from "./hdlc";
import { bytesToHex, hexToBytes } from "./hex";
import { encodeWrapper } from "./wrapper";
import { AARE_FRAME, GET_RESPONSE, PROFILE_BUFFER, GLO_GET_REQUEST, KAIFA_LIST1, KAIFA_LIST2, KAIFA_LIST3, KAMSTRUP_LIST2, KAMSTRUP_LIST3, UDP_GGC, UI_PUSH } from "./test-utils/captures";

const reencode = (h: string) => {
  const f = decodeHdlcFrame(hexToBytes(h));
  return bytesToHex(encodeHdlcFrame({ dst: f.dst, src: f.src, control: f.control, info: f.info, segmented: f.segmented }));
};

describe("Norwegian HAN pushes (Kaifa, Kamstrup)", () => {
  it("Kaifa list 1: 1320 W at 2017-09-12 23:18:42, date-time sent as Data (09 0C)", () => {
    const d = decodeDlms(hexToBytes(KAIFA_LIST1));
    expect(d.hdlc).toMatchObject({ dst: { upper: 0, lower: null, length: 1 }, src: { upper: 1, lower: 0, length: 2 }, control: { type: "I" }, llc: "response", length: 39 });
    expect(d.apdu).toMatchObject({ type: "data-notification", longInvokeIdAndPriority: 0x40000000, dateTimeEncoding: "data", dateTime: { year: 2017, month: 9, dayOfMonth: 12, dayOfWeek: 2, hour: 23, minute: 18, second: 42 } });
    expect(d.pushList).toBe("kaifa-list-1");
    expect(d.registers).toEqual({ "1.0.1.7.0.255": { value: 1320, raw: 1320, scaler: 0, unit: "W", name: "active power import (+P)" } });
    expect(reencode(KAIFA_LIST1)).toBe(KAIFA_LIST1);
    expect(bytesToHex(encodeApdu(d.apdu!))).toBe(KAIFA_LIST1.slice(24, -6));
  });

  it("Kaifa list 2: meter id, type, powers, currents (mA) and voltages (0.1 V)", () => {
    const d = decodeDlms(hexToBytes(KAIFA_LIST2));
    expect(d.pushList).toBe("kaifa-list-2-3p");
    expect(d.registers).toMatchObject({
      "1.1.0.2.129.255": { value: "KFM_001" },
      "0.0.96.1.0.255": { value: "6970631401753985" },
      "0.0.96.1.7.255": { value: "MA304H3E" },
      "1.0.1.7.0.255": { value: 1316, unit: "W" },
      "1.0.4.7.0.255": { value: 129, unit: "var" },
      "1.0.31.7.0.255": { value: 1.746, raw: 1746, scaler: -3, unit: "A" },
      "1.0.71.7.0.255": { value: 4.712, unit: "A" },
      "1.0.32.7.0.255": { value: 240, raw: 2400, scaler: -1, unit: "V" },
      "1.0.72.7.0.255": { value: 240.2, unit: "V" },
    });
    expect(reencode(KAIFA_LIST2)).toBe(KAIFA_LIST2);
  });

  it("Kaifa list 3: the hourly clock and energy registers", () => {
    const d = decodeDlms(hexToBytes(KAIFA_LIST3));
    expect(d.pushList).toBe("kaifa-list-3-3p");
    expect(Object.keys(d.registers!)).toHaveLength(18);
    expect(d.registers).toMatchObject({
      "0.0.1.0.0.255": { value: "2017-09-13T00:00:10", name: "clock" },
      "1.0.1.8.0.255": { value: 112727, unit: "Wh" },
      "1.0.2.8.0.255": { value: 0, unit: "Wh" },
      "1.0.3.8.0.255": { value: 101, unit: "varh" },
      "1.0.4.8.0.255": { value: 13220, unit: "varh" },
    });
  });

  it("Kamstrup list 2: OBIS/value pairs in a UI frame, currents in 0.01 A", () => {
    const d = decodeDlms(hexToBytes(KAMSTRUP_LIST2));
    expect(d.hdlc).toMatchObject({ dst: { upper: 21 }, src: { upper: 16 }, control: { type: "UI", pf: true }, length: 227 });
    expect(d.apdu).toMatchObject({ dateTime: { year: 2017, month: 10, dayOfMonth: 20, hour: 3, minute: 43, second: 30 } });
    expect(d.pushList).toBe("kamstrup");
    // Values as AmsToMqttBridge Samples/Kamstrup/obisdata.md lists them for this frame.
    expect(d.registers).toMatchObject({
      "1.1.0.2.129.255": { value: "Kamstrup_V0001" },
      "1.1.0.0.5.255": { value: "5706567274389702" },
      "1.1.96.1.1.255": { value: "6841121BN243101040" },
      "1.1.1.7.0.255": { value: 1468, unit: "W" },
      "1.1.4.7.0.255": { value: 462, unit: "var" },
      "1.1.31.7.0.255": { value: 5.64, unit: "A" },
      "1.1.51.7.0.255": { value: 2.02, unit: "A" },
      "1.1.71.7.0.255": { value: 5.11, unit: "A" },
      "1.1.32.7.0.255": { value: 232, unit: "V" },
      "1.1.52.7.0.255": { value: 228, unit: "V" },
      "1.1.72.7.0.255": { value: 233, unit: "V" },
    });
    expect(reencode(KAMSTRUP_LIST2)).toBe(KAMSTRUP_LIST2);
  });

  it("Kamstrup list 3: 11-bit frame length (301), clock and cumulative energy in 0.01 kWh", () => {
    const d = decodeDlms(hexToBytes(KAMSTRUP_LIST3));
    expect(d.hdlc?.length).toBe(301);
    expect(d.registers).toMatchObject({
      "0.1.1.0.0.255": { value: "2017-10-20T04:00:05", name: "clock" },
      "1.1.1.8.0.255": { value: 4272440, raw: 427244, scaler: 1, unit: "Wh" },
      "1.1.4.8.0.255": { value: 618130, raw: 61813, unit: "varh" },
    });
    expect(reencode(KAMSTRUP_LIST3)).toBe(KAMSTRUP_LIST3);
  });

  it("a push with scaler_unit per entry (dlms-cosem UI frame): 27 registers with their own scalers", () => {
    const d = decodeDlms(hexToBytes(UI_PUSH));
    expect(d.hdlc).toMatchObject({ dst: { upper: 32, lower: null }, src: { upper: 4, lower: 65, length: 2 }, control: { type: "UI" }, length: 579 });
    expect(d.pushList).toBe("obis-entries");
    expect(Object.keys(d.registers!)).toHaveLength(27);
    expect(d.registers).toMatchObject({
      "0.0.1.0.0.255": { value: "2019-12-16T07:59:40", name: "clock" },
      "1.0.1.7.0.255": { value: 1122, scaler: 0, unit: "W" },
      "1.0.31.7.0.255": { value: 0, scaler: -1, unit: "A" },
      "1.0.51.7.0.255": { value: 7.5, raw: 75, scaler: -1, unit: "A" },
      "1.0.32.7.0.255": { value: 230.7, raw: 2307, scaler: -1, unit: "V" },
      "1.0.1.8.0.255": { value: 10049926, unit: "Wh" },
      "1.0.3.8.0.255": { value: 6614347, unit: "varh" },
    });
    expect(reencode(UI_PUSH)).toBe(UI_PUSH);
  });
});

describe("association, GET and ciphering captures", () => {
  it("AARE in an I frame: accepted, conformance, max PDU 1224", () => {
    const d = decodeDlms(hexToBytes(AARE_FRAME));
    expect(d.hdlc).toMatchObject({ dst: { upper: 16 }, src: { upper: 1, lower: 17 }, control: { type: "I", ns: 0, nr: 1 }, llc: "response" });
    expect(d.apdu).toMatchObject({ type: "aare", result: 0, userInformation: { serverMaxReceivePduSize: 1224 } });
    expect(reencode(AARE_FRAME)).toBe(AARE_FRAME);
  });

  it("GET response (bare APDU) as JSON", () => {
    expect(dlmsToJson(decodeDlms(hexToBytes(GET_RESPONSE)))).toEqual({
      apdu: { type: "get-response-normal", invoke: { invokeId: 1, confirmed: true, highPriority: true }, result: { data: { type: "double-long-unsigned", value: 5009 } } },
    });
  });

  it("UDP-wrapped general-glo-ciphering push decrypts with the published key", () => {
    const key = new TextEncoder().encode("MYDUMMYGLOBALKEY");
    const d = decodeDlms(hexToBytes(UDP_GGC), { ek: key, ak: key });
    expect(d.wrapper).toEqual({ version: 1, sourcePort: 1, destinationPort: 1, length: 70 });
    expect(d.apdu).toMatchObject({ type: "general-glo-ciphering", invocationCounter: 0x1e5 });
    expect(d.plain).toMatchObject({ type: "data-notification", longInvokeIdAndPriority: 0x1db, body: { type: "octet-string" } });
    expect(bytesToHex(encodeWrapper({ sourcePort: 1, destinationPort: 1, apdu: encodeApdu(d.apdu!) }))).toBe(UDP_GGC);
    // Without keys the outer layers still decode.
    expect(decodeDlms(hexToBytes(UDP_GGC)).plain).toBeUndefined();
  });

  it("glo-get-request (Green Book) decrypts given the system title", () => {
    const d = decodeDlms(hexToBytes(GLO_GET_REQUEST), { ek: hexToBytes("000102030405060708090a0b0c0d0e0f"), ak: hexToBytes("d0d1d2d3d4d5d6d7d8d9dadbdcdddedf"), systemTitle: hexToBytes("4d4d4d0000bc614e") });
    expect(d.plain).toMatchObject({ type: "get-request-normal", attribute: { classId: 8, obis: "0.0.1.0.0.255", attribute: 2 } });
  });

  it("a load profile buffer keyed by its capture objects (dlms-cosem tests/test_parsers.py)", () => {
    const columns = ["0.0.1.0.0.255", "0.0.96.10.1.255", "1.0.1.8.0.255", "1.0.2.8.0.255"];
    const d = decodeDlms(hexToBytes(`c401c100${PROFILE_BUFFER}`), { profileColumns: columns });
    expect(d.profile).toHaveLength(4);
    expect(d.profile![0]).toEqual({
      "0.0.1.0.0.255": { value: "2019-12-31T23:00:00.00+01:00", raw: null, scaler: 0, unit: null, name: "clock" },
      "0.0.96.10.1.255": { value: 6, raw: 6, scaler: 0, unit: null },
      "1.0.1.8.0.255": { value: 1517, raw: 1517, scaler: 0, unit: "Wh", name: "active energy import (+A)" },
      "1.0.2.8.0.255": { value: 1620, raw: 1620, scaler: 0, unit: "Wh", name: "active energy export (-A)" },
    });
    // Later rows leave the clock out (null-data): the capture period gives their time.
    expect(d.profile![1]["0.0.1.0.0.255"]).toMatchObject({ value: null });
  });
});

