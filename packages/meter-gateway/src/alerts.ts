// What the gateway raises when a meter, a record or the anchoring looks wrong (stored in store.ts).
export type AlertKind =
  | "bad-digest"
  | "replay"
  | "register-backwards"
  | "gap"
  | "clock-drift"
  | "silent"
  | "wrong-meter"
  | "malformed"
  | "rejected-by-meter"
  | "not-anchored"
  | "energy-power-mismatch";

export interface Alert {
  id: string;
  /** Real time the gateway raised it (Unix ms). */
  at: number;
  meterId: number;
  kind: AlertKind;
  severity: "warning" | "critical";
  message: string;
  details: Record<string, unknown>;
  /** Who acknowledged it and when (Unix ms); absent while open. */
  acknowledged?: { by: string; at: number };
}
