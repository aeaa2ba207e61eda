// HLS-GMAC against the worked example of the DLMS UA Green Book (ed. 7 amendment 2, "HLS example
// with GMAC", Table 18; the same figures are IEC 62056-5-3's): EK 000102..0F, AK D0D1..DF, client
// system title 4D4D4D0000000001 with IC 1, server 4D4D4D0000BC614E with IC 01234567, challenges
// CtoS "K56iVagY" and StoC "P6wRJ21F".
import { decodeApdu } from "./apdu";
import { isDlmsError } from "./errors";
import { hlsGmac, verifyHlsGmac } from "./hls";
import { hexToBytes } from "./hex";

const ek = hexToBytes("000102030405060708090A0B0C0D0E0F");
const ak = hexToBytes("D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF");
const clientTitle = hexToBytes("4D4D4D0000000001");
const serverTitle = hexToBytes("4D4D4D0000BC614E");
const ctos = new TextEncoder().encode("K56iVagY");
const stoc = new TextEncoder().encode("P6wRJ21F");
const hex = (b: Uint8Array) => Buffer.from(b).toString("hex").toUpperCase();

describe("HLS-GMAC (mechanism 5)", () => {
  it("computes the client's answer f(StoC) of the Green Book example", () => {
    expect(hex(hlsGmac({ challenge: stoc, systemTitle: clientTitle, invocationCounter: 1, ek, ak }))).toBe("10000000011A52FE7DD3E72748973C1E28");
  });

  it("computes the server's answer f(CtoS) of the Green Book example", () => {
    expect(hex(hlsGmac({ challenge: ctos, systemTitle: serverTitle, invocationCounter: 0x01234567, ek, ak }))).toBe("1001234567FE1466AFB3DBCD4F9389E2B7");
  });

  it("verifies a right answer (returning its counter) and refuses a wrong key, challenge or title with BAD_TAG", () => {
    const answer = hexToBytes("1001234567FE1466AFB3DBCD4F9389E2B7");
    expect(verifyHlsGmac({ answer, challenge: ctos, systemTitle: serverTitle, ek, ak })).toBe(0x01234567);
    const wrongAk = ak.slice();
    wrongAk[0] ^= 1;
    for (const p of [
      { answer, challenge: ctos, systemTitle: serverTitle, ek, ak: wrongAk },
      { answer, challenge: stoc, systemTitle: serverTitle, ek, ak },
      { answer, challenge: ctos, systemTitle: clientTitle, ek, ak },
    ]) {
      let err: unknown;
      try {
        verifyHlsGmac(p);
      } catch (e) {
        err = e;
      }
      expect(isDlmsError(err, "BAD_TAG")).toBe(true);
    }
    expect(() => verifyHlsGmac({ answer: answer.subarray(0, 10), challenge: ctos, systemTitle: serverTitle, ek, ak })).toThrow(/HLS-GMAC answer/);
  });

  it("decodes a captured HLS-GMAC AARE: accepted, authentication required, the server's challenge", () => {
    // AARE of a meter asked for HLS with GMAC (from the test suite of the Python dlms-cosem library,
    // test_no_ciher_hls_ok): mechanism 2.16.756.5.8.2.5, diagnostic 14, StoC "P6wRJ21F".
    const aare = decodeApdu(hexToBytes("6142A109060760857405080101A203020100A305A10302010E88020780890760857405080205AA0A8008503677524A323146BE10040E0800065F1F040000501F01F40007"));
    expect(aare).toMatchObject({ type: "aare", result: 0, mechanism: "high-gmac", resultSourceDiagnostic: { source: "acse-service-user", value: 14 } });
    expect(new TextDecoder().decode((aare as { respondingAuthenticationValue: Uint8Array }).respondingAuthenticationValue)).toBe("P6wRJ21F");
  });
});
