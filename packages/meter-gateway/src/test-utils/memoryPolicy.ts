// A PolicySource held in memory, for unit tests of the pipeline that do not need a chain. The
// end-to-end tests use the BlockSEC PolicyMirror instead.
import type { MeterBinding, PolicyChange, PolicySource } from "../policy";
import { Resolution, type Category } from "../resolution";

export class MemoryPolicySource implements PolicySource {
  readonly bindings = new Map<number, MeterBinding>();
  /** consumer (lower) → utility (lower) → finest permitted consumption resolution. */
  readonly grants = new Map<string, Map<string, Resolution>>();
  /** "consumer|utility" (lower) of households that let the utility monitor their trades. */
  readonly trades = new Set<string>();
  calls = 0;
  private readonly listeners = new Set<(c: PolicyChange) => void>();

  bind(meterId: number, binding: MeterBinding): void {
    this.bindings.set(meterId, binding);
    this.emit({ consumers: [binding.consumer] });
  }

  grant(consumer: string, utility: string, resolution: Resolution): void {
    const k = consumer.toLowerCase();
    if (!this.grants.has(k)) this.grants.set(k, new Map());
    this.grants.get(k)!.set(utility.toLowerCase(), resolution);
    this.emit({ consumers: [consumer] });
  }

  allowTrades(consumer: string, utility: string, allowed: boolean): void {
    const k = `${consumer.toLowerCase()}|${utility.toLowerCase()}`;
    if (allowed) this.trades.add(k);
    else this.trades.delete(k);
    this.emit({ consumers: [consumer] });
  }

  async bindingOfMeter(meterId: number): Promise<MeterBinding | null> {
    this.calls++;
    return this.bindings.get(meterId) ?? null;
  }

  async isPermitted(consumer: string, utility: string, category: Category, resolution: Resolution): Promise<boolean> {
    this.calls++;
    if (category === 1) return resolution === Resolution.NONE && this.trades.has(`${consumer.toLowerCase()}|${utility.toLowerCase()}`);
    if (category !== 0 || resolution === Resolution.NONE) return false;
    const r = this.grants.get(consumer.toLowerCase())?.get(utility.toLowerCase()) ?? Resolution.NONE;
    return resolution <= r;
  }

  subscribe(onChange: (c: PolicyChange) => void): () => void {
    this.listeners.add(onChange);
    return () => this.listeners.delete(onChange);
  }

  private emit(c: PolicyChange): void {
    for (const l of this.listeners) l(c);
  }
}
