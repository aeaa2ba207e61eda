// CRC-16/X.25 (poly 0x1021 reflected, init 0xFFFF, xorout 0xFFFF): the HDLC HCS and FCS of
// IEC 62056-46 (RFC 1662's FCS-16). Transmitted least significant byte first.

const TABLE = (() => {
  const t = new Uint16Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x8408 : c >>> 1;
    t[n] = c;
  }
  return t;
})();

/**
 * CRC-16/X.25 of `bytes[start, end)`.
 * @example
 * crc16x25(new TextEncoder().encode("123456789")) // 0x906e
 */
export function crc16x25(bytes: Uint8Array, start = 0, end = bytes.length): number {
  let crc = 0xffff;
  for (let i = start; i < end; i++) crc = (crc >>> 8) ^ TABLE[(crc ^ bytes[i]) & 0xff];
  return (crc ^ 0xffff) & 0xffff;
}
