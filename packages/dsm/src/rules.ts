// Consumer rules ("IF price < 3 THEN turn on the washer"), evaluated at each metering report.
import { InvalidArgumentError, InvalidRuleError } from "./errors";
import { MINUTES_PER_DAY, type Device } from "./types";

export const RULE_ACTIONS = ["on", "off", "charge", "discharge", "defer"] as const;
export type RuleAction = (typeof RULE_ACTIONS)[number];

/**
 * All given conditions must hold (AND); an empty condition always matches.
 * - priceBelow: price < priceBelow; priceAbove: price > priceAbove (both: an open band).
 * - fromMinute / toMinute: minute of day in [fromMinute, toMinute); when fromMinute > toMinute the
 *   range wraps midnight (22:00–06:00 is fromMinute 1320, toMinute 360). Either may be given alone.
 * - drEvent: whether a demand-response event must (true) or must not (false) be active.
 */
export interface RuleCondition {
  priceBelow?: number;
  priceAbove?: number;
  fromMinute?: number;
  toMinute?: number;
  drEvent?: boolean;
}

export interface Rule {
  /** uint32, unique within a rule list; what a contract would key the rule by. */
  id: number;
  device: Device;
  when: RuleCondition;
  action: RuleAction;
}

export interface RuleContext {
  /** The current price per kWh, in the unit the rules use (e.g. cents). */
  price: number;
  /** Wall-clock minute of the day of the report, 0..1439. */
  minuteOfDay: number;
  drEventActive: boolean;
  /** Devices the household has; rules for other devices are ignored. */
  devices: readonly string[];
}

export interface RuleDecision {
  device: string;
  action: RuleAction;
  /** The rule that decided it. */
  ruleId: number;
  /** Its position in the rule list. */
  ruleIndex: number;
}

export type ValidateRuleErrorType = InvalidRuleError;
export type EvaluateRulesErrorType = InvalidArgumentError | InvalidRuleError;

/**
 * Throws the typed error if `rule` is malformed or can never match.
 * @example
 * validateRule({ id: 1, device: "ev", when: { priceBelow: 3, priceAbove: 5 }, action: "charge" }); // InvalidRuleError: empty band
 */
export function validateRule(rule: Rule): void {
  const id = rule?.id;
  const bad = (field: string, value: unknown, reason: string): never => {
    throw new InvalidRuleError(typeof id === "number" ? id : undefined, field, value, reason);
  };
  if (!Number.isInteger(id) || id < 0 || id > 0xffffffff) bad("id", id, "expected an integer in 0..2^32-1");
  if (typeof rule.device !== "string" || rule.device === "") bad("device", rule.device, "expected a non-empty device name");
  if (!(RULE_ACTIONS as readonly string[]).includes(rule.action)) bad("action", rule.action, `expected one of ${RULE_ACTIONS.join(", ")}`);
  const w = rule.when;
  if (typeof w !== "object" || w === null) return bad("when", w, "expected an object of conditions");
  for (const f of ["priceBelow", "priceAbove"] as const) {
    const v = w[f];
    if (v !== undefined && (typeof v !== "number" || !Number.isFinite(v))) bad(`when.${f}`, v, "expected a finite price");
  }
  if (w.priceBelow !== undefined && w.priceAbove !== undefined && w.priceAbove >= w.priceBelow) {
    bad("when.priceAbove", w.priceAbove, `must be below priceBelow ${w.priceBelow}, or no price can match`);
  }
  if (w.fromMinute !== undefined && (!Number.isInteger(w.fromMinute) || w.fromMinute < 0 || w.fromMinute >= MINUTES_PER_DAY)) {
    bad("when.fromMinute", w.fromMinute, "expected an integer minute in 0..1439");
  }
  if (w.toMinute !== undefined && (!Number.isInteger(w.toMinute) || w.toMinute < 0 || w.toMinute > MINUTES_PER_DAY)) {
    bad("when.toMinute", w.toMinute, "expected an integer minute in 0..1440");
  }
  if (w.fromMinute !== undefined && w.toMinute !== undefined && (w.fromMinute === w.toMinute || (w.toMinute === MINUTES_PER_DAY && w.fromMinute === 0))) {
    bad("when.toMinute", w.toMinute, `with fromMinute ${w.fromMinute} spans no time or the whole day; leave the time condition out instead`);
  }
  if (w.drEvent !== undefined && typeof w.drEvent !== "boolean") bad("when.drEvent", w.drEvent, "expected a boolean");
}

/**
 * Whether `rule`'s conditions all hold in `context` (rule and context assumed valid; no precedence).
 * @example
 * ruleMatches(rule, { price: 2.5, minuteOfDay: 1380, drEventActive: false }); // true for { priceBelow: 3 }
 */
export function ruleMatches(rule: Rule, context: Omit<RuleContext, "devices">): boolean {
  const w = rule.when;
  if (w.priceBelow !== undefined && !(context.price < w.priceBelow)) return false;
  if (w.priceAbove !== undefined && !(context.price > w.priceAbove)) return false;
  if (w.drEvent !== undefined && w.drEvent !== context.drEventActive) return false;
  const m = context.minuteOfDay;
  const from = w.fromMinute;
  const to = w.toMinute;
  if (from !== undefined && to !== undefined) return from < to ? m >= from && m < to : m >= from || m < to;
  if (from !== undefined && m < from) return false;
  if (to !== undefined && m >= to) return false;
  return true;
}

/**
 * The actions to apply now. Precedence: for each device the LAST matching rule in the list wins,
 * so a list reads top to bottom as general rules followed by their exceptions ("IF price < 3 THEN
 * washer on", then "IF drEvent THEN washer off"). One decision per device, ordered by the position
 * of the rule that decided it.
 * @example
 * evaluateRules([{ id: 1, device: "washer", when: { priceBelow: 3 }, action: "on" }],
 *   { price: 2.4, minuteOfDay: 1290, drEventActive: false, devices: ["washer"] });
 * // [{ device: "washer", action: "on", ruleId: 1, ruleIndex: 0 }]
 */
export function evaluateRules(rules: readonly Rule[], context: RuleContext): RuleDecision[] {
  if (!Array.isArray(rules)) throw new InvalidArgumentError("rules", rules, "an array of rules");
  const { price, minuteOfDay, drEventActive, devices } = context ?? ({} as RuleContext);
  if (typeof price !== "number" || !Number.isFinite(price)) throw new InvalidArgumentError("price", price, "a finite price");
  if (!Number.isInteger(minuteOfDay) || minuteOfDay < 0 || minuteOfDay >= MINUTES_PER_DAY) throw new InvalidArgumentError("minuteOfDay", minuteOfDay, "an integer in 0..1439");
  if (typeof drEventActive !== "boolean") throw new InvalidArgumentError("drEventActive", drEventActive, "a boolean");
  if (!Array.isArray(devices) || devices.some((d) => typeof d !== "string")) throw new InvalidArgumentError("devices", devices, "an array of device names");
  const ids = new Set<number>();
  for (const rule of rules) {
    validateRule(rule);
    if (ids.has(rule.id)) throw new InvalidRuleError(rule.id, "id", rule.id, "appears twice in the rule list");
    ids.add(rule.id);
  }
  const present = new Set(devices);
  const winner = new Map<string, number>();
  rules.forEach((rule, i) => {
    if (present.has(rule.device) && ruleMatches(rule, { price, minuteOfDay, drEventActive })) winner.set(rule.device, i);
  });
  return [...winner.values()]
    .sort((x, y) => x - y)
    .map((i) => ({ device: rules[i]!.device, action: rules[i]!.action, ruleId: rules[i]!.id, ruleIndex: i }));
}
