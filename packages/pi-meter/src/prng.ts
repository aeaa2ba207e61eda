// Counter-based randomness: every random number is a pure function of (seed, meter, stream, index),
// so a meter's load profile is the same whatever order or rate it is polled at, and any minute of
// any day can be computed without replaying the ones before it.

/** 32-bit avalanche mix (murmur3 finaliser). */
function fmix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Hash of four 32-bit integers to a uint32. */
export function hash4(a: number, b: number, c: number, d: number): number {
  let h = fmix((a ^ 0x9e3779b9) >>> 0);
  h = fmix((h ^ Math.imul(b | 0, 0xcc9e2d51)) >>> 0);
  h = fmix((h ^ Math.imul(c | 0, 0x1b873593)) >>> 0);
  h = fmix((h ^ Math.imul(d | 0, 0xe6546b64)) >>> 0);
  return h;
}

/** Uniform number in [0, 1) from four integers. */
export function unit4(a: number, b: number, c: number, d: number): number {
  return hash4(a, b, c, d) / 4294967296;
}

/** A seed string or number folded to a uint32. */
export function seedOf(seed: string | number): number {
  if (typeof seed === "number") return fmix(seed >>> 0 ^ Math.floor(seed / 4294967296));
  let h = 0x811c9dc5;
  for (let i = 0; i < seed.length; i++) h = Math.imul(h ^ seed.charCodeAt(i), 0x01000193) >>> 0;
  return fmix(h);
}

/** A small sequential generator (mulberry32) for one-off draws such as a meter's parameters. */
export class Rng {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0;
  }
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  between(lo: number, hi: number): number {
    return lo + (hi - lo) * this.next();
  }
  int(lo: number, hiInclusive: number): number {
    return lo + Math.floor((hiInclusive - lo + 1) * this.next());
  }
}
