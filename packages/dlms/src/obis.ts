// OBIS codes (IEC 62056-6-1): six value groups A.B.C.D.E.F, carried as a 6-byte octet-string.
import { BadObisError, InvalidArgumentError } from "./errors";

/**
 * Parses "1.0.1.8.0.255", "1-0:1.8.0*255", "1-0:1.8.0" (F=255) or the short form "1.8.0" (C.D.E with
 * A=1, B=0, F=255).
 * @example
 * parseObis("1-0:1.8.0*255") // Uint8Array [1, 0, 1, 8, 0, 255]
 */
export function parseObis(text: string): Uint8Array {
  const t = String(text).trim();
  let parts: string[];
  const m = /^(\d+)-(\d+):(\d+)\.(\d+)\.(\d+)(?:[*.&](\d+))?$/.exec(t);
  if (m) parts = [m[1], m[2], m[3], m[4], m[5], m[6] ?? "255"];
  else if (/^\d+(\.\d+){5}$/.test(t)) parts = t.split(".");
  else if (/^\d+\.\d+\.\d+$/.test(t)) parts = ["1", "0", ...t.split("."), "255"];
  else throw new BadObisError(t);
  const out = new Uint8Array(6);
  for (let i = 0; i < 6; i++) {
    const n = Number(parts[i]);
    if (!Number.isInteger(n) || n > 255) throw new BadObisError(t);
    out[i] = n;
  }
  return out;
}

/**
 * Formats six bytes as "A.B.C.D.E.F".
 * @example
 * formatObis(Uint8Array.of(1, 0, 1, 8, 0, 255)) // "1.0.1.8.0.255"
 */
export function formatObis(bytes: Uint8Array): string {
  if (bytes.length !== 6) throw new InvalidArgumentError("obis", bytes, "6 bytes");
  return `${bytes[0]}.${bytes[1]}.${bytes[2]}.${bytes[3]}.${bytes[4]}.${bytes[5]}`;
}

/** The DLMS unit enumeration (Blue Book, class 3 scaler_unit), by code. 255 is "count" (no unit). */
export const UNITS: Readonly<Record<number, string>> = {
  1: "a", 2: "mo", 3: "wk", 4: "d", 5: "h", 6: "min", 7: "s", 8: "°", 9: "°C", 10: "currency",
  11: "m", 12: "m/s", 13: "m³", 14: "m³", 15: "m³/h", 16: "m³/h", 17: "m³/d", 18: "m³/d", 19: "l", 20: "kg",
  21: "N", 22: "Nm", 23: "Pa", 24: "bar", 25: "J", 26: "J/h", 27: "W", 28: "VA", 29: "var", 30: "Wh",
  31: "VAh", 32: "varh", 33: "A", 34: "C", 35: "V", 36: "V/m", 37: "F", 38: "Ω", 39: "Ωm²/m", 40: "Wb",
  41: "T", 42: "A/m", 43: "H", 44: "Hz", 45: "1/(Wh)", 46: "1/(varh)", 47: "1/(VAh)", 48: "V²h", 49: "A²h", 50: "kg/s",
  51: "S", 52: "K", 53: "1/(V²h)", 54: "1/(A²h)", 55: "1/m³", 56: "%", 57: "Ah",
  254: "other", 255: "",
};

export interface RegisterInfo {
  name: string;
  /** Unit code (see {@link UNITS}) meters normally use for this register; 255 for dimensionless. */
  unit: number;
}

/**
 * The usual electricity registers, keyed by "C.D.E" (value groups A=1, any B, F=255). Used to name
 * registers and to give a unit when a push list sends only values.
 */
export const REGISTERS: Readonly<Record<string, RegisterInfo>> = {
  "1.8.0": { name: "active energy import (+A)", unit: 30 },
  "2.8.0": { name: "active energy export (-A)", unit: 30 },
  "3.8.0": { name: "reactive energy import (+R)", unit: 32 },
  "4.8.0": { name: "reactive energy export (-R)", unit: 32 },
  "9.8.0": { name: "apparent energy import", unit: 31 },
  "1.7.0": { name: "active power import (+P)", unit: 27 },
  "2.7.0": { name: "active power export (-P)", unit: 27 },
  "3.7.0": { name: "reactive power import (+Q)", unit: 29 },
  "4.7.0": { name: "reactive power export (-Q)", unit: 29 },
  "9.7.0": { name: "apparent power import", unit: 28 },
  "21.7.0": { name: "active power import L1", unit: 27 },
  "41.7.0": { name: "active power import L2", unit: 27 },
  "61.7.0": { name: "active power import L3", unit: 27 },
  "31.7.0": { name: "current L1", unit: 33 },
  "51.7.0": { name: "current L2", unit: 33 },
  "71.7.0": { name: "current L3", unit: 33 },
  "32.7.0": { name: "voltage L1", unit: 35 },
  "52.7.0": { name: "voltage L2", unit: 35 },
  "72.7.0": { name: "voltage L3", unit: 35 },
  "14.7.0": { name: "frequency", unit: 44 },
  "13.7.0": { name: "power factor", unit: 255 },
  "99.1.0": { name: "load profile 1", unit: 255 },
  "0.2.129": { name: "OBIS list version identifier", unit: 255 },
};

/** Abstract (A=0) objects, keyed by the full code. */
export const ABSTRACT_OBJECTS: Readonly<Record<string, string>> = {
  "0.0.1.0.0.255": "clock",
  "0.0.96.1.0.255": "meter serial number",
  "0.0.96.1.7.255": "meter type",
  "0.0.42.0.0.255": "logical device name",
  "0.0.40.0.0.255": "current association",
  "0.0.25.9.0.255": "push setup",
};

/**
 * Looks up a register by OBIS code.
 * @example
 * describeObis("1.0.1.8.0.255") // { name: "active energy import (+A)", unit: 30 }
 */
export function describeObis(obis: string): RegisterInfo | undefined {
  const [a, , c, d, e, f] = obis.split(".");
  // Abstract objects: the channel (B) does not change what they are (Kamstrup sends the clock as 0.1.1.0.0.255).
  const abstract = a === "0" ? ABSTRACT_OBJECTS[`0.0.${c}.${d}.${e}.${f}`] : undefined;
  if (abstract) return { name: abstract, unit: 255 };
  if (a !== "1") return undefined;
  return REGISTERS[`${c}.${d}.${e}`];
}
