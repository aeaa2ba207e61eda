// How a client carries DLMS APDUs to a meter: the IP wrapper (IEC 62056-47: an 8-byte header per
// APDU, as on G3-PLC or cellular) or HDLC (IEC 62056-46, over an optical/RS-485 port or a
// TCP-to-serial bridge: SNRM/UA, I frames with the LLC header, segmented answers pulled with RR).
// Both give the client one exchange at a time over any byte stream (a TCP socket, a serial port):
// send an APDU, get the answer APDU.
import dgram from "node:dgram";
import net from "node:net";
import { Duplex } from "node:stream";
import { HDLC_FLAG, LLC_COMMAND, decodeHdlcFrame, decodeHdlcParameters, encodeHdlcFrame, hdlcAddress, segmentHdlc, splitLlc, type HdlcAddress, type HdlcFrame } from "../hdlc";
import { decodeWrapper, encodeWrapper } from "../wrapper";
import { MeterConnectionError, MeterProtocolError, MeterTimeoutError } from "../errors";

/** One association's worth of APDU exchanges with one meter. */
export interface DlmsLink {
  readonly endpoint: string;
  open(): Promise<void>;
  /** Sends `apdu` and resolves with the meter's answer APDU. */
  exchange(apdu: Uint8Array): Promise<Uint8Array>;
  close(): Promise<void>;
}

export interface LinkParameters {
  meterId: number;
  timeoutMs: number;
}

/** Opens the byte stream a link runs over: a TCP socket, a serial port, a test's mock port. */
export interface StreamOpener {
  /** For messages: tcp://host:port, serial:/dev/ttyUSB0. */
  readonly endpoint: string;
  open(timeoutMs: number): Promise<Duplex>;
}

/**
 * A TCP connection as a link's stream.
 * @example
 * const link = new HdlcLink({ meterId: 7, timeoutMs: 5000 }, tcpStream("127.0.0.1", 4059), { physical: 7 });
 */
export function tcpStream(host: string, port: number): StreamOpener {
  return {
    endpoint: `tcp://${host}:${port}`,
    open: (timeoutMs) =>
      new Promise<Duplex>((resolve, reject) => {
        const socket = net.connect({ host, port });
        socket.setNoDelay(true);
        const timer = setTimeout(() => {
          socket.destroy();
          reject(new Error(`no connection within ${timeoutMs} ms`));
        }, timeoutMs);
        socket.once("connect", () => {
          clearTimeout(timer);
          resolve(socket);
        });
        socket.once("error", (e) => {
          clearTimeout(timer);
          reject(e);
        });
      }),
  };
}

/**
 * UDP as a link's stream: each write one datagram, each datagram received pushed as it came. The
 * IP wrapper's header carries the APDU length, so frames are cut exactly as on TCP. This is how a
 * G3-PLC node is reached (IEC 62056-47 over UDP, port 4059 by convention, IPv6 on the PLC side).
 * @example
 * const link = new WrapperLink({ meterId: 7, timeoutMs: 5000 }, udpStream("fd00::7", 4059));
 */
export function udpStream(host: string, port: number): StreamOpener {
  return {
    endpoint: `udp://${host.includes(":") ? `[${host}]` : host}:${port}`,
    open: (timeoutMs) =>
      new Promise<Duplex>((resolve, reject) => {
        const sock = dgram.createSocket(net.isIPv6(host) ? "udp6" : "udp4");
        let closed = false;
        const shut = () => {
          if (closed) return;
          closed = true;
          try {
            sock.close();
          } catch {
            /* already closed */
          }
        };
        const stream = new Duplex({
          read() {},
          write(chunk: Buffer, _enc, cb) {
            sock.send(chunk, (e) => cb(e ?? null));
          },
          final(cb) {
            shut();
            this.push(null);
            cb();
          },
          destroy(e, cb) {
            shut();
            cb(e);
          },
        });
        sock.on("message", (m) => stream.push(m));
        sock.on("error", (e) => stream.destroy(e));
        const timer = setTimeout(() => {
          shut();
          reject(new Error(`no connection within ${timeoutMs} ms`));
        }, timeoutMs);
        sock.once("error", (e) => {
          clearTimeout(timer);
          reject(e);
        });
        sock.connect(port, host, () => {
          clearTimeout(timer);
          resolve(stream);
        });
      }),
  };
}

/** A byte stream with a buffer and one waiter for the next complete unit. */
abstract class StreamLink implements DlmsLink {
  readonly endpoint: string;
  protected socket: Duplex | undefined;
  protected buffer: Buffer = Buffer.alloc(0);
  private waiter: { resolve: (u: Uint8Array) => void; reject: (e: Error) => void; timer: NodeJS.Timeout } | undefined;
  private units: Uint8Array[] = [];

  constructor(
    protected readonly p: LinkParameters,
    private readonly stream: StreamOpener,
  ) {
    this.endpoint = stream.endpoint;
  }

  /** Cuts complete units (frames) from the front of `buffer`; returns them. */
  protected abstract cut(): Uint8Array[];
  abstract exchange(apdu: Uint8Array): Promise<Uint8Array>;

  async open(): Promise<void> {
    if (this.socket) return;
    let socket: Duplex;
    try {
      socket = await this.stream.open(this.p.timeoutMs);
    } catch (e) {
      throw /within \d+ ms/.test((e as Error).message) ? new MeterTimeoutError(this.p.meterId, this.p.timeoutMs, { details: "connect" }) : new MeterConnectionError(this.p.meterId, this.endpoint, { cause: e });
    }
    socket.on("data", (chunk: Buffer) => {
      this.buffer = this.buffer.length ? Buffer.concat([this.buffer, chunk]) : Buffer.from(chunk);
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
    // A socket closes after end(); a serial port only on destroy(), and must be really closed
    // before it can be opened again (its lock), so wait for "close" either way, bounded.
    await new Promise<void>((resolve) => {
      const done = setTimeout(resolve, 1000);
      done.unref();
      s.once("close", () => {
        clearTimeout(done);
        resolve();
      });
      // A serial port stream (serialport) closes its binding only through close(); destroy() does not.
      const port = s as Duplex & { close?: (cb?: (e: Error | null) => void) => void; isOpen?: boolean };
      if (typeof port.close === "function") {
        if (port.isOpen === false) resolve();
        else port.close(() => undefined);
        return;
      }
      s.end();
      setTimeout(() => s.destroy(), 200).unref();
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

/** The IP wrapper over a stream (client wPort 16 = public client unless configured, server wPort 1). */
export class WrapperLink extends StreamLink {
  constructor(
    p: LinkParameters,
    stream: StreamOpener,
    private readonly wPorts: { client: number; server: number } = { client: 16, server: 1 },
  ) {
    super(p, stream);
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
 * HDLC over a byte stream. The client is the public client (SAP 16) unless configured; the
 * server address is the logical device (upper, 1 = management) and physical address (lower).
 */
export class HdlcLink extends StreamLink {
  private readonly client: HdlcAddress;
  private readonly server: HdlcAddress;
  private ns = 0;
  private nr = 0;
  private maxInfoTransmit = 128;

  constructor(p: LinkParameters, stream: StreamOpener, addresses: { client?: number; logicalDevice?: number; physical: number }) {
    super(p, stream);
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
