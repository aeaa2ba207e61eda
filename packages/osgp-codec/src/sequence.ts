// Sequence numbers (32-bit, wrapping). The client adds one per request, retries included; the
// server accepts a number up to `size` (8) ahead of the last accepted one and answers anything else
// with 0x0C carrying its current number, which the client resumes from (+1).
import { InvalidArgumentError, SequenceRejectedError } from "./errors";
import type { ServiceResponse } from "./services";

const MOD = 0x100000000;
/** How far ahead of the last accepted number the MEP server accepts. */
export const SEQUENCE_WINDOW_SIZE = 8;

function u32(name: string, n: number): number {
  if (!Number.isInteger(n) || n < 0 || n >= MOD) throw new InvalidArgumentError(name, n, "an integer in 0..2^32-1");
  return n;
}

/**
 * Client-side counter: `take()` hands out the next number and advances; `resync` follows a 0x0C.
 * @example
 * const seq = new SequenceCounter(0x01020304);
 * seq.take() // 0x01020304
 * seq.resync(0x77635b90); seq.take() // 0x77635b91
 */
export class SequenceCounter {
  private nextValue: number;

  constructor(next = 0) {
    this.nextValue = u32("next", next);
  }

  /** The number the next request will carry. */
  get next(): number {
    return this.nextValue;
  }

  take(): number {
    const n = this.nextValue;
    this.nextValue = (n + 1) % MOD;
    return n;
  }

  /** After a 0x0C carrying the server's current number: continue one above it. */
  resync(serverCurrent: number): void {
    this.nextValue = (u32("serverCurrent", serverCurrent) + 1) % MOD;
  }
}

export type SequenceCheck = { accepted: true } | { accepted: false; reason: "repeat" | "stale" | "ahead" };

export interface SequenceWindowParameters {
  /** The last accepted number (what a 0x0C would report). */
  current: number;
  /** Numbers accepted ahead of `current`; default 8 as in the MEP guide. */
  size?: number;
}

/**
 * Server-side acceptance window: numbers 1..size ahead of the current one are accepted and become
 * current; repeats, stale and far-ahead numbers are rejected with the current one.
 * @example
 * const w = new SequenceWindow({ current: 0x77635b90 });
 * w.accept(0x77635b91); // ok
 * w.accept(0x77635b91); // throws SequenceRejectedError { got, current: 0x77635b91 }
 */
export class SequenceWindow {
  private currentValue: number;
  readonly size: number;

  constructor({ current, size = SEQUENCE_WINDOW_SIZE }: SequenceWindowParameters) {
    this.currentValue = u32("current", current);
    if (!Number.isInteger(size) || size < 1 || size > 0x7fffffff) throw new InvalidArgumentError("size", size, "an integer in 1..2^31-1");
    this.size = size;
  }

  get current(): number {
    return this.currentValue;
  }

  /** Classifies `seq` without changing the window. */
  check(seq: number): SequenceCheck {
    u32("seq", seq);
    const ahead = (seq - this.currentValue + MOD) % MOD;
    if (ahead === 0) return { accepted: false, reason: "repeat" };
    if (ahead <= this.size) return { accepted: true };
    // More than half the ring ahead means behind: an old number.
    return { accepted: false, reason: ahead >= MOD / 2 ? "stale" : "ahead" };
  }

  /** Accepts `seq` (it becomes current) or throws {@link SequenceRejectedError}. */
  accept(seq: number): void {
    const result = this.check(seq);
    if (!result.accepted) throw new SequenceRejectedError(seq, this.currentValue, result.reason);
    this.currentValue = seq;
  }

  /** The 0x0C response a server sends for a rejected number. */
  rejection(): ServiceResponse {
    return { response: "invalidSequenceNumber", seq: this.currentValue };
  }
}
