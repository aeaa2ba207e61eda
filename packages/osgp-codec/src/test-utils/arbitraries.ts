// fast-check generators for every request service and response, derived from the layout tables.
import fc from "fast-check";
import type { ServiceRequest, ServiceResponse } from "../services";

const u16 = fc.integer({ min: 0, max: 0xffff });
const u24 = fc.integer({ min: 0, max: 0xffffff });
const u32 = fc.integer({ min: 0, max: 0xffffffff });
const data = fc.uint8Array({ maxLength: 300 });

export const requestArb: fc.Arbitrary<ServiceRequest> = fc.oneof(
  fc.record({ service: fc.constant("fullRead" as const), tableId: u16 }),
  fc.record({ service: fc.constant("partialRead" as const), tableId: u16, offset: u24, count: u16 }),
  fc.record({ service: fc.constant("fullWrite" as const), tableId: u16, data }),
  fc.record({ service: fc.constant("partialWrite" as const), tableId: u16, offset: u24, data }),
);

const errorNames = [
  "unrecognizedRequest",
  "unsupportedRequest",
  "noPermission",
  "operationNotPossible",
  "tableOperationNotPossible",
  "invalidServiceSequenceState",
  "authenticationFailure",
] as const;

export const responseArb: fc.Arbitrary<ServiceResponse> = fc.oneof(
  fc.constant({ response: "ok" as const }),
  fc.record({ response: fc.constant("okData" as const), data }),
  fc.constantFrom(...errorNames).map((response) => ({ response }) as ServiceResponse),
  fc.record({ response: fc.constant("invalidSequenceNumber" as const), seq: u32 }),
);

export const keyArb = fc.constantFrom(6, 12, 16).chain((n) => fc.uint8Array({ minLength: n, maxLength: n }));
export const seqArb = u32;

/** The request service a response shape answers (reads for okData, writes for ok). */
export function matchingRequest(response: ServiceResponse, request: ServiceRequest): ServiceRequest {
  if (response.response === "okData" && (request.service === "fullWrite" || request.service === "partialWrite")) {
    return { service: "partialRead", tableId: request.tableId, offset: 0, count: 1 };
  }
  if (response.response === "ok" && (request.service === "fullRead" || request.service === "partialRead")) {
    return { service: "fullWrite", tableId: request.tableId, data: new Uint8Array(1) };
  }
  return request;
}
