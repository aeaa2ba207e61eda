// The Pi-meter simulator: many SimulatedMeters behind TCP. Two addressing modes:
// - shared port (default): one listening port; a client selects a meter with an address frame
//   (see osgp-codec tcpFraming.ts). Scales to thousands of meters on one socket.
// - one port per meter (`basePort`): meter with index i (ids firstMeterId + i) listens on
//   basePort + i and needs no address frame, like a Pi meter on its own IP.
// A mixed fleet: with `dlms`, the last meters speak DLMS/COSEM instead (IP wrapper or HDLC, each on
// its own port, as a G3-PLC node or a serial meter behind a bridge), same household model.
// An optional HTTP control port lets another process inspect meters, inject faults, ask a meter
// for a signed binding (the button on a real meter) and command a household's controllable
// appliances (demand response: washer, EV charger, heat pump, battery). It serves register values,
// so it listens on loopback only and answers only a caller with its bearer token.
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import http from "node:http";
import net from "node:net";
import { SimClock, type Clock, type SimClockParameters, type SimClockState } from "./clock";
import type { ApplianceState, CommandApplianceParameters } from "./appliances";
import { InvalidArgumentError, isPiMeterError } from "./errors";
import { SimulatedMeter, type MeterBehaviour, type MeterSuiteName, type SimulatedMeterParameters, type SimulatedMeterStatus } from "./meter";
import type { LoadProfileKind } from "./profiles";
import { Wallet } from "ethers";
import { signMeterBinding } from "@sidegrid/blockpri";
import { meterIdToBytes32 } from "@sidegrid/blockpri";
import { serveOsgpSocket } from "./osgpServer";
import { keepAcks, readAcks, readResponseSeqs } from "./ackStore";
import { journalCommand, replayCommands, type ReplayCommandsReturnType } from "./commandJournal";
import { startDlmsMeter, type DlmsMeterServer, type DlmsTransport } from "./dlmsMeter";

export interface StartMeterSimulatorParameters {
  /** Number of meters. */
  count: number;
  /** Seed of every load profile and counter (default "sidegrid"). */
  seed?: string | number;
  /** Id of the first meter; the others follow (default 1). */
  firstMeterId?: number;
  host?: string;
  /** Shared-port mode: the port (0 or omitted = a free one). Ignored when `basePort` is set. */
  port?: number;
  /** Per-meter ports: meter i listens on basePort + i. */
  basePort?: number;
  /** aes-gcm master key; default derived from the seed (development only). */
  masterKey?: Uint8Array;
  /** A clock to share, or parameters for a new SimClock (default: real time). */
  clock?: Clock | SimClockParameters;
  suite?: MeterSuiteName;
  legacyKey?: Uint8Array;
  kind?: LoadProfileKind;
  prosumerShare?: number;
  intervalSeconds?: number;
  capacity?: number;
  maxRecordsPerRead?: number;
  /** Simulated time the meters were installed (first interval); default: now. */
  installedAtMs?: number;
  /** Initial misbehaviour per meter id. */
  behaviours?: Record<number, MeterBehaviour>;
  /** Start the HTTP control API on this port (0 = a free one), on 127.0.0.1 whatever `host` is. */
  controlPort?: number;
  /** Bearer token the control API requires (default: 32 random bytes, hex; see `controlToken`). */
  controlToken?: string;
  /** Device signing keys (private keys) by meter id: the keys an installer commissioned on BlockPRI. */
  deviceKeys?: ReadonlyMap<number, string>;
  /**
   * Journal of accepted appliance commands (JSON lines): replayed at start, appended to on every
   * accepted command, so a restarted simulator serves the registers the commands made.
   */
  commandsFile?: string;
  /** Where the meters keep their acknowledged log positions across restarts (read at start, written every 2 s and on close). */
  acksFile?: string;
  /** Where refused control requests are reported (default: stderr, i.e. the simulator's log). */
  controlLog?: (line: string) => void;
  /** The last `count` meters speak DLMS instead of OSGP: all over one transport, or in turn wrapper, HDLC, UDP (mixed). */
  dlms?: { count: number; transport?: DlmsTransport | "mixed" };
}

/** What POST /meters/:id/binding takes: the binding to sign, minus the meter id, and the PPC domain. */
export interface MeterBindingRequest {
  consumer: string;
  nonce: string | number;
  expiry: number;
  chainId: string | number;
  ppc: string;
}

export interface MeterEndpoint {
  meterId: number;
  host: string;
  port: number;
  /** True when the client must send an address frame first (shared port). */
  addressed: boolean;
  /** The gateway adapter that reads it: "osgp-tcp", "dlms-wrapper" or "dlms-hdlc". */
  protocol: string;
}

export interface MeterSimulator {
  readonly host: string;
  /** The shared port, or the first per-meter port. */
  readonly port: number;
  readonly clock: Clock;
  readonly masterKey: Uint8Array;
  readonly meters: readonly SimulatedMeter[];
  /** URL of the control API when started with `controlPort`. */
  readonly controlUrl: string | undefined;
  /** The bearer token of the control API (undefined without `controlPort`). */
  readonly controlToken: string | undefined;
  meter(meterId: number): SimulatedMeter;
  endpoints(): MeterEndpoint[];
  setBehaviour(meterId: number, behaviour: MeterBehaviour): void;
  /**
   * Commands a controllable appliance of one meter's household from `atMs` on (default: the
   * simulator clock's now); returns the device's state in that minute.
   * @throws UnknownApplianceError, UnsupportedApplianceActionError, InvalidArgumentError, ApplianceCommandInPastError
   */
  commandAppliance(meterId: number, command: CommandApplianceParameters): ApplianceState;
  /** The controllable appliances of one meter's household at `atMs` (default: now). */
  appliances(meterId: number, atMs?: number): ApplianceState[];
  /** What the start replayed from `commandsFile` (undefined without one). */
  readonly replayed: ReplayCommandsReturnType | undefined;
  stats(): { meters: number; connections: number; requests: number };
  close(): Promise<void>;
}

/**
 * The development master key of a seed: SHA-256("sidegrid-sim-master-key:" + seed), first 16 bytes.
 * @example
 * simulatorMasterKey("demo").length // 16
 */
export function simulatorMasterKey(seed: string | number): Uint8Array {
  return new Uint8Array(createHash("sha256").update(`sidegrid-sim-master-key:${seed}`).digest().subarray(0, 16));
}

/**
 * Starts simulated Pi meters speaking OSGP over TCP.
 * @example
 * const sim = await startMeterSimulator({ count: 100, seed: "demo", clock: { speed: 900 } });
 * sim.endpoints()[0]; // { meterId: 1, host: "127.0.0.1", port: 40123, addressed: true }
 * await sim.close();
 */
export async function startMeterSimulator(params: StartMeterSimulatorParameters): Promise<MeterSimulator> {
  const { count } = params;
  if (!Number.isInteger(count) || count < 1 || count > 1_000_000) throw new InvalidArgumentError("count", count, "an integer in 1..1000000");
  const seed = params.seed ?? "sidegrid";
  const host = params.host ?? "127.0.0.1";
  const firstMeterId = params.firstMeterId ?? 1;
  const clock: Clock = params.clock && typeof (params.clock as Clock).now === "function" ? (params.clock as Clock) : new SimClock(params.clock as SimClockParameters | undefined);
  const masterKey = params.masterKey ?? simulatorMasterKey(seed);
  const meters: SimulatedMeter[] = [];
  const byId = new Map<number, SimulatedMeter>();
  const acked = params.acksFile ? readAcks(params.acksFile, firstMeterId, count) : undefined;
  const responseSeqs = params.acksFile ? readResponseSeqs(params.acksFile, firstMeterId, count) : undefined;
  for (let i = 0; i < count; i++) {
    const meterId = firstMeterId + i;
    const mp: SimulatedMeterParameters = { meterId, seed, clock, masterKey };
    if (acked && acked[i]! > 0) mp.ackedSeq = acked[i]!;
    if (responseSeqs?.[i] !== undefined) mp.responseSeqStart = responseSeqs[i]!;
    if (params.suite !== undefined) mp.suite = params.suite;
    if (params.legacyKey !== undefined) mp.legacyKey = params.legacyKey;
    if (params.kind !== undefined) mp.kind = params.kind;
    if (params.prosumerShare !== undefined) mp.prosumerShare = params.prosumerShare;
    if (params.intervalSeconds !== undefined) mp.intervalSeconds = params.intervalSeconds;
    if (params.capacity !== undefined) mp.capacity = params.capacity;
    if (params.maxRecordsPerRead !== undefined) mp.maxRecordsPerRead = params.maxRecordsPerRead;
    if (params.installedAtMs !== undefined) mp.installedAtMs = params.installedAtMs;
    const b = params.behaviours?.[meterId];
    if (b) mp.behaviour = b;
    const m = new SimulatedMeter(mp);
    meters.push(m);
    byId.set(meterId, m);
  }

  // Before any port listens: the meters' response-number reservations are on disk.
  const acks = params.acksFile ? keepAcks(params.acksFile, firstMeterId, () => meters.map((m) => m.acknowledged), 2000, () => meters.map((m) => m.nextResponseSeq)) : undefined;
  // Before any port listens: the first reading served already includes every journaled command.
  const replayed = params.commandsFile
    ? replayCommands(params.commandsFile, (id, c) => {
        const m = byId.get(id);
        if (!m) throw new InvalidArgumentError("meterId", id, "a meter this simulator runs");
        m.commandAppliance(c);
      })
    : undefined;

  const dlmsCount = params.dlms?.count ?? 0;
  if (!Number.isInteger(dlmsCount) || dlmsCount < 0 || dlmsCount > count) throw new InvalidArgumentError("dlms.count", dlmsCount, `an integer in 0..${count}`);
  const dlmsMeters = meters.slice(count - dlmsCount);
  const osgpMeters = meters.slice(0, count - dlmsCount);
  // A DLMS meter is not on the OSGP port: an address frame for it is refused like an unknown one.
  const osgpById = new Map(osgpMeters.map((m) => [m.meterId, m]));

  const sockets = new Set<net.Socket>();
  let requests = 0;
  const serve = (socket: net.Socket, fixed: SimulatedMeter | undefined) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    serveOsgpSocket(socket, { ...(fixed ? { fixed } : {}), lookup: (id) => osgpById.get(id), onRequest: () => requests++ });
  };

  const servers: net.Server[] = [];
  const listen = (port: number, meter: SimulatedMeter | undefined) =>
    new Promise<net.Server>((resolve, reject) => {
      const srv = net.createServer((s) => serve(s, meter));
      srv.once("error", reject);
      srv.listen({ port, host, backlog: 4096 }, () => {
        srv.off("error", reject);
        resolve(srv);
      });
    });

  let port = 0;
  const endpoints: MeterEndpoint[] = [];
  const dlmsServers: DlmsMeterServer[] = [];
  try {
    if (params.basePort !== undefined) {
      for (let i = 0; i < osgpMeters.length; i++) {
        servers.push(await listen(params.basePort + i, osgpMeters[i]));
        endpoints.push({ meterId: osgpMeters[i].meterId, host, port: params.basePort + i, addressed: false, protocol: "osgp-tcp" });
      }
      port = params.basePort;
    } else if (osgpMeters.length > 0) {
      const srv = await listen(params.port ?? 0, undefined);
      servers.push(srv);
      port = (srv.address() as net.AddressInfo).port;
      for (const m of osgpMeters) endpoints.push({ meterId: m.meterId, host, port, addressed: true, protocol: "osgp-tcp" });
    }
    for (const [j, m] of dlmsMeters.entries()) {
      const mode = params.dlms?.transport ?? "mixed";
      const transport: DlmsTransport = mode === "mixed" ? (["wrapper", "hdlc", "udp"] as const)[j % 3]! : mode;
      const at = params.basePort !== undefined ? params.basePort + osgpMeters.length + j : 0;
      const d = await startDlmsMeter({ meter: m, transport, host, port: at });
      dlmsServers.push(d);
      endpoints.push({ meterId: m.meterId, host, port: d.port, addressed: false, protocol: `dlms-${transport}` });
    }
    if (osgpMeters.length === 0) port = dlmsServers[0]!.port;
  } catch (e) {
    await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
    await Promise.all(dlmsServers.map((d) => d.close()));
    throw e;
  }

  const sim: MeterSimulator = {
    host,
    port,
    clock,
    masterKey,
    meters,
    controlUrl: undefined,
    controlToken: undefined,
    replayed,
    meter(meterId: number) {
      const m = byId.get(meterId);
      if (!m) throw new InvalidArgumentError("meterId", meterId, `a simulated meter id (${firstMeterId}..${firstMeterId + count - 1})`);
      return m;
    },
    endpoints: () => endpoints.map((e) => ({ ...e })),
    setBehaviour(meterId: number, behaviour: MeterBehaviour) {
      sim.meter(meterId).setBehaviour(behaviour);
    },
    commandAppliance(meterId, command) {
      const m = sim.meter(meterId);
      if (!params.commandsFile) return m.commandAppliance(command);
      // Resolved here so the journal holds the minute it acted from, not "now" of a later replay.
      const resolved = { ...command, atMs: command.atMs === undefined ? clock.now() : command.atMs };
      const state = m.commandAppliance(resolved);
      journalCommand(params.commandsFile, { meterId, command: resolved });
      return state;
    },
    appliances: (meterId, atMs) => sim.meter(meterId).appliances(atMs),
    stats: () => ({ meters: meters.length, connections: sockets.size, requests: requests + dlmsServers.reduce((n, d) => n + d.requests, 0) }),
    async close() {
      acks?.close();
      for (const s of sockets) s.destroy();
      await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
      await Promise.all(dlmsServers.map((d) => d.close()));
      if (control) await new Promise((r) => control!.close(r));
    },
  };


  let control: http.Server | undefined;
  if (params.controlPort !== undefined) {
    const token = params.controlToken ?? randomBytes(32).toString("hex");
    if (token.length < 16) throw new InvalidArgumentError("controlToken", "(hidden)", "at least 16 characters");
    const log = params.controlLog ?? ((line: string) => process.stderr.write(`${line}\n`));
    control = await startControlServer(sim, params.controlPort, { token, deviceKeys: params.deviceKeys ?? new Map(), log });
    Object.assign(sim, { controlUrl: `http://${CONTROL_HOST}:${(control.address() as net.AddressInfo).port}`, controlToken: token });
  }
  return sim;
}

const CONTROL_HOST = "127.0.0.1";

function tokenMatches(header: string | undefined, token: string): boolean {
  const m = /^Bearer (.+)$/.exec(header ?? "");
  if (!m) return false;
  const a = Buffer.from(m[1]!);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** The body of POST /meters/:id/appliances: a JSON object (its fields are checked by the meter). */
function parseCommand(body: string): CommandApplianceParameters {
  let v: unknown;
  try {
    v = JSON.parse(body);
  } catch {
    throw new InvalidArgumentError("body", body.slice(0, 80), "a JSON object { device, action, atMs?, energyWh?, durationMin? }");
  }
  if (typeof v !== "object" || v === null || Array.isArray(v)) throw new InvalidArgumentError("body", v, "a JSON object { device, action, atMs?, energyWh?, durationMin? }");
  return v as CommandApplianceParameters;
}

/**
 * Control API of a simulator process (JSON over HTTP, `Authorization: Bearer <token>` on every
 * request, 401 otherwise): GET /meters → statuses; GET /meters/:id → status; POST
 * /meters/:id/behaviour {MeterBehaviour}; POST /meters/:id/binding {MeterBindingRequest} →
 * {meterId, deviceKey, signature}; GET /clock → SimClock state; GET /meters/:id/appliances →
 * {meterId, atMs, appliances: ApplianceState[]}; POST /meters/:id/appliances
 * {device, action, atMs?, energyWh?, durationMin?} → ApplianceState (400 with a stable `code` for a
 * bad command, 409 APPLIANCE_COMMAND_IN_PAST for one before the latest served reading).
 */
function startControlServer(
  sim: MeterSimulator,
  port: number,
  auth: { token: string; deviceKeys: ReadonlyMap<number, string>; log: (line: string) => void },
): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { "content-type": "application/json", ...(status === 401 ? { "www-authenticate": "Bearer" } : {}) });
      res.end(JSON.stringify(body));
    };
    const url = new URL(req.url ?? "/", "http://x");
    if (!tokenMatches(req.headers.authorization, auth.token)) {
      // Visible in the simulator's log: someone asked for a household's registers without the token.
      auth.log(`control: refused ${req.method} ${url.pathname} from ${req.socket.remoteAddress ?? "?"}: ${req.headers.authorization ? "wrong" : "no"} bearer token`);
      req.resume();
      return send(401, { error: "unauthorized" });
    }
    const parts = url.pathname.split("/").filter(Boolean);
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      void (async () => {
        try {
          if (req.method === "GET" && parts.length === 1 && parts[0] === "meters") {
            const limit = Number(url.searchParams.get("limit") ?? 1000);
            return send(200, sim.meters.slice(0, limit).map((m) => m.status()));
          }
          if (req.method === "GET" && parts.length === 1 && parts[0] === "clock") {
            const c = sim.clock as SimClock;
            return send(200, { now: c.now(), ...(typeof c.state === "function" ? c.state() : {}) } as SimClockState & { now: number });
          }
          if (parts[0] === "meters" && parts.length >= 2) {
            const m = sim.meter(Number(parts[1]));
            if (req.method === "GET" && parts.length === 2) return send(200, m.status() satisfies SimulatedMeterStatus);
            if (req.method === "POST" && parts[2] === "behaviour") {
              m.setBehaviour(JSON.parse(body || "{}") as MeterBehaviour);
              return send(200, m.status());
            }
            if (parts[2] === "appliances" && parts.length === 3) {
              if (req.method === "GET") {
                const atMs = sim.clock.now();
                return send(200, { meterId: m.meterId, atMs, appliances: m.appliances(atMs) });
              }
              if (req.method === "POST") return send(200, sim.commandAppliance(m.meterId, parseCommand(body)) satisfies ApplianceState);
            }
            if (req.method === "POST" && parts[2] === "binding") {
              const key = auth.deviceKeys.get(m.meterId);
              if (!key) return send(404, { error: `meter ${m.meterId} has no device key` });
              const r = JSON.parse(body || "{}") as MeterBindingRequest;
              const device = new Wallet(key);
              const binding = { meterId: meterIdToBytes32(m.meterId), consumer: r.consumer, nonce: BigInt(r.nonce), expiry: Number(r.expiry) };
              const signature = await signMeterBinding({ signer: device, chainId: BigInt(r.chainId), ppc: r.ppc, binding });
              return send(200, { meterId: binding.meterId, deviceKey: device.address, signature });
            }
          }
          send(404, { error: "not found" });
        } catch (e) {
          if (isPiMeterError(e)) return send(e.code === "APPLIANCE_COMMAND_IN_PAST" ? 409 : 400, { error: e.shortMessage, code: e.code });
          send(400, { error: (e as Error).message });
        }
      })();
    });
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, CONTROL_HOST, () => resolve(server));
  });
}
