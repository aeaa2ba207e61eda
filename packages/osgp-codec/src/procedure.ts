// Procedures: a full write of BT07 (procedure word LSB first: number in bits 0–11, response
// handling in bits 12–15; then the procedure sequence number and the parameters). Results are read
// back from BT08 (or ET59/ET85 on MEP servers) with the same header plus a result code.
import { InvalidArgumentError } from "./errors";
import { compileLayout, type LayoutValues } from "./layout";
import type { ServiceRequest } from "./services";
import { PROCEDURE_TABLE_ID } from "./tableId";

export const PROCEDURE_CALL_LAYOUT = [
  {
    name: "procedureWord",
    type: "u16le",
    parts: [
      { name: "procedure", bits: 12 },
      { name: "responseHandling", bits: 4 },
    ],
  },
  { name: "psn", type: "u8" },
  { name: "params", type: "rest" },
] as const;

export const PROCEDURE_RESULT_LAYOUT = [
  {
    name: "procedureWord",
    type: "u16le",
    parts: [
      { name: "procedure", bits: 12 },
      { name: "filler", bits: 4 },
    ],
  },
  { name: "psn", type: "u8" },
  { name: "resultCode", type: "u8" },
  { name: "data", type: "rest" },
] as const;

/** ANSI C12.19 procedure result codes (BT08). */
export const PROCEDURE_RESULT_CODES = {
  0: "completed",
  1: "acceptedNotCompleted",
  2: "invalidParameter",
  3: "conflictsWithSetup",
  4: "timingConstraint",
  5: "noAuthorization",
  6: "unrecognizedProcedure",
} as const;

const CALL = compileLayout("BT07", PROCEDURE_CALL_LAYOUT);
const RESULT = compileLayout("BT08", PROCEDURE_RESULT_LAYOUT);

export type ProcedureCall = LayoutValues<typeof PROCEDURE_CALL_LAYOUT>;
export type ProcedureResult = LayoutValues<typeof PROCEDURE_RESULT_LAYOUT>;

export interface EncodeProcedureCallParameters {
  /** Procedure id: BPn = n, EPn = 2048 + n (0..4095). */
  procedure: number;
  /** Procedure sequence number, echoed in the result (MEP clients use 5..9). */
  psn: number;
  params?: Uint8Array;
  /** Bits 12–15 of the procedure word; 0 posts the result in the response table. */
  responseHandling?: number;
}

/**
 * The full write of BT07 that calls a procedure.
 * @example
 * encodeRequestPdu(encodeProcedureCall({ procedure: 2048 + 17, psn: 7, params: hexToBytes("00f803") }))
 * // 40 0007 0006 1108 07 00f803
 */
export function encodeProcedureCall({ procedure, psn, params = new Uint8Array(0), responseHandling = 0 }: EncodeProcedureCallParameters): ServiceRequest {
  if (!(params instanceof Uint8Array)) throw new InvalidArgumentError("params", params, "bytes (Uint8Array)");
  const data = CALL.encode({ procedure, responseHandling, psn, params });
  return { service: "fullWrite", tableId: PROCEDURE_TABLE_ID, data };
}

/**
 * Splits BT07 data into procedure, response handling, PSN and parameters (a view).
 * @example
 * decodeProcedureCall(hexToBytes("11080700f803")) // { procedure: 2065, responseHandling: 0, psn: 7, params: 00f803 }
 */
export function decodeProcedureCall(data: Uint8Array): ProcedureCall {
  return CALL.decode(data);
}

/**
 * Splits BT08 (procedure response) data into header, result code and response data (a view).
 * @example
 * decodeProcedureResult(hexToBytes("1108070000")) // { procedure: 2065, filler: 0, psn: 7, resultCode: 0, data: 00 }
 */
export function decodeProcedureResult(data: Uint8Array): ProcedureResult {
  return RESULT.decode(data);
}

/**
 * Encodes BT08 (procedure response) data, as a meter or simulator posts it.
 * @example
 * encodeProcedureResult({ procedure: 2065, filler: 0, psn: 7, resultCode: 0, data: new Uint8Array(0) }) // 11 08 07 00
 */
export function encodeProcedureResult(result: ProcedureResult): Uint8Array {
  return RESULT.encode(result);
}
