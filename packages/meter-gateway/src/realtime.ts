// Real-time grid aggregates. Every accepted reading feeds these totals, whether or not its consumer
// permits storage: the paper lets a utility monitor in real time for grid control without storing.
// Nothing here is persisted and nothing is per consumer: only sums over all meters per interval.

export interface GridPeriod {
  start: number;
  intervalMs: number;
  meters: number;
  importWh: number;
  exportWh: number;
  meanImportW: number;
  meanExportW: number;
}

export interface GridSnapshot {
  periods: GridPeriod[];
  instantaneous: { meters: number; netPowerW: number; at: number };
}

/**
 * Sums of energy per interval over all meters, plus the latest instantaneous net power.
 * @example
 * grid.addInterval(start, 900_000, 120, 0); grid.snapshot().periods[0].importWh
 */
export class GridAggregator {
  private readonly periods = new Map<number, GridPeriod>();
  private readonly instant = new Map<number, number>();
  private instantAt = 0;

  constructor(private readonly keep = 96) {}

  addInterval(start: number, intervalMs: number, importWh: number, exportWh: number): void {
    let p = this.periods.get(start);
    if (!p) {
      p = { start, intervalMs, meters: 0, importWh: 0, exportWh: 0, meanImportW: 0, meanExportW: 0 };
      this.periods.set(start, p);
      if (this.periods.size > this.keep) {
        const oldest = Math.min(...this.periods.keys());
        this.periods.delete(oldest);
      }
    }
    p.meters++;
    p.importWh += importWh;
    p.exportWh += exportWh;
    p.meanImportW = (p.importWh * 3_600_000) / intervalMs;
    p.meanExportW = (p.exportWh * 3_600_000) / intervalMs;
  }

  addInstantaneous(meterId: number, netPowerW: number, at: number): void {
    this.instant.set(meterId, netPowerW);
    this.instantAt = Math.max(this.instantAt, at);
  }

  snapshot(): GridSnapshot {
    let net = 0;
    for (const w of this.instant.values()) net += w;
    return {
      periods: [...this.periods.values()].sort((a, b) => b.start - a.start).map((p) => ({ ...p })),
      instantaneous: { meters: this.instant.size, netPowerW: net, at: this.instantAt },
    };
  }
}
