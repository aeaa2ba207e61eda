// Binary layouts as data: a layout is an ordered table of fields; encode, decode, sizes and the
// TypeScript value types are all derived from that one table (STYLE.md §6).
import { FieldRangeError, InvalidArgumentError, LengthMismatchError, TruncatedFrameError } from "./errors";

export type IntegerType =
  | "u8"
  | "u16be"
  | "u24be"
  | "u32be"
  | "u16le"
  | "u32le"
  | "u64le"
  | "i8"
  | "i16le"
  | "i32le";

/** A bit range inside an integer field, allocated from the least significant bit upwards. */
export interface BitPart {
  readonly name: string;
  readonly bits: number;
}

export interface IntegerField {
  readonly name: string;
  readonly type: IntegerType;
  /** This field holds the byte length of the named bytes field: filled in on encode, checked on decode. */
  readonly lengthOf?: string;
  /** Split the integer into named bit ranges (LSB first) instead of exposing it whole. */
  readonly parts?: readonly BitPart[];
}

export interface BytesField {
  readonly name: string;
  readonly type: "bytes";
  /** A fixed size, or the name of an earlier integer field that holds the size. */
  readonly length: string | number;
}

/** All bytes up to the end of the enclosing span. */
export interface RestField {
  readonly name: string;
  readonly type: "rest";
}

export type FieldSpec = IntegerField | BytesField | RestField;
export type Layout = readonly FieldSpec[];

type Entry<F> = F extends { readonly lengthOf: string }
  ? never
  : F extends { readonly parts: readonly (infer P)[] }
    ? P extends { readonly name: infer N extends string }
      ? [N, number]
      : never
    : F extends { readonly name: infer N extends string; readonly type: "bytes" | "rest" }
      ? [N, Uint8Array]
      : F extends { readonly name: infer N extends string }
        ? [N, number]
        : never;

/** The plain object a layout encodes from and decodes to (length fields are implied by their data). */
export type LayoutValues<L extends Layout> = { [E in Entry<L[number]> as E[0]]: E[1] };

const INTEGER_SIZE: Record<IntegerType, number> = {
  u8: 1,
  u16be: 2,
  u24be: 3,
  u32be: 4,
  u16le: 2,
  u32le: 4,
  u64le: 8,
  i8: 1,
  i16le: 2,
  i32le: 4,
};

const KIND_INT = 0;
const KIND_BYTES = 1;
const KIND_REST = 2;

interface CompiledPart {
  readonly name: string;
  readonly divisor: number;
  readonly modulus: number;
}

interface CompiledField {
  readonly name: string;
  readonly kind: number;
  readonly type: IntegerType | "bytes" | "rest";
  readonly size: number;
  /** For bytes fields sized by another field: that field's index; -1 otherwise. */
  readonly lengthRef: number;
  /** For length fields: the name of the bytes field they size. */
  readonly lengthOf: string | undefined;
  readonly parts: readonly CompiledPart[] | undefined;
  readonly min: number;
  readonly max: number;
}

/** A layout checked once and turned into encode/decode functions. */
export interface CompiledLayout<L extends Layout> {
  readonly name: string;
  readonly layout: L;
  /** Size in bytes when no field has a variable length, otherwise undefined. */
  readonly fixedSize: number | undefined;
  /** Smallest possible encoding (all variable fields empty). */
  readonly minSize: number;
  byteLength(values: LayoutValues<L>): number;
  /** Writes `values` at `offset` and returns the offset after the last byte. */
  encodeInto(values: LayoutValues<L>, target: Uint8Array, offset: number): number;
  encode(values: LayoutValues<L>): Uint8Array;
  /**
   * Reads from `source[start, end)`. Bytes fields are views into `source`, not copies. With `exact`
   * (the default) the layout must consume the whole span.
   */
  decode(source: Uint8Array, start?: number, end?: number, exact?: boolean): LayoutValues<L>;
}

/**
 * Checks a layout table and derives its encoder and decoder.
 * @example
 * const hdr = compileLayout("hdr", [{ name: "tableId", type: "u16be" }] as const);
 * hdr.decode(new Uint8Array([0x00, 0x17])) // { tableId: 23 }
 */
export function compileLayout<const L extends Layout>(name: string, layout: L): CompiledLayout<L> {
  const fields: CompiledField[] = [];
  const seen = new Map<string, number>();
  let minSize = 0;
  let variable = false;
  layout.forEach((spec, index) => {
    if (seen.has(spec.name)) throw new Error(`layout ${name}: duplicate field ${spec.name}`);
    seen.set(spec.name, index);
    if (spec.type === "bytes") {
      let lengthRef = -1;
      let size = 0;
      if (typeof spec.length === "number") {
        size = spec.length;
        minSize += size;
      } else {
        lengthRef = seen.get(spec.length) ?? -1;
        const ref = lengthRef >= 0 ? layout[lengthRef] : undefined;
        if (!ref || ref.type === "bytes" || ref.type === "rest" || ref.lengthOf !== spec.name) {
          throw new Error(`layout ${name}: ${spec.name} must be sized by an earlier field with lengthOf "${spec.name}"`);
        }
        variable = true;
      }
      fields.push({ name: spec.name, kind: KIND_BYTES, type: "bytes", size, lengthRef, lengthOf: undefined, parts: undefined, min: 0, max: 0 });
    } else if (spec.type === "rest") {
      if (index !== layout.length - 1) throw new Error(`layout ${name}: rest field ${spec.name} must be last`);
      variable = true;
      fields.push({ name: spec.name, kind: KIND_REST, type: "rest", size: 0, lengthRef: -1, lengthOf: undefined, parts: undefined, min: 0, max: 0 });
    } else {
      const size = INTEGER_SIZE[spec.type];
      const signed = spec.type.startsWith("i");
      const bits = size * 8;
      const min = signed ? -(2 ** (bits - 1)) : 0;
      const max = spec.type === "u64le" ? Number.MAX_SAFE_INTEGER : signed ? 2 ** (bits - 1) - 1 : 2 ** bits - 1;
      let parts: CompiledPart[] | undefined;
      if (spec.parts) {
        if (signed || size > 4) throw new Error(`layout ${name}: bit parts need an unsigned field of at most 32 bits`);
        let shift = 0;
        parts = spec.parts.map((p) => {
          const part = { name: p.name, divisor: 2 ** shift, modulus: 2 ** p.bits };
          shift += p.bits;
          return part;
        });
        if (shift !== bits) throw new Error(`layout ${name}: parts of ${spec.name} cover ${shift} of ${bits} bits`);
      }
      if (spec.lengthOf !== undefined && !layout.some((f, j) => j > index && f.name === spec.lengthOf && f.type === "bytes")) {
        throw new Error(`layout ${name}: ${spec.name} is the length of a missing later bytes field ${spec.lengthOf}`);
      }
      minSize += size;
      fields.push({ name: spec.name, kind: KIND_INT, type: spec.type, size, lengthRef: -1, lengthOf: spec.lengthOf, parts, min, max });
    }
  });
  // Lengths decoded so far; reused across calls because decoding never re-enters itself.
  const lengths = new Float64Array(fields.length);
  const fixedSize = variable ? undefined : minSize;

  function byteLength(values: LayoutValues<L>): number {
    if (fixedSize !== undefined) return fixedSize;
    const v = values as Record<string, unknown>;
    let size = 0;
    for (const f of fields) {
      if (f.kind === KIND_INT || (f.kind === KIND_BYTES && f.lengthRef < 0)) size += f.size;
      else size += bytesValue(name, f.name, v[f.name]).length;
    }
    return size;
  }

  function encodeInto(values: LayoutValues<L>, target: Uint8Array, offset: number): number {
    const v = values as Record<string, unknown>;
    let pos = offset;
    for (const f of fields) {
      if (f.kind === KIND_INT) {
        let n: number;
        if (f.lengthOf !== undefined) {
          n = bytesValue(name, f.lengthOf, v[f.lengthOf]).length;
          if (n > f.max) throw new InvalidArgumentError(`${f.lengthOf}.length`, n, `at most ${f.max} bytes`);
        } else if (f.parts) {
          n = 0;
          for (const p of f.parts) n += intValue(p.name, v[p.name], 0, p.modulus - 1) * p.divisor;
        } else {
          n = intValue(f.name, v[f.name], f.min, f.max);
        }
        writeInt(target, pos, f.type as IntegerType, n);
        pos += f.size;
      } else {
        const bytes = bytesValue(name, f.name, v[f.name]);
        if (f.kind === KIND_BYTES && f.lengthRef < 0 && bytes.length !== f.size) {
          throw new InvalidArgumentError(`${f.name}.length`, bytes.length, `exactly ${f.size} bytes`);
        }
        target.set(bytes, pos);
        pos += bytes.length;
      }
    }
    return pos;
  }

  function decode(source: Uint8Array, start = 0, end = source?.length, exact = true): LayoutValues<L> {
    checkSpan(source, start, end);
    const out: Record<string, number | Uint8Array> = {};
    let pos = start;
    for (let i = 0; i < fields.length; i++) {
      const f = fields[i];
      if (f.kind === KIND_INT) {
        if (end - pos < f.size) throw new TruncatedFrameError(`${name}.${f.name}`, f.size, end - pos);
        const n = readInt(source, pos, f.type as IntegerType, name, f.name);
        pos += f.size;
        if (f.lengthOf !== undefined) lengths[i] = n;
        else if (f.parts) for (const p of f.parts) out[p.name] = Math.floor(n / p.divisor) % p.modulus;
        else out[f.name] = n;
      } else {
        let size: number;
        if (f.kind === KIND_REST) size = end - pos;
        else if (f.lengthRef >= 0) {
          size = lengths[f.lengthRef];
          if (size > end - pos) throw new LengthMismatchError(`${name}.${fields[f.lengthRef].name}`, size, end - pos);
        } else {
          size = f.size;
          if (size > end - pos) throw new TruncatedFrameError(`${name}.${f.name}`, size, end - pos);
        }
        out[f.name] = source.subarray(pos, pos + size);
        pos += size;
      }
    }
    if (exact && pos !== end) throw new LengthMismatchError(name, pos - start, end - start);
    return out as LayoutValues<L>;
  }

  return {
    name,
    layout,
    fixedSize,
    minSize,
    byteLength,
    encodeInto,
    encode(values) {
      const out = new Uint8Array(byteLength(values));
      encodeInto(values, out, 0);
      return out;
    },
    decode,
  };
}

/** Rejects anything but a Uint8Array span inside its bounds (decoders never read past the input). */
export function checkSpan(source: unknown, start: number, end: number): void {
  if (!(source instanceof Uint8Array)) throw new InvalidArgumentError("input", source, "bytes (Uint8Array)");
  if (!Number.isInteger(start) || !Number.isInteger(end) || start < 0 || end < start || end > source.length) {
    throw new InvalidArgumentError("span", `${start}..${end}`, `a range inside 0..${source.length}`);
  }
}

function intValue(field: string, value: unknown, min: number, max: number): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    throw new InvalidArgumentError(field, value, `an integer in ${min}..${max}`);
  }
  return value;
}

function bytesValue(layout: string, field: string, value: unknown): Uint8Array {
  if (!(value instanceof Uint8Array)) throw new InvalidArgumentError(field, value, `bytes (Uint8Array) for ${layout}`);
  return value;
}

/** Reads one integer; the caller has checked that `size` bytes are there. */
export function readInt(b: Uint8Array, p: number, type: IntegerType, layout = "", field = ""): number {
  switch (type) {
    case "u8":
      return b[p];
    case "i8":
      return (b[p] << 24) >> 24;
    case "u16be":
      return (b[p] << 8) | b[p + 1];
    case "u24be":
      return (b[p] << 16) | (b[p + 1] << 8) | b[p + 2];
    case "u32be":
      return b[p] * 0x1000000 + ((b[p + 1] << 16) | (b[p + 2] << 8) | b[p + 3]);
    case "u16le":
      return b[p] | (b[p + 1] << 8);
    case "i16le":
      return ((b[p] | (b[p + 1] << 8)) << 16) >> 16;
    case "u32le":
      return (b[p] | (b[p + 1] << 8) | (b[p + 2] << 16)) + b[p + 3] * 0x1000000;
    case "i32le":
      return b[p] | (b[p + 1] << 8) | (b[p + 2] << 16) | (b[p + 3] << 24);
    case "u64le": {
      const lo = (b[p] | (b[p + 1] << 8) | (b[p + 2] << 16)) + b[p + 3] * 0x1000000;
      const hi = (b[p + 4] | (b[p + 5] << 8) | (b[p + 6] << 16)) + b[p + 7] * 0x1000000;
      // Above 2^53 a JS number would silently round; a meter never legitimately gets there.
      if (hi > 0x1fffff) throw new FieldRangeError(`${layout}.${field}`, `0x${hi.toString(16)}........`, "at most 2^53-1");
      return hi * 0x100000000 + lo;
    }
  }
}

/** Writes one integer already checked to be in range for `type`. */
export function writeInt(b: Uint8Array, p: number, type: IntegerType, n: number): void {
  switch (type) {
    case "u8":
    case "i8":
      b[p] = n;
      return;
    case "u16be":
      b[p] = n >>> 8;
      b[p + 1] = n;
      return;
    case "u24be":
      b[p] = n >>> 16;
      b[p + 1] = n >>> 8;
      b[p + 2] = n;
      return;
    case "u32be":
      b[p] = n >>> 24;
      b[p + 1] = n >>> 16;
      b[p + 2] = n >>> 8;
      b[p + 3] = n;
      return;
    case "u16le":
    case "i16le":
      b[p] = n;
      b[p + 1] = n >>> 8;
      return;
    case "u32le":
    case "i32le":
      b[p] = n;
      b[p + 1] = n >>> 8;
      b[p + 2] = n >>> 16;
      b[p + 3] = n >>> 24;
      return;
    case "u64le": {
      const lo = n % 0x100000000;
      const hi = Math.floor(n / 0x100000000);
      writeInt(b, p, "u32le", lo);
      writeInt(b, p + 4, "u32le", hi);
      return;
    }
  }
}
