// How the gateway carries DLMS APDUs to a meter: the IP wrapper (IEC 62056-47, TCP: an 8-byte
// header per APDU, as on G3-PLC or cellular) or HDLC (IEC 62056-46, over a TCP-to-serial bridge
// or an optical/RS-485 port: SNRM/UA, I frames with the LLC header, segmented answers pulled
// with RR). Both give the client one exchange at a time: send an APDU, get the answer APDU.
import net from "node:net";
import {
  HDLC_FLAG,
  LLC_COMMAND,
  decodeHdlcFrame,
  decodeHdlcParameters,
  decodeWrapper,
  encodeHdlcFrame,
  encodeWrapper,
  hdlcAddress,
  segmentHdlc,
  splitLlc,
  type HdlcAddress,
  type HdlcFrame,
} from "@sidegrid/dlms";
import { MeterConnectionError, MeterProtocolError, MeterTimeoutError } from "../errors";

/** One association's worth of APDU exchanges with one meter. */
export interface DlmsLink {
  readonly endpoint: string;
  open(): Promise<void>;
  /** Sends `apdu` and resolves with the meter's answer APDU. */
  exchange(apdu: Uint8Array): Promise<Uint8Array>;
  close(): Promise<void>;
}

export interface TcpLinkParameters {
  meterId: number;
  host: string;
  port: number;
  timeoutMs: number;
}

/** A TCP connection with a byte buffer and one waiter for the next complete unit. */
abstract class TcpLink implements DlmsLink {
  readonly endpoint: string;
  protected socket: net.Socket | undefined;
  protected buffer: Buffer = Buffer.alloc(0);
  private waiter: { resolve: (u: Uint8Array) => void; reject: (e: Error) => void; timer: NodeJS.Timeout } | undefined;
  private units: Uint8Array[] = [];

  constructor(protected readonly p: TcpLinkParameters) {
    this.endpoint = `tcp://${p.host}:${p.port}`;
  }

  /** Cuts complete units (frames) from the front of `buffer`; returns them. */
  protected abstract cut(): Uint8Array[];
  abstract exchange(apdu: Uint8Array): Promise<Uint8Array>;

  async open(): Promise<void> {
    if (this.socket) return;
    const socket = net.connect({ host: this.p.host, port: this.p.port });
    socket.setNoDelay(true);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new MeterTimeoutError(this.p.meterId, this.p.timeoutMs));
      }, this.p.timeoutMs);
      socket.once("connect", () => {
        clearTimeout(timer);
        resolve();
      });
      socket.once("error", (e) => {
        clearTimeout(timer);
        reject(new MeterConnectionError(this.p.meterId, this.endpoint, { cause: e }));
      });
    });
    socket.on("data", (chunk: Buffer) => {
      this.buffer = this.buffer.length ? Buffer.concat([this.buffer, chunk]) : chunk;
      let units: Uint8Array[];
      try {
        units = this.cut();
      } catch (e) {
        this.fail(new MeterProtocolError(this.p.meterId, `undecodable frame: ${(e as Error).message}`, { cause: e }));
        socket.destroy();
        return;
      }
      for (const u of units) this.deliver(u);
    });
    socket.on("error", (e) => this.fail(new MeterConnectionError(this.p.meterId, this.endpoint, { cause: e })));
    socket.on("close", () => {
      if (this.socket === socket) this.socket = undefined;
      this.fail(new MeterConnectionError(this.p.meterId, this.endpoint, { cause: new Error("connection closed by the meter") }));
    });
    this.socket = socket;
    this.buffer = Buffer.alloc(0);
    this.units = [];
  }

  async close(): Promise<void> {
    const s = this.socket;
    this.socket = undefined;
    if (!s) return;
    await new Promise<void>((resolve) => {
      s.once("close", () => resolve());
      s.end();
      setTimeout(() => {
        s.destroy();
        resolve();
      }, 200).unref();
    });
  }

  protected write(bytes: Uint8Array): void {
    if (!this.socket) throw new MeterConnectionError(this.p.meterId, this.endpoint, { cause: new Error("not connected") });
    this.socket.write(bytes);
  }

  /** The next unit the meter sends (frames that arrived early are queued). */
  protected next(): Promise<Uint8Array> {
    const queued = this.units.shift();
    if (queued) return Promise.resolve(queued);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiter = undefined;
        reject(new MeterTimeoutError(this.p.meterId, this.p.timeoutMs));
      }, this.p.timeoutMs);
      this.waiter = { resolve, reject, timer };
    });
  }

  private deliver(u: Uint8Array): void {
    const w = this.waiter;
    if (!w) {
      this.units.push(u);
      return;
    }
    this.waiter = undefined;
    clearTimeout(w.timer);
    w.resolve(u);
  }

  private fail(e: Error): void {
    const w = this.waiter;
    if (!w) return;
    this.waiter = undefined;
    clearTimeout(w.timer);
    w.reject(e);
  }
}

/** The IP wrapper over TCP (client wPort 16 = public client unless configured, server wPort 1). */
export class WrapperTcpLink extends TcpLink {
  constructor(
    p: TcpLinkParameters,
    private readonly wPorts: { client: number; server: number } = { client: 16, server: 1 },
  ) {
    super(p);
  }

  protected cut(): Uint8Array[] {
    const { frames, rest } = cutWrapperFrames(this.buffer);
    this.buffer = rest;
    return frames;
  }

  async exchange(apdu: Uint8Array): Promise<Uint8Array> {
    this.write(encodeWrapper({ sourcePort: this.wPorts.client, destinationPort: this.wPorts.server, apdu }));
    for (;;) {
      const { header, apdu: answer } = decodeWrapper(await this.next());
      // A push (data-notification) to another port may share the connection: not our answer.
      if (header.destinationPort === this.wPorts.client && header.sourcePort === this.wPorts.server) return answer;
    }
  }
}

/** Cuts IP-wrapper frames (8-byte header whose last field is the APDU length) from a byte buffer. */
export function cutWrapperFrames(buffer: Buffer): { frames: Uint8Array[]; rest: Buffer } {
  const frames: Uint8Array[] = [];
  let b = buffer;
  while (b.length >= 8 && b.length >= 8 + b.readUInt16BE(6)) {
    const len = 8 + b.readUInt16BE(6);
    frames.push(new Uint8Array(b.subarray(0, len)));
    b = b.subarray(len);
  }
  return { frames, rest: b };
}

/** Cuts HDLC frames (flag, format with length, ..., flag) from a byte buffer. */
export function cutHdlcFrames(buffer: Buffer): { frames: Uint8Array[]; rest: Buffer } {
  const frames: Uint8Array[] = [];
  let b = buffer;
  for (;;) {
    let start = b.indexOf(HDLC_FLAG);
    if (start < 0) return { frames, rest: Buffer.alloc(0) };
    // Back-to-back frames may share a flag; skip fill flags.
    while (start + 1 < b.length && b[start + 1] === HDLC_FLAG) start++;
    if (b.length < start + 3) return { frames, rest: b.subarray(start) };
    const length = ((b[start + 1]! & 0x07) << 8) | b[start + 2]!;
    if (b.length < start + length + 2) return { frames, rest: b.subarray(start) };
    frames.push(new Uint8Array(b.subarray(start, start + length + 2)));
    b = b.subarray(start + length + 2);
  }
}

/**
 * HDLC over a TCP byte stream. The client is the public client (SAP 16) unless configured; the
 * server address is the logical device (upper, 1 = management) and physical address (lower).
 */
export class HdlcTcpLink extends TcpLink {
  private readonly client: HdlcAddress;
  private readonly server: HdlcAddress;
  private ns = 0;
  private nr = 0;
  private maxInfoTransmit = 128;

  constructor(p: TcpLinkParameters, addresses: { client?: number; logicalDevice?: number; physical: number }) {
    super(p);
    this.client = hdlcAddress(addresses.client ?? 16);
    this.server = hdlcAddress(addresses.logicalDevice ?? 1, addresses.physical);
  }

  protected cut(): Uint8Array[] {
    const { frames, rest } = cutHdlcFrames(this.buffer);
    this.buffer = rest;
    return frames;
  }

  private async nextFrame(): Promise<HdlcFrame> {
    for (;;) {
      const f = decodeHdlcFrame(await this.next());
      if (f.dst.upper === this.client.upper) return f;
    }
  }

  override async open(): Promise<void> {
    await super.open();
    this.ns = 0;
    this.nr = 0;
    this.write(encodeHdlcFrame({ dst: this.server, src: this.client, control: { type: "SNRM", pf: true } }));
    const ua = await this.nextFrame();
    if (ua.control.type !== "UA") throw new MeterProtocolError(this.p.meterId, `HDLC: answered SNRM with ${ua.control.type}, not UA`);
    if (ua.info.length > 0) {
      // The meter's maxInfoReceive bounds what we send in one frame.
      this.maxInfoTransmit = decodeHdlcParameters(ua.info).maxInfoReceive ?? this.maxInfoTransmit;
    }
  }

  override async close(): Promise<void> {
    if (this.socket) {
      try {
        this.write(encodeHdlcFrame({ dst: this.server, src: this.client, control: { type: "DISC", pf: true } }));
        await this.nextFrame().catch(() => undefined);
      } catch {
        /* closing anyway */
      }
    }
    await super.close();
  }

  async exchange(apdu: Uint8Array): Promise<Uint8Array> {
    const info = new Uint8Array(LLC_COMMAND.length + apdu.length);
    info.set(LLC_COMMAND);
    info.set(apdu, LLC_COMMAND.length);
    const frames = segmentHdlc({ dst: this.server, src: this.client, info, maxInfo: this.maxInfoTransmit, ns: this.ns, nr: this.nr });
    for (let i = 0; i < frames.length; i++) {
      this.write(frames[i]!);
      this.ns = (this.ns + 1) & 7;
      // Window 1: each segment but the last is acknowledged with RR before the next.
      if (i < frames.length - 1) {
        const rr = await this.nextFrame();
        if (rr.control.type !== "RR") throw new MeterProtocolError(this.p.meterId, `HDLC: expected RR between segments, got ${rr.control.type}`);
      }
    }
    const parts: Uint8Array[] = [];
    for (;;) {
      const f = await this.nextFrame();
      if (f.control.type !== "I") throw new MeterProtocolError(this.p.meterId, `HDLC: expected an I frame, got ${f.control.type}`);
      this.nr = ((f.control.ns ?? 0) + 1) & 7;
      parts.push(f.info);
      if (!f.segmented) break;
      this.write(encodeHdlcFrame({ dst: this.server, src: this.client, control: { type: "RR", pf: true, nr: this.nr } }));
    }
    const whole = Buffer.concat(parts);
    const { llc, apdu: answer } = splitLlc(whole);
    if (llc !== "response") throw new MeterProtocolError(this.p.meterId, "HDLC: answer without the LLC response header");
    return answer;
  }
}
