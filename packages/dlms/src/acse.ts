// The ACSE APDUs (AARQ/AARE/RLRQ/RLRE): BER TLVs inside an [APPLICATION n] tag. Their
// user-information carries an xDLMS APDU, which the caller's codec reads and writes (passed in, so
// this file and apdu.ts do not import each other).
import { readLength, writeLength } from "./axdr";
import { FieldValueError, InvalidArgumentError, TrailingBytesError, UnknownTagError } from "./errors";
import { Reader, Writer } from "./layout";
import { APDU_TAGS, type Aare, type Aarq, type Apdu, type ApplicationContext, CIPHERED_TAGS, CONTEXTS, type CipheredApdu, type ConfirmedServiceError, type InitiateRequest, type InitiateResponse, MECHANISMS, type Mechanism, OID_PREFIX_CONTEXT, OID_PREFIX_MECHANISM, type ReleaseApdu } from "./apduTypes";
import { sub, tlv } from "./apduFields";
// ACSE: BER TLVs inside the [APPLICATION n] constructed tag.
export function readAcse(r: Reader, tag: number, decodeInner: (bytes: Uint8Array) => Apdu): Aarq | Aare | ReleaseApdu {
  const len = readLength(r, "ACSE length");
  r.need(len, "ACSE APDU");
  const s = new Reader(r.bytes, r.pos, r.pos + len);
  r.pos += len;
  const fields = new Map<number, Uint8Array>();
  while (s.remaining > 0) {
    const t = s.u8("ACSE element tag");
    fields.set(t, s.view(readLength(s, "ACSE element length"), "ACSE element"));
  }
  const context = (): ApplicationContext => {
    const v = fields.get(0xa1);
    if (!v) throw new FieldValueError("BAD_FORMAT", "application-context-name", tag, "an A1 element");
    const oid = unwrap(v, 0x06, "application-context-name");
    const i = oidLast(oid, OID_PREFIX_CONTEXT, "application-context-name");
    if (i < 1 || i > 4) throw new FieldValueError("BAD_FORMAT", "application-context-name", i, "1..4");
    return CONTEXTS[i - 1];
  };
  const mechanism = (t: number): Mechanism | null => {
    const v = fields.get(t);
    if (!v) return null;
    const i = oidLast(v, OID_PREFIX_MECHANISM, "mechanism-name");
    if (i >= MECHANISMS.length) throw new FieldValueError("BAD_FORMAT", "mechanism-name", i, "0..7");
    return MECHANISMS[i];
  };
  const apTitle = (t: number) => (fields.has(t) ? unwrap(fields.get(t)!, 0x04, "AP-title").slice() : null);
  const authValue = (t: number) => (fields.has(t) ? unwrap(fields.get(t)!, 0x80, "authentication-value").slice() : null);
  const userInfo = () => {
    const v = fields.get(0xbe);
    if (!v) return null;
    const inner = unwrap(v, 0x04, "user-information");
    const apdu = decodeInner(inner);
    if (apdu.type === "initiate-request" || apdu.type === "initiate-response" || apdu.type === "confirmed-service-error" || apdu.type in CIPHERED_TAGS) {
      return apdu as InitiateRequest | InitiateResponse | ConfirmedServiceError | CipheredApdu;
    }
    throw new UnknownTagError("user-information APDU", inner[0]);
  };
  if (tag === 0x60) {
    const ui = userInfo();
    if (ui && (ui.type === "initiate-response" || ui.type === "confirmed-service-error")) throw new UnknownTagError("AARQ user-information", APDU_TAGS[ui.type]);
    return { type: "aarq", applicationContext: context(), callingApTitle: apTitle(0xa6), mechanism: mechanism(0x8b), callingAuthenticationValue: authValue(0xac), userInformation: ui as InitiateRequest | CipheredApdu | null };
  }
  if (tag === 0x61) {
    const resultBytes = unwrap(fields.get(0xa2) ?? missing("result"), 0x02, "result");
    const diag = fields.get(0xa3) ?? missing("result-source-diagnostic");
    const inner = new Reader(diag);
    const which = inner.u8("result-source-diagnostic choice");
    if (which !== 0xa1 && which !== 0xa2) throw new UnknownTagError("result-source-diagnostic", which);
    const diagValue = unwrap(inner.view(readLength(inner, "diagnostic length"), "diagnostic"), 0x02, "diagnostic");
    const ui = userInfo();
    if (ui && (ui.type === "initiate-request")) throw new UnknownTagError("AARE user-information", 0x01);
    return {
      type: "aare",
      applicationContext: context(),
      result: int(resultBytes),
      resultSourceDiagnostic: { source: which === 0xa1 ? "acse-service-user" : "acse-service-provider", value: int(diagValue) },
      respondingApTitle: apTitle(0xa4),
      mechanism: mechanism(0x89),
      respondingAuthenticationValue: authValue(0xaa),
      userInformation: ui as InitiateResponse | ConfirmedServiceError | CipheredApdu | null,
    };
  }
  const reason = fields.get(0x80);
  const ui = userInfo();
  if (ui && ui.type === "confirmed-service-error") throw new UnknownTagError("release user-information", 0x0e);
  return { type: tag === 0x62 ? "rlrq" : "rlre", reason: reason ? int(reason) : null, userInformation: ui as InitiateRequest | InitiateResponse | CipheredApdu | null };
}

function missing(field: string): never {
  throw new FieldValueError("BAD_FORMAT", field, 0, `the ${field} element`);
}
function unwrap(v: Uint8Array, tag: number, field: string): Uint8Array {
  const r = new Reader(v);
  const t = r.u8(field);
  if (t !== tag) throw new FieldValueError("BAD_FORMAT", `${field} tag`, t, `0x${tag.toString(16)}`);
  const len = readLength(r, `${field} length`);
  const out = r.view(len, field);
  if (r.remaining) throw new TrailingBytesError(field, r.remaining);
  return out;
}
function oidLast(v: Uint8Array, prefix: number[], field: string): number {
  if (v.length !== prefix.length + 1 || prefix.some((b, i) => v[i] !== b)) throw new FieldValueError("BAD_FORMAT", field, v[v.length - 1] ?? 0, "a DLMS UA object identifier 2.16.756.5.8.x.y");
  return v[v.length - 1];
}
function int(v: Uint8Array): number {
  if (v.length === 0 || v.length > 4) throw new FieldValueError("BAD_FORMAT", "INTEGER length", v.length, "1..4");
  let n = 0;
  for (const b of v) n = n * 256 + b;
  return n;
}

/** The unsigned big-endian bytes of an INTEGER as this codec reads them back (1..4 bytes). */
function berInt(n: number): Uint8Array {
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new InvalidArgumentError("INTEGER", n, "0..2^32-1");
  const out: number[] = [];
  do {
    out.unshift(n % 256);
    n = Math.floor(n / 256);
  } while (n > 0);
  return Uint8Array.from(out);
}

export function writeAcse(w: Writer, apdu: Aarq | Aare | ReleaseApdu, encodeInner: (apdu: Apdu) => Uint8Array): void {
  const a = apdu;
  const body = sub((b) => {
    if (a.type === "aarq" || a.type === "aare") {
      const ctx = CONTEXTS.indexOf(a.applicationContext) + 1;
      if (ctx < 1) throw new InvalidArgumentError("applicationContext", a.applicationContext, CONTEXTS.join(" | "));
      tlv(b, 0xa1, sub((x) => tlv(x, 0x06, Uint8Array.from([...OID_PREFIX_CONTEXT, ctx]))));
    } else if (a.reason !== null) {
      tlv(b, 0x80, berInt(a.reason));
    }
    const mech = (tag: number, m: Mechanism | null) => {
      if (m === null) return;
      const i = MECHANISMS.indexOf(m);
      if (i < 0) throw new InvalidArgumentError("mechanism", m, MECHANISMS.join(" | "));
      tlv(b, tag, Uint8Array.from([...OID_PREFIX_MECHANISM, i]));
    };
    if (a.type === "aarq") {
      if (a.callingApTitle) tlv(b, 0xa6, sub((x) => tlv(x, 0x04, a.callingApTitle!)));
      if (a.mechanism !== null) b.bytes([0x8a, 0x02, 0x07, 0x80]);
      mech(0x8b, a.mechanism);
      if (a.callingAuthenticationValue) tlv(b, 0xac, sub((x) => tlv(x, 0x80, a.callingAuthenticationValue!)));
    }
    if (a.type === "aare") {
      tlv(b, 0xa2, sub((x) => tlv(x, 0x02, berInt(a.result))));
      const diag = sub((x) => tlv(x, 0x02, berInt(a.resultSourceDiagnostic.value)));
      tlv(b, 0xa3, sub((x) => tlv(x, a.resultSourceDiagnostic.source === "acse-service-user" ? 0xa1 : 0xa2, diag)));
      if (a.respondingApTitle) tlv(b, 0xa4, sub((x) => tlv(x, 0x04, a.respondingApTitle!)));
      if (a.mechanism !== null) b.bytes([0x88, 0x02, 0x07, 0x80]);
      mech(0x89, a.mechanism);
      if (a.respondingAuthenticationValue) tlv(b, 0xaa, sub((x) => tlv(x, 0x80, a.respondingAuthenticationValue!)));
    }
    if (a.userInformation) tlv(b, 0xbe, sub((x) => tlv(x, 0x04, encodeInner(a.userInformation!))));
  });
  w.u8(APDU_TAGS[a.type]);
  writeLength(w, body.length).bytes(body);
}
