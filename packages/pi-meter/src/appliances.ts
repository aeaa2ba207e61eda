// Controllable appliances of one simulated household (issue #16, demand response): a washer, an EV
// charger, a heat pump and a home battery. Commands switch them from a given simulated minute on.
// The bank steps the devices minute by minute from the first command, so what they do in a minute
// is a pure function of (load profile, minute, the commands effective up to that minute), whatever
// order or rate the meter is read at. Before the first command every device is in `auto` and
// changes nothing: the household's own behaviour, bit for bit.
// Below the meter: imports only the load profile, the counter-based randomness and the errors.
import { ApplianceCommandInPastError, InvalidArgumentError, UnknownApplianceError, UnsupportedApplianceActionError } from "./errors";
import { unit4 } from "./prng";
import { householdRuns, type Appliance, type LoadProfile, type MinuteControl } from "./profiles";
import { APPLIANCE_DEVICES, APPLIANCE_DEVICE_ACTIONS, APPLIANCE_MODELS } from "./applianceTypes";
import type { ApplianceDevice, ApplianceAction, ApplianceMode, CommandApplianceParameters, ApplianceCommand, ApplianceState } from "./applianceTypes";

export { APPLIANCE_DEVICES, APPLIANCE_ACTIONS, APPLIANCE_DEVICE_ACTIONS, APPLIANCE_MODELS } from "./applianceTypes";
export type { ApplianceDevice, ApplianceAction, ApplianceMode, CommandApplianceParameters, CommandApplianceReturnType, CommandApplianceErrorType, ApplianceCommand, WasherState, EvState, HeatPumpState, BatteryState, ApplianceState } from "./applianceTypes";

interface StoredCommand {
  device: ApplianceDevice;
  action: ApplianceAction;
  minute: number;
  seq: number;
  energyWh?: number;
  durationMin?: number;
}

interface Core {
  mode: ApplianceMode;
  /** Minute the mode began (−Infinity: never commanded). */
  since: number;
  deferUntil: number;
  resume: ApplianceMode;
}
interface WasherCore extends Core {
  /** Start of the program the washer runs under control (commanded or made up). */
  cycleStart: number | null;
  pending: boolean;
  /** In `auto` without a controlled program: the household's own runs count from this start minute on. */
  autoFrom: number;
}
interface EvCore extends Core {
  sessionWh: number;
  pendingWh: number;
  autoFrom: number;
}
interface HeatPumpCore extends Core {
  debtWh: number;
}
interface BatteryCore extends Core {
  socWh: number;
}
interface BankState {
  washer: WasherCore;
  ev: EvCore;
  heat_pump: HeatPumpCore;
  battery: BatteryCore;
}

interface MinuteOut {
  control: MinuteControl;
  /** For listings: the state after the minute's commands, and each device's power. */
  view?: { state: BankState; powerW: Record<ApplianceDevice, number> };
}

const MINUTE = 60_000;
const EPS = 1e-9;
const core = (): Core => ({ mode: "auto", since: -Infinity, deferUntil: Infinity, resume: "auto" });
const cloneState = (s: BankState): BankState => ({ washer: { ...s.washer }, ev: { ...s.ev }, heat_pump: { ...s.heat_pump }, battery: { ...s.battery } });

export interface ApplianceBankParameters {
  profile: LoadProfile;
  /** Commands effective before this simulated time (Unix ms) are refused (the meter's installation). */
  acceptFromMs?: number;
}

/**
 * One household's controllable appliances and their command history.
 * @example
 * const bank = new ApplianceBank({ profile });
 * bank.command({ device: "ev", action: "on", atMs: Date.UTC(2025, 5, 2, 18) });
 * integrateMinutes(profile, minute, 15, (m) => bank.control(m)).importWh // with the EV charging
 */
export class ApplianceBank {
  readonly profile: LoadProfile;
  /** The EV charger's power (W): 7,400 on 3 phases, 3,700 on one. */
  readonly chargerW: number;
  /** The heat pump's nominal power (W), drawn from the seed. */
  readonly heatPumpW: number;
  private readonly washerApp: Appliance;
  private readonly evApp: Appliance | undefined;
  private readonly list: StoredCommand[] = [];
  private readonly byMinute = new Map<number, StoredCommand[]>();
  private seq = 0;
  private frozen: number;
  private cursor: { minute: number; state: BankState } | undefined;
  private checkpoint: { minute: number; state: BankState } | undefined;
  private cache: { minute: number; out: MinuteOut } | undefined;

  constructor(params: ApplianceBankParameters) {
    const p = params.profile;
    this.profile = p;
    this.chargerW = p.phases === 3 ? APPLIANCE_MODELS.ev.chargerW3Phase : APPLIANCE_MODELS.ev.chargerW1Phase;
    const hp = APPLIANCE_MODELS.heat_pump;
    this.heatPumpW = hp.minNominalW + 100 * Math.floor(((hp.maxNominalW - hp.minNominalW) / 100 + 1) * unit4(p.seed, p.meterId, 0x48504e57, 0));
    const washer = p.appliances.find((a) => a.name === APPLIANCE_MODELS.washer.householdAppliance);
    // Every generated household has a washing machine; keep a fallback for hand-made profiles.
    this.washerApp = washer ?? { name: "washing", powerW: 2000, durationMin: 90, perDay: 0, hourWeights: [] };
    this.evApp = p.appliances.find((a) => a.name === APPLIANCE_MODELS.ev.householdAppliance);
    this.frozen = params.acceptFromMs === undefined ? -Infinity : Math.floor(params.acceptFromMs / MINUTE);
  }

  /** Whether any command was ever accepted (otherwise every minute is the household's own). */
  get commanded(): boolean {
    return this.list.length > 0;
  }

  /** The earliest effective time a command may still have (Unix ms). */
  get acceptsFromMs(): number {
    return this.frozen * MINUTE;
  }

  /**
   * Marks the minutes before `minute` as served: their registers are final, so commands effective
   * before then are refused from now on.
   */
  freeze(minute: number): void {
    if (!(minute > this.frozen)) return;
    this.frozen = minute;
    if (this.cursor && this.cursor.minute === minute) this.checkpoint = { minute, state: cloneState(this.cursor.state) };
  }

  /** What the devices change in `minute`; undefined before the first command (the household's own behaviour). */
  control(minute: number): MinuteControl | undefined {
    const first = this.list[0];
    if (first === undefined || minute < first.minute) return undefined;
    return this.outAt(minute, false).control;
  }

  /** Every device's state in the minute of `atMs`. */
  states(atMs: number): ApplianceState[] {
    const minute = Math.floor(atMs / MINUTE);
    return APPLIANCE_DEVICES.map((d) => this.view(d, minute));
  }

  /** Every command accepted so far, in effect order. */
  commands(): ApplianceCommand[] {
    return this.list.map(publicCommand);
  }

  /**
   * Accepts a command and returns the device's state in its effective minute.
   * @throws UnknownApplianceError, UnsupportedApplianceActionError, InvalidArgumentError, ApplianceCommandInPastError
   */
  command(params: CommandApplianceParameters & { atMs: number }): ApplianceState {
    const c = validateCommand(params);
    if (c.minute < this.frozen) throw new ApplianceCommandInPastError(this.profile.meterId, c.device, params.atMs, this.acceptsFromMs);
    c.seq = ++this.seq;
    let i = this.list.length;
    while (i > 0 && this.list[i - 1]!.minute > c.minute) i--;
    this.list.splice(i, 0, c);
    const same = this.byMinute.get(c.minute);
    if (same) same.push(c);
    else this.byMinute.set(c.minute, [c]);
    if (this.cursor && this.cursor.minute > c.minute) this.cursor = undefined;
    if (this.cache && this.cache.minute >= c.minute) this.cache = undefined;
    return this.view(c.device, c.minute);
  }

  private initial(): BankState {
    return {
      washer: { ...core(), cycleStart: null, pending: false, autoFrom: -Infinity },
      ev: { ...core(), sessionWh: 0, pendingWh: 0, autoFrom: -Infinity },
      heat_pump: { ...core(), debtWh: 0 },
      battery: { ...core(), socWh: APPLIANCE_MODELS.battery.initialSocWh },
    };
  }

  private outAt(minute: number, withView: boolean): MinuteOut {
    if (this.cache && this.cache.minute === minute && (!withView || this.cache.out.view)) return this.cache.out;
    let cur = this.cursor;
    if (!cur || cur.minute > minute) {
      const cp = this.checkpoint;
      // Before the first command every device is in its initial state, whatever the minute.
      cur = cp && cp.minute <= minute ? { minute: cp.minute, state: cloneState(cp.state) } : { minute: Math.min(minute, this.list[0]?.minute ?? minute), state: this.initial() };
    }
    while (cur.minute < minute) this.advance(cur, false);
    const out = this.advance(cur, withView);
    this.cursor = cur;
    this.cache = { minute, out };
    return out;
  }

  private advance(cur: { minute: number; state: BankState }, withView: boolean): MinuteOut {
    const out = this.step(cur.state, cur.minute, withView);
    cur.minute++;
    // A state at or before the served boundary can never change again: keep one to restart from.
    const cp = this.checkpoint;
    if (cur.minute <= this.frozen && (!cp || cur.minute === this.frozen || cur.minute - cp.minute >= 15)) this.checkpoint = { minute: cur.minute, state: cloneState(cur.state) };
    return out;
  }

  /** Applies minute `m` to `s` (resumptions, then commands, then the devices' power and energy). */
  private step(s: BankState, m: number, withView: boolean): MinuteOut {
    for (const d of APPLIANCE_DEVICES) if (s[d].mode === "defer" && m >= s[d].deferUntil) this.enter(s, d, s[d].resume, m, undefined, true);
    for (const c of this.byMinute.get(m) ?? []) this.enter(s, c.device, c.action, m, c, false);

    // Washer: a controlled program runs to its end; household starts while it runs or while
    // deferred wait as one load.
    const w = s.washer;
    const wa = this.washerApp;
    if (w.cycleStart !== null && m >= w.cycleStart + wa.durationMin) {
      w.cycleStart = null;
      if (w.mode === "auto") {
        if (w.pending) {
          w.pending = false;
          w.cycleStart = m;
        } else w.autoFrom = m;
      }
    }
    if ((w.mode === "defer" || (w.mode === "auto" && w.cycleStart !== null)) && householdRuns(this.profile, wa.name, m).includes(m)) w.pending = true;
    const washerW = w.cycleStart !== null ? wa.powerW * (wa.shape ? wa.shape(m - w.cycleStart) : 1) : 0;
    const washerFrom = w.mode === "auto" && w.cycleStart === null ? w.autoFrom : Infinity;

    // EV: household sessions that would start while deferred are held back as energy.
    const e = s.ev;
    const ea = this.evApp;
    if (ea && e.mode === "defer" && householdRuns(this.profile, ea.name, m).includes(m)) e.pendingWh = Math.min(APPLIANCE_MODELS.ev.deferredCapWh, e.pendingWh + (ea.powerW * ea.durationMin) / 60);
    const evW = e.sessionWh > 0 ? Math.min(this.chargerW, e.sessionWh * 60) : 0;
    const evFrom = e.mode === "auto" && e.sessionWh === 0 ? e.autoFrom : Infinity;

    // Heat pump: nominal power when on; after a deferral, make-up power until the debt is paid.
    const h = s.heat_pump;
    const hp = APPLIANCE_MODELS.heat_pump;
    const hpBase = h.mode === "on" ? this.heatPumpW : 0;
    const hpW = h.mode === "defer" ? 0 : h.mode !== "off" && h.debtWh > 0 ? hpBase + Math.min(hp.makeUpW - hpBase, h.debtWh * 60) : hpBase;

    // Battery: full power until full or empty; losses on both ways.
    const b = s.battery;
    const bm = APPLIANCE_MODELS.battery;
    let batteryW = 0;
    if (b.mode === "charge") batteryW = Math.min(bm.maxW, ((bm.capacityWh - b.socWh) * 60) / bm.efficiency);
    else if (b.mode === "discharge") batteryW = -Math.min(bm.maxW, b.socWh * 60 * bm.efficiency);
    if (Math.abs(batteryW) < EPS) batteryW = 0;

    const out: MinuteOut = { control: { householdRunsFrom: { [wa.name]: washerFrom, ...(ea ? { [ea.name]: evFrom } : {}) }, extraW: washerW + evW + hpW, batteryW } };
    if (withView) {
      const runsW = (app: Appliance, from: number) => householdRuns(this.profile, app.name, m).reduce((sum, st) => (st >= from ? sum + app.powerW * (app.shape ? app.shape(m - st) : 1) : sum), 0);
      out.view = {
        state: cloneState(s),
        powerW: { washer: washerW + runsW(wa, washerFrom), ev: evW + (ea ? runsW(ea, evFrom) : 0), heat_pump: hpW, battery: batteryW },
      };
    }

    // Energy moves on to the next minute.
    if (evW > 0) {
      e.sessionWh -= evW / 60;
      if (e.sessionWh <= EPS) {
        e.sessionWh = 0;
        if (e.mode === "auto") e.autoFrom = m + 1;
      }
    }
    if (h.mode === "defer") h.debtWh = Math.min(hp.deferredCapWh, h.debtWh + (h.resume === "on" ? this.heatPumpW : 0) / 60);
    else if (hpW > hpBase) h.debtWh = Math.max(0, h.debtWh - (hpW - hpBase) / 60);
    if (h.debtWh <= EPS) h.debtWh = 0;
    if (batteryW > 0) b.socWh = Math.min(bm.capacityWh, b.socWh + (batteryW * bm.efficiency) / 60);
    else if (batteryW < 0) b.socWh = Math.max(0, b.socWh + batteryW / bm.efficiency / 60);
    if (b.socWh < EPS) b.socWh = 0;
    else if (bm.capacityWh - b.socWh < EPS) b.socWh = bm.capacityWh;
    return out;
  }

  /** A device enters a mode at minute `m` (a command, or the end of a deferral when `resume`). */
  private enter(s: BankState, device: ApplianceDevice, action: ApplianceAction, m: number, c: StoredCommand | undefined, resume: boolean): void {
    const mode: ApplianceMode = device === "ev" && action === "charge" ? "on" : action;
    const dev = s[device];
    if (dev.mode === mode) return; // the same action again changes nothing (a deferral is not extended)
    const prev = dev.mode;
    if (device === "washer") {
      const w = s.washer;
      const own = prev === "auto" && w.cycleStart === null ? householdRuns(this.profile, this.washerApp.name, m).filter((st) => st >= w.autoFrom) : [];
      if (mode === "on") {
        // A household program already running goes on as the commanded one.
        if (w.cycleStart === null) w.cycleStart = resume ? (w.pending ? m : null) : (own[0] ?? m);
        w.pending = false;
        w.autoFrom = Infinity;
      } else if (mode === "off") {
        w.cycleStart = null;
        w.pending = false;
        w.autoFrom = Infinity;
      } else if (mode === "defer") {
        if (w.cycleStart !== null || own.length > 0) w.pending = true;
        w.cycleStart = null;
        w.autoFrom = Infinity;
      } else if (mode === "auto") {
        if (w.cycleStart === null && w.pending) {
          w.pending = false;
          w.cycleStart = m;
        }
        w.autoFrom = w.cycleStart === null ? m : Infinity;
      }
    } else if (device === "ev") {
      const e = s.ev;
      const ea = this.evApp;
      const own = ea && prev === "auto" && e.sessionWh === 0 ? householdRuns(this.profile, ea.name, m).filter((st) => st >= e.autoFrom) : [];
      if (mode === "on") {
        e.sessionWh = resume ? e.pendingWh : (c?.energyWh ?? APPLIANCE_MODELS.ev.defaultEnergyWh);
        e.pendingWh = 0;
        e.autoFrom = Infinity;
      } else if (mode === "off") {
        e.sessionWh = 0;
        e.pendingWh = 0;
        e.autoFrom = Infinity;
      } else if (mode === "defer") {
        const ownWh = ea ? own.reduce((sum, st) => sum + (ea.powerW * (st + ea.durationMin - m)) / 60, 0) : 0;
        e.pendingWh = Math.min(APPLIANCE_MODELS.ev.deferredCapWh, e.pendingWh + e.sessionWh + ownWh);
        e.sessionWh = 0;
        e.autoFrom = Infinity;
      } else if (mode === "auto") {
        if (e.sessionWh === 0 && e.pendingWh > 0) {
          e.sessionWh = e.pendingWh;
          e.pendingWh = 0;
        }
        e.autoFrom = e.sessionWh > 0 ? Infinity : m;
      }
    } else if (device === "heat_pump") {
      if (mode === "off") s.heat_pump.debtWh = 0;
    }
    dev.mode = mode;
    dev.since = m;
    if (mode === "defer") {
      dev.deferUntil = m + (c?.durationMin ?? maxDeferMin(device));
      dev.resume = prev;
    } else {
      dev.deferUntil = Infinity;
      dev.resume = "auto";
    }
  }

  private view(device: ApplianceDevice, minute: number): ApplianceState {
    const { state, powerW } = this.outAt(minute, true).view!;
    const d = state[device];
    const base = {
      mode: d.mode,
      atMs: minute * MINUTE,
      sinceMs: Number.isFinite(d.since) ? d.since * MINUTE : null,
      powerW: powerW[device],
      ...(d.mode === "defer" ? { deferredUntilMs: d.deferUntil * MINUTE, resumeMode: d.resume } : {}),
      commands: this.list.filter((c) => c.device === device).map(publicCommand),
    };
    if (device === "washer") {
      const w = state.washer;
      const wa = this.washerApp;
      const own = w.cycleStart === null && w.mode === "auto" ? householdRuns(this.profile, wa.name, minute).filter((st) => st >= w.autoFrom) : [];
      const start = w.cycleStart ?? own[0] ?? null;
      let programWh = 0;
      for (let i = 0; i < wa.durationMin; i++) programWh += (wa.powerW * (wa.shape ? wa.shape(i) : 1)) / 60;
      programWh = Math.round(programWh * 1000) / 1000;
      return { device, ...base, running: start !== null, programStartMs: start === null ? null : start * MINUTE, deferredLoad: w.pending, programMin: wa.durationMin, programWh };
    }
    if (device === "ev") {
      const e = state.ev;
      return { device, ...base, chargerW: this.chargerW, charging: powerW.ev > 0, sessionRemainingWh: e.sessionWh, deferredWh: e.pendingWh, householdSessions: this.evApp !== undefined };
    }
    if (device === "heat_pump") {
      const hp = APPLIANCE_MODELS.heat_pump;
      return { device, ...base, nominalW: this.heatPumpW, makeUpW: hp.makeUpW, deferredWh: state.heat_pump.debtWh, deferredCapWh: hp.deferredCapWh };
    }
    const bm = APPLIANCE_MODELS.battery;
    const soc = state.battery.socWh;
    return { device, ...base, capacityWh: bm.capacityWh, maxW: bm.maxW, socWh: soc, socPercent: (100 * soc) / bm.capacityWh };
  }
}

function maxDeferMin(device: ApplianceDevice): number {
  return device === "battery" ? 0 : APPLIANCE_MODELS[device].maxDeferMin;
}

function publicCommand(c: StoredCommand): ApplianceCommand {
  return {
    device: c.device,
    action: c.action,
    atMs: c.minute * MINUTE,
    seq: c.seq,
    ...(c.energyWh !== undefined ? { energyWh: c.energyWh } : {}),
    ...(c.durationMin !== undefined ? { durationMin: c.durationMin } : {}),
  };
}

const COMMAND_FIELDS = new Set(["device", "action", "atMs", "energyWh", "durationMin"]);

/**
 * Checks a command strictly (also one that came as JSON) and returns it with its effective minute.
 * @throws UnknownApplianceError, UnsupportedApplianceActionError, InvalidArgumentError
 */
function validateCommand(params: CommandApplianceParameters & { atMs: number }): StoredCommand {
  if (typeof params !== "object" || params === null || Array.isArray(params)) throw new InvalidArgumentError("command", params, "an object { device, action, atMs?, energyWh?, durationMin? }");
  for (const k of Object.keys(params)) if (!COMMAND_FIELDS.has(k)) throw new InvalidArgumentError(k, (params as unknown as Record<string, unknown>)[k], "no such field (device, action, atMs, energyWh, durationMin)");
  const { device, action, atMs, energyWh, durationMin } = params;
  if (!(APPLIANCE_DEVICES as readonly unknown[]).includes(device)) throw new UnknownApplianceError(device, APPLIANCE_DEVICES);
  const supported = APPLIANCE_DEVICE_ACTIONS[device];
  if (!supported.includes(action)) throw new UnsupportedApplianceActionError(device, action, supported);
  if (typeof atMs !== "number" || !Number.isFinite(atMs) || atMs < 0) throw new InvalidArgumentError("atMs", atMs, "a simulated Unix time in ms (a finite number ≥ 0)");
  const c: StoredCommand = { device, action, minute: Math.floor(atMs / MINUTE), seq: 0 };
  if (energyWh !== undefined) {
    if (device !== "ev" || (action !== "on" && action !== "charge")) throw new InvalidArgumentError("energyWh", energyWh, "only with the EV's on/charge");
    if (typeof energyWh !== "number" || !Number.isFinite(energyWh) || energyWh <= 0 || energyWh > APPLIANCE_MODELS.ev.maxEnergyWh) throw new InvalidArgumentError("energyWh", energyWh, `a number of Wh in (0, ${APPLIANCE_MODELS.ev.maxEnergyWh}]`);
    c.energyWh = energyWh;
  }
  if (durationMin !== undefined) {
    if (action !== "defer") throw new InvalidArgumentError("durationMin", durationMin, "only with defer");
    const max = maxDeferMin(device);
    if (!Number.isInteger(durationMin) || durationMin < 1 || durationMin > max) throw new InvalidArgumentError("durationMin", durationMin, `an integer number of minutes in 1..${max} for the ${device}`);
    c.durationMin = durationMin;
  }
  return c;
}
