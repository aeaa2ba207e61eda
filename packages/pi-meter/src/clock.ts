// Simulated time. A SimClock maps real time to simulated time with a speed factor, so tests and
// benches produce days of 15-minute readings in seconds. Two processes that share the same
// parameters (simStartMs, realStartMs, speed) compute the same simulated "now", which is how a
// separately spawned gateway and simulator agree on the time without talking to each other.
import { InvalidArgumentError } from "./errors";

/** Anything that tells the time in Unix milliseconds. */
export interface Clock {
  now(): number;
}

/** The real wall clock. */
export const systemClock: Clock = { now: () => Date.now() };

export interface SimClockParameters {
  /** Simulated time at `realStartMs` (Unix ms). Default: `realStartMs`. */
  simStartMs?: number;
  /** Real time the simulation started (Unix ms). Default: now. */
  realStartMs?: number;
  /** Simulated ms per real ms (1 = real time, 900 = a 15-minute interval per real second). */
  speed?: number;
  /** Frozen clock that only moves through `advance`/`set` (deterministic tests). */
  manual?: boolean;
  /**
   * Never run ahead of the wall clock: a clock started in the past runs at `speed` until it
   * reaches real time, then at real time. Readings are then never stamped in the future, which
   * access grants (whose range ends at the moment of the grant) rely on.
   */
  capAtReal?: boolean;
}

/** The serialisable state another process needs to follow the same clock. */
export interface SimClockState {
  simStartMs: number;
  realStartMs: number;
  speed: number;
  manual: boolean;
  capAtReal?: boolean;
}

/**
 * An accelerated (or manual) clock.
 * @example
 * const clock = new SimClock({ simStartMs: Date.UTC(2025, 5, 1), speed: 3600 }); // an hour per second
 * clock.now();
 */
export class SimClock implements Clock {
  private simStartMs: number;
  private realStartMs: number;
  private speedValue: number;
  readonly manual: boolean;
  readonly capAtReal: boolean;

  constructor(params: SimClockParameters = {}) {
    const real = params.realStartMs ?? Date.now();
    this.realStartMs = real;
    this.simStartMs = params.simStartMs ?? real;
    this.speedValue = params.speed ?? 1;
    this.manual = params.manual ?? false;
    this.capAtReal = params.capAtReal ?? false;
    if (!Number.isFinite(this.simStartMs)) throw new InvalidArgumentError("simStartMs", this.simStartMs, "a finite Unix time in ms");
    if (!(this.speedValue > 0) || !Number.isFinite(this.speedValue)) throw new InvalidArgumentError("speed", this.speedValue, "a positive number");
  }

  /** Rebuilds a clock from {@link SimClock.state} (in another process). */
  static fromState(state: SimClockState): SimClock {
    return new SimClock(state);
  }

  get speed(): number {
    return this.speedValue;
  }

  now(): number {
    if (this.manual) return this.simStartMs;
    const real = Date.now();
    const sim = Math.floor(this.simStartMs + (real - this.realStartMs) * this.speedValue);
    return this.capAtReal && sim > real ? real : sim;
  }

  /**
   * The wall-clock time (Unix ms) at which this clock will show `simMs`: Infinity for a manual
   * clock that has not got there, and never before `simMs` itself for a clock capped at real time.
   * @example
   * const waitMs = clock.realTimeOf(eventEndMs) - Date.now();
   */
  realTimeOf(simMs: number): number {
    if (this.manual) return simMs <= this.simStartMs ? Date.now() : Infinity;
    const uncapped = this.realStartMs + (simMs - this.simStartMs) / this.speedValue;
    return this.capAtReal ? Math.max(uncapped, simMs) : uncapped;
  }

  /** Moves simulated time forward by `ms` (works for manual and running clocks). */
  advance(ms: number): void {
    if (!(ms >= 0)) throw new InvalidArgumentError("ms", ms, "a non-negative number");
    this.simStartMs += ms;
  }

  /** Changes the speed from now on without a jump in simulated time. */
  setSpeed(speed: number): void {
    if (!(speed > 0) || !Number.isFinite(speed)) throw new InvalidArgumentError("speed", speed, "a positive number");
    const now = this.now();
    this.realStartMs = Date.now();
    this.simStartMs = now;
    this.speedValue = speed;
  }

  state(): SimClockState {
    return { simStartMs: this.simStartMs, realStartMs: this.realStartMs, speed: this.speedValue, manual: this.manual, ...(this.capAtReal ? { capAtReal: true } : {}) };
  }
}
