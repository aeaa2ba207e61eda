// The controllable appliances of a simulated household: devices, actions, models and states (appliances.ts runs them).
import type { ApplianceCommandInPastError, InvalidArgumentError, UnknownApplianceError, UnsupportedApplianceActionError } from "./errors";

/** The controllable devices every simulated household has. */
export const APPLIANCE_DEVICES = ["washer", "ev", "heat_pump", "battery"] as const;
export type ApplianceDevice = (typeof APPLIANCE_DEVICES)[number];

/** Every action a command can carry; {@link APPLIANCE_DEVICE_ACTIONS} says which device takes which. */
export const APPLIANCE_ACTIONS = ["on", "off", "charge", "discharge", "defer", "auto"] as const;
export type ApplianceAction = (typeof APPLIANCE_ACTIONS)[number];

/** The actions each device takes (`charge` is the EV charger's synonym of `on`). */
export const APPLIANCE_DEVICE_ACTIONS: Readonly<Record<ApplianceDevice, readonly ApplianceAction[]>> = {
  washer: ["on", "off", "defer", "auto"],
  ev: ["on", "charge", "off", "defer", "auto"],
  heat_pump: ["on", "off", "defer", "auto"],
  battery: ["charge", "discharge", "off", "auto"],
};

/** A device's mode: the last action that took effect (the EV's `charge` shows as `on`). */
export type ApplianceMode = "auto" | "on" | "off" | "charge" | "discharge" | "defer";

/** The device models (powers, durations, caps), the same for every simulated household unless noted. */
export const APPLIANCE_MODELS = {
  /** The household's own washing machine ("washing" in the load profile): its 90-minute program. */
  washer: { householdAppliance: "washing", maxDeferMin: 480 },
  ev: {
    /** Charger power on a 3-phase connection (W). */
    chargerW3Phase: 7400,
    /** Charger power on a 1-phase connection (W). */
    chargerW1Phase: 3700,
    /** Energy an `on` delivers unless the command says `energyWh`. */
    defaultEnergyWh: 15_000,
    maxEnergyWh: 100_000,
    /** Most energy a deferral can hold back (the car's battery). */
    deferredCapWh: 60_000,
    maxDeferMin: 720,
    householdAppliance: "ev",
  },
  heat_pump: {
    /** Per household, drawn from the seed: 1,500..2,500 W in steps of 100 W. */
    minNominalW: 1500,
    maxNominalW: 2500,
    /** Power while making up deferred energy. */
    makeUpW: 3000,
    /** Most energy a deferral can hold back; the rest of the comfort loss is not made up. */
    deferredCapWh: 4000,
    maxDeferMin: 120,
  },
  battery: { capacityWh: 10_000, maxW: 5000, efficiency: 0.95, initialSocWh: 5000 },
} as const;

export interface CommandApplianceParameters {
  device: ApplianceDevice;
  action: ApplianceAction;
  /** Effective simulated time (Unix ms): the device acts from this minute on. Default: the meter clock's now. */
  atMs?: number;
  /** EV `on`/`charge` only: energy to deliver (Wh), default 15,000. */
  energyWh?: number;
  /** `defer` only: minutes until the device resumes by itself (default and maximum: the device's limit). */
  durationMin?: number;
}

export type CommandApplianceReturnType = ApplianceState;
export type CommandApplianceErrorType = UnknownApplianceError | UnsupportedApplianceActionError | InvalidArgumentError | ApplianceCommandInPastError;

/** A command the meter accepted, as it is kept in the meter's state. */
export interface ApplianceCommand {
  device: ApplianceDevice;
  action: ApplianceAction;
  /** Effective time, floored to the minute (Unix ms). */
  atMs: number;
  /** Issue order on this meter (1, 2, ...): the order of commands with the same minute. */
  seq: number;
  energyWh?: number;
  durationMin?: number;
}

interface ApplianceStateBase<D extends ApplianceDevice> {
  device: D;
  mode: ApplianceMode;
  /** The minute the state describes (Unix ms). */
  atMs: number;
  /** When the mode began (Unix ms); null while the device was never commanded. */
  sinceMs: number | null;
  /** Mean power in that minute (W); the household's own runs at their nominal power. Battery: + charging, − discharging. */
  powerW: number;
  /** While deferred: when the device resumes by itself, and the mode it resumes. */
  deferredUntilMs?: number;
  resumeMode?: ApplianceMode;
  /** Every command this device has accepted so far (also those effective later), in effect order. */
  commands: ApplianceCommand[];
}

export interface WasherState extends ApplianceStateBase<"washer"> {
  running: boolean;
  /** Start of the program running now (commanded, made up or the household's own); null when idle. */
  programStartMs: number | null;
  /** A load held back by `defer`: it runs when the washer returns to `auto` (or is turned `on`). */
  deferredLoad: boolean;
  programMin: number;
  programWh: number;
}

export interface EvState extends ApplianceStateBase<"ev"> {
  chargerW: number;
  charging: boolean;
  /** Energy the commanded (or made-up) charging session still has to deliver. */
  sessionRemainingWh: number;
  /** Energy held back by `defer`, charged when the charger resumes. */
  deferredWh: number;
  /** Whether the household charges an EV on its own (in `auto`). */
  householdSessions: boolean;
}

export interface HeatPumpState extends ApplianceStateBase<"heat_pump"> {
  nominalW: number;
  makeUpW: number;
  /** Energy held back by `defer`, made up at `makeUpW` afterwards. */
  deferredWh: number;
  deferredCapWh: number;
}

export interface BatteryState extends ApplianceStateBase<"battery"> {
  capacityWh: number;
  maxW: number;
  socWh: number;
  socPercent: number;
}

export type ApplianceState = WasherState | EvState | HeatPumpState | BatteryState;
