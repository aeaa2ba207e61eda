// Fields several APDUs share (invoke id, attribute descriptors, selective access, data results,
// length-prefixed octets, BER TLVs), read and written the same way by apdu.ts and acse.ts.
import { decodeData, readLength, writeData, writeLength } from "./axdr";
import { FieldValueError, InvalidArgumentError, UnknownTagError } from "./errors";
import { Reader, Writer, compileLayout } from "./layout";
import { formatObis, parseObis } from "./obis";
import type { AccessSelection, AttributeDescriptor, Conformance, DataBlock, GetDataResult, InvokeIdAndPriority } from "./apduTypes";

export const ATTRIBUTE_LAYOUT = compileLayout("cosem-attribute-descriptor", [
  { name: "classId", type: "u16" },
  { name: "instance", type: { bytes: 6 } },
  { name: "id", type: "i8" },
] as const);

export function readInvoke(r: Reader): InvokeIdAndPriority {
  const b = r.u8("invoke-id-and-priority");
  return { invokeId: b & 0x0f, confirmed: (b & 0x40) !== 0, highPriority: (b & 0x80) !== 0 };
}
export function writeInvoke(w: Writer, i: InvokeIdAndPriority): void {
  if (!Number.isInteger(i.invokeId) || i.invokeId < 0 || i.invokeId > 15) throw new InvalidArgumentError("invokeId", i.invokeId, "0..15");
  w.u8(i.invokeId | (i.confirmed ? 0x40 : 0) | (i.highPriority ? 0x80 : 0));
}
export function readAttribute(r: Reader): AttributeDescriptor {
  const v = r.layout(ATTRIBUTE_LAYOUT);
  return { classId: v.classId, obis: formatObis(v.instance), attribute: v.id };
}
export function writeDescriptor(w: Writer, classId: number, obis: string, id: number): void {
  w.layout(ATTRIBUTE_LAYOUT, { classId, instance: parseObis(obis), id });
}
export function readSelection(r: Reader): AccessSelection | null {
  if (!readPresence(r, "access-selection")) return null;
  const selector = r.u8("access-selector");
  return { selector, parameters: decodeData(r) };
}
export function writeSelection(w: Writer, s: AccessSelection | null): void {
  if (s === null) {
    w.u8(0);
    return;
  }
  w.u8(1).u8(s.selector);
  writeData(w, s.parameters);
}
export function readPresence(r: Reader, field: string): boolean {
  const b = r.u8(`${field} presence`);
  if (b > 1) throw new FieldValueError("BAD_FORMAT", `${field} presence`, b, "0 (absent) or 1 (present)");
  return b === 1;
}
export function readGetDataResult(r: Reader): GetDataResult {
  const choice = r.u8("Get-Data-Result choice");
  if (choice === 0) return { data: decodeData(r) };
  if (choice === 1) return { dataAccessResult: r.u8("Data-Access-Result") };
  throw new UnknownTagError("Get-Data-Result", choice);
}
export function writeGetDataResult(w: Writer, g: GetDataResult): void {
  if ("data" in g) writeData(w.u8(0), g.data);
  else w.u8(1).u8(g.dataAccessResult);
}
export function readBool(r: Reader, field: string): boolean {
  return r.u8(field) !== 0;
}
export function readCount(r: Reader, field: string): number {
  const n = readLength(r, field);
  if (n > r.remaining) r.need(n, field);
  return n;
}
export function readOctets(r: Reader, field: string): Uint8Array {
  return r.take(readLength(r, `${field} length`), field);
}
export function times<T>(n: number, f: () => T): T[] {
  const out: T[] = [];
  for (let i = 0; i < n; i++) out.push(f());
  return out;
}

export function writeConformance(w: Writer, c: Conformance): void {
  w.bytes([0x5f, 0x1f, 0x04, 0x00]).u8(c.value >>> 16).u8(c.value >>> 8).u8(c.value);
}
export function writeOctets(w: Writer, b: Uint8Array): void {
  writeLength(w, b.length).bytes(b);
}
export function writeBlock(w: Writer, b: DataBlock): void {
  w.u8(b.lastBlock ? 1 : 0).u32(b.blockNumber);
  writeOctets(w, b.rawData);
}
export function writeActionResult(w: Writer, x: { result: number; returnParameters: GetDataResult | null }): void {
  w.u8(x.result);
  if (x.returnParameters === null) w.u8(0);
  else writeGetDataResult(w.u8(1), x.returnParameters);
}
export function tlv(w: Writer, tag: number, body: Uint8Array): void {
  writeLength(w.u8(tag), body.length).bytes(body);
}
export function sub(f: (w: Writer) => void): Uint8Array {
  const w = new Writer();
  f(w);
  return w.finish();
}

