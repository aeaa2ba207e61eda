// Request services and responses of the OSGP/MEP application layer as layout tables. Header fields
// (table id, offset, count, seq) are MSB first; table data is opaque here (LSB first inside).
import { InvalidArgumentError, LengthMismatchError, TruncatedFrameError, UnknownResponseCodeError, UnknownServiceError } from "./errors";
import { checkSpan, compileLayout, type CompiledLayout, type Layout, type LayoutValues } from "./layout";

const TABLE_ID = { name: "tableId", type: "u16be" } as const;
const OFFSET = { name: "offset", type: "u24be" } as const;
const COUNT = { name: "count", type: "u16be" } as const;
const DATA_COUNT = { name: "count", type: "u16be", lengthOf: "data" } as const;
const DATA = { name: "data", type: "bytes", length: "count" } as const;

/**
 * Request services (C12.18 codes; the OMA digest replaces the C12.18 checksum). A full read carries
 * only the table id, as in C12.18.
 */
export const REQUEST_SERVICES = {
  fullRead: { code: 0x30, fields: [TABLE_ID] },
  partialRead: { code: 0x3f, fields: [TABLE_ID, OFFSET, COUNT] },
  fullWrite: { code: 0x40, fields: [TABLE_ID, DATA_COUNT, DATA] },
  partialWrite: { code: 0x4f, fields: [TABLE_ID, OFFSET, DATA_COUNT, DATA] },
} as const satisfies Record<string, { code: number; fields: Layout }>;

/**
 * Responses. Code 0x00 has two shapes: `okData` (count + data) answers reads, `ok` answers writes.
 * `invalidSequenceNumber` carries the server's current sequence number.
 */
export const RESPONSES = {
  ok: { code: 0x00, fields: [] },
  okData: { code: 0x00, fields: [DATA_COUNT, DATA] },
  unrecognizedRequest: { code: 0x01, fields: [] },
  unsupportedRequest: { code: 0x02, fields: [] },
  noPermission: { code: 0x03, fields: [] },
  operationNotPossible: { code: 0x04, fields: [] },
  tableOperationNotPossible: { code: 0x05, fields: [] },
  invalidServiceSequenceState: { code: 0x0a, fields: [] },
  authenticationFailure: { code: 0x0b, fields: [] },
  invalidSequenceNumber: { code: 0x0c, fields: [{ name: "seq", type: "u32be" }] },
} as const satisfies Record<string, { code: number; fields: Layout }>;

type Simplify<T> = { [K in keyof T]: T[K] } & {};

export type ServiceName = keyof typeof REQUEST_SERVICES;
export type ResponseName = keyof typeof RESPONSES;

/** A request PDU as a plain object, e.g. `{ service: "partialRead", tableId: 23, offset: 0, count: 44 }`. */
export type ServiceRequest = {
  [K in ServiceName]: Simplify<{ service: K } & LayoutValues<(typeof REQUEST_SERVICES)[K]["fields"]>>;
}[ServiceName];

/** A response PDU as a plain object, e.g. `{ response: "invalidSequenceNumber", seq: 0x77635b90 }`. */
export type ServiceResponse = {
  [K in ResponseName]: Simplify<{ response: K } & LayoutValues<(typeof RESPONSES)[K]["fields"]>>;
}[ResponseName];

interface CompiledEntry {
  readonly name: string;
  readonly code: number;
  readonly body: CompiledLayout<Layout>;
}

function compileTable(table: Record<string, { code: number; fields: Layout }>): Map<string, CompiledEntry> {
  const out = new Map<string, CompiledEntry>();
  for (const [name, spec] of Object.entries(table)) out.set(name, { name, code: spec.code, body: compileLayout(name, spec.fields) });
  return out;
}

const REQUEST_BY_NAME = compileTable(REQUEST_SERVICES);
const RESPONSE_BY_NAME = compileTable(RESPONSES);
const REQUEST_BY_CODE: (CompiledEntry | undefined)[] = new Array(256).fill(undefined);
for (const e of REQUEST_BY_NAME.values()) REQUEST_BY_CODE[e.code] = e;
const RESPONSE_BY_CODE: (CompiledEntry | undefined)[] = new Array(256).fill(undefined);
for (const e of RESPONSE_BY_NAME.values()) if (e.name !== "okData") RESPONSE_BY_CODE[e.code] = e;
const OK_DATA = RESPONSE_BY_NAME.get("okData")!;
const OK = RESPONSE_BY_NAME.get("ok")!;

/** Whether a request service reads (its OK response carries count + data). */
export function isReadService(code: number): boolean {
  return code === REQUEST_SERVICES.fullRead.code || code === REQUEST_SERVICES.partialRead.code;
}

/**
 * Encodes a request PDU (service code + fields).
 * @example
 * encodeRequestPdu({ service: "partialRead", tableId: 23, offset: 0, count: 44 }) // 3f 0017 000000 002c
 */
export function encodeRequestPdu(request: ServiceRequest): Uint8Array {
  const entry = typeof request === "object" && request !== null ? REQUEST_BY_NAME.get(request.service) : undefined;
  if (!entry) throw new InvalidArgumentError("service", (request as { service?: unknown })?.service, `one of ${[...REQUEST_BY_NAME.keys()].join(", ")}`);
  const values = request as unknown as LayoutValues<Layout>;
  const out = new Uint8Array(1 + entry.body.byteLength(values));
  out[0] = entry.code;
  entry.body.encodeInto(values, out, 1);
  return out;
}

/**
 * Decodes a request PDU; `data` fields are views into `pdu`.
 * @example
 * decodeRequestPdu(hexToBytes("3f0017000000002c")) // { service: "partialRead", tableId: 23, offset: 0, count: 44 }
 */
export function decodeRequestPdu(pdu: Uint8Array, start = 0, end = pdu?.length): ServiceRequest {
  checkSpan(pdu, start, end);
  if (end - start < 1) throw new TruncatedFrameError("service code", 1, end - start);
  const entry = REQUEST_BY_CODE[pdu[start]];
  if (!entry) throw new UnknownServiceError(pdu[start]);
  const out = entry.body.decode(pdu, start + 1, end) as Record<string, unknown>;
  out.service = entry.name;
  return out as ServiceRequest;
}

/**
 * Encodes a response PDU.
 * @example
 * encodeResponsePdu({ response: "invalidSequenceNumber", seq: 0x77635b90 }) // 0c 77635b90
 */
export function encodeResponsePdu(response: ServiceResponse): Uint8Array {
  const entry = typeof response === "object" && response !== null ? RESPONSE_BY_NAME.get(response.response) : undefined;
  if (!entry) throw new InvalidArgumentError("response", (response as { response?: unknown })?.response, `one of ${[...RESPONSE_BY_NAME.keys()].join(", ")}`);
  const values = response as unknown as LayoutValues<Layout>;
  const out = new Uint8Array(1 + entry.body.byteLength(values));
  out[0] = entry.code;
  entry.body.encodeInto(values, out, 1);
  return out;
}

export interface DecodeResponsePduOptions {
  /**
   * The request's service code when known: a read expects `okData`, a write `ok`. Without it a
   * 1-byte 0x00 is `ok` and a longer one `okData`.
   */
  requestServiceCode?: number;
}

/**
 * Decodes a response PDU; `data` is a view into `pdu`.
 * @example
 * decodeResponsePdu(hexToBytes("0c77635b90")) // { response: "invalidSequenceNumber", seq: 2003000208 }
 */
export function decodeResponsePdu(pdu: Uint8Array, start = 0, end = pdu?.length, options: DecodeResponsePduOptions = {}): ServiceResponse {
  checkSpan(pdu, start, end);
  if (end - start < 1) throw new TruncatedFrameError("response code", 1, end - start);
  const code = pdu[start];
  let entry = RESPONSE_BY_CODE[code];
  if (!entry) throw new UnknownResponseCodeError(code);
  if (code === 0x00) {
    const requestCode = options.requestServiceCode;
    if (requestCode === undefined) entry = end - start > 1 ? OK_DATA : OK;
    else if (isReadService(requestCode)) entry = OK_DATA;
    else if (end - start > 1) throw new LengthMismatchError("ok response to a write", 1, end - start);
  }
  const out = entry.body.decode(pdu, start + 1, end) as Record<string, unknown>;
  out.response = entry.name;
  return out as ServiceResponse;
}

/**
 * The wire code of a response name.
 * @example
 * responseCode("authenticationFailure") // 0x0b
 */
export function responseCode(name: ResponseName): number {
  return RESPONSES[name].code;
}
