import fc from "fast-check";
import { InvalidArgumentError, TruncatedFrameError } from "./errors";
import { bytesToHex, hexToBytes } from "./hex";
import { decodeProcedureCall, decodeProcedureResult, encodeProcedureCall, encodeProcedureResult } from "./procedure";
import { encodeRequestPdu } from "./services";
import { MEP_GUIDE } from "./test-utils/vectors";

describe("procedures through BT07/BT08", () => {
  it(`EP17 (remove device 0x03F8, PSN 7) is the PDU 40 0007 0006 110807 00F803 — ${MEP_GUIDE}, ch. 4 "Calling Procedures", Example, p. 53`, () => {
    const pdu = encodeRequestPdu(encodeProcedureCall({ procedure: 2048 + 17, psn: 7, params: hexToBytes("00 F8 03") }));
    expect(bytesToHex(pdu)).toBe("4000070006110807" + "00f803");
  });
  it("puts response handling in bits 12-15 of the LSB-first procedure word", () => {
    const req = encodeProcedureCall({ procedure: 5, psn: 9, responseHandling: 0xa });
    expect(req).toEqual({ service: "fullWrite", tableId: 7, data: hexToBytes("05a009") });
  });
  it("decodes BT08 results and encodes them back", () => {
    const r = decodeProcedureResult(hexToBytes("1108 07 00 aabb"));
    expect(r).toEqual({ procedure: 0x811, filler: 0, psn: 7, resultCode: 0, data: hexToBytes("aabb") });
    expect(bytesToHex(encodeProcedureResult(r))).toBe("11080700aabb");
    expect(() => decodeProcedureResult(hexToBytes("1108 07"))).toThrow(TruncatedFrameError);
  });
  it("round-trips any call", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 4095 }), fc.integer({ min: 0, max: 15 }), fc.integer({ min: 0, max: 255 }), fc.uint8Array({ maxLength: 40 }), (procedure, responseHandling, psn, params) => {
        const req = encodeProcedureCall({ procedure, responseHandling, psn, params });
        if (req.service !== "fullWrite") throw new Error(req.service);
        expect(decodeProcedureCall(req.data)).toEqual({ procedure, responseHandling, psn, params });
      }),
    );
  });
  it("rejects a procedure id above 12 bits", () => {
    expect(() => encodeProcedureCall({ procedure: 4096, psn: 5 })).toThrow(InvalidArgumentError);
  });
});
