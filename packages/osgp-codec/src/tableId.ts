// C12.19 table and procedure identifiers as OSGP uses them: bits 0–10 the number, bit 11 the
// manufacturer ("extended", ETn/EPn) flag, bit 12 the pending flag.
import { InvalidArgumentError } from "./errors";

/** ETn = n + 2048 (and EPn likewise for procedures). */
export const EXTENDED_TABLE_OFFSET = 0x0800;
/** A pending (deferred-activation) table id is the table id + 4096. */
export const PENDING_TABLE_OFFSET = 0x1000;
/** BT07, the procedure initiate table: procedures are full writes of it. */
export const PROCEDURE_TABLE_ID = 7;
/** BT08, the procedure response table. */
export const PROCEDURE_RESPONSE_TABLE_ID = 8;

export interface TableIdParameters {
  /** Table number within its space, 0..2047. */
  number: number;
  /** ETn (manufacturer/extended) instead of BTn. */
  extended?: boolean;
  pending?: boolean;
}

export interface ParseTableIdReturnType {
  number: number;
  extended: boolean;
  pending: boolean;
}

/**
 * Builds a 16-bit table id.
 * @example
 * tableId({ number: 52, extended: true }) // 2100 (ET52)
 */
export function tableId({ number, extended = false, pending = false }: TableIdParameters): number {
  if (!Number.isInteger(number) || number < 0 || number > 0x7ff) {
    throw new InvalidArgumentError("number", number, "a table number in 0..2047");
  }
  return number + (extended ? EXTENDED_TABLE_OFFSET : 0) + (pending ? PENDING_TABLE_OFFSET : 0);
}

/**
 * Splits a table id into number and flags.
 * @example
 * parseTableId(0x0832) // { number: 50, extended: true, pending: false }
 */
export function parseTableId(id: number): ParseTableIdReturnType {
  if (!Number.isInteger(id) || id < 0 || id > 0xffff) throw new InvalidArgumentError("tableId", id, "an integer in 0..65535");
  return { number: id & 0x7ff, extended: (id & EXTENDED_TABLE_OFFSET) !== 0, pending: (id & PENDING_TABLE_OFFSET) !== 0 };
}

/**
 * The conventional name of a table id: BT07, ET52, "ET52 pending"; unknown high bits as hex.
 * @example
 * formatTableId(23) // "BT23"
 */
export function formatTableId(id: number): string {
  const { number, extended, pending } = parseTableId(id);
  const base = `${extended ? "ET" : "BT"}${String(number).padStart(2, "0")}`;
  const extra = id & 0xe000 ? ` +0x${(id & 0xe000).toString(16)}` : "";
  return `${base}${pending ? " pending" : ""}${extra}`;
}

/**
 * Parses "BT23", "ET52", "ET52 pending", a decimal or a 0x-hex id. Procedure names (BP05, EP17)
 * use the same numbering (EPn = 2048 + n) and are accepted too.
 * @example
 * parseTableName("ET52") // 2100
 */
export function parseTableName(text: string): number {
  const t = String(text).trim();
  const m = /^([BEM])([TP])\s*(\d{1,4})(\s+pending)?$/i.exec(t);
  if (m) {
    return tableId({ number: Number(m[3]), extended: m[1].toUpperCase() !== "B", pending: m[4] !== undefined });
  }
  const n = /^0x[0-9a-f]+$/i.test(t) ? parseInt(t, 16) : /^\d+$/.test(t) ? Number(t) : NaN;
  if (!Number.isInteger(n) || n < 0 || n > 0xffff) throw new InvalidArgumentError("table", text, "BTn, ETn, or an id in 0..65535");
  return n;
}
