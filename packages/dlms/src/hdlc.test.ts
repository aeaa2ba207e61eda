import { isDlmsError } from "./errors";
import {
  HdlcReassembler, decodeControl, decodeHdlcFrame, decodeHdlcParameters, encodeControl, encodeHdlcFrame, encodeHdlcParameters, hdlcAddress, segmentHdlc, splitLlc,
} from "./hdlc";
import { bytesToHex, hexToBytes } from "./hex";

// Real captures. Sources:
//  [C1] pwitab/dlms-cosem tests/test_hdlc/test_hdlc.py (TestSnrmFrame, TestUAFrame, TestInformationRequestFrame,
//       TestInformationResponseFrame, TestHdlcAddress.test_find_address, TestUnnumberedInformationFrame)
//  [C2] roarfred/AmsToMqttBridge Samples/Kaifa/HAN 20170912-2.txt (Kaifa MA304H3E, Norwegian HAN port)
const SNRM = "7ea00802232193bd647e"; // [C1]
const UA = "7ea01f21022373e6c781801205019a06019a070400000001080400000001cca27e"; // [C1]
const AARQ_I = "7ea02c02232110af9fe6e600601da109060760857405080101be10040e01000000065f1f0400001e1dffffc5e47e"; // [C1]
const AARE_I = "7ea0382102233034e7e6e7006129a109060760857405080101a203020100a305a103020100be10040e0800065f1f0400001e1d04c80007b86a7e"; // [C1]
const SEGMENT = "7ea87e210396a4090f01160002020f02160002020f03160002020f04160002020f05160002020f0616000204120017110009060000160000ff0202010902030f0116010002030f0216010002030f0316010002030f0416010002030f0516010002030f0616010002030f0716010002030f0816010002030f09160100016ff37e"; // [C1]
const KAIFA_LIST1 = "7ea027010201105a87e6e7000f40000000090c07e1090c0217122aff80000002010600000528b80c7e"; // [C2]

describe("HDLC frames: real captures", () => {
  it("SNRM from client 16 to server 1/17 [C1]: addresses, control, FCS, byte-exact round trip", () => {
    const f = decodeHdlcFrame(hexToBytes(SNRM), { exact: true });
    expect(f).toMatchObject({
      segmented: false, length: 8, dst: { upper: 1, lower: 17, length: 2 }, src: { upper: 16, lower: null, length: 1 },
      control: { type: "SNRM", pf: true }, hcs: null, fcs: 0x64bd, checksumsValid: true, consumed: 10,
    });
    expect(f.info.length).toBe(0);
    expect(bytesToHex(encodeHdlcFrame({ dst: f.dst, src: f.src, control: f.control }))).toBe(SNRM);
  });

  it("UA with negotiated parameters [C1]", () => {
    const f = decodeHdlcFrame(hexToBytes(UA));
    expect(f).toMatchObject({ dst: { upper: 16, lower: null }, src: { upper: 1, lower: 17 }, control: { type: "UA", pf: true }, hcs: 0xc7e6, length: 0x1f });
    const params = decodeHdlcParameters(f.info);
    expect(params).toEqual({ maxInfoTransmit: 154, maxInfoReceive: 154, windowTransmit: 1, windowReceive: 1 });
    // The meter sends window sizes as 4 bytes; our encoder uses the shortest form, so compare the decode.
    expect(decodeHdlcParameters(encodeHdlcParameters(params))).toEqual(params);
    expect(bytesToHex(encodeHdlcFrame({ dst: f.dst, src: f.src, control: f.control, info: f.info }))).toBe(UA);
  });

  it("I frames carrying AARQ and AARE with LLC headers [C1]", () => {
    const q = decodeHdlcFrame(hexToBytes(AARQ_I));
    expect(q.control).toEqual({ type: "I", pf: true, ns: 0, nr: 0 });
    expect(splitLlc(q.info).llc).toBe("command");
    expect(splitLlc(q.info).apdu[0]).toBe(0x60);
    const e = decodeHdlcFrame(hexToBytes(AARE_I));
    expect(e.control).toEqual({ type: "I", pf: true, ns: 0, nr: 1 });
    expect(splitLlc(e.info).llc).toBe("response");
    for (const [h, f] of [[AARQ_I, q], [AARE_I, e]] as const) {
      expect(bytesToHex(encodeHdlcFrame({ dst: f.dst, src: f.src, control: f.control, info: f.info }))).toBe(h);
    }
  });

  it("a segmented I frame: segmentation bit, N(S)=3 N(R)=4 [C1]", () => {
    const f = decodeHdlcFrame(hexToBytes(SEGMENT));
    expect(f).toMatchObject({ segmented: true, length: 126, dst: { upper: 16 }, src: { upper: 1 }, control: { type: "I", ns: 3, nr: 4, pf: true } });
    expect(bytesToHex(encodeHdlcFrame({ dst: f.dst, src: f.src, control: f.control, info: f.info, segmented: true }))).toBe(SEGMENT);
  });

  it("Kaifa HAN push (list 1) [C2]: 2-byte source address, I frame, LLC response", () => {
    const f = decodeHdlcFrame(hexToBytes(KAIFA_LIST1));
    expect(f).toMatchObject({ dst: { upper: 0, lower: null, length: 1 }, src: { upper: 1, lower: 0, length: 2 }, control: { type: "I", ns: 0, nr: 0, pf: true }, hcs: 0x875a, fcs: 0x0cb8 });
    expect(bytesToHex(encodeHdlcFrame({ dst: f.dst, src: f.src, control: f.control, info: f.info }))).toBe(KAIFA_LIST1);
  });
});

describe("HDLC frames: control field and addresses", () => {
  it.each([
    [0x93, { type: "SNRM", pf: true }], [0x73, { type: "UA", pf: true }], [0x53, { type: "DISC", pf: true }], [0x1f, { type: "DM", pf: true }],
    [0x97, { type: "FRMR", pf: true }], [0x13, { type: "UI", pf: true }], [0x03, { type: "UI", pf: false }],
    [0x31, { type: "RR", pf: true, nr: 1 }], [0xf5, { type: "RNR", pf: true, nr: 7 }], [0x54, { type: "I", pf: true, ns: 2, nr: 2 }],
  ] as const)("0x%s <-> %j", (byte, c) => {
    expect(decodeControl(byte)).toEqual(c);
    expect(encodeControl(c)).toBe(byte);
  });
  it("refuses REJ and unknown U frames", () => {
    expect(() => decodeControl(0x19)).toThrow(expect.objectContaining({ code: "BAD_FORMAT" }));
    expect(() => decodeControl(0xff)).toThrow(expect.objectContaining({ code: "BAD_FORMAT" }));
  });
  it("encodes and decodes a 4-byte server address", () => {
    const dst = hdlcAddress(0x1234 & 0x3fff, 0x2abc & 0x3fff, 4);
    const f = encodeHdlcFrame({ dst, src: hdlcAddress(16), control: { type: "DISC", pf: true } });
    expect(decodeHdlcFrame(f).dst).toEqual(dst);
    expect(() => encodeHdlcFrame({ dst: hdlcAddress(200, 1, 2), src: hdlcAddress(16), control: { type: "DISC", pf: true } })).toThrow(expect.objectContaining({ code: "INVALID_ARGUMENT" }));
  });
});

describe("HDLC frames: hostile input", () => {
  const code = (h: string | Uint8Array) => {
    try {
      decodeHdlcFrame(typeof h === "string" ? hexToBytes(h) : h);
      return "ok";
    } catch (e) {
      if (!isDlmsError(e)) throw e;
      return e.code;
    }
  };
  it("refuses a changed FCS and HCS with the values", () => {
    const b = hexToBytes(KAIFA_LIST1);
    b[b.length - 2] ^= 1;
    expect(() => decodeHdlcFrame(b)).toThrow(expect.objectContaining({ code: "BAD_FCS", expected: 0x0cb8, actual: 0x0db8 }));
    const c = hexToBytes(KAIFA_LIST1);
    c[5] ^= 0x10; // control byte changes: HCS no longer matches
    expect(code(c)).toBe("BAD_HCS");
    const d = hexToBytes(KAIFA_LIST1);
    d[20] ^= 0xff; // payload byte: FCS catches it
    expect(code(d)).toBe("BAD_FCS");
    expect(decodeHdlcFrame(d, { onBadChecksum: "report" }).checksumsValid).toBe(false);
  });
  it("refuses bad flags, format, truncation and over-long addresses", () => {
    expect(code("00a00802232193bd647e")).toBe("BAD_FLAG");
    expect(code("7ea00802232193bd6400")).toBe("BAD_FLAG");
    expect(code("7eb00802232193bd647e")).toBe("BAD_FORMAT");
    expect(code("7ea00802232193bd64")).toBe("TRUNCATED");
    expect(code("7ea0ff02")).toBe("TRUNCATED");
    expect(code("7ea00c0202020202022193bd647e")).toBe("BAD_ADDRESS");
    expect(code("7ea00a02020321930000007e")).toBe("BAD_ADDRESS"); // 3-byte address
  });
});

describe("segmentation", () => {
  it("splits a long information field into I frames and reassembles them", () => {
    const info = Uint8Array.from({ length: 300 }, (_, i) => i & 0xff);
    const frames = segmentHdlc({ dst: hdlcAddress(16), src: hdlcAddress(1, 17), info, maxInfo: 128, ns: 6, nr: 2 });
    expect(frames.length).toBe(3);
    const r = new HdlcReassembler();
    const decoded = frames.map((f) => decodeHdlcFrame(f));
    expect(decoded.map((d) => [d.segmented, d.control.ns])).toEqual([[true, 6], [true, 7], [false, 0]]);
    expect(r.push(decoded[0])).toBeUndefined();
    expect(r.pending).toBe(1);
    expect(r.push(decoded[1])).toBeUndefined();
    expect(r.push(decoded[2])).toEqual(info);
    expect(r.pending).toBe(0);
  });
  it("bounds the memory a peer can hold with endless segments", () => {
    const r = new HdlcReassembler(200);
    const f = decodeHdlcFrame(segmentHdlc({ dst: hdlcAddress(16), src: hdlcAddress(1), info: new Uint8Array(300), maxInfo: 128, ns: 0, nr: 0 })[0]);
    r.push(f);
    expect(() => r.push(f)).toThrow(expect.objectContaining({ code: "SEGMENT_OVERFLOW", limit: 200, actual: 256 }));
    expect(r.pending).toBe(0);
  });
  it("keeps at most maxPending unfinished messages when a peer cycles addresses", () => {
    const r = new HdlcReassembler(1024, 4);
    for (let client = 1; client <= 100; client++) {
      r.push(decodeHdlcFrame(segmentHdlc({ dst: hdlcAddress(1), src: hdlcAddress(client), info: new Uint8Array(20), maxInfo: 10, ns: 0, nr: 0 })[0]));
    }
    expect(r.pending).toBe(4);
    expect(r.evicted).toBe(96);
    // The newest message still completes.
    const last = segmentHdlc({ dst: hdlcAddress(1), src: hdlcAddress(100), info: new Uint8Array(20), maxInfo: 10, ns: 0, nr: 0 })[1];
    expect(r.push(decodeHdlcFrame(last))?.length).toBe(20);
  });
});
