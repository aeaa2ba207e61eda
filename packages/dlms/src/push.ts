// Registers from push messages (data-notification bodies) and profile buffers, keyed by OBIS.
// Three shapes occur on real HAN ports:
//   entries:   array/structure of structure{OBIS, value[, structure{scaler, unit}]}   (Aidon, IEC 62056-7-5 style)
//   pairs:     one flat structure alternating OBIS, value, OBIS, value...          (Kamstrup)
//   positional: values only; the list is known by its length and version string     (Kaifa KFM_001)
// Push lists are data too: each known list is a row in HAN_PUSH_LISTS.
import { type DlmsData, decodeDateTime, formatDateTime } from "./axdr";
import { type RegisterInfo, formatObis, describeObis, UNITS } from "./obis";

export interface RegisterReading {
  /** Physical value (raw × 10^scaler) for numbers; text, ISO date-time or hex for the rest. */
  value: number | string | null;
  /** The number as sent (before the scaler); null for non-numeric values. */
  raw: number | null;
  scaler: number;
  /** Unit symbol from the DLMS unit enumeration ("" for counts), null when unknown. */
  unit: string | null;
  name?: string;
}

export interface PushListSpec {
  id: string;
  description: string;
  /** "positional": values only, in this OBIS order. */
  obis?: readonly string[];
  /** First value must equal this string (the OBIS list version identifier), when set. */
  version?: string;
  /** Scalers the vendor documents for values sent without scaler_unit, by "C.D" of the OBIS code. */
  scalers: Readonly<Record<string, number>>;
}

const KAIFA_SCALERS = { "31.7": -3, "51.7": -3, "71.7": -3, "32.7": -1, "52.7": -1, "72.7": -1 };
const KAIFA_HEAD = ["1.1.0.2.129.255", "0.0.96.1.0.255", "0.0.96.1.7.255", "1.0.1.7.0.255", "1.0.2.7.0.255", "1.0.3.7.0.255", "1.0.4.7.0.255"];
const ENERGY = ["0.0.1.0.0.255", "1.0.1.8.0.255", "1.0.2.8.0.255", "1.0.3.8.0.255", "1.0.4.8.0.255"];
const THREE_PHASE = ["1.0.31.7.0.255", "1.0.51.7.0.255", "1.0.71.7.0.255", "1.0.32.7.0.255", "1.0.52.7.0.255", "1.0.72.7.0.255"];
const ONE_PHASE = ["1.0.31.7.0.255", "1.0.32.7.0.255"];

/** Known Norwegian HAN push lists (NVE/NEK HAN; Kaifa "KFM_001", Kamstrup "Kamstrup_V0001", Aidon "AIDON_V0001"). */
export const HAN_PUSH_LISTS: readonly PushListSpec[] = [
  { id: "kaifa-list-1", description: "Kaifa list 1: active power import every 2 s", obis: ["1.0.1.7.0.255"], scalers: {} },
  { id: "kaifa-list-2-1p", description: "Kaifa list 2, single phase", version: "KFM_001", obis: [...KAIFA_HEAD, ...ONE_PHASE], scalers: KAIFA_SCALERS },
  { id: "kaifa-list-2-3p", description: "Kaifa list 2, three phase", version: "KFM_001", obis: [...KAIFA_HEAD, ...THREE_PHASE], scalers: KAIFA_SCALERS },
  { id: "kaifa-list-3-1p", description: "Kaifa list 3 (hourly), single phase", version: "KFM_001", obis: [...KAIFA_HEAD, ...ONE_PHASE, ...ENERGY], scalers: KAIFA_SCALERS },
  { id: "kaifa-list-3-3p", description: "Kaifa list 3 (hourly), three phase", version: "KFM_001", obis: [...KAIFA_HEAD, ...THREE_PHASE, ...ENERGY], scalers: KAIFA_SCALERS },
  // Kamstrup sends OBIS/value pairs without scaler_unit; its HAN documentation gives 0.01 A and 0.01 kWh.
  { id: "kamstrup", description: "Kamstrup OBIS/value pairs", version: "Kamstrup_V0001", scalers: { "31.7": -2, "51.7": -2, "71.7": -2, "1.8": 1, "2.8": 1, "3.8": 1, "4.8": 1 } },
  { id: "obis-value-pairs", description: "flat OBIS/value pairs, no scaler_unit", scalers: {} },
  { id: "obis-entries", description: "structures of OBIS, value and scaler_unit", scalers: {} },
];
const LIST_BY_ID = new Map(HAN_PUSH_LISTS.map((l) => [l.id, l]));

export interface ExtractRegistersReturnType {
  /** Id of the matched row in {@link HAN_PUSH_LISTS}. */
  list: string;
  registers: Record<string, RegisterReading>;
}

const isObis = (d: DlmsData | undefined): d is { type: "octet-string"; value: Uint8Array } => d !== undefined && d.type === "octet-string" && d.value.length === 6;
const NUMERIC = new Set(["double-long", "double-long-unsigned", "integer", "long", "unsigned", "long-unsigned", "long64", "long64-unsigned", "float32", "float64", "enum", "bcd"]);

function scale(raw: number, scaler: number): number {
  // Dividing keeps 2307 × 10^-1 at 230.7; 15 significant digits drop binary noise for any i8 scaler.
  if (scaler === 0) return raw;
  return Number((scaler < 0 ? raw / 10 ** -scaler : raw * 10 ** scaler).toPrecision(15));
}

function text(d: DlmsData): string | null {
  if (d.type === "visible-string" || d.type === "utf8-string") return d.value;
  if (d.type === "octet-string") {
    if (d.value.length === 12) {
      const iso = formatDateTime(decodeDateTime(d.value));
      if (iso) return iso;
    }
    if (d.value.length > 0 && d.value.every((b) => b >= 0x20 && b < 0x7f)) return String.fromCharCode(...d.value);
    return Array.from(d.value, (b) => b.toString(16).padStart(2, "0")).join("");
  }
  if (d.type === "date-time") return formatDateTime(d.value);
  if (d.type === "null-data") return null;
  if (d.type === "boolean") return String(d.value);
  return null;
}

/**
 * One register reading from a value, an optional scaler_unit structure and the list's defaults.
 * @example
 * reading("1.0.32.7.0.255", { type: "long-unsigned", value: 2301 }, { scaler: -1, unit: 35 }) // { value: 230.1, raw: 2301, scaler: -1, unit: "V", ... }
 */
export function reading(obis: string, value: DlmsData, scalerUnit?: { scaler: number; unit: number }, defaults: Readonly<Record<string, number>> = {}): RegisterReading {
  const { info, cd } = lookup(obis);
  const unitCode = scalerUnit?.unit ?? info?.unit;
  const unit = unitCode === undefined ? null : UNITS[unitCode] ?? null;
  let out: RegisterReading;
  const v = (value as { value?: unknown }).value;
  if (NUMERIC.has(value.type) && (typeof v === "number" || typeof v === "bigint")) {
    const raw = Number(v);
    const scaler = scalerUnit?.scaler ?? defaults[cd] ?? 0;
    out = { value: scale(raw, scaler), raw, scaler, unit };
  } else {
    out = { value: text(value), raw: null, scaler: 0, unit: info && unitCode !== 255 ? unit : null };
  }
  if (info) out.name = info.name;
  return out;
}

// Register lookups by OBIS text, memoised: a push repeats the same codes every few seconds. Bounded,
// because the codes come from the wire.
const LOOKUPS = new Map<string, { info: RegisterInfo | undefined; cd: string }>();
function lookup(obis: string): { info: RegisterInfo | undefined; cd: string } {
  let e = LOOKUPS.get(obis);
  if (e === undefined) {
    if (LOOKUPS.size >= 4096) LOOKUPS.clear();
    const [, , c, d] = obis.split(".");
    e = { info: describeObis(obis), cd: `${c}.${d}` };
    LOOKUPS.set(obis, e);
  }
  return e;
}

function scalerUnitOf(d: DlmsData | undefined): { scaler: number; unit: number } | undefined {
  if (!d || d.type !== "structure" || d.value.length !== 2) return undefined;
  const [s, u] = d.value;
  if (s.type !== "integer" || u.type !== "enum") return undefined;
  return { scaler: s.value, unit: u.value };
}

/**
 * Turns a push body into registers keyed by OBIS, recognising the list shape (see {@link HAN_PUSH_LISTS}).
 * Returns null when the body has no recognisable registers.
 * @example
 * extractRegisters(notification.body) // { list: "kaifa-list-1", registers: { "1.0.1.7.0.255": { value: 1320, raw: 1320, scaler: 0, unit: "W", ... } } }
 */
export function extractRegisters(body: DlmsData): ExtractRegistersReturnType | null {
  if (body.type !== "structure" && body.type !== "array") return null;
  const items = body.value;
  // entries: structure{OBIS, value[, scaler_unit]}
  if (items.length > 0 && items.every((e) => e.type === "structure" && e.value.length >= 2 && isObis(e.value[0]))) {
    const registers: Record<string, RegisterReading> = {};
    for (const e of items) {
      const [o, v, su] = (e as { value: DlmsData[] }).value;
      const obis = formatObis((o as { value: Uint8Array }).value);
      registers[obis] = reading(obis, v, scalerUnitOf(su));
    }
    return { list: "obis-entries", registers };
  }
  if (body.type !== "structure") return null;
  // pairs: OBIS, value, OBIS, value, with an optional leading list version string
  const pairStart = items.length > 0 && items[0].type === "visible-string" && isObis(items[1]) ? 1 : 0;
  const pairs = items.length - pairStart;
  if (pairs >= 2 && pairs % 2 === 0 && items.slice(pairStart).every((e, i) => i % 2 === 1 || isObis(e))) {
    const version = pairStart ? (items[0] as { value: string }).value : undefined;
    const spec = HAN_PUSH_LISTS.find((l) => l.version !== undefined && l.version === version && l.obis === undefined) ?? LIST_BY_ID.get("obis-value-pairs")!;
    const registers: Record<string, RegisterReading> = {};
    if (version !== undefined) registers["1.1.0.2.129.255"] = reading("1.1.0.2.129.255", items[0]);
    for (let i = pairStart; i < items.length; i += 2) {
      const obis = formatObis((items[i] as { value: Uint8Array }).value);
      registers[obis] = reading(obis, items[i + 1], undefined, spec.scalers);
    }
    return { list: spec.id, registers };
  }
  // positional lists, by element count and version string
  const first = items[0];
  const version = first && (first.type === "octet-string" || first.type === "visible-string") ? text(first) : null;
  const spec = HAN_PUSH_LISTS.find((l) => l.obis !== undefined && l.obis.length === items.length && (l.version === undefined ? items.length === 1 && NUMERIC.has(items[0].type) : l.version === version));
  if (!spec || !spec.obis) return null;
  const registers: Record<string, RegisterReading> = {};
  spec.obis.forEach((obis, i) => {
    registers[obis] = reading(obis, items[i], undefined, spec.scalers);
  });
  return { list: spec.id, registers };
}

/**
 * Rows of a profile buffer (class 7 attribute 2) keyed by the OBIS codes of its capture objects
 * (attribute 3: array of structure{class_id, logical_name, attribute_index, data_index}), with
 * optional scaler_unit per OBIS (class 3 attribute 3 of each register).
 * @example
 * decodeProfileBuffer(buffer, captureObjects) // [{ "0.0.1.0.0.255": { value: "2019-12-16T...", ... }, "1.0.1.8.0.255": {...} }, ...]
 */
export function decodeProfileBuffer(buffer: DlmsData, captureObjects: DlmsData | readonly string[], scalerUnits: Readonly<Record<string, { scaler: number; unit: number }>> = {}): Record<string, RegisterReading>[] {
  const columns = Array.isArray(captureObjects)
    ? (captureObjects as readonly string[])
    : (captureObjects as DlmsData).type === "array"
      ? ((captureObjects as { value: DlmsData[] }).value.map((c) => (c.type === "structure" && isObis(c.value[1]) ? formatObis(c.value[1].value) : "?")))
      : [];
  if (buffer.type !== "array" && buffer.type !== "compact-array") return [];
  return buffer.value.map((row) => {
    const out: Record<string, RegisterReading> = {};
    if (row.type !== "structure") return out;
    row.value.forEach((v, i) => {
      const obis = columns[i] ?? `column-${i}`;
      out[obis] = reading(obis, v, scalerUnits[obis]);
    });
    return out;
  });
}
