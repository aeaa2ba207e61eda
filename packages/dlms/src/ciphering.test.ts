import { decodeApdu, encodeApdu } from "./apdu";
import { cipherApdu, decipherApdu, decipherApduBytes } from "./ciphering";
import { isDlmsError } from "./errors";
import { bytesToHex, hexToBytes } from "./hex";
import { decodeSecurityControl, protect, unprotect } from "./security";

// Green Book (DLMS UA 1000-2) AES-GCM example keys, as used in pwitab/dlms-cosem tests/test_security.py.
const EK = hexToBytes("000102030405060708090a0b0c0d0e0f");
const AK = hexToBytes("d0d1d2d3d4d5d6d7d8d9dadbdcdddedf");
const ST = hexToBytes("4d4d4d0000bc614e");
const IC = 0x01234567;
const PLAIN = hexToBytes("c0010000080000010000ff0200"); // get-request for the clock 0.0.1.0.0.255 attribute 2
const CIPHERED = "411312ff935a47566827c467bc7d825c3be4a77c3fcc056b6b"; // ciphertext | 12-byte tag

describe("suite 0: AES-GCM-128 with the Green Book vector (dlms-cosem tests/test_security.py)", () => {
  it("encrypts and authenticates (SC 0x30) to the published ciphertext and tag", () => {
    expect(bytesToHex(protect({ securityControl: 0x30, systemTitle: ST, invocationCounter: IC, ek: EK, ak: AK, plaintext: PLAIN }))).toBe(CIPHERED);
  });
  it("wraps it as glo-get-request and opens it again", () => {
    const glo = cipherApdu({ plaintext: PLAIN, systemTitle: ST, invocationCounter: IC, ek: EK, ak: AK });
    expect(bytesToHex(encodeApdu(glo))).toBe(`c81e3001234567${CIPHERED}`);
    const back = decodeApdu(hexToBytes(`c81e3001234567${CIPHERED}`));
    expect(back.type).toBe("glo-get-request");
    if (back.type !== "glo-get-request") throw new Error("shape");
    expect(decipherApdu(back, { ek: EK, ak: AK, systemTitle: ST })).toMatchObject({ type: "get-request-normal", attribute: { classId: 8, obis: "0.0.1.0.0.255", attribute: 2 } });
  });
  it("authentication only (SC 0x10) and encryption only (SC 0x20) round-trip", () => {
    for (const sc of [0x10, 0x20, 0x30]) {
      const info = protect({ securityControl: sc, systemTitle: ST, invocationCounter: 7, ek: EK, ak: AK, plaintext: PLAIN });
      expect(info.length).toBe(PLAIN.length + (sc & 0x10 ? 12 : 0));
      if (sc === 0x10) expect(bytesToHex(info.subarray(0, PLAIN.length))).toBe(bytesToHex(PLAIN));
      expect(unprotect({ securityControl: sc, systemTitle: ST, invocationCounter: 7, ek: EK, ak: AK, information: info })).toEqual(PLAIN);
    }
    // Encryption-only is GCM without the tag: the ciphertext equals the authenticated one's.
    expect(bytesToHex(protect({ securityControl: 0x20, systemTitle: ST, invocationCounter: IC, ek: EK, plaintext: PLAIN }))).toBe(CIPHERED.slice(0, PLAIN.length * 2));
  });
  it("decodes the security control byte", () => {
    expect(decodeSecurityControl(0x30)).toEqual({ suite: 0, authentication: true, encryption: true, broadcastKey: false, compression: false });
  });
});

describe("the ciphered AARQ's glo-initiate-request (dlms-cosem tests/test_asce/test_aarq.py, Green Book keys)", () => {
  it("opens to an initiate-request", () => {
    const aarq = decodeApdu(hexToBytes("6066a109060760857405080103a60a04084d4d4d0000bc614e8a0207808b0760857405080201ac0a80083132333435363738be34043221303001234567801302ff8a7874133d414ced25b42534d28db0047720606b175bd52211be6841db204d39ee6fdb8e356855"));
    if (aarq.type !== "aarq" || aarq.userInformation?.type !== "glo-initiate-request") throw new Error("shape");
    const init = decipherApdu(aarq.userInformation, { ek: EK, ak: AK, systemTitle: aarq.callingApTitle! });
    expect(init).toMatchObject({ type: "initiate-request", proposedDlmsVersion: 6, clientMaxReceivePduSize: 1200 });
  });
});

// pwitab/dlms-cosem tests/test_general_global_cipher.py and tests/test_udp_message.py: a meter's
// general-glo-ciphering push, key "MYDUMMYGLOBALKEY" for both EK and AK.
const GGC = "db082f192291991641033b30000001e5025ce9d2271fd78be8c204211a916a9d7f587e0a7a814cadea89e9593f01f92ea8c087b5bdfdefeab6becf282dfe49c08f5be6dc8400";
const KEY = new TextEncoder().encode("MYDUMMYGLOBALKEY");

describe("general-glo-ciphering capture", () => {
  it("decodes the header, verifies, decrypts to a data-notification, and round-trips", () => {
    const a = decodeApdu(hexToBytes(GGC));
    expect(a).toMatchObject({ type: "general-glo-ciphering", systemTitle: hexToBytes("2f19229199164103"), securityControl: 0x30, invocationCounter: 0x1e5 });
    expect(bytesToHex(encodeApdu(a))).toBe(GGC);
    if (a.type !== "general-glo-ciphering") throw new Error("shape");
    const plain = decipherApduBytes(a, { ek: KEY, ak: KEY });
    expect(decodeApdu(plain)).toMatchObject({ type: "data-notification" });
    const again = cipherApdu({ plaintext: plain, systemTitle: a.systemTitle, invocationCounter: a.invocationCounter, ek: KEY, ak: KEY, form: "general-glo" });
    expect(bytesToHex(encodeApdu(again))).toBe(GGC);
  });

  it("refuses a changed byte, the wrong key, a wrong counter with BAD_TAG; missing keys with MISSING_KEY", () => {
    const a = decodeApdu(hexToBytes(GGC));
    if (a.type !== "general-glo-ciphering") throw new Error("shape");
    const flipped = { ...a, information: a.information.slice() };
    flipped.information[3] ^= 1;
    expect(() => decipherApdu(flipped, { ek: KEY, ak: KEY })).toThrow(expect.objectContaining({ code: "BAD_TAG", systemTitle: "2f19229199164103", invocationCounter: 0x1e5 }));
    expect(() => decipherApdu(a, { ek: EK, ak: KEY })).toThrow(expect.objectContaining({ code: "BAD_TAG" }));
    expect(() => decipherApdu({ ...a, invocationCounter: 0x1e6 }, { ek: KEY, ak: KEY })).toThrow(expect.objectContaining({ code: "BAD_TAG" }));
    expect(() => decipherApdu(a, { ek: KEY })).toThrow(expect.objectContaining({ code: "MISSING_KEY", missing: "ak" }));
    expect(() => decipherApdu(a, { ek: KEY.subarray(1), ak: KEY })).toThrow(expect.objectContaining({ code: "INVALID_KEY" }));
    let e: unknown;
    try {
      decipherApdu({ ...a, securityControl: 0x31 }, { ek: KEY, ak: KEY });
    } catch (x) {
      e = x;
    }
    expect(isDlmsError(e, "UNSUPPORTED_SECURITY")).toBe(true);
  });
});

describe("what the codec does not protect against (documented limits)", () => {
  it("a replayed authenticated APDU opens again: the caller must reject invocation counters it has seen", () => {
    const a = decodeApdu(hexToBytes(GGC));
    if (a.type !== "general-glo-ciphering") throw new Error("shape");
    const first = decipherApduBytes(a, { ek: KEY, ak: KEY });
    expect(decipherApduBytes(a, { ek: KEY, ak: KEY })).toEqual(first);
  });
  it("encryption-only (SC 0x20) has no tag: a flipped ciphertext bit flips the plaintext bit, undetected", () => {
    const info = protect({ securityControl: 0x20, systemTitle: ST, invocationCounter: 1, ek: EK, plaintext: PLAIN });
    info[info.length - 2] ^= 0x01; // the attribute id byte of the get-request
    const opened = unprotect({ securityControl: 0x20, systemTitle: ST, invocationCounter: 1, ek: EK, information: info });
    expect(opened[opened.length - 2]).toBe(PLAIN[PLAIN.length - 2] ^ 0x01);
  });
});
