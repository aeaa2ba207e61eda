// Keccak-256 (the Ethereum hash, not NIST SHA3-256) for hot paths: the gateway hashes every
// record three times and builds a Merkle tree per batch, federation members hash every message
// (EIP-712) and every deliver transaction they sign. Node's OpenSSL 3.0 has no KECCAK-256.
// hash-wasm's WebAssembly Keccak takes ~1 µs for a 144-byte record; the JavaScript one below (on
// 32-bit lane halves) ~3.4 µs and ethers' (noble, with hex round trips) ~60 µs. WebAssembly is
// only instantiated asynchronously, so the JavaScript one answers until it is ready (the first
// few milliseconds of a process) and wherever it cannot load. keccak.test.ts checks both against
// ethers.
import { createKeccak, type IHasher } from "hash-wasm";

let wasm: IHasher | undefined;
/** Resolves once the WebAssembly hasher is in use (false: it could not load; JavaScript goes on). */
export const keccakWasmReady: Promise<boolean> = createKeccak(256).then(
  (h) => {
    wasm = h;
    return true;
  },
  () => false,
);

// Round constants as [hi, lo] pairs.
const RC = new Int32Array([
  0x00000000, 0x00000001, 0x00000000, 0x00008082, 0x80000000, 0x0000808a, 0x80000000, 0x80008000, 0x00000000, 0x0000808b, 0x00000000, 0x80000001,
  0x80000000, 0x80008081, 0x80000000, 0x00008009, 0x00000000, 0x0000008a, 0x00000000, 0x00000088, 0x00000000, 0x80008009, 0x00000000, 0x8000000a,
  0x00000000, 0x8000808b, 0x80000000, 0x0000008b, 0x80000000, 0x00008089, 0x80000000, 0x00008003, 0x80000000, 0x00008002, 0x80000000, 0x00000080,
  0x00000000, 0x0000800a, 0x80000000, 0x8000000a, 0x80000000, 0x80008081, 0x80000000, 0x00008080, 0x00000000, 0x80000001, 0x80000000, 0x80008008,
]);
const sLo = new Int32Array(25);
const sHi = new Int32Array(25);

// The permutation, unrolled (generated): the state lives in locals for all 24 rounds.
function permute(): void {
  let a0l = sLo[0] | 0, a0h = sHi[0] | 0;
  let a1l = sLo[1] | 0, a1h = sHi[1] | 0;
  let a2l = sLo[2] | 0, a2h = sHi[2] | 0;
  let a3l = sLo[3] | 0, a3h = sHi[3] | 0;
  let a4l = sLo[4] | 0, a4h = sHi[4] | 0;
  let a5l = sLo[5] | 0, a5h = sHi[5] | 0;
  let a6l = sLo[6] | 0, a6h = sHi[6] | 0;
  let a7l = sLo[7] | 0, a7h = sHi[7] | 0;
  let a8l = sLo[8] | 0, a8h = sHi[8] | 0;
  let a9l = sLo[9] | 0, a9h = sHi[9] | 0;
  let a10l = sLo[10] | 0, a10h = sHi[10] | 0;
  let a11l = sLo[11] | 0, a11h = sHi[11] | 0;
  let a12l = sLo[12] | 0, a12h = sHi[12] | 0;
  let a13l = sLo[13] | 0, a13h = sHi[13] | 0;
  let a14l = sLo[14] | 0, a14h = sHi[14] | 0;
  let a15l = sLo[15] | 0, a15h = sHi[15] | 0;
  let a16l = sLo[16] | 0, a16h = sHi[16] | 0;
  let a17l = sLo[17] | 0, a17h = sHi[17] | 0;
  let a18l = sLo[18] | 0, a18h = sHi[18] | 0;
  let a19l = sLo[19] | 0, a19h = sHi[19] | 0;
  let a20l = sLo[20] | 0, a20h = sHi[20] | 0;
  let a21l = sLo[21] | 0, a21h = sHi[21] | 0;
  let a22l = sLo[22] | 0, a22h = sHi[22] | 0;
  let a23l = sLo[23] | 0, a23h = sHi[23] | 0;
  let a24l = sLo[24] | 0, a24h = sHi[24] | 0;
  for (let round = 0; round < 48; round += 2) {
    const c0l = a0l ^ a5l ^ a10l ^ a15l ^ a20l;
    const c0h = a0h ^ a5h ^ a10h ^ a15h ^ a20h;
    const c1l = a1l ^ a6l ^ a11l ^ a16l ^ a21l;
    const c1h = a1h ^ a6h ^ a11h ^ a16h ^ a21h;
    const c2l = a2l ^ a7l ^ a12l ^ a17l ^ a22l;
    const c2h = a2h ^ a7h ^ a12h ^ a17h ^ a22h;
    const c3l = a3l ^ a8l ^ a13l ^ a18l ^ a23l;
    const c3h = a3h ^ a8h ^ a13h ^ a18h ^ a23h;
    const c4l = a4l ^ a9l ^ a14l ^ a19l ^ a24l;
    const c4h = a4h ^ a9h ^ a14h ^ a19h ^ a24h;
    const d0l = c4l ^ ((c1l << 1) | (c1h >>> 31));
    const d0h = c4h ^ ((c1h << 1) | (c1l >>> 31));
    const d1l = c0l ^ ((c2l << 1) | (c2h >>> 31));
    const d1h = c0h ^ ((c2h << 1) | (c2l >>> 31));
    const d2l = c1l ^ ((c3l << 1) | (c3h >>> 31));
    const d2h = c1h ^ ((c3h << 1) | (c3l >>> 31));
    const d3l = c2l ^ ((c4l << 1) | (c4h >>> 31));
    const d3h = c2h ^ ((c4h << 1) | (c4l >>> 31));
    const d4l = c3l ^ ((c0l << 1) | (c0h >>> 31));
    const d4h = c3h ^ ((c0h << 1) | (c0l >>> 31));
    const t0l = (a0l ^ d0l), t0h = (a0h ^ d0h);
    const b0l = t0l, b0h = t0h;
    const t1l = (a1l ^ d1l), t1h = (a1h ^ d1h);
    const b10l = (t1l << 1) | (t1h >>> 31), b10h = (t1h << 1) | (t1l >>> 31);
    const t2l = (a2l ^ d2l), t2h = (a2h ^ d2h);
    const b20l = (t2h << 30) | (t2l >>> 2), b20h = (t2l << 30) | (t2h >>> 2);
    const t3l = (a3l ^ d3l), t3h = (a3h ^ d3h);
    const b5l = (t3l << 28) | (t3h >>> 4), b5h = (t3h << 28) | (t3l >>> 4);
    const t4l = (a4l ^ d4l), t4h = (a4h ^ d4h);
    const b15l = (t4l << 27) | (t4h >>> 5), b15h = (t4h << 27) | (t4l >>> 5);
    const t5l = (a5l ^ d0l), t5h = (a5h ^ d0h);
    const b16l = (t5h << 4) | (t5l >>> 28), b16h = (t5l << 4) | (t5h >>> 28);
    const t6l = (a6l ^ d1l), t6h = (a6h ^ d1h);
    const b1l = (t6h << 12) | (t6l >>> 20), b1h = (t6l << 12) | (t6h >>> 20);
    const t7l = (a7l ^ d2l), t7h = (a7h ^ d2h);
    const b11l = (t7l << 6) | (t7h >>> 26), b11h = (t7h << 6) | (t7l >>> 26);
    const t8l = (a8l ^ d3l), t8h = (a8h ^ d3h);
    const b21l = (t8h << 23) | (t8l >>> 9), b21h = (t8l << 23) | (t8h >>> 9);
    const t9l = (a9l ^ d4l), t9h = (a9h ^ d4h);
    const b6l = (t9l << 20) | (t9h >>> 12), b6h = (t9h << 20) | (t9l >>> 12);
    const t10l = (a10l ^ d0l), t10h = (a10h ^ d0h);
    const b7l = (t10l << 3) | (t10h >>> 29), b7h = (t10h << 3) | (t10l >>> 29);
    const t11l = (a11l ^ d1l), t11h = (a11h ^ d1h);
    const b17l = (t11l << 10) | (t11h >>> 22), b17h = (t11h << 10) | (t11l >>> 22);
    const t12l = (a12l ^ d2l), t12h = (a12h ^ d2h);
    const b2l = (t12h << 11) | (t12l >>> 21), b2h = (t12l << 11) | (t12h >>> 21);
    const t13l = (a13l ^ d3l), t13h = (a13h ^ d3h);
    const b12l = (t13l << 25) | (t13h >>> 7), b12h = (t13h << 25) | (t13l >>> 7);
    const t14l = (a14l ^ d4l), t14h = (a14h ^ d4h);
    const b22l = (t14h << 7) | (t14l >>> 25), b22h = (t14l << 7) | (t14h >>> 25);
    const t15l = (a15l ^ d0l), t15h = (a15h ^ d0h);
    const b23l = (t15h << 9) | (t15l >>> 23), b23h = (t15l << 9) | (t15h >>> 23);
    const t16l = (a16l ^ d1l), t16h = (a16h ^ d1h);
    const b8l = (t16h << 13) | (t16l >>> 19), b8h = (t16l << 13) | (t16h >>> 19);
    const t17l = (a17l ^ d2l), t17h = (a17h ^ d2h);
    const b18l = (t17l << 15) | (t17h >>> 17), b18h = (t17h << 15) | (t17l >>> 17);
    const t18l = (a18l ^ d3l), t18h = (a18h ^ d3h);
    const b3l = (t18l << 21) | (t18h >>> 11), b3h = (t18h << 21) | (t18l >>> 11);
    const t19l = (a19l ^ d4l), t19h = (a19h ^ d4h);
    const b13l = (t19l << 8) | (t19h >>> 24), b13h = (t19h << 8) | (t19l >>> 24);
    const t20l = (a20l ^ d0l), t20h = (a20h ^ d0h);
    const b14l = (t20l << 18) | (t20h >>> 14), b14h = (t20h << 18) | (t20l >>> 14);
    const t21l = (a21l ^ d1l), t21h = (a21h ^ d1h);
    const b24l = (t21l << 2) | (t21h >>> 30), b24h = (t21h << 2) | (t21l >>> 30);
    const t22l = (a22l ^ d2l), t22h = (a22h ^ d2h);
    const b9l = (t22h << 29) | (t22l >>> 3), b9h = (t22l << 29) | (t22h >>> 3);
    const t23l = (a23l ^ d3l), t23h = (a23h ^ d3h);
    const b19l = (t23h << 24) | (t23l >>> 8), b19h = (t23l << 24) | (t23h >>> 8);
    const t24l = (a24l ^ d4l), t24h = (a24h ^ d4h);
    const b4l = (t24l << 14) | (t24h >>> 18), b4h = (t24h << 14) | (t24l >>> 18);
    a0l = b0l ^ (~b1l & b2l);
    a0h = b0h ^ (~b1h & b2h);
    a1l = b1l ^ (~b2l & b3l);
    a1h = b1h ^ (~b2h & b3h);
    a2l = b2l ^ (~b3l & b4l);
    a2h = b2h ^ (~b3h & b4h);
    a3l = b3l ^ (~b4l & b0l);
    a3h = b3h ^ (~b4h & b0h);
    a4l = b4l ^ (~b0l & b1l);
    a4h = b4h ^ (~b0h & b1h);
    a5l = b5l ^ (~b6l & b7l);
    a5h = b5h ^ (~b6h & b7h);
    a6l = b6l ^ (~b7l & b8l);
    a6h = b6h ^ (~b7h & b8h);
    a7l = b7l ^ (~b8l & b9l);
    a7h = b7h ^ (~b8h & b9h);
    a8l = b8l ^ (~b9l & b5l);
    a8h = b8h ^ (~b9h & b5h);
    a9l = b9l ^ (~b5l & b6l);
    a9h = b9h ^ (~b5h & b6h);
    a10l = b10l ^ (~b11l & b12l);
    a10h = b10h ^ (~b11h & b12h);
    a11l = b11l ^ (~b12l & b13l);
    a11h = b11h ^ (~b12h & b13h);
    a12l = b12l ^ (~b13l & b14l);
    a12h = b12h ^ (~b13h & b14h);
    a13l = b13l ^ (~b14l & b10l);
    a13h = b13h ^ (~b14h & b10h);
    a14l = b14l ^ (~b10l & b11l);
    a14h = b14h ^ (~b10h & b11h);
    a15l = b15l ^ (~b16l & b17l);
    a15h = b15h ^ (~b16h & b17h);
    a16l = b16l ^ (~b17l & b18l);
    a16h = b16h ^ (~b17h & b18h);
    a17l = b17l ^ (~b18l & b19l);
    a17h = b17h ^ (~b18h & b19h);
    a18l = b18l ^ (~b19l & b15l);
    a18h = b18h ^ (~b19h & b15h);
    a19l = b19l ^ (~b15l & b16l);
    a19h = b19h ^ (~b15h & b16h);
    a20l = b20l ^ (~b21l & b22l);
    a20h = b20h ^ (~b21h & b22h);
    a21l = b21l ^ (~b22l & b23l);
    a21h = b21h ^ (~b22h & b23h);
    a22l = b22l ^ (~b23l & b24l);
    a22h = b22h ^ (~b23h & b24h);
    a23l = b23l ^ (~b24l & b20l);
    a23h = b23h ^ (~b24h & b20h);
    a24l = b24l ^ (~b20l & b21l);
    a24h = b24h ^ (~b20h & b21h);
    a0h ^= RC[round];
    a0l ^= RC[round + 1];
  }
  sLo[0] = a0l;
  sHi[0] = a0h;
  sLo[1] = a1l;
  sHi[1] = a1h;
  sLo[2] = a2l;
  sHi[2] = a2h;
  sLo[3] = a3l;
  sHi[3] = a3h;
  sLo[4] = a4l;
  sHi[4] = a4h;
  sLo[5] = a5l;
  sHi[5] = a5h;
  sLo[6] = a6l;
  sHi[6] = a6h;
  sLo[7] = a7l;
  sHi[7] = a7h;
  sLo[8] = a8l;
  sHi[8] = a8h;
  sLo[9] = a9l;
  sHi[9] = a9h;
  sLo[10] = a10l;
  sHi[10] = a10h;
  sLo[11] = a11l;
  sHi[11] = a11h;
  sLo[12] = a12l;
  sHi[12] = a12h;
  sLo[13] = a13l;
  sHi[13] = a13h;
  sLo[14] = a14l;
  sHi[14] = a14h;
  sLo[15] = a15l;
  sHi[15] = a15h;
  sLo[16] = a16l;
  sHi[16] = a16h;
  sLo[17] = a17l;
  sHi[17] = a17h;
  sLo[18] = a18l;
  sHi[18] = a18h;
  sLo[19] = a19l;
  sHi[19] = a19h;
  sLo[20] = a20l;
  sHi[20] = a20h;
  sLo[21] = a21l;
  sHi[21] = a21h;
  sLo[22] = a22l;
  sHi[22] = a22h;
  sLo[23] = a23l;
  sHi[23] = a23h;
  sLo[24] = a24l;
  sHi[24] = a24h;
}

const RATE = 136;
const block = new Uint8Array(RATE);

function absorbBlock(src: Uint8Array, at: number): void {
  for (let i = 0; i < RATE / 8; i++) {
    const p = at + 8 * i;
    sLo[i] ^= src[p] | (src[p + 1] << 8) | (src[p + 2] << 16) | (src[p + 3] << 24);
    sHi[i] ^= src[p + 4] | (src[p + 5] << 8) | (src[p + 6] << 16) | (src[p + 7] << 24);
  }
  permute();
}

/**
 * Keccak-256 of `data` into `out` (32 bytes) at `outAt`.
 * @example
 * keccak256Into(bytes, digest, 0)
 */
export function keccak256Into(data: Uint8Array, out: Uint8Array, outAt = 0): void {
  if (wasm) {
    out.set(wasm.init().update(data).digest("binary"), outAt);
    return;
  }
  keccak256IntoJs(data, out, outAt);
}

/** The JavaScript Keccak-256 (used until the WebAssembly one is ready). */
export function keccak256IntoJs(data: Uint8Array, out: Uint8Array, outAt = 0): void {
  sLo.fill(0);
  sHi.fill(0);
  let at = 0;
  while (data.length - at >= RATE) {
    absorbBlock(data, at);
    at += RATE;
  }
  block.fill(0);
  block.set(data.subarray(at), 0);
  block[data.length - at] ^= 0x01;
  block[RATE - 1] ^= 0x80;
  absorbBlock(block, 0);
  for (let i = 0; i < 4; i++) {
    const lo = sLo[i];
    const hi = sHi[i];
    const p = outAt + 8 * i;
    out[p] = lo;
    out[p + 1] = lo >>> 8;
    out[p + 2] = lo >>> 16;
    out[p + 3] = lo >>> 24;
    out[p + 4] = hi;
    out[p + 5] = hi >>> 8;
    out[p + 6] = hi >>> 16;
    out[p + 7] = hi >>> 24;
  }
}

/**
 * Keccak-256 of `data` as a new 32-byte Buffer.
 * @example
 * keccak256Buf(Buffer.from("")).toString("hex") // c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470
 */
export function keccak256Buf(data: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(32);
  keccak256Into(data, out, 0);
  return out;
}
