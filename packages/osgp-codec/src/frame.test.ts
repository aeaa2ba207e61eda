import fc from "fast-check";
import { BadDigestError, InvalidArgumentError, LengthMismatchError, OsgpError, TruncatedFrameError, UnknownResponseCodeError, UnknownServiceError } from "./errors";
import { decodeRequest, decodeResponse, encodeRequest, encodeResponse, peekFrameSize, requestDigestInput } from "./frame";
import { bytesToHex, hexToBytes } from "./hex";
import { decodeProcedureCall, encodeProcedureCall } from "./procedure";
import { decodeReadingRecord } from "./record";
import { decodeRequestPdu, decodeResponsePdu, encodeRequestPdu, type ServiceRequest, type ServiceResponse } from "./services";
import { tableId } from "./tableId";
import { keyArb, matchingRequest, requestArb, responseArb, seqArb } from "./test-utils/arbitraries";
import { APPENDIX_EXAMPLE, DEFAULT_MAK, GUIDE_EXCHANGES, TRANSACTION_READ_REQUEST } from "./test-utils/vectors";

const key = DEFAULT_MAK;
const ET = (n: number) => tableId({ number: n, extended: true });
const hex = bytesToHex;

interface Case {
  request: ServiceRequest;
  seq: number;
  response: ServiceResponse;
}

// The guide's exchanges as structured values; encoding them must give the published frames.
const CASES: Record<keyof typeof GUIDE_EXCHANGES & string, Case> = {
  "RC4 Example 1, first read (0x0C reply)": {
    request: { service: "partialRead", tableId: 23, offset: 0, count: 44 },
    seq: 0x01020304,
    response: { response: "invalidSequenceNumber", seq: 0x77635b90 },
  },
  "RC4 Example 1, retried read of BT23": {
    request: { service: "partialRead", tableId: 23, offset: 0, count: 44 },
    seq: 0x77635b91,
    // 44 bytes, zero except 0x08 at 16, 0x03 at 20, 0x06 at 40 (the guide's table-data column).
    response: { response: "okData", data: Uint8Array.from({ length: 44 }, (_, i) => ({ 16: 8, 20: 3, 40: 6 })[i] ?? 0) },
  },
  "RC4 Example 2, partial write of ET50": {
    request: { service: "partialWrite", tableId: ET(50), offset: 0x1e, data: hexToBytes("01") },
    seq: 0x77636e2f,
    response: { response: "ok" },
  },
  "multiple-command transaction written to ET52": {
    request: {
      service: "partialWrite",
      tableId: ET(52),
      offset: 0,
      data: hexToBytes(
        "4300000100 0800 3f080b000000000a 0800 3f0014000000000a 0800 3f0015000000000a 0800 3f0804000037 0001 0800 3f080e000000000c 0800 3f080f000000001f 0100",
      ),
    },
    seq: 0x5b4e42e6,
    response: { response: "ok" },
  },
  "ET53 transaction-size read": {
    request: { service: "partialRead", tableId: ET(53), offset: 0, count: 5 },
    seq: 0x5b4e42e7,
    response: { response: "okData", data: hexToBytes("6f00010100") },
  },
  "ET53 full transaction-response read": {
    request: { service: "partialRead", tableId: ET(53), offset: 0, count: 0x6f },
    seq: 0x5b4e42e8,
    response: { response: "okData", data: GUIDE_EXCHANGES["ET53 full transaction-response read"].response.slice(5, 5 + 0x6f) },
  },
  "EP17 procedure call through BT07": {
    request: encodeProcedureCall({ procedure: 2048 + 17, psn: 7, params: hexToBytes("00 F8 03") }),
    seq: 0x5b4e4309,
    response: { response: "ok" },
  },
};

describe("the MEP guide's frames, byte for byte", () => {
  for (const [name, c] of Object.entries(CASES)) {
    const ex = GUIDE_EXCHANGES[name];
    it(`encodes the request frame: ${name} — ${ex.source}`, () => {
      expect(hex(encodeRequest({ request: c.request, seq: c.seq, key }))).toBe(hex(ex.request));
    });
    it(`encodes the response frame: ${name} — ${ex.source}`, () => {
      expect(hex(encodeResponse({ response: c.response, request: requestDigestInput(ex.request), key }))).toBe(hex(ex.response));
    });
    it(`decodes and verifies both frames: ${name} — ${ex.source}`, () => {
      const req = decodeRequest(ex.request, { key });
      expect(req).toMatchObject({ request: c.request, seq: c.seq, digestValid: true, insecure: true });
      expect(hex(req.digest)).toBe(hex(ex.request.subarray(-8)));
      const res = decodeResponse(ex.response, { key, request: requestDigestInput(ex.request) });
      expect(res).toMatchObject({ response: c.response, digestValid: true });
    });
  }

  it("the retried BT23 read returns 44 data bytes with 0x08 at offset 16, 0x03 at 20 and 0x06 at 40 — RC4 Example 1, p. 16", () => {
    const ex = GUIDE_EXCHANGES["RC4 Example 1, retried read of BT23"];
    const res = decodeResponse(ex.response, { key, request: requestDigestInput(ex.request) }).response;
    if (res.response !== "okData") throw new Error(`expected okData, got ${res.response}`);
    expect(res.data.length).toBe(44);
    expect([res.data[16], res.data[20], res.data[40]]).toEqual([8, 3, 6]);
  });

  it("the EP17 call is a BT07 full write: procedure 0x811, PSN 7, params 00 F803 (handle 0x03F8 LSB first) — ch. 4 Calling Procedures, p. 53", () => {
    const req = decodeRequest(GUIDE_EXCHANGES["EP17 procedure call through BT07"].request).request;
    if (req.service !== "fullWrite") throw new Error(req.service);
    expect(req.tableId).toBe(7);
    const call = decodeProcedureCall(req.data);
    expect({ ...call, params: hex(call.params) }).toEqual({ procedure: 0x811, responseHandling: 0, psn: 7, params: "00f803" });
  });

  it(`the ET52 read-request transaction PDU, length 0x25 — ${TRANSACTION_READ_REQUEST.source}`, () => {
    const pdu = encodeRequestPdu({ service: "partialWrite", tableId: ET(52), offset: 0, data: hexToBytes("11 00 00 02 00 08 00 3F 00 17 00 00 00 00 2C 02 00") });
    expect(hex(pdu)).toBe(hex(TRANSACTION_READ_REQUEST.pdu));
    expect(encodeRequest({ request: pdu, seq: 0, key }).length - 2).toBe(TRANSACTION_READ_REQUEST.length);
  });

  it(`decodes the Appendix A/B BT52 read structure (its key is not stated, so the digest cannot be checked) — ${APPENDIX_EXAMPLE.source}`, () => {
    const req = decodeRequest(APPENDIX_EXAMPLE.request);
    expect(req).toMatchObject({ request: { service: "partialRead", tableId: 0x34, offset: 0, count: 6 }, seq: 0xf52f5481, digestValid: null });
    const res = decodeResponse(APPENDIX_EXAMPLE.response, { request: requestDigestInput(APPENDIX_EXAMPLE.request) });
    expect(res.response).toEqual({ response: "okData", data: hexToBytes("04 02 10 0F 3B 37") });
    expect(decodeRequest(APPENDIX_EXAMPLE.request, { key, onBadDigest: "report" }).digestValid).toBe(false);
  });
});

describe("frame errors", () => {
  const good = GUIDE_EXCHANGES["RC4 Example 1, first read (0x0C reply)"];
  it("a frame shorter than its len field is TruncatedFrameError", () => {
    expect(() => decodeRequest(hexToBytes("00"))).toThrow(TruncatedFrameError);
  });
  it("len disagreeing with the bytes present is LengthMismatchError { declared, actual }", () => {
    expect(() => decodeRequest(good.request.subarray(0, 21))).toThrow(expect.objectContaining({ code: "LENGTH_MISMATCH", declared: 20, actual: 19 }));
  });
  it("a body too short for PDU + seq + digest is TruncatedFrameError", () => {
    expect(() => decodeRequest(hexToBytes("0004 3f000000"))).toThrow(TruncatedFrameError);
    expect(() => decodeResponse(hexToBytes("0008 0000000000000000"))).toThrow(TruncatedFrameError);
  });
  it("a wrong digest is BadDigestError carrying expected and actual", () => {
    const bad = good.request.slice();
    bad[bad.length - 1] ^= 0xff;
    let err: unknown;
    try {
      decodeRequest(bad, { key });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(BadDigestError);
    expect(err).toMatchObject({ expected: "74861f6d7658dd56", actual: "74861f6d7658dda9", code: "BAD_DIGEST" });
    expect(decodeRequest(bad, { key, onBadDigest: "report" }).digestValid).toBe(false);
  });
  it("an unknown service code is UnknownServiceError { serviceCode }", () => {
    const frame = encodeRequest({ request: hexToBytes("31 0017"), seq: 1, key });
    expect(() => decodeRequest(frame, { key })).toThrow(expect.objectContaining({ code: "UNKNOWN_SERVICE", serviceCode: 0x31 }));
    expect(() => decodeRequest(frame)).toThrow(UnknownServiceError);
  });
  it("an unknown response code is UnknownResponseCodeError { responseCode }", () => {
    const frame = encodeResponse({ response: hexToBytes("07"), request: requestDigestInput(good.request), key });
    expect(() => decodeResponse(frame)).toThrow(UnknownResponseCodeError);
    expect(() => decodeResponse(frame)).toThrow(expect.objectContaining({ responseCode: 7 }));
  });
  it("a count that disagrees with the data is LengthMismatchError", () => {
    const frame = encodeRequest({ request: hexToBytes("4f 0832 00001e 0002 01"), seq: 1, key });
    expect(() => decodeRequest(frame, { key })).toThrow(expect.objectContaining({ code: "LENGTH_MISMATCH", declared: 2, actual: 1 }));
    const trailing = encodeRequest({ request: hexToBytes("30 0017 00"), seq: 1, key });
    expect(() => decodeRequest(trailing)).toThrow(LengthMismatchError);
  });
  it("an OK with data in answer to a write is LengthMismatchError; an OK without count to a read is TruncatedFrameError", () => {
    const write = requestDigestInput(GUIDE_EXCHANGES["RC4 Example 2, partial write of ET50"].request);
    const read = requestDigestInput(good.request);
    const okData = encodeResponse({ response: { response: "okData", data: hexToBytes("01") }, request: write, key });
    expect(() => decodeResponse(okData, { key, request: write })).toThrow(LengthMismatchError);
    const ok = encodeResponse({ response: { response: "ok" }, request: read, key });
    expect(() => decodeResponse(ok, { key, request: read })).toThrow(TruncatedFrameError);
  });
  it("verifying a response needs the request: InvalidArgumentError", () => {
    expect(() => decodeResponse(good.response, { key })).toThrow(InvalidArgumentError);
  });
  it("encoders reject out-of-range values with InvalidArgumentError naming the field", () => {
    expect(() => encodeRequest({ request: { service: "fullRead", tableId: 0x10000 }, seq: 1, key })).toThrow(expect.objectContaining({ argument: "tableId" }));
    expect(() => encodeRequest({ request: { service: "fullRead", tableId: 1 }, seq: -1, key })).toThrow(expect.objectContaining({ argument: "seq" }));
    expect(() => encodeRequest({ request: { service: "partialRead", tableId: 1, offset: 0x1000000, count: 1 }, seq: 1, key })).toThrow(
      expect.objectContaining({ argument: "offset" }),
    );
    expect(() => encodeRequest({ request: { service: "bogus" } as unknown as ServiceRequest, seq: 1, key })).toThrow(expect.objectContaining({ argument: "service" }));
    expect(() => encodeRequest({ request: { service: "fullWrite", tableId: 1, data: new Uint8Array(0x10000) }, seq: 1, key })).toThrow(InvalidArgumentError);
  });
  it("peekFrameSize reads len + 2 and recognises the 00 00 alert", () => {
    expect(peekFrameSize(hexToBytes("00"))).toBeUndefined();
    expect(peekFrameSize(good.request)).toBe(22);
    expect(peekFrameSize(hexToBytes("0000"))).toBe(2);
  });
});

describe("properties", () => {
  it("decodeRequest(encodeRequest(x)) = x for every service, seq and key length", () => {
    fc.assert(
      fc.property(requestArb, seqArb, keyArb, (request, seq, k) => {
        const frame = encodeRequest({ request, seq, key: k });
        const decoded = decodeRequest(frame, { key: k });
        expect(decoded.request).toEqual(request);
        expect(decoded.seq).toBe(seq);
        expect(decoded.digestValid).toBe(true);
      }),
      { numRuns: 400 },
    );
  });
  it("decodeResponse(encodeResponse(x)) = x for every response, with the request's digest chained in", () => {
    fc.assert(
      fc.property(responseArb, requestArb, seqArb, keyArb, (response, anyRequest, seq, k) => {
        const requestFrame = encodeRequest({ request: matchingRequest(response, anyRequest), seq, key: k });
        const request = requestDigestInput(requestFrame);
        const frame = encodeResponse({ response, request, key: k });
        const decoded = decodeResponse(frame, { key: k, request });
        expect(decoded.response).toEqual(response);
        expect(decoded.digestValid).toBe(true);
      }),
      { numRuns: 400 },
    );
  });
  it("any single-byte change to a framed request or response makes verification fail (never accepted)", () => {
    fc.assert(
      fc.property(requestArb, responseArb, seqArb, keyArb, fc.nat(), fc.integer({ min: 1, max: 255 }), (anyRequest, response, seq, k, at, delta) => {
        const requestFrame = encodeRequest({ request: matchingRequest(response, anyRequest), seq, key: k });
        const request = requestDigestInput(requestFrame);
        const responseFrame = encodeResponse({ response, request, key: k });
        const badRequest = requestFrame.slice();
        badRequest[at % badRequest.length] ^= delta;
        expect(() => decodeRequest(badRequest, { key: k })).toThrow(OsgpError);
        const badResponse = responseFrame.slice();
        badResponse[at % badResponse.length] ^= delta;
        expect(() => decodeResponse(badResponse, { key: k, request })).toThrow(OsgpError);
        // The response is bound to its request: changing the request bytes breaks it too.
        const otherRequest = request.slice();
        otherRequest[at % otherRequest.length] ^= delta;
        expect(() => decodeResponse(responseFrame, { key: k, request: otherRequest })).toThrow(OsgpError);
      }),
      { numRuns: 500 },
    );
  });
  it("any JavaScript value (not just bytes) gets an OsgpError, never a TypeError", () => {
    fc.assert(
      fc.property(fc.anything(), fc.anything(), (value, options) => {
        for (const run of [
          () => decodeRequest(value as Uint8Array, options as never),
          () => decodeResponse(value as Uint8Array, options as never),
          () => decodeRequestPdu(value as Uint8Array),
          () => decodeResponsePdu(value as Uint8Array),
          () => decodeReadingRecord(value as Uint8Array),
          () => decodeProcedureCall(value as Uint8Array),
          () => peekFrameSize(value as Uint8Array),
        ]) {
          try {
            run();
          } catch (e) {
            expect(e).toBeInstanceOf(OsgpError);
          }
        }
      }),
      { numRuns: 300 },
    );
  });

  it("random bytes never make the decoders throw anything but OsgpError", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), fc.boolean(), keyArb, (bytes, withLength, k) => {
        const frame = withLength ? Uint8Array.from([bytes.length >> 8, bytes.length & 0xff, ...bytes]) : bytes;
        for (const run of [
          () => decodeRequest(frame),
          () => decodeRequest(frame, { key: k, onBadDigest: "report" }),
          () => decodeResponse(frame),
          () => decodeResponse(frame, { key: k, request: hexToBytes("3f0017000000002c01020304"), onBadDigest: "report" }),
          () => decodeResponse(frame, { request: hexToBytes("4f0832000000000101020304") }),
        ]) {
          try {
            run();
          } catch (e) {
            expect(e).toBeInstanceOf(OsgpError);
          }
        }
      }),
      { numRuns: 1000 },
    );
  });
});
