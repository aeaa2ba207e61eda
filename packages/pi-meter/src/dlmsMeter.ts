// A simulated DLMS/COSEM meter: the same household model and registers as the simulated Pi meter
// (SimulatedMeter), served as COSEM objects — clock, serial, energy and instantaneous registers,
// load profile 1 with range selection — over the IP wrapper or HDLC on its own TCP port, as a
// G3-PLC node or a meter behind a serial-to-TCP bridge would be reached. Large answers go in GET
// blocks; HDLC answers longer than the negotiated information size go in segments pulled with RR.
import dgram from "node:dgram";
import net from "node:net";
import { randomBytes } from "node:crypto";
import {
  CURRENT_ASSOCIATION,
  cipherApdu,
  decipherApdu,
  hlsGmac,
  isCipheredApdu,
  verifyHlsGmac,
  type CipheredApdu,
  CLASS,
  ENERGY,
  INSTANTANEOUS,
  LOAD_PROFILE_COLUMNS,
  OBJECTS,
  cosemToMs,
  cutHdlcFrames,
  cutWrapperFrames,
  dateTimeData,
  obisBytes,
  type RegisterObject,
  LLC_RESPONSE,
  decodeApdu,
  decodeHdlcFrame,
  decodeWrapper,
  encodeApdu,
  encodeData,
  encodeHdlcFrame,
  encodeHdlcParameters,
  encodeWrapper,
  conformance,
  decodeDateTime,
  segmentHdlc,
  splitLlc,
  type Apdu,
  type AttributeDescriptor,
  type AccessSelection,
  type DlmsData,
  type HdlcAddress,
  type InvokeIdAndPriority,
} from "@sidegrid/dlms";
import type { MeterReading } from "@sidegrid/osgp-codec";
import type { SimulatedMeter } from "./meter";

/** The IP wrapper on TCP, HDLC on TCP (a serial bridge), or the IP wrapper on UDP (G3-PLC). */
export type DlmsTransport = "wrapper" | "hdlc" | "udp";

export interface StartDlmsMeterParameters {
  meter: SimulatedMeter;
  transport: DlmsTransport;
  host?: string;
  /** 0 or absent: any free port. */
  port?: number;
  /** Low-level security password the meter requires; absent = lowest level accepted. */
  password?: Uint8Array;
  /** Largest APDU the meter sends before switching to GET blocks (default 1024). */
  maxPduSize?: number;
  /** HDLC information field size the meter sends and accepts (default 128). */
  hdlcMaxInfo?: number;
  /** HLS-GMAC only, everything after the AARQ glo-ciphered: the meter's system title and keys. */
  security?: { systemTitle: Uint8Array; ek: Uint8Array; ak: Uint8Array };
}

export interface DlmsMeterServer {
  host: string;
  port: number;
  transport: DlmsTransport;
  /** HDLC physical address (the meter id, which must fit 14 bits for HDLC). */
  physicalAddress: number;
  /** GET requests served (normal and next). */
  readonly requests: number;
  close(): Promise<void>;
}

const DATA_ACCESS = { objectUndefined: 4, readWriteDenied: 3, noLongGet: 16, blockNumberInvalid: 19 } as const;

type Served = { data: DlmsData } | { dataAccessResult: number };

/** The COSEM object model of one meter. */
class CosemModel {
  constructor(private readonly meter: SimulatedMeter) {}

  get(a: AttributeDescriptor, sel: AccessSelection | null): Served {
    const m = this.meter;
    if (a.obis === OBJECTS.clock && a.classId === CLASS.clock) return a.attribute === 2 ? { data: dateTimeData(m.meterClock()) } : denied();
    if (a.obis === OBJECTS.serial) return a.attribute === 2 ? { data: { type: "visible-string", value: `SG${m.meterId.toString().padStart(10, "0")}` } } : denied();
    if (a.obis === OBJECTS.logicalDeviceName) return a.attribute === 2 ? { data: { type: "octet-string", value: new TextEncoder().encode(`SGD${m.meterId.toString().padStart(13, "0")}`) } } : denied();
    const reg = [...Object.values(ENERGY), ...Object.values(INSTANTANEOUS)].find((r) => r.obis === a.obis);
    if (reg && a.classId === CLASS.register) {
      if (a.attribute === 3) return { data: scalerUnit(reg) };
      if (a.attribute === 2) return { data: registerValue(reg, registerOf(m.currentReading(), reg.obis)) };
      return denied();
    }
    if (a.obis === OBJECTS.loadProfile && a.classId === CLASS.profileGeneric) {
      if (a.attribute === 3) return { data: { type: "array", value: LOAD_PROFILE_COLUMNS.map((c) => captureObject(c.classId, c.obis)) } };
      if (a.attribute === 4) return { data: { type: "double-long-unsigned", value: m.intervalMs / 1000 } };
      if (a.attribute === 7) return { data: { type: "double-long-unsigned", value: m.loggedReadings().length } };
      if (a.attribute !== 2) return denied();
      let rows = m.loggedReadings();
      if (sel) {
        const range = rangeOf(sel);
        if (!range) return { dataAccessResult: DATA_ACCESS.readWriteDenied };
        rows = rows.filter((r) => r.clockMs >= range.from && r.clockMs <= range.to);
      }
      return { data: { type: "array", value: rows.map(profileRow) } };
    }
    return { dataAccessResult: DATA_ACCESS.objectUndefined };
  }
}

function denied(): Served {
  return { dataAccessResult: DATA_ACCESS.readWriteDenied };
}

function scalerUnit(r: RegisterObject): DlmsData {
  return { type: "structure", value: [{ type: "integer", value: r.scaler }, { type: "enum", value: r.unit }] };
}

function registerOf(r: MeterReading, obis: string): number {
  const l1 = r.phases[0];
  switch (obis) {
    case ENERGY.importWh.obis: return r.activeEnergyImportWh;
    case ENERGY.exportWh.obis: return r.activeEnergyExportWh;
    case ENERGY.reactiveImportVarh.obis: return r.reactiveEnergyImportVarh;
    case ENERGY.reactiveExportVarh.obis: return r.reactiveEnergyExportVarh;
    case INSTANTANEOUS.activePowerImportW.obis: return Math.max(0, r.activePowerW);
    case INSTANTANEOUS.activePowerExportW.obis: return Math.max(0, -r.activePowerW);
    case INSTANTANEOUS.reactivePowerImportVar.obis: return Math.max(0, r.reactivePowerVar);
    case INSTANTANEOUS.reactivePowerExportVar.obis: return Math.max(0, -r.reactivePowerVar);
    case INSTANTANEOUS.voltageV.obis: return l1?.voltageV ?? 0;
    case INSTANTANEOUS.currentA.obis: return r.phases.reduce((s, p) => s + p.currentA, 0);
    case INSTANTANEOUS.frequencyHz.obis: return r.frequencyHz;
    case INSTANTANEOUS.powerFactor.obis: return r.powerFactor;
    default: return 0;
  }
}

/** The register's raw integer: value / 10^scaler, in the type a meter would use. */
function registerValue(reg: RegisterObject, value: number): DlmsData {
  const raw = Math.round(value / 10 ** reg.scaler);
  if (reg.unit === 30 || reg.unit === 32) return { type: "double-long-unsigned", value: Math.max(0, raw) };
  if (reg.scaler < 0 && raw >= 0 && raw <= 0xffff) return { type: "long-unsigned", value: raw };
  return { type: "double-long", value: raw };
}

function captureObject(classId: number, obis: string): DlmsData {
  return {
    type: "structure",
    value: [
      { type: "long-unsigned", value: classId },
      { type: "octet-string", value: obisBytes(obis) },
      { type: "integer", value: 2 },
      { type: "long-unsigned", value: 0 },
    ],
  };
}

function profileRow(r: MeterReading): DlmsData {
  const regs = LOAD_PROFILE_COLUMNS.slice(2).map((c) => [...Object.values(ENERGY), ...Object.values(INSTANTANEOUS)].find((x) => x.obis === c.obis)!);
  return {
    type: "structure",
    value: [dateTimeData(r.clockMs), { type: "unsigned", value: r.flags.clockInvalid ? 0x02 : 0 }, ...regs.map((reg) => registerValue(reg, registerOf(r, reg.obis)))],
  };
}

function rangeOf(sel: AccessSelection): { from: number; to: number } | null {
  if (sel.selector !== 1 || sel.parameters.type !== "structure") return null;
  const [, from, to] = sel.parameters.value;
  const ms = (d: DlmsData | undefined) => (d?.type === "octet-string" && d.value.length === 12 ? cosemToMs(decodeDateTime(d.value)) : null);
  const f = ms(from);
  const t = ms(to);
  return f === null || t === null ? null : { from: f, to: t };
}

/** One association: AARQ, GETs (with a long GET in progress), RLRQ. */
class Session {
  private associated = false;
  private long: { invoke: InvokeIdAndPriority; blocks: Uint8Array[] } | undefined;
  // HLS-GMAC state: the client's title, both challenges, the counters seen and used.
  private hls: { clientTitle: Uint8Array; ctos: Uint8Array; stoc: Uint8Array; authenticated: boolean; lastClientIc: number } | undefined;
  private ic = 1;

  constructor(
    private readonly model: CosemModel,
    private readonly p: DlmsMeterEndpointParameters,
    private readonly onGet: () => void,
  ) {}

  handle(bytes: Uint8Array): Uint8Array {
    let apdu: Apdu;
    try {
      apdu = decodeApdu(bytes);
    } catch {
      return encodeApdu({ type: "exception-response", stateError: 1, serviceError: 2, invocationCounter: null });
    }
    if (apdu.type === "aarq") return this.p.security ? this.aarqHls(apdu) : this.aarq(apdu);
    if (apdu.type === "rlrq") {
      this.associated = false;
      this.hls = undefined;
      return encodeApdu({ type: "rlre", reason: 0, userInformation: null });
    }
    if (!this.p.security) return this.serve(apdu);
    // A secured meter answers nothing in the clear, and only to the client that authenticated.
    const sec = this.p.security;
    const h = this.hls;
    if (!h || !isCipheredApdu(apdu) || apdu.invocationCounter <= h.lastClientIc) return encodeApdu({ type: "exception-response", stateError: 1, serviceError: 1, invocationCounter: null });
    let plain: Apdu;
    try {
      plain = decipherApdu(apdu, { systemTitle: h.clientTitle, ek: sec.ek, ak: sec.ak });
    } catch {
      return encodeApdu({ type: "exception-response", stateError: 1, serviceError: 1, invocationCounter: null });
    }
    h.lastClientIc = apdu.invocationCounter;
    let answer: Uint8Array;
    if (!h.authenticated) {
      if (plain.type !== "action-request-normal" || plain.method.classId !== CURRENT_ASSOCIATION.classId || plain.method.obis !== CURRENT_ASSOCIATION.obis || plain.method.method !== CURRENT_ASSOCIATION.method) {
        return encodeApdu({ type: "exception-response", stateError: 1, serviceError: 1, invocationCounter: null });
      }
      let ok = false;
      try {
        ok = plain.parameters?.type === "octet-string" && verifyHlsGmac({ answer: plain.parameters.value, challenge: h.stoc, systemTitle: h.clientTitle, ek: sec.ek, ak: sec.ak }) >= 0;
      } catch {
        ok = false;
      }
      h.authenticated = ok;
      this.associated = ok;
      const fCtoS = ok ? hlsGmac({ challenge: h.ctos, systemTitle: sec.systemTitle, invocationCounter: this.ic, ek: sec.ek, ak: sec.ak }) : null;
      // 0 success; 3 read-write-denied for a wrong answer (the client learns nothing more).
      answer = encodeApdu({ type: "action-response-normal", invoke: plain.invoke, result: ok ? 0 : 3, returnParameters: fCtoS ? { data: { type: "octet-string", value: fCtoS } } : null });
    } else {
      answer = this.serve(plain);
    }
    return encodeApdu(this.seal(answer));
  }

  private seal(plaintext: Uint8Array): Apdu {
    const sec = this.p.security!;
    const invocationCounter = this.ic;
    this.ic = (this.ic + 1) >>> 0;
    return cipherApdu({ plaintext, systemTitle: sec.systemTitle, invocationCounter, ek: sec.ek, ak: sec.ak });
  }

  private initiateResponse(): Extract<Apdu, { type: "initiate-response" }> {
    const names = ["get", "selective-access", "block-transfer-with-get-or-read", "multiple-references", ...(this.p.security ? (["action"] as const) : [])] as const;
    return { type: "initiate-response", negotiatedQualityOfService: null, negotiatedDlmsVersion: 6, negotiatedConformance: conformance([...names]), serverMaxReceivePduSize: this.p.maxPduSize ?? 1024, vaaName: 7 };
  }

  private aarq(apdu: Extract<Apdu, { type: "aarq" }>): Uint8Array {
    const passwordOk = !this.p.password || (apdu.mechanism === "low" && apdu.callingAuthenticationValue !== null && Buffer.from(apdu.callingAuthenticationValue).equals(Buffer.from(this.p.password)));
    this.associated = passwordOk;
    return encodeApdu({
      type: "aare",
      applicationContext: "logical-name",
      result: passwordOk ? 0 : 1,
      // 13 = authentication failure (acse-service-user diagnostic)
      resultSourceDiagnostic: { source: "acse-service-user", value: passwordOk ? 0 : 13 },
      respondingApTitle: null,
      mechanism: null,
      respondingAuthenticationValue: null,
      userInformation: passwordOk ? this.initiateResponse() : null,
    });
  }

  /** Passes 1 and 2 of HLS-GMAC: take the client's challenge, send ours (authentication-required). */
  private aarqHls(apdu: Extract<Apdu, { type: "aarq" }>): Uint8Array {
    const sec = this.p.security!;
    this.associated = false;
    this.hls = undefined;
    const refuse = (diagnostic: number) =>
      encodeApdu({ type: "aare", applicationContext: "logical-name-ciphering", result: 1, resultSourceDiagnostic: { source: "acse-service-user", value: diagnostic }, respondingApTitle: null, mechanism: null, respondingAuthenticationValue: null, userInformation: null });
    // 11 authentication-mechanism-name-not-recognised, 13 authentication-failure (IEC 62056-5-3 AARE diagnostics)
    if (apdu.mechanism !== "high-gmac" || !apdu.callingApTitle || apdu.callingApTitle.length !== 8 || !apdu.callingAuthenticationValue) return refuse(11);
    const ui = apdu.userInformation;
    if (!ui || !isCipheredApdu(ui as Apdu)) return refuse(13);
    try {
      const initiate = decipherApdu(ui as CipheredApdu, { systemTitle: apdu.callingApTitle, ek: sec.ek, ak: sec.ak });
      if (initiate.type !== "initiate-request") return refuse(13);
    } catch {
      return refuse(13);
    }
    const stoc = new Uint8Array(randomBytes(16));
    this.hls = { clientTitle: apdu.callingApTitle.slice(), ctos: apdu.callingAuthenticationValue.slice(), stoc, authenticated: false, lastClientIc: (ui as CipheredApdu).invocationCounter };
    return encodeApdu({
      type: "aare",
      applicationContext: "logical-name-ciphering",
      result: 0,
      // 14 = authentication-required: pass 3 and 4 follow in the ACTION
      resultSourceDiagnostic: { source: "acse-service-user", value: 14 },
      respondingApTitle: sec.systemTitle,
      mechanism: "high-gmac",
      respondingAuthenticationValue: stoc,
      userInformation: this.seal(encodeApdu(this.initiateResponse())) as CipheredApdu,
    });
  }

  private serve(apdu: Apdu): Uint8Array {
    switch (apdu.type) {
      case "get-request-normal": {
        if (!this.associated) return encodeApdu({ type: "exception-response", stateError: 1, serviceError: 1, invocationCounter: null });
        this.onGet();
        const served = this.model.get(apdu.attribute, apdu.accessSelection);
        if ("dataAccessResult" in served) return encodeApdu({ type: "get-response-normal", invoke: apdu.invoke, result: served });
        const encoded = encodeData(served.data);
        const max = (this.p.maxPduSize ?? 1024) - 16;
        if (encoded.length <= max) return encodeApdu({ type: "get-response-normal", invoke: apdu.invoke, result: served });
        const blocks: Uint8Array[] = [];
        for (let off = 0; off < encoded.length; off += max) blocks.push(encoded.subarray(off, off + max));
        this.long = { invoke: apdu.invoke, blocks };
        return this.block(1);
      }
      case "get-request-next": {
        if (!this.associated) return encodeApdu({ type: "exception-response", stateError: 1, serviceError: 1, invocationCounter: null });
        this.onGet();
        if (!this.long) return encodeApdu({ type: "get-response-with-datablock", invoke: apdu.invoke, lastBlock: true, blockNumber: apdu.blockNumber, result: { dataAccessResult: DATA_ACCESS.noLongGet } });
        return this.block(apdu.blockNumber + 1);
      }
      default:
        return encodeApdu({ type: "exception-response", stateError: 2, serviceError: 2, invocationCounter: null });
    }
  }

  private block(n: number): Uint8Array {
    const long = this.long!;
    if (n < 1 || n > long.blocks.length) {
      this.long = undefined;
      return encodeApdu({ type: "get-response-with-datablock", invoke: long.invoke, lastBlock: true, blockNumber: n, result: { dataAccessResult: DATA_ACCESS.blockNumberInvalid } });
    }
    const last = n === long.blocks.length;
    if (last) this.long = undefined;
    return encodeApdu({ type: "get-response-with-datablock", invoke: long.invoke, lastBlock: last, blockNumber: n, result: { rawData: long.blocks[n - 1]! } });
  }
}

/**
 * Serves one simulated meter over DLMS on its own TCP port.
 * @example
 * const server = await startDlmsMeter({ meter: new SimulatedMeter({ meterId: 7, seed: "demo", clock, masterKey }), transport: "wrapper" });
 * // gateway meter config: { meterId: 7, protocol: "dlms-wrapper", host: server.host, port: server.port }
 */
export type DlmsMeterEndpointParameters = Omit<StartDlmsMeterParameters, "host" | "port">;

/**
 * One connection's worth of a simulated DLMS meter over any byte transport: feed it what the client
 * sent, it calls `write` with the answers. The TCP server below uses it per socket; a test puts it
 * behind a mock serial port.
 * @example
 * const feed = dlmsMeterEndpoint({ meter, transport: "hdlc" }, (bytes) => port.port.emitData(Buffer.from(bytes)));
 */
export function dlmsMeterEndpoint(p: DlmsMeterEndpointParameters, write: (bytes: Uint8Array) => void, onRequest: () => void = () => undefined): (chunk: Uint8Array) => void {
  const model = new CosemModel(p.meter);
  const maxInfo = p.hdlcMaxInfo ?? 128;
  const me: HdlcAddress = { upper: 1, lower: p.meter.meterId, length: 4 };
  const session = new Session(model, p, onRequest);
  let buffer: Buffer = Buffer.alloc(0);
  // HDLC state: our N(S), the client's next N(S) we expect, segments of an answer still to send,
  // segments of a request received so far.
  let ns = 0;
  let nr = 0;
  let outgoing: Uint8Array[] = [];
  let incoming: Uint8Array[] = [];
  return (chunk: Uint8Array) => {
    if (p.meter.behaviour.silent) return;
    buffer = buffer.length ? Buffer.concat([buffer, chunk]) : Buffer.from(chunk);
    if (p.transport === "wrapper" || p.transport === "udp") {
      const cut = cutWrapperFrames(buffer);
      buffer = cut.rest;
      for (const frame of cut.frames) {
        const { header, apdu } = decodeWrapper(frame);
        write(encodeWrapper({ sourcePort: header.destinationPort, destinationPort: header.sourcePort, apdu: session.handle(apdu) }));
      }
      return;
    }
    const { frames, rest } = cutHdlcFrames(buffer);
    buffer = rest;
    for (const bytes of frames) {
      let f;
      try {
        f = decodeHdlcFrame(bytes);
      } catch {
        continue; // a bad FCS: the client times out and retries, as on a noisy line
      }
      if (f.dst.lower !== me.lower || f.dst.upper !== me.upper) continue; // another meter on the bus
      const client = f.src;
      const send = (frame: Parameters<typeof encodeHdlcFrame>[0]) => write(encodeHdlcFrame(frame));
      switch (f.control.type) {
        case "SNRM":
          ns = 0;
          nr = 0;
          outgoing = [];
          incoming = [];
          send({ dst: client, src: me, control: { type: "UA", pf: true }, info: encodeHdlcParameters({ maxInfoTransmit: maxInfo, maxInfoReceive: maxInfo, windowTransmit: 1, windowReceive: 1 }) });
          break;
        case "DISC":
          send({ dst: client, src: me, control: { type: "UA", pf: true } });
          break;
        case "RR": {
          const next = outgoing.shift();
          if (next) write(next);
          break;
        }
        case "I": {
          nr = ((f.control.ns ?? 0) + 1) & 7;
          incoming.push(f.info);
          if (f.segmented) {
            send({ dst: client, src: me, control: { type: "RR", pf: true, nr } });
            break;
          }
          const { apdu } = splitLlc(Buffer.concat(incoming));
          incoming = [];
          const answer = session.handle(apdu);
          const info = new Uint8Array(LLC_RESPONSE.length + answer.length);
          info.set(LLC_RESPONSE);
          info.set(answer, LLC_RESPONSE.length);
          const segs = segmentHdlc({ dst: client, src: me, info, maxInfo, ns, nr });
          ns = (ns + segs.length) & 7;
          write(segs[0]!);
          outgoing = segs.slice(1);
          break;
        }
        default:
          break;
      }
    }
  };
}

export async function startDlmsMeter(p: StartDlmsMeterParameters): Promise<DlmsMeterServer> {
  const host = p.host ?? "127.0.0.1";
  let requests = 0;
  if (p.transport === "udp") return startUdpDlmsMeter(p, host, () => requests++, () => requests);
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => socket.destroy());
    socket.on("data", dlmsMeterEndpoint(p, (b) => socket.write(b), () => requests++));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(p.port ?? 0, host, () => resolve());
  });
  const port = (server.address() as net.AddressInfo).port;
  return {
    host,
    port,
    transport: p.transport,
    physicalAddress: p.meter.meterId,
    get requests() {
      return requests;
    },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** The wrapper over UDP: one endpoint (association state) per client address and port. */
async function startUdpDlmsMeter(p: StartDlmsMeterParameters, host: string, count: () => void, requests: () => number): Promise<DlmsMeterServer> {
  const sock = dgram.createSocket(net.isIPv6(host) ? "udp6" : "udp4");
  const peers = new Map<string, (chunk: Uint8Array) => void>();
  sock.on("message", (m, rinfo) => {
    const key = `${rinfo.address}:${rinfo.port}`;
    let feed = peers.get(key);
    if (!feed) {
      feed = dlmsMeterEndpoint(p, (b) => sock.send(b, rinfo.port, rinfo.address), count);
      peers.set(key, feed);
    }
    feed(m);
  });
  await new Promise<void>((resolve, reject) => {
    sock.once("error", reject);
    sock.bind(p.port ?? 0, host, () => resolve());
  });
  return {
    host,
    port: sock.address().port,
    transport: "udp",
    physicalAddress: p.meter.meterId,
    get requests() {
      return requests();
    },
    close: () => new Promise<void>((resolve) => sock.close(() => resolve())),
  };
}
