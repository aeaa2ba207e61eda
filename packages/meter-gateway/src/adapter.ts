// The adapter SPI: how the gateway talks to a meter, whatever its protocol. The gateway only ever
// sees MeterAdapter; the OSGP-over-TCP adapter is built in, DLMS/COSEM or G3-PLC adapters plug in
// through an AdapterRegistry (README "Writing an adapter").
import type { MeterReading } from "@sidegrid/osgp-codec";
import type { Clock } from "@sidegrid/pi-meter";
import { UnknownAdapterError } from "./errors";

/**
 * A reading in the gateway's protocol-neutral shape: the codec's MeterReading fields (Wh, W, V,
 * A, Hz, status flags) plus what the pipeline needs to store and prove it.
 */
export interface NormalizedReading extends MeterReading {
  /** Length of the interval the reading closes (ms); 0 for instantaneous values. */
  intervalMs: number;
  /** The meter's own encoding of the reading (OSGP: the 144-byte ET160 record). */
  raw: Uint8Array;
  /** Names the `raw` encoding, e.g. "osgp-et160-v1" or "dlms-profile-generic-v1". */
  rawFormat: string;
}

/** What to read. `log`: unacknowledged interval records, oldest first; `instantaneous`: now. */
export type ReadingSpec = { kind: "log"; maxRecords?: number } | { kind: "instantaneous" };

export interface LogReadResult {
  kind: "log";
  readings: NormalizedReading[];
  /** The meter's newest reading sequence number. */
  newestSeq: number;
  /** What the meter believes was acknowledged last. */
  ackedSeq: number;
  /** The meter's clock when it answered (Unix ms). */
  meterClockMs: number;
  intervalMs: number;
}

export interface InstantaneousReadResult {
  kind: "instantaneous";
  reading: NormalizedReading;
  meterClockMs: number;
}

export type ReadResult = LogReadResult | InstantaneousReadResult;

export interface MeterIdentity {
  meterId: number;
  protocol: string;
  /** Where the meter is reached, e.g. "tcp://127.0.0.1:4059#42". */
  endpoint: string;
  manufacturer?: string;
  model?: string;
  serial?: string;
  firmware?: string;
}

export interface MeterCapabilities {
  loadProfile: boolean;
  instantaneous: boolean;
  /** The meter keeps unacknowledged records until `acknowledge`. */
  acknowledge: boolean;
  maxRecordsPerRead: number;
  /** Security suite in use ("aes-gcm", "legacy-rc4-mep", "dlms-hls-gmac", ...). */
  security: string;
  /** The suite is known broken; such meters are read only when configured as legacy. */
  insecure: boolean;
}

/** One meter, one protocol. Calls are made one at a time per adapter instance. */
export interface MeterAdapter {
  readonly identity: MeterIdentity;
  readonly capabilities: MeterCapabilities;
  /** Opens the link and learns the identity; idempotent. */
  connect(): Promise<void>;
  read(spec: { kind: "log"; maxRecords?: number }): Promise<LogReadResult>;
  read(spec: { kind: "instantaneous" }): Promise<InstantaneousReadResult>;
  read(spec: ReadingSpec): Promise<ReadResult>;
  /** Tells the meter everything up to `sequence` is stored (called after the outbox commit). */
  acknowledge(sequence: number): Promise<void>;
  close(): Promise<void>;
  /** Protocol state the gateway persists with each ingest commit (sequence counters...). */
  state(): Record<string, unknown>;
}

/** How a meter is configured in the gateway. */
export interface MeterConfig {
  meterId: number;
  /** Adapter protocol name ("osgp-tcp"). */
  protocol: string;
  host: string;
  port: number;
  /** Shared simulator/concentrator port: send an address frame first. */
  addressed?: boolean;
  /** Poll interval (ms); the gateway default applies when absent. */
  pollIntervalMs?: number;
  /** Allow a known-broken security suite for this meter. */
  legacy?: boolean;
  /** Protocol-specific settings (keys, suite...). */
  options?: Record<string, unknown>;
}

/** What the gateway hands an adapter. */
export interface AdapterContext {
  /** State from the previous run (`MeterAdapter.state()` as last persisted), or null. */
  initialState: Record<string, unknown> | null;
  /** Writes state immediately (write-ahead, e.g. before using reserved sequence numbers). */
  persist(state: Record<string, unknown>): Promise<void>;
  timeoutMs: number;
  clock: Clock;
}

export interface MeterAdapterFactory {
  readonly protocol: string;
  create(meter: MeterConfig, context: AdapterContext): MeterAdapter;
}

/**
 * Adapter factories by protocol name.
 * @example
 * const registry = new AdapterRegistry([osgpTcpAdapterFactory({ masterKey })]);
 * registry.register(myDlmsFactory);
 * const adapter = registry.create(meterConfig, context);
 */
export class AdapterRegistry {
  private readonly factories = new Map<string, MeterAdapterFactory>();

  constructor(factories: readonly MeterAdapterFactory[] = []) {
    for (const f of factories) this.register(f);
  }

  register(factory: MeterAdapterFactory): void {
    this.factories.set(factory.protocol, factory);
  }

  protocols(): string[] {
    return [...this.factories.keys()];
  }

  create(meter: MeterConfig, context: AdapterContext): MeterAdapter {
    const f = this.factories.get(meter.protocol);
    if (!f) throw new UnknownAdapterError(meter.protocol, this.protocols());
    return f.create(meter, context);
  }
}
