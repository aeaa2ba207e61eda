import { decodeApdu, encodeApdu } from "./apdu";
import { type Apdu, conformance } from "./apduTypes";
import { isDlmsError } from "./errors";
import { bytesToHex, hexToBytes } from "./hex";

// Real APDUs from pwitab/dlms-cosem's test suite (tests/test_asce/*.py, tests/test_xdlms/*.py), several
// of which it takes from the DLMS UA Green Book examples. Each is decoded, checked field by field,
// and re-encoded byte for byte.
const rt = (h: string): Apdu => {
  const a = decodeApdu(hexToBytes(h));
  expect(bytesToHex(encodeApdu(a))).toBe(h);
  return a;
};

describe("ACSE APDUs", () => {
  it("AARQ, LN no ciphering, no security (tests/test_asce/test_aarq.py)", () => {
    const a = rt("601da109060760857405080101be10040e01000000065f1f0400007e1f04b0");
    expect(a).toMatchObject({
      type: "aarq", applicationContext: "logical-name", mechanism: null, callingApTitle: null, callingAuthenticationValue: null,
      userInformation: { type: "initiate-request", dedicatedKey: null, responseAllowed: null, proposedQualityOfService: null, proposedDlmsVersion: 6, clientMaxReceivePduSize: 1200 },
    });
    if (a.type !== "aarq" || a.userInformation?.type !== "initiate-request") throw new Error("shape");
    expect(a.userInformation.proposedConformance.names).toEqual([
      "priority-mgmt-supported", "attribute0-supported-with-get", "block-transfer-with-get-or-read", "block-transfer-with-set-or-write",
      "block-transfer-with-action", "multiple-references", "get", "set", "selective-access", "event-notification", "action",
    ]);
  });

  it("AARQ with lowest-level security, password 12345678 (tests/test_asce/test_aarq.py)", () => {
    const a = rt("6036a1090607608574050801018a0207808b0760857405080201ac0a80083132333435363738be10040e01000000065f1f0400007e1f04b0");
    expect(a).toMatchObject({ type: "aarq", mechanism: "low", callingAuthenticationValue: new TextEncoder().encode("12345678") });
  });

  it("AARQ, LN with ciphering, low security, system title MMM..., glo-initiate-request (tests/test_asce/test_aarq.py)", () => {
    const a = rt("6066a109060760857405080103a60a04084d4d4d0000bc614e8a0207808b0760857405080201ac0a80083132333435363738be34043221303001234567801302ff8a7874133d414ced25b42534d28db0047720606b175bd52211be6841db204d39ee6fdb8e356855");
    expect(a).toMatchObject({
      type: "aarq", applicationContext: "logical-name-ciphering", callingApTitle: hexToBytes("4d4d4d0000bc614e"), mechanism: "low",
      userInformation: { type: "glo-initiate-request", securityControl: 0x30, invocationCounter: 0x01234567 },
    });
  });

  it("AARE accepted, no ciphering, no security (tests/test_asce/test_aare.py, Green Book example)", () => {
    const a = rt("6129a109060760857405080101a203020100a305a103020100be10040e0800065f1f040000501f01f40007");
    expect(a).toMatchObject({
      type: "aare", applicationContext: "logical-name", result: 0, resultSourceDiagnostic: { source: "acse-service-user", value: 0 },
      userInformation: { type: "initiate-response", negotiatedDlmsVersion: 6, serverMaxReceivePduSize: 500, vaaName: 7, negotiatedConformance: { value: 0x00501f } },
    });
  });

  it("AARE rejected: application context name not supported; DLMS version too low (tests/test_asce/test_aare.py)", () => {
    expect(rt("6129a109060760857405080101a203020101a305a103020102be10040e0800065f1f040000501f01f40007")).toMatchObject({ result: 1, resultSourceDiagnostic: { value: 2 } });
    expect(rt("611fa109060760857405080101a203020101a305a103020101be0604040e010601")).toMatchObject({
      result: 1, resultSourceDiagnostic: { value: 1 }, userInformation: { type: "confirmed-service-error", service: 1, errorType: 6, value: 1 },
    });
  });

  it("AARE with HLS GMAC: responding authentication value (tests/test_asce/test_aare.py)", () => {
    const a = rt("6142a109060760857405080101a203020100a305a10302010e88020780890760857405080205aa0a8008503677524a323146be10040e0800065f1f040000501f01f40007");
    expect(a).toMatchObject({ mechanism: "high-gmac", respondingAuthenticationValue: new TextEncoder().encode("P6wRJ21F"), resultSourceDiagnostic: { value: 14 } });
  });

  it("RLRE with and without user information (tests/test_asce/test_rlre.py)", () => {
    expect(rt("6303800100")).toEqual({ type: "rlre", reason: 0, userInformation: null });
    expect(rt("6316800100be11040f080100065f1f0400001e1d04c80007")).toMatchObject({ type: "rlre", userInformation: { type: "initiate-response", negotiatedQualityOfService: 0, serverMaxReceivePduSize: 1224 } });
  });
});

describe("xDLMS APDUs", () => {
  it("GET request normal for 0.0.43.1.0.255 attribute 2 (tests/test_xdlms/test_get.py)", () => {
    expect(rt("c001c1000100002b0100ff0200")).toEqual({
      type: "get-request-normal", invoke: { invokeId: 1, confirmed: true, highPriority: true }, attribute: { classId: 1, obis: "0.0.43.1.0.255", attribute: 2 }, accessSelection: null,
    });
    expect(rt("c002c100000001")).toMatchObject({ type: "get-request-next", blockNumber: 1 });
  });

  it("GET request with selective access by range on the load profile 1.0.99.1.0.255 (tests/test_xdlms/test_selective_access.py)", () => {
    const a = rt("c001c100070100630100ff0201010204020412000809060000010000ff0f02120000090c07e10a010700000000ffc480090c07e10a010701000000ffc4800100");
    expect(a).toMatchObject({ type: "get-request-normal", attribute: { classId: 7, obis: "1.0.99.1.0.255", attribute: 2 }, accessSelection: { selector: 1, parameters: { type: "structure" } } });
  });

  it("GET responses: data, data-access-result, datablock (tests/test_xdlms/test_get.py)", () => {
    expect(rt("c401c1000600001391")).toMatchObject({ type: "get-response-normal", result: { data: { type: "double-long-unsigned", value: 5009 } } });
    expect(rt("c401c10101")).toMatchObject({ type: "get-response-normal", result: { dataAccessResult: 1 } });
    expect(rt("c402c101000000130101")).toMatchObject({ type: "get-response-with-datablock", lastBlock: true, blockNumber: 19, result: { dataAccessResult: 1 } });
  });

  it("SET request normal writing the clock 0.0.1.0.0.255 (tests/test_xdlms/test_set.py)", () => {
    expect(rt("c101c100080000010000ff0200090c07e50118ff0e303950ffc400")).toMatchObject({
      type: "set-request-normal", attribute: { classId: 8, obis: "0.0.1.0.0.255", attribute: 2 }, value: { type: "octet-string" },
    });
  });

  it("ACTION request/response normal (tests/test_xdlms/test_action.py: HLS reply_to_HLS_authentication)", () => {
    expect(rt("c301c0000f0000280000ff010109111000001a90e6d2221fa2fd85eed61acc22")).toMatchObject({
      type: "action-request-normal", invoke: { invokeId: 0, confirmed: true, highPriority: true }, method: { classId: 15, obis: "0.0.40.0.0.255", method: 1 }, parameters: { type: "octet-string" },
    });
    expect(rt("c301c0000f0000280000ff0100")).toMatchObject({ parameters: null });
    expect(rt("c701c00000")).toEqual({ type: "action-response-normal", invoke: { invokeId: 0, confirmed: true, highPriority: true }, result: 0, returnParameters: null });
    expect(rt("c701c000010009111000001afde8857b728a3499106aa665d1")).toMatchObject({ returnParameters: { data: { type: "octet-string" } } });
    expect(rt("c701c0000101fa")).toMatchObject({ returnParameters: { dataAccessResult: 250 } });
  });

  it("data-notification with no date-time (tests/test_xdlms/test_data_notification.py)", () => {
    expect(rt("0f000001db000922125a8591360000000049000000110000000a5a8513d014800000000d0000000a0100")).toMatchObject({
      type: "data-notification", longInvokeIdAndPriority: 0x1db, dateTime: null, dateTimeEncoding: "absent", body: { type: "octet-string" },
    });
  });

  it("event-notification-request and the ACTION pblock forms round-trip", () => {
    // Event: the disconnect control's output state (class 70, 0.0.96.3.10.255 attribute 2) became false.
    expect(rt("c2010c07ea0c0304090000ffff8800004600006003" + "0aff020300")).toMatchObject({
      type: "event-notification-request", attribute: { classId: 70, obis: "0.0.96.3.10.255", attribute: 2 }, value: { type: "boolean", value: false },
    });
    expect(rt("c304c1000f0000280000ff0101000000010401020304")).toMatchObject({ type: "action-request-with-first-pblock", block: { lastBlock: true, blockNumber: 1, rawData: Uint8Array.of(1, 2, 3, 4) } });
    expect(rt("c306c1000000000202aabb")).toMatchObject({ type: "action-request-with-pblock", block: { lastBlock: false, blockNumber: 2 } });
    expect(rt("c702c1010000000100")).toMatchObject({ type: "action-response-with-pblock", block: { lastBlock: true, blockNumber: 1, rawData: new Uint8Array(0) } });
  });

  it("exception-response and set-response", () => {
    expect(rt("d80102")).toEqual({ type: "exception-response", stateError: 1, serviceError: 2, invocationCounter: null });
    expect(rt("d8010600000064")).toMatchObject({ serviceError: 6, invocationCounter: 100 });
    expect(rt("c501c100")).toMatchObject({ type: "set-response-normal", result: 0 });
  });

  it("builds conformance blocks from names", () => {
    expect(conformance(["get", "set", "action", "block-transfer-with-get-or-read"]).value).toBe(0x1019);
    expect(() => conformance(["nope" as never])).toThrow(expect.objectContaining({ code: "INVALID_ARGUMENT" }));
  });

  it("refuses unknown tags and choices, trailing bytes, truncation with typed errors", () => {
    const code = (h: string) => {
      try {
        decodeApdu(hexToBytes(h));
        return "ok";
      } catch (e) {
        if (!isDlmsError(e)) throw e;
        return e.code;
      }
    };
    expect(code("ff")).toBe("UNKNOWN_TAG");
    expect(code("c009c1")).toBe("UNKNOWN_TAG");
    expect(code("c001c1000100002b0100ff020000")).toBe("TRAILING_BYTES");
    expect(code("c001c1000100002b01")).toBe("TRUNCATED");
    expect(code("c001c1000100002b0100ff0202")).toBe("BAD_FORMAT");
    expect(code("6003a10100")).toBe("BAD_FORMAT");
    expect(code("c8ff")).toBe("BAD_LENGTH_ENCODING");
  });
});
