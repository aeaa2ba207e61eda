// xDLMS APDUs (Green Book 9.5, A-XDR) and the ACSE APDUs around them (AARQ/AARE/RLRQ/RLRE, BER).
// `decodeApdu` turns bytes into a tagged object whose `type` is the APDU name in kebab case;
// `encodeApdu` is its inverse for every type it produces.
import { type CosemDateTime, type DlmsData, decodeData, decodeDateTime, encodeDateTime, readLength, writeData, writeLength } from "./axdr";
import { FieldValueError, InvalidArgumentError, TrailingBytesError, UnknownTagError } from "./errors";
import { Reader, Writer, compileLayout } from "./layout";
import { formatObis, parseObis } from "./obis";

// ---- common parts ---------------------------------------------------------------------------------

/** Invoke-Id-And-Priority: bits 0-3 invoke id, bit 6 confirmed, bit 7 high priority. */
export interface InvokeIdAndPriority {
  invokeId: number;
  confirmed: boolean;
  highPriority: boolean;
}
export interface AttributeDescriptor {
  classId: number;
  /** "A.B.C.D.E.F" */
  obis: string;
  attribute: number;
}
export interface MethodDescriptor {
  classId: number;
  obis: string;
  method: number;
}
export interface AccessSelection {
  selector: number;
  parameters: DlmsData;
}
export interface AttributeWithSelection {
  attribute: AttributeDescriptor;
  accessSelection: AccessSelection | null;
}
/** Get-Data-Result: the data, or a Data-Access-Result code (see {@link DATA_ACCESS_RESULTS}). */
export type GetDataResult = { data: DlmsData } | { dataAccessResult: number };

export const DATA_ACCESS_RESULTS: Readonly<Record<number, string>> = {
  0: "success", 1: "hardware-fault", 2: "temporary-failure", 3: "read-write-denied", 4: "object-undefined",
  9: "object-class-inconsistent", 11: "object-unavailable", 12: "type-unmatched", 13: "scope-of-access-violated",
  14: "data-block-unavailable", 15: "long-get-aborted", 16: "no-long-get-in-progress", 17: "long-set-aborted",
  18: "no-long-set-in-progress", 19: "data-block-number-invalid", 250: "other-reason",
};

const ATTRIBUTE_LAYOUT = compileLayout("cosem-attribute-descriptor", [
  { name: "classId", type: "u16" },
  { name: "instance", type: { bytes: 6 } },
  { name: "id", type: "i8" },
] as const);

function readInvoke(r: Reader): InvokeIdAndPriority {
  const b = r.u8("invoke-id-and-priority");
  return { invokeId: b & 0x0f, confirmed: (b & 0x40) !== 0, highPriority: (b & 0x80) !== 0 };
}
function writeInvoke(w: Writer, i: InvokeIdAndPriority): void {
  if (!Number.isInteger(i.invokeId) || i.invokeId < 0 || i.invokeId > 15) throw new InvalidArgumentError("invokeId", i.invokeId, "0..15");
  w.u8(i.invokeId | (i.confirmed ? 0x40 : 0) | (i.highPriority ? 0x80 : 0));
}
function readAttribute(r: Reader): AttributeDescriptor {
  const v = r.layout(ATTRIBUTE_LAYOUT);
  return { classId: v.classId, obis: formatObis(v.instance), attribute: v.id };
}
function writeDescriptor(w: Writer, classId: number, obis: string, id: number): void {
  w.layout(ATTRIBUTE_LAYOUT, { classId, instance: parseObis(obis), id });
}
function readSelection(r: Reader): AccessSelection | null {
  if (!readPresence(r, "access-selection")) return null;
  const selector = r.u8("access-selector");
  return { selector, parameters: decodeData(r) };
}
function writeSelection(w: Writer, s: AccessSelection | null): void {
  if (s === null) {
    w.u8(0);
    return;
  }
  w.u8(1).u8(s.selector);
  writeData(w, s.parameters);
}
function readPresence(r: Reader, field: string): boolean {
  const b = r.u8(`${field} presence`);
  if (b > 1) throw new FieldValueError("BAD_FORMAT", `${field} presence`, b, "0 (absent) or 1 (present)");
  return b === 1;
}
function readGetDataResult(r: Reader): GetDataResult {
  const choice = r.u8("Get-Data-Result choice");
  if (choice === 0) return { data: decodeData(r) };
  if (choice === 1) return { dataAccessResult: r.u8("Data-Access-Result") };
  throw new UnknownTagError("Get-Data-Result", choice);
}
function writeGetDataResult(w: Writer, g: GetDataResult): void {
  if ("data" in g) writeData(w.u8(0), g.data);
  else w.u8(1).u8(g.dataAccessResult);
}
function readBool(r: Reader, field: string): boolean {
  return r.u8(field) !== 0;
}
function readCount(r: Reader, field: string): number {
  const n = readLength(r, field);
  if (n > r.remaining) r.need(n, field);
  return n;
}
function readOctets(r: Reader, field: string): Uint8Array {
  return r.take(readLength(r, `${field} length`), field);
}
function times<T>(n: number, f: () => T): T[] {
  const out: T[] = [];
  for (let i = 0; i < n; i++) out.push(f());
  return out;
}

// ---- APDU types ---------------------------------------------------------------------------------

export type ApplicationContext = "logical-name" | "short-name" | "logical-name-ciphering" | "short-name-ciphering";
export type Mechanism = "lowest" | "low" | "high" | "high-md5" | "high-sha1" | "high-gmac" | "high-sha256" | "high-ecdsa";
const CONTEXTS: ApplicationContext[] = ["logical-name", "short-name", "logical-name-ciphering", "short-name-ciphering"];
const MECHANISMS: Mechanism[] = ["lowest", "low", "high", "high-md5", "high-sha1", "high-gmac", "high-sha256", "high-ecdsa"];
const OID_PREFIX_CONTEXT = [0x60, 0x85, 0x74, 0x05, 0x08, 0x01];
const OID_PREFIX_MECHANISM = [0x60, 0x85, 0x74, 0x05, 0x08, 0x02];

/** The 24 conformance bits by position (bit 0 is the most significant bit of the first byte). */
export const CONFORMANCE_BITS = [
  "reserved-zero", "general-protection", "general-block-transfer", "read", "write", "unconfirmed-write", "delta-value-encoding", "reserved-seven",
  "attribute0-supported-with-set", "priority-mgmt-supported", "attribute0-supported-with-get", "block-transfer-with-get-or-read",
  "block-transfer-with-set-or-write", "block-transfer-with-action", "multiple-references", "information-report", "data-notification", "access",
  "parameterized-access", "get", "set", "selective-access", "event-notification", "action",
] as const;
export type ConformanceBit = (typeof CONFORMANCE_BITS)[number];

/** Conformance block as the 24-bit number and the names of the bits set. */
export interface Conformance {
  value: number;
  names: ConformanceBit[];
}
export function conformance(value: number | readonly ConformanceBit[]): Conformance {
  if (typeof value === "number") return { value, names: CONFORMANCE_BITS.filter((_, i) => (value >> (23 - i)) & 1) };
  let v = 0;
  for (const n of value) {
    const i = CONFORMANCE_BITS.indexOf(n);
    if (i < 0) throw new InvalidArgumentError("conformance", n, "a conformance bit name");
    v |= 1 << (23 - i);
  }
  return { value: v, names: CONFORMANCE_BITS.filter((_, i) => (v >> (23 - i)) & 1) };
}

export interface InitiateRequest {
  type: "initiate-request";
  dedicatedKey: Uint8Array | null;
  /** null: the default (true) was encoded by omission. */
  responseAllowed: boolean | null;
  proposedQualityOfService: number | null;
  proposedDlmsVersion: number;
  proposedConformance: Conformance;
  clientMaxReceivePduSize: number;
}
export interface InitiateResponse {
  type: "initiate-response";
  negotiatedQualityOfService: number | null;
  negotiatedDlmsVersion: number;
  negotiatedConformance: Conformance;
  serverMaxReceivePduSize: number;
  /** 0x0007 for LN referencing, 0xFA00 for SN. */
  vaaName: number;
}
export interface ConfirmedServiceError {
  type: "confirmed-service-error";
  /** ConfirmedServiceError choice (1 initiateError, 5 read, 6 write, ...). */
  service: number;
  /** ServiceError choice (0 application-reference ... 6 initiate ...). */
  errorType: number;
  value: number;
}

/** Ciphered APDUs with a glo- or ded- tag: security header and information, keyed by the tag name. */
export interface CipheredApdu {
  type: CipheredApduType;
  securityControl: number;
  invocationCounter: number;
  /** ciphertext | tag (or plaintext | tag for authentication only). */
  information: Uint8Array;
}
export interface GeneralGloCiphering {
  type: "general-glo-ciphering" | "general-ded-ciphering";
  systemTitle: Uint8Array;
  securityControl: number;
  invocationCounter: number;
  information: Uint8Array;
}

export interface Aarq {
  type: "aarq";
  applicationContext: ApplicationContext;
  /** calling-AP-title: the client's system title when ciphering. */
  callingApTitle: Uint8Array | null;
  mechanism: Mechanism | null;
  /** calling-authentication-value: the password for low-level security, the challenge for HLS. */
  callingAuthenticationValue: Uint8Array | null;
  userInformation: InitiateRequest | CipheredApdu | null;
}
export interface Aare {
  type: "aare";
  applicationContext: ApplicationContext;
  /** 0 accepted, 1 rejected-permanent, 2 rejected-transient. */
  result: number;
  resultSourceDiagnostic: { source: "acse-service-user" | "acse-service-provider"; value: number };
  respondingApTitle: Uint8Array | null;
  mechanism: Mechanism | null;
  respondingAuthenticationValue: Uint8Array | null;
  userInformation: InitiateResponse | ConfirmedServiceError | CipheredApdu | null;
}
export interface ReleaseApdu {
  type: "rlrq" | "rlre";
  reason: number | null;
  userInformation: InitiateRequest | InitiateResponse | CipheredApdu | null;
}

export interface DataBlock {
  lastBlock: boolean;
  blockNumber: number;
  rawData: Uint8Array;
}

export type XdlmsApdu =
  | { type: "get-request-normal"; invoke: InvokeIdAndPriority; attribute: AttributeDescriptor; accessSelection: AccessSelection | null }
  | { type: "get-request-next"; invoke: InvokeIdAndPriority; blockNumber: number }
  | { type: "get-request-with-list"; invoke: InvokeIdAndPriority; attributes: AttributeWithSelection[] }
  | { type: "get-response-normal"; invoke: InvokeIdAndPriority; result: GetDataResult }
  | { type: "get-response-with-datablock"; invoke: InvokeIdAndPriority; lastBlock: boolean; blockNumber: number; result: { rawData: Uint8Array } | { dataAccessResult: number } }
  | { type: "get-response-with-list"; invoke: InvokeIdAndPriority; results: GetDataResult[] }
  | { type: "set-request-normal"; invoke: InvokeIdAndPriority; attribute: AttributeDescriptor; accessSelection: AccessSelection | null; value: DlmsData }
  | { type: "set-request-with-first-datablock"; invoke: InvokeIdAndPriority; attribute: AttributeDescriptor; accessSelection: AccessSelection | null; block: DataBlock }
  | { type: "set-request-with-datablock"; invoke: InvokeIdAndPriority; block: DataBlock }
  | { type: "set-request-with-list"; invoke: InvokeIdAndPriority; attributes: AttributeWithSelection[]; values: DlmsData[] }
  | { type: "set-response-normal"; invoke: InvokeIdAndPriority; result: number }
  | { type: "set-response-datablock"; invoke: InvokeIdAndPriority; blockNumber: number }
  | { type: "set-response-last-datablock"; invoke: InvokeIdAndPriority; result: number; blockNumber: number }
  | { type: "set-response-with-list"; invoke: InvokeIdAndPriority; results: number[] }
  | { type: "action-request-normal"; invoke: InvokeIdAndPriority; method: MethodDescriptor; parameters: DlmsData | null }
  | { type: "action-request-next-pblock"; invoke: InvokeIdAndPriority; blockNumber: number }
  | { type: "action-request-with-list"; invoke: InvokeIdAndPriority; methods: MethodDescriptor[]; parameters: DlmsData[] }
  | { type: "action-request-with-first-pblock"; invoke: InvokeIdAndPriority; method: MethodDescriptor; block: DataBlock }
  | { type: "action-request-with-pblock"; invoke: InvokeIdAndPriority; block: DataBlock }
  | { type: "action-response-normal"; invoke: InvokeIdAndPriority; result: number; returnParameters: GetDataResult | null }
  | { type: "action-response-with-list"; invoke: InvokeIdAndPriority; results: { result: number; returnParameters: GetDataResult | null }[] }
  | { type: "action-response-next-pblock"; invoke: InvokeIdAndPriority; blockNumber: number }
  | { type: "action-response-with-pblock"; invoke: InvokeIdAndPriority; block: DataBlock }
  | {
      type: "event-notification-request";
      /** The optional time octet string as sent (12 bytes when it is a date-time). */
      time: Uint8Array | null;
      attribute: AttributeDescriptor;
      value: DlmsData;
    }
  | {
      type: "data-notification";
      /** Long-Invoke-Id-And-Priority as sent (bits 0-23 id, 28 self-descriptive, 29 processing-option, 30 confirmed, 31 priority). */
      longInvokeIdAndPriority: number;
      dateTime: CosemDateTime | null;
      /**
       * How the date-time was sent: "octet-string" (length 12, the standard), "absent", or "data"
       * (a full Data value, tag 09 0C, as Kaifa meters send it).
       */
      dateTimeEncoding: "octet-string" | "absent" | "data";
      body: DlmsData;
    }
  | { type: "exception-response"; stateError: number; serviceError: number; invocationCounter: number | null };

export type Apdu = XdlmsApdu | InitiateRequest | InitiateResponse | ConfirmedServiceError | CipheredApdu | GeneralGloCiphering | Aarq | Aare | ReleaseApdu;
export type ApduType = Apdu["type"];

/** glo-/ded- ciphered APDU tags (Green Book table 9.x). */
export const CIPHERED_TAGS = {
  "glo-initiate-request": 0x21,
  "glo-initiate-response": 0x28,
  "glo-confirmed-service-error": 0x2e,
  "glo-get-request": 0xc8,
  "glo-set-request": 0xc9,
  "glo-event-notification-request": 0xca,
  "glo-action-request": 0xcb,
  "glo-get-response": 0xcc,
  "glo-set-response": 0xcd,
  "glo-action-response": 0xcf,
  "ded-get-request": 0xd0,
  "ded-set-request": 0xd1,
  "ded-event-notification-request": 0xd2,
  "ded-action-request": 0xd3,
  "ded-get-response": 0xd4,
  "ded-set-response": 0xd5,
  "ded-action-response": 0xd7,
} as const;
export type CipheredApduType = keyof typeof CIPHERED_TAGS;
const CIPHERED_BY_TAG = new Map<number, CipheredApduType>(Object.entries(CIPHERED_TAGS).map(([k, v]) => [v, k as CipheredApduType]));

export const APDU_TAGS = {
  "initiate-request": 0x01,
  "initiate-response": 0x08,
  "confirmed-service-error": 0x0e,
  "data-notification": 0x0f,
  "event-notification-request": 0xc2,
  aarq: 0x60,
  aare: 0x61,
  rlrq: 0x62,
  rlre: 0x63,
  "get-request": 0xc0,
  "set-request": 0xc1,
  "action-request": 0xc3,
  "get-response": 0xc4,
  "set-response": 0xc5,
  "action-response": 0xc7,
  "exception-response": 0xd8,
  "general-glo-ciphering": 0xdb,
  "general-ded-ciphering": 0xdc,
} as const;

const SECURITY_HEADER = compileLayout("security header", [
  { name: "securityControl", type: "u8" },
  { name: "invocationCounter", type: "u32" },
] as const);

// ---- decoding -----------------------------------------------------------------------------------

/**
 * Decodes one APDU; the bytes must hold exactly one.
 * @example
 * decodeApdu(hexToBytes("c001c1000100002b0100ff0200"))
 * // { type: "get-request-normal", invoke: { invokeId: 1, ... }, attribute: { classId: 1, obis: "0.0.43.1.0.255", attribute: 2 }, accessSelection: null }
 */
export function decodeApdu(bytes: Uint8Array): Apdu {
  const r = new Reader(bytes);
  const apdu = readApdu(r);
  if (r.remaining > 0) throw new TrailingBytesError(apdu.type, r.remaining);
  return apdu;
}

function readApdu(r: Reader): Apdu {
  const tag = r.u8("APDU tag");
  const ciphered = CIPHERED_BY_TAG.get(tag);
  if (ciphered) {
    const len = readLength(r, `${ciphered} length`);
    r.need(len, ciphered);
    const sub = new Reader(r.bytes, r.pos, r.pos + len);
    r.pos += len;
    const h = sub.layout(SECURITY_HEADER);
    return { type: ciphered, securityControl: h.securityControl, invocationCounter: h.invocationCounter, information: sub.rest() };
  }
  switch (tag) {
    case 0x01:
      return readInitiateRequest(r);
    case 0x08:
      return readInitiateResponse(r);
    case 0x0e:
      return { type: "confirmed-service-error", service: r.u8("ConfirmedServiceError choice"), errorType: r.u8("ServiceError choice"), value: r.u8("ServiceError value") };
    case 0x0f:
      return readDataNotification(r);
    case 0x60:
    case 0x61:
    case 0x62:
    case 0x63:
      return readAcse(r, tag);
    case 0xc0:
      return readGetRequest(r);
    case 0xc4:
      return readGetResponse(r);
    case 0xc1:
      return readSetRequest(r);
    case 0xc5:
      return readSetResponse(r);
    case 0xc3:
      return readActionRequest(r);
    case 0xc2: {
      const time = readPresence(r, "time") ? readOctets(r, "time") : null;
      const attribute = readAttribute(r);
      return { type: "event-notification-request", time, attribute, value: decodeData(r) };
    }
    case 0xc7:
      return readActionResponse(r);
    case 0xd8: {
      const stateError = r.u8("state-error");
      const serviceError = r.u8("service-error");
      // service-error 6 (invocation-counter-error) carries the expected counter.
      const invocationCounter = serviceError === 6 && r.remaining >= 4 ? r.u32("invocation counter") : null;
      return { type: "exception-response", stateError, serviceError, invocationCounter };
    }
    case 0xdb:
    case 0xdc: {
      const stLen = readLength(r, "system-title length");
      const systemTitle = r.take(stLen, "system-title");
      const len = readLength(r, "ciphered-content length");
      r.need(len, "ciphered-content");
      const sub = new Reader(r.bytes, r.pos, r.pos + len);
      r.pos += len;
      const h = sub.layout(SECURITY_HEADER);
      return { type: tag === 0xdb ? "general-glo-ciphering" : "general-ded-ciphering", systemTitle, securityControl: h.securityControl, invocationCounter: h.invocationCounter, information: sub.rest() };
    }
    default:
      throw new UnknownTagError("APDU", tag);
  }
}

function readConformance(r: Reader): Conformance {
  const t1 = r.u8("conformance tag");
  const t2 = r.u8("conformance tag");
  if (t1 !== 0x5f || t2 !== 0x1f) throw new FieldValueError("BAD_FORMAT", "conformance tag", (t1 << 8) | t2, "0x5f1f");
  const len = r.u8("conformance length");
  if (len !== 4) throw new FieldValueError("BAD_FORMAT", "conformance length", len, "4");
  r.u8("conformance unused bits");
  return conformance((r.u8("conformance") << 16) | (r.u8("conformance") << 8) | r.u8("conformance"));
}

function readInitiateRequest(r: Reader): InitiateRequest {
  const dedicatedKey = readPresence(r, "dedicated-key") ? readOctets(r, "dedicated-key") : null;
  const responseAllowed = readPresence(r, "response-allowed") ? readBool(r, "response-allowed") : null;
  const proposedQualityOfService = readPresence(r, "proposed-quality-of-service") ? r.i8("proposed-quality-of-service") : null;
  const proposedDlmsVersion = r.u8("proposed-dlms-version-number");
  const proposedConformance = readConformance(r);
  return { type: "initiate-request", dedicatedKey, responseAllowed, proposedQualityOfService, proposedDlmsVersion, proposedConformance, clientMaxReceivePduSize: r.u16("client-max-receive-pdu-size") };
}

function readInitiateResponse(r: Reader): InitiateResponse {
  const negotiatedQualityOfService = readPresence(r, "negotiated-quality-of-service") ? r.i8("negotiated-quality-of-service") : null;
  const negotiatedDlmsVersion = r.u8("negotiated-dlms-version-number");
  const negotiatedConformance = readConformance(r);
  const serverMaxReceivePduSize = r.u16("server-max-receive-pdu-size");
  return { type: "initiate-response", negotiatedQualityOfService, negotiatedDlmsVersion, negotiatedConformance, serverMaxReceivePduSize, vaaName: r.u16("vaa-name") };
}

function readDataNotification(r: Reader): XdlmsApdu {
  const longInvokeIdAndPriority = r.u32("long-invoke-id-and-priority");
  const first = r.u8("date-time");
  let dateTime: CosemDateTime | null = null;
  let dateTimeEncoding: "octet-string" | "absent" | "data" = "absent";
  if (first === 0x0c) {
    dateTime = decodeDateTime(r.view(12, "date-time"));
    dateTimeEncoding = "octet-string";
  } else if (first === 0x09) {
    const len = r.u8("date-time length");
    if (len !== 12) throw new FieldValueError("BAD_FORMAT", "date-time length", len, "12");
    dateTime = decodeDateTime(r.view(12, "date-time"));
    dateTimeEncoding = "data";
  } else if (first !== 0x00) {
    throw new FieldValueError("BAD_FORMAT", "date-time", first, "0x00 (absent), 0x0c (12-byte date-time) or 0x09 0x0c");
  }
  return { type: "data-notification", longInvokeIdAndPriority, dateTime, dateTimeEncoding, body: decodeData(r) };
}

function readGetRequest(r: Reader): XdlmsApdu {
  const choice = r.u8("get-request choice");
  const invoke = readInvoke(r);
  switch (choice) {
    case 1:
      return { type: "get-request-normal", invoke, attribute: readAttribute(r), accessSelection: readSelection(r) };
    case 2:
      return { type: "get-request-next", invoke, blockNumber: r.u32("block-number") };
    case 3:
      return { type: "get-request-with-list", invoke, attributes: times(readCount(r, "attribute count"), () => ({ attribute: readAttribute(r), accessSelection: readSelection(r) })) };
    default:
      throw new UnknownTagError("get-request choice", choice);
  }
}

function readGetResponse(r: Reader): XdlmsApdu {
  const choice = r.u8("get-response choice");
  const invoke = readInvoke(r);
  switch (choice) {
    case 1:
      return { type: "get-response-normal", invoke, result: readGetDataResult(r) };
    case 2: {
      const lastBlock = readBool(r, "last-block");
      const blockNumber = r.u32("block-number");
      const c = r.u8("DataBlock-G result choice");
      if (c === 0) return { type: "get-response-with-datablock", invoke, lastBlock, blockNumber, result: { rawData: readOctets(r, "raw-data") } };
      if (c === 1) return { type: "get-response-with-datablock", invoke, lastBlock, blockNumber, result: { dataAccessResult: r.u8("Data-Access-Result") } };
      throw new UnknownTagError("DataBlock-G result", c);
    }
    case 3:
      return { type: "get-response-with-list", invoke, results: times(readCount(r, "result count"), () => readGetDataResult(r)) };
    default:
      throw new UnknownTagError("get-response choice", choice);
  }
}

function readDataBlock(r: Reader): DataBlock {
  return { lastBlock: readBool(r, "last-block"), blockNumber: r.u32("block-number"), rawData: readOctets(r, "raw-data") };
}

function readSetRequest(r: Reader): XdlmsApdu {
  const choice = r.u8("set-request choice");
  const invoke = readInvoke(r);
  switch (choice) {
    case 1: {
      const attribute = readAttribute(r);
      const accessSelection = readSelection(r);
      return { type: "set-request-normal", invoke, attribute, accessSelection, value: decodeData(r) };
    }
    case 2: {
      const attribute = readAttribute(r);
      const accessSelection = readSelection(r);
      return { type: "set-request-with-first-datablock", invoke, attribute, accessSelection, block: readDataBlock(r) };
    }
    case 3:
      return { type: "set-request-with-datablock", invoke, block: readDataBlock(r) };
    case 4: {
      const attributes = times(readCount(r, "attribute count"), () => ({ attribute: readAttribute(r), accessSelection: readSelection(r) }));
      return { type: "set-request-with-list", invoke, attributes, values: times(readCount(r, "value count"), () => decodeData(r)) };
    }
    default:
      throw new UnknownTagError("set-request choice", choice);
  }
}

function readSetResponse(r: Reader): XdlmsApdu {
  const choice = r.u8("set-response choice");
  const invoke = readInvoke(r);
  switch (choice) {
    case 1:
      return { type: "set-response-normal", invoke, result: r.u8("Data-Access-Result") };
    case 2:
      return { type: "set-response-datablock", invoke, blockNumber: r.u32("block-number") };
    case 3: {
      const result = r.u8("Data-Access-Result");
      return { type: "set-response-last-datablock", invoke, result, blockNumber: r.u32("block-number") };
    }
    case 5:
      return { type: "set-response-with-list", invoke, results: times(readCount(r, "result count"), () => r.u8("Data-Access-Result")) };
    default:
      throw new UnknownTagError("set-response choice", choice);
  }
}

function readMethod(r: Reader): MethodDescriptor {
  const v = r.layout(ATTRIBUTE_LAYOUT);
  return { classId: v.classId, obis: formatObis(v.instance), method: v.id };
}

function readActionRequest(r: Reader): XdlmsApdu {
  const choice = r.u8("action-request choice");
  const invoke = readInvoke(r);
  switch (choice) {
    case 1: {
      const method = readMethod(r);
      return { type: "action-request-normal", invoke, method, parameters: readPresence(r, "method-invocation-parameters") ? decodeData(r) : null };
    }
    case 2:
      return { type: "action-request-next-pblock", invoke, blockNumber: r.u32("block-number") };
    case 3: {
      const methods = times(readCount(r, "method count"), () => readMethod(r));
      return { type: "action-request-with-list", invoke, methods, parameters: times(readCount(r, "parameter count"), () => decodeData(r)) };
    }
    case 4: {
      const method = readMethod(r);
      return { type: "action-request-with-first-pblock", invoke, method, block: readDataBlock(r) };
    }
    case 6:
      return { type: "action-request-with-pblock", invoke, block: readDataBlock(r) };
    default:
      throw new UnknownTagError("action-request choice", choice);
  }
}

function readActionResult(r: Reader): { result: number; returnParameters: GetDataResult | null } {
  const result = r.u8("Action-Result");
  return { result, returnParameters: readPresence(r, "return-parameters") ? readGetDataResult(r) : null };
}

function readActionResponse(r: Reader): XdlmsApdu {
  const choice = r.u8("action-response choice");
  const invoke = readInvoke(r);
  switch (choice) {
    case 1:
      return { type: "action-response-normal", invoke, ...readActionResult(r) };
    case 2:
      return { type: "action-response-with-pblock", invoke, block: readDataBlock(r) };
    case 3:
      return { type: "action-response-with-list", invoke, results: times(readCount(r, "result count"), () => readActionResult(r)) };
    case 4:
      return { type: "action-response-next-pblock", invoke, blockNumber: r.u32("block-number") };
    default:
      throw new UnknownTagError("action-response choice", choice);
  }
}

// ACSE: BER TLVs inside the [APPLICATION n] constructed tag.
function readAcse(r: Reader, tag: number): Aarq | Aare | ReleaseApdu {
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
    const apdu = decodeApdu(inner);
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

// ---- encoding -----------------------------------------------------------------------------------

/**
 * Encodes an APDU (any type {@link decodeApdu} returns).
 * @example
 * encodeApdu({ type: "get-request-next", invoke: { invokeId: 1, confirmed: true, highPriority: true }, blockNumber: 1 }) // c002c100000001
 */
export function encodeApdu(apdu: Apdu): Uint8Array {
  const w = new Writer();
  writeApdu(w, apdu);
  return w.finish();
}

function writeConformance(w: Writer, c: Conformance): void {
  w.bytes([0x5f, 0x1f, 0x04, 0x00]).u8(c.value >>> 16).u8(c.value >>> 8).u8(c.value);
}
function writeOctets(w: Writer, b: Uint8Array): void {
  writeLength(w, b.length).bytes(b);
}
function writeBlock(w: Writer, b: DataBlock): void {
  w.u8(b.lastBlock ? 1 : 0).u32(b.blockNumber);
  writeOctets(w, b.rawData);
}
function writeActionResult(w: Writer, x: { result: number; returnParameters: GetDataResult | null }): void {
  w.u8(x.result);
  if (x.returnParameters === null) w.u8(0);
  else writeGetDataResult(w.u8(1), x.returnParameters);
}
function tlv(w: Writer, tag: number, body: Uint8Array): void {
  writeLength(w.u8(tag), body.length).bytes(body);
}
function sub(f: (w: Writer) => void): Uint8Array {
  const w = new Writer();
  f(w);
  return w.finish();
}

function writeApdu(w: Writer, a: Apdu): void {
  if (a.type in CIPHERED_TAGS) {
    const c = a as CipheredApdu;
    w.u8(CIPHERED_TAGS[c.type]);
    writeLength(w, 5 + c.information.length).layout(SECURITY_HEADER, { securityControl: c.securityControl, invocationCounter: c.invocationCounter }).bytes(c.information);
    return;
  }
  switch (a.type) {
    case "initiate-request":
      w.u8(0x01);
      if (a.dedicatedKey) writeOctets(w.u8(1), a.dedicatedKey);
      else w.u8(0);
      if (a.responseAllowed === null) w.u8(0);
      else w.u8(1).u8(a.responseAllowed ? 1 : 0);
      if (a.proposedQualityOfService === null) w.u8(0);
      else w.u8(1).u8(a.proposedQualityOfService);
      w.u8(a.proposedDlmsVersion);
      writeConformance(w, a.proposedConformance);
      w.u16(a.clientMaxReceivePduSize);
      return;
    case "initiate-response":
      w.u8(0x08);
      if (a.negotiatedQualityOfService === null) w.u8(0);
      else w.u8(1).u8(a.negotiatedQualityOfService);
      w.u8(a.negotiatedDlmsVersion);
      writeConformance(w, a.negotiatedConformance);
      w.u16(a.serverMaxReceivePduSize).u16(a.vaaName);
      return;
    case "confirmed-service-error":
      w.u8(0x0e).u8(a.service).u8(a.errorType).u8(a.value);
      return;
    case "data-notification":
      w.u8(0x0f).u32(a.longInvokeIdAndPriority);
      if (a.dateTime === null || a.dateTimeEncoding === "absent") w.u8(0);
      else w.bytes(a.dateTimeEncoding === "data" ? [0x09, 0x0c] : [0x0c]).bytes(encodeDateTime(a.dateTime));
      writeData(w, a.body);
      return;
    case "get-request-normal":
      w.u8(0xc0).u8(1);
      writeInvoke(w, a.invoke);
      writeDescriptor(w, a.attribute.classId, a.attribute.obis, a.attribute.attribute);
      writeSelection(w, a.accessSelection);
      return;
    case "get-request-next":
      w.u8(0xc0).u8(2);
      writeInvoke(w, a.invoke);
      w.u32(a.blockNumber);
      return;
    case "get-request-with-list":
      w.u8(0xc0).u8(3);
      writeInvoke(w, a.invoke);
      writeLength(w, a.attributes.length);
      for (const x of a.attributes) {
        writeDescriptor(w, x.attribute.classId, x.attribute.obis, x.attribute.attribute);
        writeSelection(w, x.accessSelection);
      }
      return;
    case "get-response-normal":
      w.u8(0xc4).u8(1);
      writeInvoke(w, a.invoke);
      writeGetDataResult(w, a.result);
      return;
    case "get-response-with-datablock":
      w.u8(0xc4).u8(2);
      writeInvoke(w, a.invoke);
      w.u8(a.lastBlock ? 1 : 0).u32(a.blockNumber);
      if ("rawData" in a.result) writeOctets(w.u8(0), a.result.rawData);
      else w.u8(1).u8(a.result.dataAccessResult);
      return;
    case "get-response-with-list":
      w.u8(0xc4).u8(3);
      writeInvoke(w, a.invoke);
      writeLength(w, a.results.length);
      for (const x of a.results) writeGetDataResult(w, x);
      return;
    case "set-request-normal":
      w.u8(0xc1).u8(1);
      writeInvoke(w, a.invoke);
      writeDescriptor(w, a.attribute.classId, a.attribute.obis, a.attribute.attribute);
      writeSelection(w, a.accessSelection);
      writeData(w, a.value);
      return;
    case "set-request-with-first-datablock":
      w.u8(0xc1).u8(2);
      writeInvoke(w, a.invoke);
      writeDescriptor(w, a.attribute.classId, a.attribute.obis, a.attribute.attribute);
      writeSelection(w, a.accessSelection);
      writeBlock(w, a.block);
      return;
    case "set-request-with-datablock":
      w.u8(0xc1).u8(3);
      writeInvoke(w, a.invoke);
      writeBlock(w, a.block);
      return;
    case "set-request-with-list":
      w.u8(0xc1).u8(4);
      writeInvoke(w, a.invoke);
      writeLength(w, a.attributes.length);
      for (const x of a.attributes) {
        writeDescriptor(w, x.attribute.classId, x.attribute.obis, x.attribute.attribute);
        writeSelection(w, x.accessSelection);
      }
      writeLength(w, a.values.length);
      for (const v of a.values) writeData(w, v);
      return;
    case "set-response-normal":
      w.u8(0xc5).u8(1);
      writeInvoke(w, a.invoke);
      w.u8(a.result);
      return;
    case "set-response-datablock":
      w.u8(0xc5).u8(2);
      writeInvoke(w, a.invoke);
      w.u32(a.blockNumber);
      return;
    case "set-response-last-datablock":
      w.u8(0xc5).u8(3);
      writeInvoke(w, a.invoke);
      w.u8(a.result).u32(a.blockNumber);
      return;
    case "set-response-with-list":
      w.u8(0xc5).u8(5);
      writeInvoke(w, a.invoke);
      writeLength(w, a.results.length);
      for (const x of a.results) w.u8(x);
      return;
    case "action-request-normal":
      w.u8(0xc3).u8(1);
      writeInvoke(w, a.invoke);
      writeDescriptor(w, a.method.classId, a.method.obis, a.method.method);
      if (a.parameters === null) w.u8(0);
      else writeData(w.u8(1), a.parameters);
      return;
    case "action-request-next-pblock":
      w.u8(0xc3).u8(2);
      writeInvoke(w, a.invoke);
      w.u32(a.blockNumber);
      return;
    case "action-request-with-list":
      w.u8(0xc3).u8(3);
      writeInvoke(w, a.invoke);
      writeLength(w, a.methods.length);
      for (const m of a.methods) writeDescriptor(w, m.classId, m.obis, m.method);
      writeLength(w, a.parameters.length);
      for (const p of a.parameters) writeData(w, p);
      return;
    case "action-request-with-first-pblock":
      w.u8(0xc3).u8(4);
      writeInvoke(w, a.invoke);
      writeDescriptor(w, a.method.classId, a.method.obis, a.method.method);
      writeBlock(w, a.block);
      return;
    case "action-request-with-pblock":
      w.u8(0xc3).u8(6);
      writeInvoke(w, a.invoke);
      writeBlock(w, a.block);
      return;
    case "action-response-with-pblock":
      w.u8(0xc7).u8(2);
      writeInvoke(w, a.invoke);
      writeBlock(w, a.block);
      return;
    case "event-notification-request":
      w.u8(0xc2);
      if (a.time === null) w.u8(0);
      else writeOctets(w.u8(1), a.time);
      writeDescriptor(w, a.attribute.classId, a.attribute.obis, a.attribute.attribute);
      writeData(w, a.value);
      return;
    case "action-response-normal":
      w.u8(0xc7).u8(1);
      writeInvoke(w, a.invoke);
      writeActionResult(w, a);
      return;
    case "action-response-with-list":
      w.u8(0xc7).u8(3);
      writeInvoke(w, a.invoke);
      writeLength(w, a.results.length);
      for (const x of a.results) writeActionResult(w, x);
      return;
    case "action-response-next-pblock":
      w.u8(0xc7).u8(4);
      writeInvoke(w, a.invoke);
      w.u32(a.blockNumber);
      return;
    case "exception-response":
      w.u8(0xd8).u8(a.stateError).u8(a.serviceError);
      if (a.invocationCounter !== null) w.u32(a.invocationCounter);
      return;
    case "general-glo-ciphering":
    case "general-ded-ciphering":
      w.u8(a.type === "general-glo-ciphering" ? 0xdb : 0xdc);
      writeOctets(w, a.systemTitle);
      writeLength(w, 5 + a.information.length).layout(SECURITY_HEADER, { securityControl: a.securityControl, invocationCounter: a.invocationCounter }).bytes(a.information);
      return;
    case "aarq":
    case "aare":
    case "rlrq":
    case "rlre":
      writeAcse(w, a);
      return;
  }
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

function writeAcse(w: Writer, apdu: Aarq | Aare | ReleaseApdu): void {
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
    if (a.userInformation) tlv(b, 0xbe, sub((x) => tlv(x, 0x04, encodeApdu(a.userInformation!))));
  });
  w.u8(APDU_TAGS[a.type]);
  writeLength(w, body.length).bytes(body);
}
