// The agent that runs on the Raspberry Pi beside a meter. It reads the meter (DLMS/COSEM over a
// serial port with HDLC, over TCP or UDP, or the pushes of its HAN/P1 port), keeps its own LevelDB log of 15-minute records and 1-minute
// electrical variables deduplicated by device time, holds the meter's OSGP key, and answers the
// gateway over OSGP exactly as a Sidegrid Pi meter does: the gateway needs no DLMS at all.
//
//   meter ──DLMS (HDLC over RS-485/optical, or TCP)──▶ agent ──OSGP/TCP (aes-gcm)──▶ gateway
import net from "node:net";
import type { Duplex } from "node:stream";
import { DlmsClient, DlmsMeterReader, ENERGY, HdlcLink, PushReceiver, WrapperLink, readingFromRegisters, type ReceivedPush, type StreamOpener } from "@sidegrid/dlms";
import { IDENTIFICATION_LAYOUT, asciiField, encodeReadingRecord, type MeterReading } from "@sidegrid/osgp-codec";
import { AgentLog, type AgentLogStats, type ElectricalVariables } from "./agentLog";
import { InvalidArgumentError, MeterReadError } from "./errors";
import { OsgpDevice, encodeLogView, type MeterSuiteName } from "./osgpDevice";
import { serveOsgpSocket } from "./osgpServer";

/** What the agent reads from its meter. */
export interface MeterSource {
  readonly meterId: number;
  readonly endpoint: string;
  /** Serial number, manufacturer and the load profile's period. */
  identity(): Promise<{ serial: string; manufacturer: string; intervalSeconds: number }>;
  /** Interval rows with device time after `afterMs` (all the meter holds, up to `maxRows`, when null). */
  rowsAfter(afterMs: number | null, baseline: MeterReading | null, maxRows: number): Promise<MeterReading[]>;
  /** The registers and instantaneous values now. */
  now(): Promise<MeterReading>;
  close(): Promise<void>;
}

export interface DlmsSourceParameters {
  meterId: number;
  stream: StreamOpener;
  /** HDLC (serial ports, serial-to-TCP bridges) or the IP wrapper (G3-PLC, cellular). */
  transport: "hdlc" | "wrapper";
  /** HDLC physical address (default: the meter id's low 14 bits) and client SAP (default 16). */
  physicalAddress?: number;
  clientAddress?: number;
  /** Low-level security password; absent = lowest level. */
  password?: Uint8Array;
  timeoutMs?: number;
}

/**
 * A DLMS meter as the agent's source.
 * @example
 * const source = dlmsSource({ meterId: 7, transport: "hdlc", stream: serialStream("/dev/ttyUSB0") });
 */
export function dlmsSource(p: DlmsSourceParameters): MeterSource {
  const lp = { meterId: p.meterId, timeoutMs: p.timeoutMs ?? 5000 };
  const link =
    p.transport === "hdlc"
      ? new HdlcLink(lp, p.stream, { client: p.clientAddress ?? 16, physical: p.physicalAddress ?? p.meterId & 0x3fff })
      : new WrapperLink(lp, p.stream, { client: p.clientAddress ?? 16, server: 1 });
  const client = new DlmsClient({ meterId: p.meterId, link, ...(p.password ? { password: p.password } : {}) });
  const reader = new DlmsMeterReader(p.meterId, client);
  // One exchange at a time on the line; a failed one drops the association (started over next time).
  let queue: Promise<unknown> = Promise.resolve();
  const serial = <T>(what: string, fn: () => Promise<T>): Promise<T> => {
    const run = queue.then(async () => {
      try {
        await reader.prepare();
        return await fn();
      } catch (e) {
        await client.release();
        throw new MeterReadError(p.meterId, what, { cause: e });
      }
    });
    queue = run.catch(() => undefined);
    return run;
  };
  const energies = (r: MeterReading) => ({ importWh: r.activeEnergyImportWh, exportWh: r.activeEnergyExportWh, reactiveImportVarh: r.reactiveEnergyImportVarh, reactiveExportVarh: r.reactiveEnergyExportVarh });
  return {
    meterId: p.meterId,
    endpoint: link.endpoint,
    identity: () => serial("identity", async () => ({ serial: reader.serial ?? "", manufacturer: reader.manufacturer ?? "", intervalSeconds: reader.intervalMs / 1000 })),
    rowsAfter: (afterMs, baseline, maxRows) =>
      serial("load profile", async () => {
        const interval = reader.intervalMs;
        const clockMs = await reader.clock();
        const from = afterMs ?? clockMs - maxRows * interval;
        const to = Math.min(clockMs, from + maxRows * interval);
        const { rows } = await reader.profile(from, to, { baseline: baseline ? energies(baseline) : null, ...(afterMs !== null ? { after: Math.round(afterMs / interval) } : {}) });
        return rows.map((r) => r.reading);
      }),
    now: () => serial("registers", async () => (await reader.instantaneous(0)).reading),
    close: () => client.release(),
  };
}

export interface HanSourceParameters {
  meterId: number;
  /** The HAN/P1 port (a serial port) or a push bridge, as a byte stream the meter pushes on. */
  stream: StreamOpener;
  /** How the meter's interval pushes are numbered: device time ÷ this (default 900 s). */
  intervalSeconds?: number;
  /** The meter's keys when its pushes are general-glo-ciphered; then plain pushes are refused. */
  keys?: { ek: Uint8Array; ak: Uint8Array; systemTitle?: Uint8Array };
  /** How long `now()` waits for the first push (default 30 s: HAN meters push every 2 to 10 s). */
  firstPushMs?: number;
  clock?: () => number;
}

/**
 * A HAN-port (P1) meter as the agent's source: the meter pushes, the agent listens. Interval pushes
 * (those carrying the import energy register) become rows, deduplicated by device time; the
 * newest push answers `now()`.
 * @example
 * const source = hanSource({ meterId: 7, stream: serialStream("/dev/ttyAMA0", { baudRate: 115200 }) });
 */
export function hanSource(p: HanSourceParameters): MeterSource {
  const intervalMs = (p.intervalSeconds ?? 900) * 1000;
  const now = p.clock ?? Date.now;
  const pending = new Map<number, ReceivedPush>(); // interval index → its push
  let latest: ReceivedPush | undefined;
  let stream: Duplex | undefined;
  let opening: Promise<void> | undefined;
  let rejected = 0;
  const waiters: (() => void)[] = [];
  const rx = new PushReceiver({
    ...(p.keys ? { keys: p.keys } : {}),
    now,
    onReject: () => rejected++,
    onPush: (push) => {
      // The newest value of every register: energies from the interval lists, V/P/f from the
      // instantaneous ones, so `now()` has both.
      latest = { ...push, registers: { ...(latest?.registers ?? {}), ...push.registers }, clockMs: Math.max(latest?.clockMs ?? 0, push.clockMs) };
      if (push.hasEnergy) {
        const index = Math.floor(push.clockMs / intervalMs);
        if (!pending.has(index)) pending.set(index, push);
        // Bounded: two days of intervals waiting for the log, the oldest dropped first.
        while (pending.size > 192) pending.delete(Math.min(...pending.keys()));
      }
      for (const w of waiters.splice(0)) w();
    },
  });
  const ensureOpen = (): Promise<void> => {
    if (stream) return Promise.resolve();
    opening ??= p.stream.open(p.firstPushMs ?? 30_000).then(
      (s) => {
        stream = s;
        opening = undefined;
        s.on("data", (chunk: Buffer) => rx.feed(chunk));
        s.on("error", () => undefined);
        s.on("close", () => {
          if (stream === s) stream = undefined;
        });
      },
      (e: unknown) => {
        opening = undefined;
        throw new MeterReadError(p.meterId, "the HAN port", { cause: e });
      },
    );
    return opening;
  };
  const energies = (r: Record<string, number>) => ({ importWh: r[ENERGY.importWh.obis] ?? 0, exportWh: r[ENERGY.exportWh.obis] ?? 0, reactiveImportVarh: r[ENERGY.reactiveImportVarh.obis] ?? 0, reactiveExportVarh: r[ENERGY.reactiveExportVarh.obis] ?? 0 });
  return {
    meterId: p.meterId,
    endpoint: p.stream.endpoint,
    identity: async () => {
      await ensureOpen();
      return { serial: `HAN${p.meterId.toString().padStart(10, "0")}`, manufacturer: "HAN", intervalSeconds: intervalMs / 1000 };
    },
    rowsAfter: async (afterMs, baseline, maxRows) => {
      await ensureOpen();
      let previous = baseline ? { importWh: baseline.activeEnergyImportWh, exportWh: baseline.activeEnergyExportWh, reactiveImportVarh: baseline.reactiveEnergyImportVarh, reactiveExportVarh: baseline.reactiveEnergyExportVarh } : undefined;
      const out: MeterReading[] = [];
      for (const index of [...pending.keys()].sort((a, b) => a - b)) {
        const push = pending.get(index)!;
        pending.delete(index);
        if (afterMs !== null && push.clockMs <= afterMs) continue; // stored already
        if (out.length >= maxRows) break;
        out.push(readingFromRegisters({ meterId: p.meterId, sequence: index, clockMs: push.clockMs, values: push.registers, intervalMs, ...(previous ? { previous } : {}) }));
        previous = energies(push.registers);
      }
      return out;
    },
    now: async () => {
      await ensureOpen();
      if (!latest) {
        await new Promise<void>((resolve, reject) => {
          const timer = setTimeout(() => reject(new MeterReadError(p.meterId, `a push (none within ${p.firstPushMs ?? 30_000} ms; ${rejected} refused)`)), p.firstPushMs ?? 30_000);
          waiters.push(() => {
            clearTimeout(timer);
            resolve();
          });
        });
      }
      return readingFromRegisters({ meterId: p.meterId, sequence: 0, clockMs: latest!.clockMs, values: latest!.registers, intervalMs: 0 });
    },
    close: async () => {
      const s = stream as (Duplex & { close?: (cb?: () => void) => void }) | undefined;
      stream = undefined;
      if (s && typeof s.close === "function") await new Promise<void>((r) => s.close!(() => r()));
      else s?.destroy();
    },
  };
}

export interface StartPiMeterAgentParameters {
  meterId: number;
  source: MeterSource;
  /** LevelDB directory of the agent's log. */
  logDir: string;
  /**
   * OSGP: this meter's aes-gcm key (16 bytes, `deriveMeterKey({ masterKey, meterId })` from the
   * utility's master key). The agent holds its own meter's key only: a stolen Pi opens one household.
   */
  meterKey?: Uint8Array;
  suite?: MeterSuiteName;
  legacyKey?: Uint8Array;
  /** Where the gateway reaches the agent (default 127.0.0.1, any free port). */
  host?: string;
  port?: number;
  /** How often the registers and instantaneous values are read (default 60 s). */
  variablesEveryMs?: number;
  /** How often the load profile is read for new rows (default 60 s). */
  profileEveryMs?: number;
  /** Rows asked for in one read (default 96: a day of 15-minute rows). */
  maxRowsPerRead?: number;
  capacity?: number;
  log?: (level: "info" | "warn", msg: string, fields?: Record<string, unknown>) => void;
}

export interface PiMeterAgentStats extends AgentLogStats {
  reads: number;
  readFailures: number;
  lastError: string | null;
  osgpRequests: number;
}

export interface PiMeterAgent {
  readonly host: string;
  readonly port: number;
  readonly meterId: number;
  readonly log: AgentLog;
  stats(): PiMeterAgentStats;
  /** Reads the meter now (variables and new rows); resolves when stored. */
  readNow(): Promise<void>;
  close(): Promise<void>;
}

/** Response counters are reserved in blocks in the log, so a restarted agent never reuses one. */
const RESPONSE_SEQ_BLOCK = 100_000;

/**
 * @example
 * const agent = await startPiMeterAgent({ meterId: 7, source, logDir: "/var/lib/sidegrid-pi", meterKey, port: 4059 });
 */
export async function startPiMeterAgent(p: StartPiMeterAgentParameters): Promise<PiMeterAgent> {
  if (!Number.isInteger(p.meterId) || p.meterId < 0 || p.meterId > 0xffffffff) throw new InvalidArgumentError("meterId", p.meterId, "an integer in 0..2^32-1");
  if (p.source.meterId !== p.meterId) throw new InvalidArgumentError("source.meterId", p.source.meterId, `the agent's meter ${p.meterId}`);
  const say = p.log ?? (() => undefined);
  const log = await AgentLog.open({ dir: p.logDir, ...(p.capacity !== undefined ? { capacity: p.capacity } : {}) });
  let reads = 0;
  let readFailures = 0;
  let lastError: string | null = null;
  let id: { serial: string; manufacturer: string; intervalSeconds: number };
  let current: MeterReading;
  try {
    id = await p.source.identity();
    current = await p.source.now();
  } catch (e) {
    await log.close();
    throw e;
  }
  const identification = IDENTIFICATION_LAYOUT.encode({
    manufacturer: asciiField(id.manufacturer.slice(0, 4) || "SGPI", 4),
    model: asciiField("PI-AGENT", 8),
    hwVersion: 1,
    hwRevision: 0,
    fwVersion: 1,
    fwRevision: 0,
    serial: asciiField(id.serial.slice(0, 16), 16),
  });
  const reserved = Number((await log.getMeta("responseSeq")) ?? 0);
  let reservedUpTo = reserved + RESPONSE_SEQ_BLOCK;
  await log.putMeta("responseSeq", String(reservedUpTo));
  const device = new OsgpDevice({
    meterId: p.meterId,
    ...(p.suite ? { suite: p.suite } : {}),
    ...(p.meterKey ? { meterKey: p.meterKey } : {}),
    ...(p.legacyKey ? { legacyKey: p.legacyKey } : {}),
    requestSeqStart: 0, // the gateway resynchronises on the first 0x0C answer
    responseSeqStart: reserved,
    maxRecordsPerRead: 64,
    tables: {
      identification: () => identification,
      currentRecord: () => encodeReadingRecord({ ...current, meterId: p.meterId, sequence: log.newestSeq }),
      logView: (limit) => encodeLogView({ records: log.unacknowledged(limit), newestSeq: log.newestSeq, ackedSeq: log.ackedSeq, intervalSeconds: id.intervalSeconds, clockMs: current.clockMs }),
      acknowledge: (seq) => log.acknowledge(seq),
    },
  });
  let requests = 0;
  const keepReserved = () => {
    if (reserved + requests < reservedUpTo - RESPONSE_SEQ_BLOCK / 2) return;
    reservedUpTo += RESPONSE_SEQ_BLOCK;
    void log.putMeta("responseSeq", String(reservedUpTo));
  };

  const readVariables = async () => {
    current = await p.source.now();
    const l1 = current.phases[0];
    const v: ElectricalVariables = {
      clockMs: current.clockMs,
      voltageV: l1?.voltageV ?? 0,
      currentA: current.phases.reduce((s, ph) => s + ph.currentA, 0),
      frequencyHz: current.frequencyHz,
      powerFactor: current.powerFactor,
      activePowerW: current.activePowerW,
      reactivePowerVar: current.reactivePowerVar,
    };
    await log.addVariables(v);
  };
  const readRows = async () => {
    const rows = await p.source.rowsAfter(log.lastRecordClockMs, log.lastRecord, p.maxRowsPerRead ?? 96);
    const added = await log.addRecords(rows);
    if (added > 0) say("info", "stored interval records", { added, newestSeq: log.newestSeq });
  };
  const guarded = async (what: string, fn: () => Promise<void>) => {
    reads++;
    try {
      await fn();
    } catch (e) {
      readFailures++;
      lastError = (e as Error).message.split("\n")[0]!;
      say("warn", `reading ${what} failed; retried at the next tick`, { error: lastError });
    }
  };
  // Runs one after another: the meter's line carries one exchange at a time.
  let busy: Promise<void> = Promise.resolve();
  const tick = (what: "variables" | "rows") => {
    busy = busy.then(() => guarded(what, what === "variables" ? readVariables : readRows));
    return busy;
  };
  await tick("rows");
  await tick("variables");
  const timers = [setInterval(() => void tick("variables"), p.variablesEveryMs ?? 60_000), setInterval(() => void tick("rows"), p.profileEveryMs ?? 60_000)];

  const host = p.host ?? "127.0.0.1";
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
    serveOsgpSocket(s, { unaddressed: device, lookup: (id) => (id === p.meterId ? device : undefined), onRequest: () => {
      requests++;
      keepReserved();
    } });
  });
  try {
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(p.port ?? 0, host, () => resolve());
    });
  } catch (e) {
    for (const t of timers) clearInterval(t);
    await log.close();
    throw e;
  }
  const port = (server.address() as net.AddressInfo).port;
  say("info", "agent answering OSGP", { meterId: p.meterId, host, port, meter: p.source.endpoint });
  return {
    host,
    port,
    meterId: p.meterId,
    log,
    stats: () => ({ ...log.stats(), reads, readFailures, lastError, osgpRequests: requests }),
    readNow: async () => {
      await tick("variables");
      await tick("rows");
    },
    async close() {
      for (const t of timers) clearInterval(t);
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
      await busy.catch(() => undefined);
      await p.source.close().catch(() => undefined);
      await log.close();
    },
  };
}
