// The Pi agent's own log, in LevelDB so it survives a power cut: the meter's interval records
// (15-minute rows, numbered by the agent in device-time order) and its 1-minute electrical
// variables, each kept once per device time however often the meter is read (seed 002's meters
// logged every minute and deduplicated by the device's own clock). Unacknowledged records are
// also held in memory so the OSGP answers stay synchronous.
import { Level } from "level";
import { READING_RECORD_SIZE, decodeReadingRecord, encodeReadingRecord, type MeterReading } from "@sidegrid/osgp-codec";
import { LogError } from "./errors";

/** One minute's electrical variables as the meter reported them (seed 002: V, I, f, PF, P, Q). */
export interface ElectricalVariables {
  /** Device time, at the start of the minute. */
  clockMs: number;
  voltageV: number;
  currentA: number;
  frequencyHz: number;
  powerFactor: number;
  activePowerW: number;
  reactivePowerVar: number;
}

export interface AgentLogParameters {
  dir: string;
  /** Interval records kept (default 2,880: 30 days of 15-minute rows); older acknowledged ones are pruned. */
  capacity?: number;
  /** Minutes of electrical variables kept (default 10,080: a week). */
  variablesKept?: number;
}

export interface AgentLogStats {
  newestSeq: number;
  ackedSeq: number;
  /** Interval records stored, and rows read again for a device time already stored. */
  records: number;
  duplicateRecords: number;
  variables: number;
  duplicateVariables: number;
}

const pad = (n: number, w: number) => Math.max(0, Math.floor(n)).toString().padStart(w, "0");
const SEQ = (s: number) => `r:${pad(s, 10)}`;
const TIME = (ms: number) => `t:${pad(ms, 15)}`;
const VAR = (ms: number) => `v:${pad(ms, 15)}`;

/**
 * @example
 * const log = await AgentLog.open({ dir: "/var/lib/sidegrid-pi" });
 * await log.addRecords(rows); // numbered newestSeq+1..., a device time already stored is skipped
 * log.unacknowledged(64);     // 144-byte ET160 records for the gateway's ET161 read
 */
export class AgentLog {
  private newest = 0;
  private acked = 0;
  private readonly pending = new Map<number, Uint8Array>();
  private lastClock: number | null = null;
  private lastEnergies: MeterReading | null = null;
  private counts = { records: 0, duplicateRecords: 0, variables: 0, duplicateVariables: 0 };
  private writes: Promise<unknown> = Promise.resolve();
  private readonly capacity: number;
  private readonly variablesKept: number;

  private constructor(
    private readonly db: Level<string, string>,
    p: AgentLogParameters,
  ) {
    this.capacity = p.capacity ?? 2880;
    this.variablesKept = p.variablesKept ?? 10_080;
  }

  static async open(p: AgentLogParameters): Promise<AgentLog> {
    const db = new Level<string, string>(p.dir, { valueEncoding: "utf8" });
    try {
      await db.open();
    } catch (e) {
      throw new LogError(`cannot open ${p.dir}`, { cause: e });
    }
    const log = new AgentLog(db, p);
    log.newest = Number((await db.get("m:newest")) ?? 0);
    log.acked = Number((await db.get("m:acked")) ?? 0);
    for await (const [, v] of db.iterator({ gt: SEQ(log.acked), lte: SEQ(log.newest) })) {
      const bytes = Buffer.from(v, "hex");
      const r = decodeReadingRecord(bytes);
      log.pending.set(r.sequence, new Uint8Array(bytes));
    }
    const last = await db.get(SEQ(log.newest));
    if (last !== undefined) {
      log.lastEnergies = decodeReadingRecord(Buffer.from(last, "hex"));
      log.lastClock = log.lastEnergies.clockMs;
    }
    for await (const _ of db.keys({ gte: "r:", lt: "r;" })) log.counts.records++;
    for await (const _ of db.keys({ gte: "v:", lt: "v;" })) log.counts.variables++;
    return log;
  }

  get newestSeq(): number {
    return this.newest;
  }

  get ackedSeq(): number {
    return this.acked;
  }

  /** Device time of the newest interval record, null before the first. */
  get lastRecordClockMs(): number | null {
    return this.lastClock;
  }

  /** The newest record (its energies are the baseline for the next row's mean power). */
  get lastRecord(): MeterReading | null {
    return this.lastEnergies;
  }

  stats(): AgentLogStats {
    return { newestSeq: this.newest, ackedSeq: this.acked, ...this.counts };
  }

  /**
   * Stores interval rows not stored before (by device time), oldest first, numbering them after the
   * newest. Returns how many were new.
   */
  addRecords(rows: readonly MeterReading[]): Promise<number> {
    return this.serial(async () => {
      const sorted = [...rows].sort((a, b) => a.clockMs - b.clockMs);
      const batch = this.db.batch();
      let added = 0;
      let newest = this.newest;
      const fresh: [number, Uint8Array][] = [];
      for (const r of sorted) {
        if ((this.lastClock !== null && r.clockMs <= this.lastClock) || (await this.db.get(TIME(r.clockMs))) !== undefined) {
          this.counts.duplicateRecords++;
          continue;
        }
        const seq = ++newest;
        const bytes = encodeReadingRecord({ ...r, sequence: seq });
        batch.put(SEQ(seq), Buffer.from(bytes).toString("hex"));
        batch.put(TIME(r.clockMs), String(seq));
        fresh.push([seq, bytes]);
        added++;
        this.lastClock = r.clockMs;
        this.lastEnergies = { ...r, sequence: seq };
      }
      if (added === 0) return 0;
      batch.put("m:newest", String(newest));
      // A ring: the oldest records go once more than `capacity` are held, acknowledged or not
      // (the gateway sees the jump in sequence numbers as a gap, as with a real meter).
      for (let s = Math.max(1, this.newest - this.capacity + 1); s <= newest - this.capacity; s++) batch.del(SEQ(s));
      try {
        await batch.write();
      } catch (e) {
        throw new LogError("writing interval records failed", { cause: e });
      }
      this.newest = newest;
      for (const [seq, bytes] of fresh) this.pending.set(seq, bytes);
      for (const seq of this.pending.keys()) if (seq <= newest - this.capacity) this.pending.delete(seq);
      this.counts.records += added;
      return added;
    });
  }

  /** Stores one minute's variables unless that device minute is stored already; true when new. */
  addVariables(v: ElectricalVariables): Promise<boolean> {
    return this.serial(async () => {
      const minute = Math.floor(v.clockMs / 60_000) * 60_000;
      if ((await this.db.get(VAR(minute))) !== undefined) {
        this.counts.duplicateVariables++;
        return false;
      }
      const batch = this.db.batch().put(VAR(minute), JSON.stringify({ ...v, clockMs: minute }));
      batch.del(VAR(minute - this.variablesKept * 60_000));
      await batch.write();
      this.counts.variables++;
      return true;
    });
  }

  /** Variables with device time in [fromMs, toMs], oldest first. */
  async variables(fromMs: number, toMs: number): Promise<ElectricalVariables[]> {
    const out: ElectricalVariables[] = [];
    for await (const v of this.db.values({ gte: VAR(fromMs), lte: VAR(toMs) })) out.push(JSON.parse(v) as ElectricalVariables);
    return out;
  }

  /** Up to `limit` records after the acknowledged one, oldest first (ET160 bytes). */
  unacknowledged(limit: number): Uint8Array[] {
    const out: Uint8Array[] = [];
    for (let s = this.acked + 1; s <= this.newest && out.length < limit; s++) {
      const r = this.pending.get(s);
      if (r) out.push(r);
    }
    return out;
  }

  /** Every stored interval record, decoded (tests and `sidegrid-pi-meter log`). */
  async records(): Promise<MeterReading[]> {
    const out: MeterReading[] = [];
    for await (const v of this.db.values({ gte: "r:", lt: "r;" })) {
      const bytes = Buffer.from(v, "hex");
      if (bytes.length !== READING_RECORD_SIZE) throw new LogError(`a stored record of ${bytes.length} bytes`);
      out.push(decodeReadingRecord(bytes));
    }
    return out;
  }

  /**
   * The gateway stored everything up to `seq`. Synchronous for the OSGP answer; the write follows in
   * order (a crash before it only makes the gateway read those records again, which it ignores).
   */
  acknowledge(seq: number): boolean {
    if (!Number.isInteger(seq) || seq < 0 || seq > this.newest) return false;
    if (seq <= this.acked) return true;
    for (let s = this.acked + 1; s <= seq; s++) this.pending.delete(s);
    this.acked = seq;
    void this.serial(() => this.db.put("m:acked", String(seq))).catch(() => undefined);
    return true;
  }

  /** Reads and writes one value of the agent's own state (e.g. its response counter reservation). */
  async getMeta(name: string): Promise<string | undefined> {
    return this.db.get(`m:${name}`);
  }

  putMeta(name: string, value: string): Promise<void> {
    return this.serial(() => this.db.put(`m:${name}`, value));
  }

  async close(): Promise<void> {
    await this.writes.catch(() => undefined);
    await this.db.close();
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.writes.then(fn, fn);
    this.writes = run.catch(() => undefined);
    return run;
  }
}
