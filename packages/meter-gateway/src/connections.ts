// The gateway's meter adapters, with a bound on how many stay connected. An adapter holds its meter's
// connection (a TCP socket, a DLMS association) between polls, which saves a connect and an
// identification per poll; a fleet of 100,000 meters kept that many sockets open and the gateway ran
// out of file descriptors (EMFILE) near 20,000. Past `maxOpen`, the adapters polled least recently
// are closed and dropped; the next poll of such a meter builds a new one from its persisted state.
import type { MeterAdapter } from "./adapter";

export interface AdapterPoolOptions {
  /** Adapters kept between polls (default 1,000). */
  maxOpen?: number;
  /** Meters whose adapter must stay open whatever its age (push listeners). */
  pinned?: (meterId: number) => boolean;
}

/**
 * Adapters by meter, least recently used closed past the bound.
 * @example
 * const pool = new AdapterPool((id) => registry.create(meterOf(id), ctx), { maxOpen: 1000 });
 * const a = await pool.get(7); ... pool.release(7, (id) => polling.has(id));
 */
export class AdapterPool {
  private readonly adapters = new Map<number, Promise<MeterAdapter>>();
  /** Meters in the order their adapter was last used (oldest first). */
  private readonly recent = new Map<number, true>();
  private readonly maxOpen: number;
  /** Adapters closed to stay within the bound. */
  evicted = 0;

  constructor(
    private readonly create: (meterId: number) => Promise<MeterAdapter>,
    private readonly options: AdapterPoolOptions = {},
  ) {
    this.maxOpen = Math.max(1, options.maxOpen ?? 1000);
  }

  get size(): number {
    return this.adapters.size;
  }

  get(meterId: number): Promise<MeterAdapter> {
    let a = this.adapters.get(meterId);
    if (!a) {
      a = this.create(meterId);
      const made = a;
      a.catch(() => this.adapters.get(meterId) === made && this.adapters.delete(meterId));
      this.adapters.set(meterId, a);
    }
    this.recent.delete(meterId);
    this.recent.set(meterId, true);
    return a;
  }

  /** After a poll: closes the least recently used adapters past the bound, except those `busy` (a poll of theirs is running or queued). */
  release(meterId: number, busy: (meterId: number) => boolean): void {
    this.recent.delete(meterId);
    this.recent.set(meterId, true);
    if (this.adapters.size <= this.maxOpen) return;
    for (const id of this.recent.keys()) {
      if (this.adapters.size <= this.maxOpen) break;
      if (busy(id) || this.options.pinned?.(id)) continue;
      const a = this.adapters.get(id);
      this.recent.delete(id);
      this.adapters.delete(id);
      this.evicted++;
      void a?.then((x) => x.close()).catch(() => undefined);
    }
  }

  async closeAll(): Promise<void> {
    const all = [...this.adapters.values()];
    this.adapters.clear();
    this.recent.clear();
    for (const a of all) await (await a.catch(() => undefined))?.close();
  }
}
