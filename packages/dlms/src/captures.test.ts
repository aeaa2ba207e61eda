// End-to-end decodes of real captures published by other projects, through decodeDlms (every layer).
// Each constant names the repository and file it was copied from; values asserted are the ones the
// source documents (or, where it documents none, what the bytes say and a second decoder agrees on).
import { encodeApdu } from "./apdu";
import { decodeDlms, dlmsToJson } from "./decode";
import { decodeHdlcFrame, encodeHdlcFrame } from "./hdlc";
import { bytesToHex, hexToBytes } from "./hex";
import { encodeWrapper } from "./wrapper";

/** roarfred/AmsToMqttBridge Samples/Kaifa/HAN 20170912-2.txt (Kaifa MA304H3E, 2017-09-12 23:18:42) — list 1. */
export const KAIFA_LIST1 = "7ea027010201105a87e6e7000f40000000090c07e1090c0217122aff80000002010600000528b80c7e";
/** Same file, 23:18:50 — list 2 (13 elements, three phase). */
export const KAIFA_LIST2 = "7ea079010201108093e6e7000f40000000090c07e1090c02171232ff800000020d09074b464d5f30303109103639373036333134303137353339383509084d41333034483345060000052406000000000600000000060000008106000006d206000011d506000012680600000960060000000006000009624bdb7e";
/** roarfred/AmsToMqttBridge Samples/Kaifa/HAN 20170912-3.txt, 2017-09-13 00:00:10 — list 3 (18 elements, hourly). */
export const KAIFA_LIST3 = "7ea09b01020110eeaee6e7000f40000000090c07e1090d0200000aff800000021209074b464d5f30303109103639373036333134303137353339383509084d4133303448334506000011b506000000000600000000060000008006000038480600003c76060000145b060000094d0600000000060000095a090c07e1090d0200000aff800000060001b8570600000000060000006506000033a454837e";
/** roarfred/AmsToMqttBridge Samples/Kamstrup/HAN 20171019 xibriz4.txt, first frame — Kamstrup list 2 (OBIS/value pairs, UI frame). */
export const KAMSTRUP_LIST2 = "7ea0e32b21139886e6e7000f00000000090c07e10a1405032b1eff80000002190a0e4b616d73747275705f563030303109060101000005ff0a103537303635363732373433383937303209060101600101ff0a1236383431313231424e32343331303130343009060101010700ff06000005bc09060101020700ff060000000009060101030700ff060000000009060101040700ff06000001ce090601011f0700ff060000023409060101330700ff06000000ca09060101470700ff06000001ff09060101200700ff1200e809060101340700ff1200e409060101480700ff1200e9a1a57e";
/** Same file, 2017-10-20 04:00:05 — Kamstrup list 3 (clock and energy registers). */
export const KAMSTRUP_LIST3 = "7ea12d2b21134718e6e7000f00000000090c07e10a1405040005ff80000002230a0e4b616d73747275705f563030303109060101000005ff0a103537303635363732373433383937303209060101600101ff0a1236383431313231424e32343331303130343009060101010700ff06000009e309060101020700ff060000000009060101030700ff060000000009060101040700ff06000001b8090601011f0700ff06000003e409060101330700ff06000000cf09060101470700ff06000003c509060101200700ff1200e709060101340700ff1200e209060101480700ff1200e809060001010000ff090c07e10a1405040005ff80000009060101010800ff06000684ec09060101020800ff060000000009060101030800ff060000005009060101040800ff060000f17580027e";
/** pwitab/dlms-cosem tests/test_hdlc/test_hdlc.py (TestUnnumberedInformationFrame) — a HAN push with OBIS, value and scaler_unit per entry. */
export const UI_PUSH = "7ea2434108831385ebe6e7000f4000000000011b020209060000010000ff090c07e30c1001073b28ff8000ff020309060100010700ff060000046202020f00161b020309060100020700ff060000000002020f00161b020309060100030700ff06000005e302020f00161d020309060100040700ff060000000002020f00161d0203090601001f0700ff10000002020fff1621020309060100330700ff10004b02020fff1621020309060100470700ff10000002020fff1621020309060100200700ff12090302020fff1623020309060100340700ff1209c302020fff1623020309060100480700ff12090402020fff1623020309060100150700ff060000000002020f00161b020309060100160700ff060000000002020f00161b020309060100170700ff060000000002020f00161d020309060100180700ff060000000002020f00161d020309060100290700ff060000046202020f00161b0203090601002a0700ff060000000002020f00161b0203090601002b0700ff06000005e202020f00161d0203090601002c0700ff060000000002020f00161d0203090601003d0700ff060000000002020f00161b0203090601003e0700ff060000000002020f00161b0203090601003f0700ff060000000002020f00161d020309060100400700ff060000000002020f00161d020309060100010800ff060099598602020f00161e020309060100020800ff060000000802020f00161e020309060100030800ff060064ed4b02020f001620020309060100040800ff060000000502020f001620be407e";
/** pwitab/dlms-cosem tests/test_udp_message.py — IP wrapper (UDP) around a general-glo-ciphering push; key "MYDUMMYGLOBALKEY" (tests/test_general_global_cipher.py). */
export const UDP_GGC = "0001000100010046db082f192291991641033b30000001e5025ce9d2271fd78be8c204211a916a9d7f587e0a7a814cadea89e9593f01f92ea8c087b5bdfdefeab6becf282dfe49c08f5be6dc8400";
/** pwitab/dlms-cosem tests/test_hdlc/test_hdlc.py (TestInformationResponseFrame) — AARE in an I frame. */
export const AARE_FRAME = "7ea0382102233034e7e6e7006129a109060760857405080101a203020100a305a103020100be10040e0800065f1f0400001e1d04c80007b86a7e";
/** pwitab/dlms-cosem tests/test_xdlms/test_get.py — GET response with a double-long-unsigned. */
export const GET_RESPONSE = "c401c1000600001391";
/** Green Book example via pwitab/dlms-cosem tests/test_security.py — glo-get-request, EK 000102..0f, AK d0..df, system title 4d4d4d0000bc614e. */
export const GLO_GET_REQUEST = "c81e3001234567411312ff935a47566827c467bc7d825c3be4a77c3fcc056b6b";

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
});
