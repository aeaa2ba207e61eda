// HLS authentication with GMAC (mechanism 5, security suite 0). After the AARQ/AARE exchange of
// challenges (CtoS, StoC) each side proves it holds the keys by answering the other's challenge:
//   f(challenge) = SC | IC | GMAC(EK, IV = own system title | IC, AAD = SC | AK | challenge)
// with SC = 0x10 (authentication only), sent in the ACTION reply_to_HLS_authentication
// (class 15, method 1) of the current association object 0.0.40.0.0.255.
import { BadTagError, FieldValueError } from "./errors";
import { GCM_TAG_SIZE, type SecurityKeys, protect } from "./security";

/** Security control of an HLS-GMAC answer: suite 0, authentication only. */
export const HLS_GMAC_SC = 0x10;
/** The current association (class 15) whose method 1 carries the answers. */
export const CURRENT_ASSOCIATION = { classId: 15, obis: "0.0.40.0.0.255", method: 1 } as const;

export interface HlsGmacParameters extends SecurityKeys {
  challenge: Uint8Array;
  /** The answering side's own system title. */
  systemTitle: Uint8Array;
  invocationCounter: number;
}

/**
 * The answer to a challenge: SC | IC (4 bytes) | 12-byte tag.
 * @example
 * hlsGmac({ challenge: StoC, systemTitle: clientTitle, invocationCounter: 1, ek, ak }) // 10 00000001 1A52FE7D...
 */
export function hlsGmac(p: HlsGmacParameters): Uint8Array {
  const info = protect({ securityControl: HLS_GMAC_SC, systemTitle: p.systemTitle, invocationCounter: p.invocationCounter, plaintext: p.challenge, ...(p.ek ? { ek: p.ek } : {}), ...(p.ak ? { ak: p.ak } : {}) });
  const out = new Uint8Array(5 + GCM_TAG_SIZE);
  out[0] = HLS_GMAC_SC;
  new DataView(out.buffer).setUint32(1, p.invocationCounter >>> 0);
  out.set(info.subarray(info.length - GCM_TAG_SIZE), 5);
  return out;
}

/**
 * Checks the other side's answer to our `challenge` (made with its `systemTitle`); returns its
 * invocation counter. Throws {@link BadTagError} when the keys or the challenge do not match.
 */
export function verifyHlsGmac(p: Omit<HlsGmacParameters, "invocationCounter"> & { answer: Uint8Array }): number {
  if (p.answer.length !== 5 + GCM_TAG_SIZE || p.answer[0] !== HLS_GMAC_SC) throw new FieldValueError("BAD_FORMAT", "HLS-GMAC answer", p.answer.length, `${5 + GCM_TAG_SIZE} bytes starting with 0x10`);
  const ic = new DataView(p.answer.buffer, p.answer.byteOffset).getUint32(1);
  const expected = hlsGmac({ ...p, invocationCounter: ic });
  let diff = 0;
  for (let i = 0; i < expected.length; i++) diff |= expected[i]! ^ p.answer[i]!;
  if (diff !== 0) throw new BadTagError(Buffer.from(p.systemTitle).toString("hex"), ic);
  return ic;
}
