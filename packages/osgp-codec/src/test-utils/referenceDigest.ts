// An independent, deliberately literal model of the guide's Digest() function (Appendix A): state
// (i, j) = (key byte, bit), bEnd flag, and its early return when data runs out before the end.
// Used to cross-check the optimised implementation and as the bench's naive baseline.

export interface ReferenceState {
  digest: Uint8Array;
  i: number;
  j: number;
}

export function referenceState(): ReferenceState {
  return { digest: new Uint8Array(8), i: 0, j: 0 };
}

export function referenceDigestCall(data: Uint8Array, key: Uint8Array, st: ReferenceState, end: boolean): void {
  const d = st.digest;
  const keyLen = key.length;
  const iter = keyLen === 6 ? keyLen : keyLen + keyLen / 2;
  let size = data.length;
  let idx = 0;
  let i = st.i;
  let j = st.j;
  outer: do {
    do {
      let keyByte = key[i % keyLen] >> j;
      let last = d[(8 - j) & 7];
      let v = 7 - j;
      for (;;) {
        let m: number;
        if (size !== 0) {
          m = data[idx++];
          size--;
        } else if (end) {
          m = 0;
        } else {
          j = 7 - v;
          break outer;
        }
        const n = ~(d[v] + v) & 0xff;
        const term = keyByte & 1 ? ((n << 1) + (n >> 7)) : -((n >> 1) + (n << 7));
        last = (last + m + term) & 0xff;
        d[v] = last;
        keyByte >>= 1;
        if (v === 0) break;
        v--;
      }
      j = 0;
    } while (++i < iter);
    i = 0;
  } while (size > 0);
  st.i = i;
  st.j = j;
}

/** One-shot: a single call with bEnd set. */
export function referenceDigest(key: Uint8Array, data: Uint8Array): Uint8Array {
  const st = referenceState();
  referenceDigestCall(data, key, st, true);
  return st.digest;
}
