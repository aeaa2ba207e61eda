// What both ends that read a DLMS meter need beyond GET: the meter's identity, its clock, the load
// profile's period, columns and scalers (learned once per association), load-profile rows between
// two times as readings, and the instantaneous registers as one reading. The gateway's DLMS
// adapter and the Pi agent read a meter through this one class.
import type { MeterReading } from "@sidegrid/osgp-codec";
import type { DlmsData } from "../axdr";
import { decodeDateTime } from "../axdr";
import { MeterProtocolError } from "../errors";
import { decodeProfileBuffer } from "../push";
import type { DlmsClient } from "./client";
import { CLASS, ENERGY, INSTANTANEOUS, OBJECTS, cosemToMs, rangeSelection, readingFromRegisters, type RegisterObject } from "./objects";

/** Energy registers at a row: what the next row's mean power is computed against. */
export interface EnergyBaseline {
  importWh: number;
  exportWh: number;
  reactiveImportVarh: number;
  reactiveExportVarh: number;
}

export interface ProfileRow {
  /** Device time at the end of the interval. */
  clockMs: number;
  /** Interval index: round(clockMs / interval). */
  index: number;
  energies: EnergyBaseline;
  /** The row as a reading (sequence = index); mean power from the previous row when there is one. */
  reading: MeterReading;
}

/**
 * Reads one DLMS meter over an associated {@link DlmsClient}.
 * @example
 * const reader = new DlmsMeterReader(meterId, client);
 * await reader.prepare();
 * const rows = await reader.profile(fromMs, toMs);
 */
export class DlmsMeterReader {
  /** Load-profile capture period (ms), 0 until {@link prepare}. */
  intervalMs = 0;
  serial: string | undefined;
  manufacturer: string | undefined;
  private scalers: Record<string, { scaler: number; unit: number }> = {};
  private captureColumns: DlmsData | null = null;

  constructor(
    readonly meterId: number,
    readonly client: DlmsClient,
  ) {}

  /** Associates if needed, and on first contact learns identity, period, columns and scalers. */
  async prepare(): Promise<void> {
    if (!this.client.isAssociated) await this.client.associate();
    if (this.serial === undefined) {
      this.serial = text(await this.client.get({ classId: CLASS.data, obis: OBJECTS.serial, attribute: 2 }));
      const name = await this.client.get({ classId: CLASS.data, obis: OBJECTS.logicalDeviceName, attribute: 2 }).catch(() => undefined);
      if (name) this.manufacturer = text(name).slice(0, 3);
    }
    if (this.intervalMs === 0) {
      const period = await this.client.get({ classId: CLASS.profileGeneric, obis: OBJECTS.loadProfile, attribute: 4 });
      const seconds = Number((period as { value?: unknown }).value);
      if (!Number.isInteger(seconds) || seconds < 60) throw new MeterProtocolError(this.meterId, `load profile capture period ${seconds} s`);
      this.captureColumns = await this.client.get({ classId: CLASS.profileGeneric, obis: OBJECTS.loadProfile, attribute: 3 });
      for (const reg of [...Object.values(ENERGY), ...Object.values(INSTANTANEOUS)] as RegisterObject[]) {
        try {
          const su = await this.client.get({ classId: CLASS.register, obis: reg.obis, attribute: 3 });
          if (su.type === "structure" && su.value.length === 2) this.scalers[reg.obis] = { scaler: Number((su.value[0] as { value: number }).value), unit: Number((su.value[1] as { value: number }).value) };
        } catch {
          /* a register the meter does not have */
        }
      }
      this.intervalMs = seconds * 1000;
    }
  }

  /** The meter's clock (Unix ms). */
  async clock(): Promise<number> {
    const d = await this.client.get({ classId: CLASS.clock, obis: OBJECTS.clock, attribute: 2 });
    const ms = d.type === "octet-string" && d.value.length === 12 ? cosemToMs(decodeDateTime(d.value)) : null;
    if (ms === null) throw new MeterProtocolError(this.meterId, "the clock attribute is not a specified date-time");
    return ms;
  }

  /**
   * Load-profile rows captured in [fromMs, toMs], oldest first. A row at or before `after` only
   * sets the baseline (its energies) for the next row's mean power.
   */
  async profile(fromMs: number, toMs: number, opts: { baseline?: EnergyBaseline | null; after?: number } = {}): Promise<{ rows: ProfileRow[]; baseline: EnergyBaseline | null }> {
    const interval = this.intervalMs;
    const buffer = await this.client.get({ classId: CLASS.profileGeneric, obis: OBJECTS.loadProfile, attribute: 2 }, rangeSelection(fromMs, toMs));
    let baseline = opts.baseline ?? null;
    const out: ProfileRow[] = [];
    for (const row of decodeProfileBuffer(buffer, this.captureColumns ?? [], this.scalers)) {
      const clock = row[OBJECTS.clock]?.value;
      const rowMs = typeof clock === "string" ? Date.parse(clock) : NaN;
      if (!Number.isFinite(rowMs)) throw new MeterProtocolError(this.meterId, `load profile row without a valid clock (${String(clock)})`);
      const index = Math.round(rowMs / interval);
      const values = numbers(row);
      const energies = { importWh: values[ENERGY.importWh.obis] ?? 0, exportWh: values[ENERGY.exportWh.obis] ?? 0, reactiveImportVarh: values[ENERGY.reactiveImportVarh.obis] ?? 0, reactiveExportVarh: values[ENERGY.reactiveExportVarh.obis] ?? 0 };
      if (opts.after !== undefined && index <= opts.after) {
        baseline = energies;
        continue;
      }
      const status = Number(row[OBJECTS.profileStatus]?.value ?? 0);
      const reading = readingFromRegisters({ meterId: this.meterId, sequence: index, clockMs: rowMs, values, intervalMs: interval, ...(baseline ? { previous: baseline } : {}), clockInvalid: (status & 0x02) !== 0 });
      out.push({ clockMs: rowMs, index, energies, reading });
      baseline = energies;
    }
    return { rows: out, baseline };
  }

  /** The energy and instantaneous registers now, as one reading (sequence as given). */
  async instantaneous(sequence: number): Promise<{ clockMs: number; reading: MeterReading; values: Record<string, number> }> {
    const clockMs = await this.clock();
    const values: Record<string, number> = {};
    for (const reg of [...Object.values(ENERGY), ...Object.values(INSTANTANEOUS)] as RegisterObject[]) {
      if (!this.scalers[reg.obis]) continue;
      const d = await this.client.get({ classId: CLASS.register, obis: reg.obis, attribute: 2 });
      const raw = Number((d as { value?: unknown }).value);
      if (Number.isFinite(raw)) values[reg.obis] = raw * 10 ** this.scalers[reg.obis]!.scaler;
    }
    return { clockMs, reading: readingFromRegisters({ meterId: this.meterId, sequence, clockMs, values, intervalMs: 0 }), values };
  }
}

function text(d: DlmsData): string {
  if (d.type === "visible-string" || d.type === "utf8-string") return d.value;
  if (d.type === "octet-string") return new TextDecoder().decode(d.value).replace(/\0+$/, "");
  return String((d as { value?: unknown }).value ?? "");
}

function numbers(row: Record<string, { value: number | string | null }>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [obis, r] of Object.entries(row)) if (typeof r.value === "number") out[obis] = r.value;
  return out;
}
