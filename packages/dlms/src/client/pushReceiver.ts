// The receiving end of a HAN / push meter: bytes as they arrive on a P1/HAN serial port or a push
// listener's socket, cut into HDLC frames (segments joined) or IP-wrapper frames, opened when
// ciphered, and handed on as register values with their device time. The gateway's `dlms-push`
// adapter and the Pi agent's HAN source both receive pushes through it.
import type { Apdu } from "../apduTypes";
import { formatDateTime } from "../axdr";
import { decodeDlms } from "../decode";
import { HdlcReassembler, decodeHdlcFrame, splitLlc } from "../hdlc";
import type { RegisterReading } from "../push";
import { cutHdlcFrames, cutWrapperFrames } from "./links";
import { ENERGY, OBJECTS } from "./objects";

/** One push, its registers in physical units by OBIS. */
export interface ReceivedPush {
  registers: Record<string, number>;
  /** Device time: the notification's date-time, else its clock register, else the receiver's clock. */
  clockMs: number;
  /** Whether it carries the import energy register (an interval list), not only instantaneous values. */
  hasEnergy: boolean;
}

export interface PushReceiverParameters {
  /** With `ek` set only pushes that decipher and authenticate count (a plain one is refused). */
  keys?: { ek?: Uint8Array; ak?: Uint8Array; systemTitle?: Uint8Array };
  now: () => number;
  onPush: (p: ReceivedPush) => void;
  /** A frame that does not decode, authenticate, or is no data-notification with registers. */
  onReject?: () => void;
  /** A ciphered push whose invocation counter is not above the last one accepted: a replay. */
  onReplay?: () => void;
  /**
   * The last invocation counter accepted, shared by every receiver of one meter (a replay may come
   * on another connection) and kept across restarts by the caller. Updated in place.
   */
  counter?: { last: number | null };
}

/**
 * @example
 * const rx = new PushReceiver({ now: Date.now, onPush: (p) => console.log(p.registers) });
 * port.on("data", (chunk) => rx.feed(chunk));
 */
export class PushReceiver {
  private readonly reassembler = new HdlcReassembler();
  private buffer: Buffer = Buffer.alloc(0);
  private readonly counter: { last: number | null };

  constructor(private readonly p: PushReceiverParameters) {
    this.counter = p.counter ?? { last: null };
  }

  /** The invocation counter of the newest ciphered push accepted (null before one). */
  get lastInvocationCounter(): number | null {
    return this.counter.last;
  }

  feed(chunk: Uint8Array): void {
    this.buffer = this.buffer.length ? Buffer.concat([this.buffer, chunk]) : Buffer.from(chunk);
    if (this.buffer[0] === 0x7e) {
      const { frames, rest } = cutHdlcFrames(this.buffer);
      this.buffer = rest;
      for (const f of frames) {
        try {
          const info = this.reassembler.push(decodeHdlcFrame(f));
          if (info) this.frame(splitLlc(info).apdu);
        } catch {
          this.p.onReject?.();
        }
      }
      return;
    }
    const { frames, rest } = cutWrapperFrames(this.buffer);
    this.buffer = rest;
    for (const frame of frames) this.frame(frame);
    if (this.buffer.length > 0 && this.buffer[0] !== 0x00 && this.buffer[0] !== 0x7e) {
      this.p.onReject?.();
      this.buffer = Buffer.alloc(0); // neither HDLC nor the wrapper: resynchronise on the next push
    }
  }

  private frame(bytes: Uint8Array): void {
    const keys = this.p.keys ?? {};
    let decoded;
    try {
      decoded = decodeDlms(bytes, keys);
    } catch {
      this.p.onReject?.();
      return;
    }
    // With keys configured only pushes that deciphered and authenticated count: a plain push from
    // whoever reaches the port would otherwise slip in beside the meter's ciphered ones.
    const apdu: Apdu | undefined = keys.ek ? decoded.plain : (decoded.plain ?? decoded.apdu);
    if (!apdu || apdu.type !== "data-notification" || !decoded.registers) {
      this.p.onReject?.();
      return;
    }
    // A ciphered push authenticates its invocation counter: one not above the last is a replay of
    // an earlier push (its content is genuine, its time is not now).
    const outer = decoded.apdu as { invocationCounter?: unknown } | undefined;
    if (keys.ek && typeof outer?.invocationCounter === "number") {
      if (this.counter.last !== null && outer.invocationCounter <= this.counter.last) {
        (this.p.onReplay ?? this.p.onReject)?.();
        return;
      }
      this.counter.last = outer.invocationCounter;
    }
    const registers = numbers(decoded.registers);
    const stamped = apdu.dateTime ? Date.parse(formatDateTime(apdu.dateTime) ?? "") : NaN;
    const clockText = decoded.registers[OBJECTS.clock]?.value;
    const fromClock = typeof clockText === "string" ? Date.parse(clockText) : NaN;
    const clockMs = Number.isFinite(stamped) ? stamped : Number.isFinite(fromClock) ? fromClock : this.p.now();
    this.p.onPush({ registers, clockMs, hasEnergy: registers[ENERGY.importWh.obis] !== undefined });
  }
}

function numbers(regs: Record<string, RegisterReading>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [obis, r] of Object.entries(regs)) if (typeof r.value === "number") out[obis] = r.value;
  return out;
}
