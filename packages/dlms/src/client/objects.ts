// The COSEM objects a Sidegrid DLMS front end reads, and the conversions both its ends share:
// OBIS codes with their interface class and unit, COSEM date-time <-> Unix ms (UTC), the range
// selector of a load profile read, and the mapping of register values to the gateway's reading.
import { type AccessSelection } from "../apduTypes";
import { encodeDateTime, type CosemDateTime, type DlmsData } from "../axdr";
import type { MeterReading } from "@sidegrid/osgp-codec";

/** Interface classes (IEC 62056-6-2). */
export const CLASS = { data: 1, register: 3, profileGeneric: 7, clock: 8 } as const;

/** DLMS unit enumeration codes used here. */
export const UNIT = { W: 27, var: 29, Wh: 30, varh: 32, A: 33, V: 35, Hz: 44, none: 255 } as const;

export interface RegisterObject {
  obis: string;
  /** Power of ten the raw integer is multiplied by. */
  scaler: number;
  unit: number;
}

/** Energy registers (class 3), cumulative. */
export const ENERGY = {
  importWh: { obis: "1.0.1.8.0.255", scaler: 0, unit: UNIT.Wh },
  exportWh: { obis: "1.0.2.8.0.255", scaler: 0, unit: UNIT.Wh },
  reactiveImportVarh: { obis: "1.0.3.8.0.255", scaler: 0, unit: UNIT.varh },
  reactiveExportVarh: { obis: "1.0.4.8.0.255", scaler: 0, unit: UNIT.varh },
} as const satisfies Record<string, RegisterObject>;

/** Instantaneous registers (class 3): the electrical variables. */
export const INSTANTANEOUS = {
  activePowerImportW: { obis: "1.0.1.7.0.255", scaler: 0, unit: UNIT.W },
  activePowerExportW: { obis: "1.0.2.7.0.255", scaler: 0, unit: UNIT.W },
  reactivePowerImportVar: { obis: "1.0.3.7.0.255", scaler: 0, unit: UNIT.var },
  reactivePowerExportVar: { obis: "1.0.4.7.0.255", scaler: 0, unit: UNIT.var },
  voltageV: { obis: "1.0.32.7.0.255", scaler: -1, unit: UNIT.V },
  currentA: { obis: "1.0.31.7.0.255", scaler: -2, unit: UNIT.A },
  frequencyHz: { obis: "1.0.14.7.0.255", scaler: -2, unit: UNIT.Hz },
  powerFactor: { obis: "1.0.13.7.0.255", scaler: -3, unit: UNIT.none },
} as const satisfies Record<string, RegisterObject>;

export const OBJECTS = {
  clock: "0.0.1.0.0.255",
  serial: "0.0.96.1.0.255",
  logicalDeviceName: "0.0.42.0.0.255",
  /** Load profile 1: the 15-minute (capture period) table. */
  loadProfile: "1.0.99.1.0.255",
  /** Profile status (IDIS/DSMR bits: 1 clock invalid, 2 data not valid, 7 power down). */
  profileStatus: "0.0.96.10.1.255",
} as const;

/** Columns of the load profile as the simulated meter captures them (clock first, as IDIS does). */
export const LOAD_PROFILE_COLUMNS: readonly { classId: number; obis: string }[] = [
  { classId: CLASS.clock, obis: OBJECTS.clock },
  { classId: CLASS.data, obis: OBJECTS.profileStatus },
  ...Object.values(ENERGY).map((r) => ({ classId: CLASS.register, obis: r.obis })),
  { classId: CLASS.register, obis: INSTANTANEOUS.voltageV.obis },
  { classId: CLASS.register, obis: INSTANTANEOUS.frequencyHz.obis },
];

/** A UTC COSEM date-time for Unix ms (deviation 0, clock status OK). */
export function cosemDateTime(ms: number): CosemDateTime {
  const d = new Date(ms);
  return {
    year: d.getUTCFullYear(),
    month: d.getUTCMonth() + 1,
    dayOfMonth: d.getUTCDate(),
    dayOfWeek: ((d.getUTCDay() + 6) % 7) + 1,
    hour: d.getUTCHours(),
    minute: d.getUTCMinutes(),
    second: d.getUTCSeconds(),
    hundredths: Math.floor(d.getUTCMilliseconds() / 10),
    deviation: 0,
    clockStatus: 0,
  };
}

/** Unix ms of a COSEM date-time (UTC = local + deviation); null when a field is not specified. */
export function cosemToMs(dt: CosemDateTime): number | null {
  const { year, month, dayOfMonth, hour, minute, second } = dt;
  if (year === null || month === null || dayOfMonth === null || hour === null || minute === null || second === null) return null;
  return Date.UTC(year, month - 1, dayOfMonth, hour, minute, second, (dt.hundredths ?? 0) * 10) + (dt.deviation ?? 0) * 60_000;
}

export function dateTimeData(ms: number): DlmsData {
  return { type: "octet-string", value: encodeDateTime(cosemDateTime(ms)) };
}

/** Selective access by range on the clock column (selector 1), from and to inclusive. */
export function rangeSelection(fromMs: number, toMs: number): AccessSelection {
  return {
    selector: 1,
    parameters: {
      type: "structure",
      value: [
        {
          type: "structure",
          value: [
            { type: "long-unsigned", value: CLASS.clock },
            { type: "octet-string", value: obisBytes(OBJECTS.clock) },
            { type: "integer", value: 2 },
            { type: "long-unsigned", value: 0 },
          ],
        },
        dateTimeData(fromMs),
        dateTimeData(toMs),
        { type: "array", value: [] },
      ],
    },
  };
}

export function obisBytes(obis: string): Uint8Array {
  return Uint8Array.from(obis.split(".").map(Number));
}

/**
 * The gateway's reading from DLMS register values (physical units, by OBIS). Mean active power
 * over the interval comes from the energy registers' change since `previous` when there is one
 * (a load profile row carries energies, not power); otherwise from the instantaneous registers.
 */
export function readingFromRegisters(p: {
  meterId: number;
  sequence: number;
  clockMs: number;
  values: Readonly<Record<string, number>>;
  intervalMs: number;
  previous?: { importWh: number; exportWh: number; reactiveImportVarh: number; reactiveExportVarh: number };
  clockInvalid?: boolean;
}): MeterReading {
  const v = (o: RegisterObject) => p.values[o.obis] ?? 0;
  const importWh = v(ENERGY.importWh);
  const exportWh = v(ENERGY.exportWh);
  const rImport = v(ENERGY.reactiveImportVarh);
  const rExport = v(ENERGY.reactiveExportVarh);
  const perHour = p.intervalMs > 0 ? 3_600_000 / p.intervalMs : 0;
  const fromDelta = p.previous !== undefined && perHour > 0;
  const activePowerW = fromDelta ? (importWh - p.previous!.importWh - (exportWh - p.previous!.exportWh)) * perHour : v(INSTANTANEOUS.activePowerImportW) - v(INSTANTANEOUS.activePowerExportW);
  const reactivePowerVar = fromDelta
    ? (rImport - p.previous!.reactiveImportVarh - (rExport - p.previous!.reactiveExportVarh)) * perHour
    : v(INSTANTANEOUS.reactivePowerImportVar) - v(INSTANTANEOUS.reactivePowerExportVar);
  const voltageV = v(INSTANTANEOUS.voltageV);
  const s = Math.hypot(activePowerW, reactivePowerVar);
  const powerFactor = p.values[INSTANTANEOUS.powerFactor.obis] ?? (s > 0 ? activePowerW / s : 1);
  const currentA = p.values[INSTANTANEOUS.currentA.obis] ?? (voltageV > 0 ? s / voltageV : 0);
  const round = (x: number, scale: number) => Math.round(x * scale) / scale;
  return {
    meterId: p.meterId,
    sequence: p.sequence,
    clockMs: p.clockMs,
    activeEnergyImportWh: Math.floor(importWh),
    activeEnergyExportWh: Math.floor(exportWh),
    reactiveEnergyImportVarh: Math.floor(rImport),
    reactiveEnergyExportVarh: Math.floor(rExport),
    activePowerW: round(activePowerW, 1000),
    reactivePowerVar: round(reactivePowerVar, 1000),
    frequencyHz: round(v(INSTANTANEOUS.frequencyHz), 1000),
    powerFactor: round(Math.max(-1, Math.min(1, powerFactor)), 10000),
    phases: [{ voltageV: round(voltageV, 100), currentA: round(currentA, 1000), activePowerW: round(activePowerW, 1000), reactivePowerVar: round(reactivePowerVar, 1000), powerFactor: round(Math.max(-1, Math.min(1, powerFactor)), 10000) }],
    flags: { terminalCoverOpen: false, caseOpen: false, magneticField: false, reverseEnergy: false, phaseLoss: false, clockInvalid: p.clockInvalid === true, batteryLow: false, selfTestFailed: false },
    tamperEvents: 0,
    powerOutages: 0,
  };
}
