import { createCipheriv, hkdfSync } from "node:crypto";
import fc from "fast-check";
import { aesGcmNonce, deriveMeterKey } from "./aesGcmSuite";
import { BadTagError, InvalidArgumentError, InvalidKeyError, OsgpError } from "./errors";
import { bytesToHex, hexToBytes } from "./hex";
import { READING_TABLE_ID } from "./record";
import { encodeRequestPdu, encodeResponsePdu } from "./services";
import { createSecuritySuite } from "./suite";
import { matchingRequest, requestArb, responseArb, seqArb } from "./test-utils/arbitraries";

const masterKey = hexToBytes("000102030405060708090a0b0c0d0e0f");
const meterId = 42;
const read = { service: "partialRead", tableId: READING_TABLE_ID, offset: 0, count: 144 } as const;

/** The README's aes-gcm specification, implemented directly with node:crypto. */
function specFrame(key: Buffer, direction: number, seq: number, pdu: Uint8Array, aadTail: Buffer): Buffer {
  const len = pdu.length + 4 + 16;
  const lenBytes = Buffer.from([len >> 8, len & 0xff]);
  const seqBytes = Buffer.alloc(4);
  seqBytes.writeUInt32BE(seq);
  const nonce = Buffer.alloc(12);
  nonce.writeUInt32BE(meterId, 0);
  nonce[4] = direction;
  nonce.writeUInt32BE(seq, 8);
  const c = createCipheriv("aes-128-gcm", key, nonce);
  c.setAAD(Buffer.concat([lenBytes, seqBytes, aadTail]));
  const ct = Buffer.concat([c.update(pdu), c.final()]);
  return Buffer.concat([lenBytes, ct, seqBytes, c.getAuthTag()]);
}

describe("aes-gcm", () => {
  const suite = createSecuritySuite("aes-gcm", { masterKey, meterId });

  it("derives the meter key with HKDF-SHA256, salt 'sidegrid/osgp-codec/aes-gcm/v1', info 'meter-key' ‖ meterId(4, MSB)", () => {
    const expected = Buffer.from(hkdfSync("sha256", masterKey, "sidegrid/osgp-codec/aes-gcm/v1", Buffer.concat([Buffer.from("meter-key"), hexToBytes("0000002a")]), 16));
    expect(bytesToHex(deriveMeterKey({ masterKey, meterId }))).toBe(expected.toString("hex"));
    expect(bytesToHex(deriveMeterKey({ masterKey, meterId: 43 }))).not.toBe(expected.toString("hex"));
    expect(() => deriveMeterKey({ masterKey: new Uint8Array(10), meterId })).toThrow(InvalidKeyError);
  });

  it("builds the nonce as meterId(4) ‖ direction ‖ 000000 ‖ seq(4)", () => {
    expect(bytesToHex(aesGcmNonce({ meterId: 0x01020304, direction: 2, seq: 0xa0b0c0d0 }))).toBe("0102030402000000a0b0c0d0");
  });

  it("request and response frames follow the README specification byte for byte", () => {
    const key = Buffer.from(deriveMeterKey({ masterKey, meterId }));
    const { frame, exchange } = suite.encodeRequest({ request: read, seq: 7 });
    const expectedRequest = specFrame(key, 1, 7, encodeRequestPdu(read), Buffer.alloc(0));
    expect(bytesToHex(frame)).toBe(expectedRequest.toString("hex"));

    const meter = suite.decodeRequest(frame);
    expect(meter).toMatchObject({ suite: "aes-gcm", request: read, seq: 7, encrypted: true, insecure: false });
    const response = { response: "okData", data: new Uint8Array(144).fill(0x5a) } as const;
    const out = suite.encodeResponse({ response, exchange: meter.exchange, seq: 1000 });
    const requestTag = expectedRequest.subarray(expectedRequest.length - 16);
    const expectedResponse = specFrame(key, 2, 1000, encodeResponsePdu(response), Buffer.concat([Buffer.from([0, 0, 0, 7]), requestTag]));
    expect(bytesToHex(out)).toBe(expectedResponse.toString("hex"));
    expect(out.length).toBe(2 + 147 + 4 + 16);
    expect(suite.decodeResponse(out, exchange)).toEqual({ suite: "aes-gcm", response, seq: 1000, encrypted: true, insecure: false });
  });

  it("known-answer vector (README): master key 000102..0f, meter 42, seq 1, partial read of ET160 0..144", () => {
    expect(bytesToHex(deriveMeterKey({ masterKey, meterId }))).toBe(KNOWN_ANSWER_KEY);
    const { frame } = suite.encodeRequest({ request: read, seq: 1 });
    expect(bytesToHex(frame)).toBe(KNOWN_ANSWER);
  });

  it("binds a response to its request: another request's exchange fails with BadTagError", () => {
    const a = suite.encodeRequest({ request: read, seq: 1 });
    const b = suite.encodeRequest({ request: read, seq: 2 });
    const out = suite.encodeResponse({ response: { response: "ok" }, exchange: suite.decodeRequest(a.frame).exchange, seq: 1 });
    expect(() => suite.decodeResponse(out, b.exchange)).toThrow(BadTagError);
  });

  it("another meter's key or id fails with BadTagError", () => {
    const { frame } = suite.encodeRequest({ request: read, seq: 1 });
    expect(() => createSecuritySuite("aes-gcm", { masterKey, meterId: 43 }).decodeRequest(frame)).toThrow(BadTagError);
    expect(() => createSecuritySuite("aes-gcm", { key: deriveMeterKey({ masterKey, meterId }), meterId: 43 }).decodeRequest(frame)).toThrow(BadTagError);
  });

  it("needs the meter's response sequence number to encode a response", () => {
    const { frame } = suite.encodeRequest({ request: read, seq: 1 });
    expect(() => suite.encodeResponse({ response: { response: "ok" }, exchange: suite.decodeRequest(frame).exchange })).toThrow(InvalidArgumentError);
  });

  it("round-trips every request and response; any single-byte change is rejected", () => {
    fc.assert(
      fc.property(requestArb, responseArb, seqArb, seqArb, fc.nat(), fc.integer({ min: 1, max: 255 }), (anyRequest, response, seq, rseq, at, delta) => {
        const request = matchingRequest(response, anyRequest);
        const { frame, exchange } = suite.encodeRequest({ request, seq });
        const badRequest = frame.slice();
        badRequest[at % badRequest.length] ^= delta;
        expect(() => suite.decodeRequest(badRequest)).toThrow(OsgpError);
        const meter = suite.decodeRequest(frame);
        expect(meter.request).toEqual(request);
        const out = suite.encodeResponse({ response, exchange: meter.exchange, seq: rseq });
        expect(suite.decodeResponse(out, exchange).response).toEqual(response);
        const bad = out.slice();
        bad[at % bad.length] ^= delta;
        expect(() => suite.decodeResponse(bad, exchange)).toThrow(OsgpError);
      }),
      { numRuns: 200 },
    );
  });
});

// Cross-checked with Python's `cryptography` (HKDF + AESGCM) written from the README alone.
const KNOWN_ANSWER_KEY = "6ef9ff81b3d6307a6d10d8d2aab234c2";
const KNOWN_ANSWER = "001c9782352accb1bfbd000000015a07a692908281639715ac96c1a26a7c";
