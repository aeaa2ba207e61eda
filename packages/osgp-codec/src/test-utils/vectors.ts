// Published test vectors (facts: keys, bytes, digests) with their sources. Page numbers are the
// guide's printed page numbers.
import { hexToBytes } from "../hex";

export const MEP_GUIDE = "MEP Client Developer's Guide 078-0372-01BD v1.1 (OSGP Alliance, 2022)";
export const JN_PAPER = "Jovanovic & Neves, 'Dumb Crypto in Smart Grids', FSE 2015";

/** The guide's default MAK: 16 bytes of 0x01 (ch. 2, RC4 Example 1). */
export const DEFAULT_MAK = new Uint8Array(16).fill(0x01);

export const JN_VECTOR = {
  source: `${JN_PAPER} (as quoted in OSGP.md)`,
  key: new Uint8Array(12).fill(0xdf),
  message: hexToBytes("02 02 00 30 00 03 7F 30 EA 6D 00 00 00 0D 00 20 98 00 31 C3 00 08 00 00 00 00 00 11"),
  digest: hexToBytes("DB E5 CD E5 07 B1 CB 3D"),
};

export interface GuideExchange {
  source: string;
  /** Full request frame (len | PDU | seq | digest). */
  request: Uint8Array;
  /** Full response frame (len | PDU | digest). */
  response: Uint8Array;
}

export const GUIDE_EXCHANGES: Record<string, GuideExchange> = {
  "RC4 Example 1, first read (0x0C reply)": {
    source: `${MEP_GUIDE}, ch. 2 "RC4 MEP Example Messages", RC4 Example 1, pp. 15-16`,
    request: hexToBytes("00 14 3f 00 17 00 00 00 00 2C 01 02 03 04 74 86 1F 6D 76 58 DD 56"),
    response: hexToBytes("00 0D 0C 77 63 5B 90 35 86 3C 1D F5 B9 14 82"),
  },
  "RC4 Example 1, retried read of BT23": {
    source: `${MEP_GUIDE}, ch. 2 "RC4 MEP Example Messages", RC4 Example 1, p. 16`,
    request: hexToBytes("00 14 3F 00 17 00 00 00 00 2C 77 63 5B 91 13 DB 85 A1 35 A0 57 5E"),
    response: hexToBytes(`00 37 00 00 2C 00 00 00 00 00 00 00 00 00 00 00
      00 00 00 00 00 08 00 00 00 03 00 00 00 00 00 00
      00 00 00 00 00 00 00 00 00 00 00 00 00 06 00 00
      00 AD DC B8 2C 3D 41 7F 91`),
  },
  "RC4 Example 2, partial write of ET50": {
    source: `${MEP_GUIDE}, ch. 2 "RC4 MEP Example Messages", RC4 Example 2, p. 17`,
    request: hexToBytes("00 15 4F 08 32 00 00 1E 00 01 01 77 63 6e 2f 86 e5 0e 26 67 d1 e6 3c"),
    response: hexToBytes("00 09 00 86 e5 0e 26 67 d1 e6 3c"),
  },
  "multiple-command transaction written to ET52": {
    source: `${MEP_GUIDE}, ch. 4 "Table Transaction Guidelines", Example Transaction - Multiple Commands, pp. 45-47`,
    request: hexToBytes(`00 57 4F 08 34 00 00 00 00 43 43 00 00 01 00 08 00 3F 08 0B 00 00 00 00 0A 08 00 3F 00 14
      00 00 00 00 0A 08 00 3F 00 15 00 00 00 00 0A 08 00 3F 08 04 00 00 37 00 01 08 00 3F 08 0E
      00 00 00 00 0C 08 00 3F 08 0F 00 00 00 00 1F 01 00 5B 4E 42 E6 ED 6A 9C EF F4 CC 0E 39`),
    response: hexToBytes("00 09 00 ED 6A 9C EF F4 CC 0E 39"),
  },
  "ET53 transaction-size read": {
    source: `${MEP_GUIDE}, ch. 4 "Table Transaction Guidelines", Example Transaction - Multiple Commands, pp. 47-48`,
    request: hexToBytes("00 14 3F 08 35 00 00 00 00 05 5B 4E 42 E7 48 97 75 DA D8 53 E3 A3"),
    response: hexToBytes("00 10 00 00 05 6F 00 01 01 00 97 4B 99 CA A3 31 45 19"),
  },
  "ET53 full transaction-response read": {
    source: `${MEP_GUIDE}, ch. 4 "Table Transaction Guidelines", Example Transaction - Multiple Commands, pp. 48-49`,
    request: hexToBytes("00 14 3F 08 35 00 00 00 00 6F 5B 4E 42 E8 1B 32 04 49 74 45 A8 7A"),
    response: hexToBytes(`00 7A 00 00 6F 6F 00 01 01 00 0D 00 00 00 0A 05 42 24 05 06 05 02 01 03 F9 0D 00 00 00 0A
      3F 0E FD 0F 08 10 01 04 08 1A 0D 00 00 00 0A 3F 0E 0C 0F 08 00 01 04 08 1A 04 00 00 00 01
      04 0F 00 00 00 0C 00 00 00 00 00 11 01 00 01 04 2F 00 22 00 00 00 1F 00 42 00 01 00 02 01 45
      00 01 00 02 01 48 00 01 00 02 01 03 00 F8 03 02 01 4B 00 01 00 02 01 01 00 BF D4 EB F2 B7
      E0 1F 43`),
  },
  "EP17 procedure call through BT07": {
    source: `${MEP_GUIDE}, ch. 4 "Calling Procedures", Example, pp. 53-54`,
    request: hexToBytes("00 17 40 00 07 00 06 11 08 07 00 F8 03 5B 4E 43 09 69 7A B2 01 49 7E 9C F7"),
    response: hexToBytes("00 09 00 69 7A B2 01 49 7E 9C F7"),
  },
};

/**
 * Appendix A/B example (BT52 partial read). The guide does not state the key it used, so only the
 * structure can be checked, not the digests.
 */
export const APPENDIX_EXAMPLE = {
  source: `${MEP_GUIDE}, Appendix A Table A.1 p. 250 and Appendix B p. 256`,
  request: hexToBytes("00 14 3F 00 34 00 00 00 00 06 F5 2F 54 81 7C FF 9A 53 47 DB AB FC"),
  response: hexToBytes("00 11 00 00 06 04 02 10 0F 3B 37 30 3D 9B BE 3D A3 A8 B6"),
};

/** ET52 data of "Example Transaction - Read Request" (its seq and digest are placeholders). */
export const TRANSACTION_READ_REQUEST = {
  source: `${MEP_GUIDE}, ch. 4 "Table Transaction Guidelines", Example Transaction - Read Request, p. 44`,
  pdu: hexToBytes("4F 08 34 00 00 00 00 11 11 00 00 02 00 08 00 3F 00 17 00 00 00 00 2C 02 00"),
  length: 0x25,
};

/** RC4 keystream/ciphertext vectors: RFC 6229 §2 and the widely published "Key"/"Wiki"/"Secret" set. */
export const RC4_VECTORS = [
  { source: "RFC 6229 §2, 40-bit key, offset 0", key: hexToBytes("0102030405"), plaintext: new Uint8Array(32), ciphertext: hexToBytes("b2396305f03dc027ccc3524a0a1118a8 6982944f18fc82d589c403a47a0d0919") },
  { source: "RC4 'Key'/'Plaintext' vector", key: new TextEncoder().encode("Key"), plaintext: new TextEncoder().encode("Plaintext"), ciphertext: hexToBytes("bbf316e8d940af0ad3") },
  { source: "RC4 'Wiki'/'pedia' vector", key: new TextEncoder().encode("Wiki"), plaintext: new TextEncoder().encode("pedia"), ciphertext: hexToBytes("1021bf0420") },
  { source: "RC4 'Secret'/'Attack at dawn' vector", key: new TextEncoder().encode("Secret"), plaintext: new TextEncoder().encode("Attack at dawn"), ciphertext: hexToBytes("45a01f645fc35b383552544b9bf5") },
  { source: "RC4 64-bit key 0123456789abcdef", key: hexToBytes("0123456789abcdef"), plaintext: hexToBytes("0123456789abcdef"), ciphertext: hexToBytes("75b7878099e0c596") },
];
