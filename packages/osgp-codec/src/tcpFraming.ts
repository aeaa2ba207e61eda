// TCP binding of OSGP frames. A TCP stream carries frames back to back; the OSGP `len` field
// (2 bytes, MSB first, counting what follows) delimits them, as on the MEP optical/serial links.
//
// Meter addressing (one listening port for many meters): ISO/IEC 14908-1 would carry the node
// address in its network layer; over TCP Sidegrid puts it in an *address frame* a client sends
// before the first request and whenever it switches meters on the connection:
//
//   00 06 | 53 47 ("SG") | meterId (4, MSB first)
//
// A 6-byte body can never be an OSGP request (the smallest, aes-gcm or digest, is 13+ bytes), so
// the two cannot be confused. The server echoes the same 8 bytes when it hosts that meter and
// answers `00 02 4E 4B` ("NK") and closes the connection when it does not. `00 00` is the MEP
// alert sequence and is ignored.
import { LENGTH_FIELD_SIZE } from "./frame";

export const ADDRESS_FRAME_SIZE = 8;
export const ADDRESS_FRAME_NAK = Uint8Array.from([0x00, 0x02, 0x4e, 0x4b]);

/**
 * The 8-byte frame that selects `meterId` on a shared simulator port.
 * @example
 * encodeAddressFrame(42) // 00 06 53 47 00 00 00 2a
 */
export function encodeAddressFrame(meterId: number): Uint8Array {
  const out = new Uint8Array(ADDRESS_FRAME_SIZE);
  out[0] = 0x00;
  out[1] = 0x06;
  out[2] = 0x53;
  out[3] = 0x47;
  out[4] = meterId >>> 24;
  out[5] = (meterId >>> 16) & 0xff;
  out[6] = (meterId >>> 8) & 0xff;
  out[7] = meterId & 0xff;
  return out;
}

/** The meter id of an address frame, or undefined when `frame` is not one. */
export function decodeAddressFrame(frame: Uint8Array): number | undefined {
  if (frame.length !== ADDRESS_FRAME_SIZE || frame[0] !== 0 || frame[1] !== 6 || frame[2] !== 0x53 || frame[3] !== 0x47) return undefined;
  return frame[4] * 0x1000000 + ((frame[5] << 16) | (frame[6] << 8) | frame[7]);
}

/**
 * Splits a byte stream into frames by their `len` field.
 * @example
 * const reader = new FrameReader();
 * socket.on("data", (chunk) => { for (const frame of reader.push(chunk)) handle(frame); });
 */
export class FrameReader {
  private buf: Buffer = Buffer.alloc(0);

  /** Appends a chunk and returns every frame it completed (copies, safe to keep). */
  push(chunk: Uint8Array): Uint8Array[] {
    this.buf = this.buf.length === 0 ? Buffer.from(chunk) : Buffer.concat([this.buf, chunk]);
    const frames: Uint8Array[] = [];
    let at = 0;
    while (this.buf.length - at >= LENGTH_FIELD_SIZE) {
      const size = ((this.buf[at] << 8) | this.buf[at + 1]) + LENGTH_FIELD_SIZE;
      if (this.buf.length - at < size) break;
      frames.push(new Uint8Array(this.buf.subarray(at, at + size)));
      at += size;
    }
    this.buf = at === this.buf.length ? Buffer.alloc(0) : this.buf.subarray(at);
    return frames;
  }

  /** Bytes received but not yet forming a whole frame. */
  get pending(): number {
    return this.buf.length;
  }
}
