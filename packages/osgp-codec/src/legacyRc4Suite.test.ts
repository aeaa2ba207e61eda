import fc from "fast-check";
import { encodeRequest, encodeResponse, requestDigestInput } from "./frame";
import { BadDigestError, InsecureSuiteError, InvalidArgumentError, InvalidKeyError, OsgpError } from "./errors";
import { bytesToHex, hexToBytes } from "./hex";
import { MEP_RC4_CONSTANT, Rc4 } from "./rc4";
import { createSecuritySuite } from "./suite";
import { matchingRequest, requestArb, responseArb, seqArb } from "./test-utils/arbitraries";
import { DEFAULT_MAK, GUIDE_EXCHANGES } from "./test-utils/vectors";

const key = DEFAULT_MAK;
const legacy = (o: { encrypt?: boolean; key?: Uint8Array } = {}) => createSecuritySuite("legacy-rc4-mep", { key: o.key ?? key, allowInsecure: true, ...(o.encrypt === undefined ? {} : { encrypt: o.encrypt }) });
const read = { service: "partialRead", tableId: 23, offset: 0, count: 44 } as const;

describe("legacy-rc4-mep", () => {
  it("refuses to exist without allowInsecure: true (InsecureSuiteError)", () => {
    expect(() => createSecuritySuite("legacy-rc4-mep", { key, allowInsecure: false })).toThrow(InsecureSuiteError);
  });

  it(`unencrypted, it produces and accepts the guide's frames — ${GUIDE_EXCHANGES["RC4 Example 1, first read (0x0C reply)"].source}`, () => {
    const ex = GUIDE_EXCHANGES["RC4 Example 1, first read (0x0C reply)"];
    const client = legacy({ encrypt: false });
    const { frame, exchange } = client.encodeRequest({ request: read, seq: 0x01020304 });
    expect(bytesToHex(frame)).toBe(bytesToHex(ex.request));
    const meter = legacy().decodeRequest(ex.request);
    expect(meter).toMatchObject({ request: read, seq: 0x01020304, encrypted: false, insecure: true });
    const response = legacy().encodeResponse({ response: { response: "invalidSequenceNumber", seq: 0x77635b90 }, exchange: meter.exchange });
    expect(bytesToHex(response)).toBe(bytesToHex(ex.response));
    expect(client.decodeResponse(ex.response, exchange)).toEqual({
      suite: "legacy-rc4-mep",
      response: { response: "invalidSequenceNumber", seq: 0x77635b90 },
      seq: null,
      encrypted: false,
      insecure: true,
    });
  });

  it("encrypts PDU ‖ seq with RC4(EncKey ⊕ digest) and the response continues that keystream; digests stay over plaintext", () => {
    const suite = legacy();
    const { frame, exchange } = suite.encodeRequest({ request: read, seq: 0x77635b91 });
    const plainRequest = encodeRequest({ request: read, seq: 0x77635b91, key });
    const digest = plainRequest.subarray(-8);
    // Independent construction from the guide's Appendix B description.
    const encKey = new Rc4(key).process(MEP_RC4_CONSTANT);
    for (let i = 0; i < 8; i++) encKey[i] ^= digest[i];
    const data = Uint8Array.from({ length: 44 }, (_, i) => i); // PDU: 00, count(2), 44 bytes = 47
    const plainResponse = encodeResponse({ response: { response: "okData", data }, request: requestDigestInput(plainRequest), key });
    const keystream = new Rc4(encKey).process(new Uint8Array(12 + 47));
    const expectedRequest = plainRequest.slice();
    for (let i = 0; i < 12; i++) expectedRequest[2 + i] ^= keystream[i];
    expect(bytesToHex(frame)).toBe(bytesToHex(expectedRequest));

    const meter = suite.decodeRequest(frame);
    expect(meter).toMatchObject({ request: read, seq: 0x77635b91, encrypted: true, insecure: true });
    const response = suite.encodeResponse({ response: { response: "okData", data }, exchange: meter.exchange });
    const expectedResponse = plainResponse.slice();
    for (let i = 0; i < 47; i++) expectedResponse[2 + i] ^= keystream[12 + i];
    expect(bytesToHex(response)).toBe(bytesToHex(expectedResponse));
    expect(suite.decodeResponse(response, exchange)).toMatchObject({ response: { response: "okData", data }, encrypted: true, insecure: true });
    // Decoding the same response twice works: the exchange keeps the keystream position, not a cursor.
    expect(suite.decodeResponse(response, exchange).encrypted).toBe(true);
  });

  it("sends 0x0B (authentication failure) in clear even in an encrypted exchange, and the client accepts it", () => {
    const suite = legacy();
    const { frame, exchange } = suite.encodeRequest({ request: read, seq: 5 });
    const meter = suite.decodeRequest(frame);
    const response = suite.encodeResponse({ response: { response: "authenticationFailure" }, exchange: meter.exchange });
    expect(response[2]).toBe(0x0b);
    expect(suite.decodeResponse(response, exchange)).toMatchObject({ response: { response: "authenticationFailure" }, encrypted: false });
  });

  it("rejects tampered frames and frames under another key with BadDigestError", () => {
    const suite = legacy();
    const { frame } = suite.encodeRequest({ request: read, seq: 5 });
    const bad = frame.slice();
    bad[4] ^= 0x10;
    expect(() => suite.decodeRequest(bad)).toThrow(BadDigestError);
    expect(() => legacy({ key: new Uint8Array(16).fill(2) }).decodeRequest(frame)).toThrow(BadDigestError);
  });

  it("round-trips every request and response, encrypted; any single-byte change is rejected", () => {
    const suite = legacy();
    fc.assert(
      fc.property(requestArb, responseArb, seqArb, fc.nat(), fc.integer({ min: 1, max: 255 }), (anyRequest, response, seq, at, delta) => {
        const request = matchingRequest(response, anyRequest);
        const { frame, exchange } = suite.encodeRequest({ request, seq });
        const meter = suite.decodeRequest(frame);
        expect(meter.request).toEqual(request);
        const out = suite.encodeResponse({ response, exchange: meter.exchange });
        expect(suite.decodeResponse(out, exchange).response).toEqual(response);
        const bad = out.slice();
        bad[at % bad.length] ^= delta;
        expect(() => suite.decodeResponse(bad, exchange)).toThrow(OsgpError);
      }),
      { numRuns: 200 },
    );
  });

  it("works digest-only with 48- and 96-bit keys; encryption needs the 16-byte key", () => {
    const k12 = hexToBytes("dfdfdfdfdfdfdfdfdfdfdfdf");
    const suite = legacy({ key: k12, encrypt: false });
    const { frame } = suite.encodeRequest({ request: read, seq: 1 });
    expect(suite.decodeRequest(frame)).toMatchObject({ encrypted: false, request: read });
    expect(() => legacy({ key: k12 })).toThrow(InvalidKeyError);
  });

  it("refuses an exchange that came from another suite", () => {
    const other = createSecuritySuite("aes-gcm", { key: new Uint8Array(16), meterId: 1 }).encodeRequest({ request: read, seq: 1 }).exchange;
    expect(() => legacy().decodeResponse(hexToBytes("0009 00 0000000000000000"), other)).toThrow(InvalidArgumentError);
  });
});
