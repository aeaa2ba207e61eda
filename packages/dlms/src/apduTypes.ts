// The APDU types of the xDLMS and ACSE layers and their tag tables: data only, below the codec
// (apdu.ts), the ACSE part (acse.ts) and the shared field readers (apduFields.ts).
import type { CosemDateTime, DlmsData } from "./axdr";
import { InvalidArgumentError } from "./errors";
import { compileLayout } from "./layout";

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

// ---- APDU types ---------------------------------------------------------------------------------

export type ApplicationContext = "logical-name" | "short-name" | "logical-name-ciphering" | "short-name-ciphering";
export type Mechanism = "lowest" | "low" | "high" | "high-md5" | "high-sha1" | "high-gmac" | "high-sha256" | "high-ecdsa";
export const CONTEXTS: ApplicationContext[] = ["logical-name", "short-name", "logical-name-ciphering", "short-name-ciphering"];
export const MECHANISMS: Mechanism[] = ["lowest", "low", "high", "high-md5", "high-sha1", "high-gmac", "high-sha256", "high-ecdsa"];
export const OID_PREFIX_CONTEXT = [0x60, 0x85, 0x74, 0x05, 0x08, 0x01];
export const OID_PREFIX_MECHANISM = [0x60, 0x85, 0x74, 0x05, 0x08, 0x02];

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
export const CIPHERED_BY_TAG = new Map<number, CipheredApduType>(Object.entries(CIPHERED_TAGS).map(([k, v]) => [v, k as CipheredApduType]));

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

export const SECURITY_HEADER = compileLayout("security header", [
  { name: "securityControl", type: "u8" },
  { name: "invocationCounter", type: "u32" },
] as const);
