// Binary layouts as data (STYLE.md §6): a fixed-size record is a table of (name, type) rows and its
// encoder and decoder are derived from the table. Variable parts (A-XDR lengths, HDLC addresses) are
// read with the bounds-checked `Reader` below, which throws only typed errors.
import { InvalidArgumentError, TruncatedError } from "./errors";

export type FieldType = "u8" | "i8" | "u16" | "i16" | "u32" | "i32" | { bytes: number };

export interface FieldSpec {
  readonly name: string;
  readonly type: FieldType;
}
export type Layout = readonly FieldSpec[];

type ValueOf<T> = T extends { bytes: number } ? Uint8Array : number;
/** The plain object a layout encodes from and decodes to. */
export type LayoutValues<L extends Layout> = { [F in L[number] as F["name"]]: ValueOf<F["type"]> };

const SIZE = { u8: 1, i8: 1, u16: 2, i16: 2, u32: 4, i32: 4 } as const;
const RANGE = { u8: [0, 0xff], i8: [-0x80, 0x7f], u16: [0, 0xffff], i16: [-0x8000, 0x7fff], u32: [0, 0xffffffff], i32: [-0x80000000, 0x7fffffff] } as const;

export interface CompiledLayout<L extends Layout> {
  readonly name: string;
  readonly layout: L;
  readonly size: number;
  /** Reads `size` bytes at `offset` (big-endian, as A-XDR and HDLC are). Byte fields are copies. */
  decode(source: Uint8Array, offset?: number): LayoutValues<L>;
  encodeInto(values: LayoutValues<L>, target: Uint8Array, offset: number): number;
  encode(values: LayoutValues<L>): Uint8Array;
}

/**
 * Checks a fixed-size layout table and derives its big-endian encoder and decoder.
 * @example
 * const wrapper = compileLayout("wrapper", [{ name: "version", type: "u16" }, { name: "length", type: "u16" }] as const);
 * wrapper.decode(Uint8Array.of(0, 1, 0, 9)) // { version: 1, length: 9 }
 */
export function compileLayout<const L extends Layout>(name: string, layout: L): CompiledLayout<L> {
  const names = new Set<string>();
  let size = 0;
  for (const f of layout) {
    if (names.has(f.name)) throw new Error(`layout ${name}: duplicate field ${f.name}`);
    names.add(f.name);
    size += typeof f.type === "string" ? SIZE[f.type] : f.type.bytes;
  }
  function decode(source: Uint8Array, offset = 0): LayoutValues<L> {
    if (source.length - offset < size) throw new TruncatedError(name, size, Math.max(0, source.length - offset));
    const out: Record<string, unknown> = {};
    let p = offset;
    for (const f of layout) {
      const t = f.type;
      if (typeof t !== "string") {
        out[f.name] = source.slice(p, p + t.bytes);
        p += t.bytes;
        continue;
      }
      let v: number;
      switch (t) {
        case "u8": v = source[p]; break;
        case "i8": v = (source[p] << 24) >> 24; break;
        case "u16": v = (source[p] << 8) | source[p + 1]; break;
        case "i16": v = (((source[p] << 8) | source[p + 1]) << 16) >> 16; break;
        case "u32": v = ((source[p] << 24) | (source[p + 1] << 16) | (source[p + 2] << 8) | source[p + 3]) >>> 0; break;
        case "i32": v = (source[p] << 24) | (source[p + 1] << 16) | (source[p + 2] << 8) | source[p + 3]; break;
      }
      out[f.name] = v;
      p += SIZE[t];
    }
    return out as LayoutValues<L>;
  }
  function encodeInto(values: LayoutValues<L>, target: Uint8Array, offset: number): number {
    const v = values as Record<string, unknown>;
    let p = offset;
    for (const f of layout) {
      const t = f.type;
      const x = v[f.name];
      if (typeof t !== "string") {
        if (!(x instanceof Uint8Array) || x.length !== t.bytes) throw new InvalidArgumentError(`${name}.${f.name}`, x, `${t.bytes} bytes`);
        target.set(x, p);
        p += t.bytes;
        continue;
      }
      const [min, max] = RANGE[t];
      if (typeof x !== "number" || !Number.isInteger(x) || x < min || x > max) throw new InvalidArgumentError(`${name}.${f.name}`, x, `an integer in ${min}..${max}`);
      const n = SIZE[t];
      for (let i = n - 1, y = x < 0 ? x + 2 ** (8 * n) : x; i >= 0; i--, y = Math.floor(y / 256)) target[p + i] = y & 0xff;
      p += n;
    }
    return p;
  }
  return {
    name,
    layout,
    size,
    decode,
    encodeInto,
    encode(values) {
      const out = new Uint8Array(size);
      encodeInto(values, out, 0);
      return out;
    },
  };
}

/** A bounds-checked cursor over `bytes[pos, end)`. Every read past `end` throws {@link TruncatedError}. */
export class Reader {
  constructor(
    readonly bytes: Uint8Array,
    public pos = 0,
    public end = bytes.length,
  ) {}

  get remaining(): number {
    return this.end - this.pos;
  }

  need(n: number, field: string): void {
    if (this.end - this.pos < n) throw new TruncatedError(field, n, Math.max(0, this.end - this.pos));
  }

  u8(field: string): number {
    this.need(1, field);
    return this.bytes[this.pos++];
  }

  i8(field: string): number {
    return (this.u8(field) << 24) >> 24;
  }

  u16(field: string): number {
    this.need(2, field);
    const b = this.bytes;
    const v = (b[this.pos] << 8) | b[this.pos + 1];
    this.pos += 2;
    return v;
  }

  u32(field: string): number {
    this.need(4, field);
    const b = this.bytes;
    const p = this.pos;
    this.pos += 4;
    return ((b[p] << 24) | (b[p + 1] << 16) | (b[p + 2] << 8) | b[p + 3]) >>> 0;
  }

  /** A view (no copy) of the next `n` bytes. */
  view(n: number, field: string): Uint8Array {
    this.need(n, field);
    const v = this.bytes.subarray(this.pos, this.pos + n);
    this.pos += n;
    return v;
  }

  /** A copy of the next `n` bytes. */
  take(n: number, field: string): Uint8Array {
    return this.view(n, field).slice();
  }

  rest(): Uint8Array {
    return this.take(this.end - this.pos, "rest");
  }

  /** Decodes a fixed layout at the cursor and moves past it. */
  layout<L extends Layout>(compiled: CompiledLayout<L>): LayoutValues<L> {
    this.need(compiled.size, compiled.name);
    const v = compiled.decode(this.bytes, this.pos);
    this.pos += compiled.size;
    return v;
  }
}

/** A growable byte buffer for encoders. */
export class Writer {
  private buf = new Uint8Array(64);
  length = 0;

  private grow(n: number): void {
    if (this.length + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.length + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.length));
    this.buf = next;
  }

  u8(v: number): this {
    this.grow(1);
    this.buf[this.length++] = v & 0xff;
    return this;
  }

  u16(v: number): this {
    return this.u8(v >>> 8).u8(v);
  }

  u32(v: number): this {
    return this.u8(v >>> 24).u8(v >>> 16).u8(v >>> 8).u8(v);
  }

  bytes(b: Uint8Array | readonly number[]): this {
    this.grow(b.length);
    this.buf.set(b, this.length);
    this.length += b.length;
    return this;
  }

  layout<L extends Layout>(compiled: CompiledLayout<L>, values: LayoutValues<L>): this {
    this.grow(compiled.size);
    compiled.encodeInto(values, this.buf, this.length);
    this.length += compiled.size;
    return this;
  }

  finish(): Uint8Array {
    return this.buf.slice(0, this.length);
  }
}
