import { InvalidArgumentError, InvalidRuleError } from "./errors";
import { evaluateRules, ruleMatches, validateRule, type Rule, type RuleContext } from "./rules";

const at = (over: Partial<RuleContext>): RuleContext => ({ price: 5, minuteOfDay: 12 * 60, drEventActive: false, devices: ["washer", "dishwasher", "ev", "battery"], ...over });

describe("evaluateRules", () => {
  const rules: Rule[] = [
    { id: 1, device: "washer", when: { priceBelow: 3 }, action: "on" },
    { id: 2, device: "ev", when: { priceBelow: 4, fromMinute: 22 * 60, toMinute: 6 * 60 }, action: "charge" },
    { id: 3, device: "battery", when: { priceAbove: 8 }, action: "discharge" },
    { id: 4, device: "washer", when: { drEvent: true }, action: "off" },
    { id: 5, device: "ev", when: { drEvent: true }, action: "defer" },
    { id: 6, device: "battery", when: { priceBelow: 2, priceAbove: -1 }, action: "charge" },
  ];

  it("IF price < 3 THEN washer on (the issue's example), strictly below", () => {
    expect(evaluateRules(rules, at({ price: 2.99 }))).toEqual([{ device: "washer", action: "on", ruleId: 1, ruleIndex: 0 }]);
    expect(evaluateRules(rules, at({ price: 3 }))).toEqual([]);
  });

  it("the last matching rule for a device wins; decisions come in the order of the deciding rules", () => {
    expect(evaluateRules(rules, at({ price: 1, minuteOfDay: 23 * 60, drEventActive: true }))).toEqual([
      { device: "washer", action: "off", ruleId: 4, ruleIndex: 3 },
      { device: "ev", action: "defer", ruleId: 5, ruleIndex: 4 },
      { device: "battery", action: "charge", ruleId: 6, ruleIndex: 5 },
    ]);
    expect(evaluateRules(rules, at({ price: 1, minuteOfDay: 23 * 60 }))).toEqual([
      { device: "washer", action: "on", ruleId: 1, ruleIndex: 0 },
      { device: "ev", action: "charge", ruleId: 2, ruleIndex: 1 },
      { device: "battery", action: "charge", ruleId: 6, ruleIndex: 5 },
    ]);
  });

  it("time windows wrap midnight and are half-open", () => {
    const ev = (minuteOfDay: number) => evaluateRules(rules, at({ price: 3.5, minuteOfDay })).map((d) => d.device);
    expect(ev(22 * 60)).toEqual(["ev"]);
    expect(ev(0)).toEqual(["ev"]);
    expect(ev(6 * 60 - 1)).toEqual(["ev"]);
    expect(ev(6 * 60)).toEqual([]);
    expect(ev(22 * 60 - 1)).toEqual([]);
    const only = (when: Rule["when"], m: number) => ruleMatches({ id: 1, device: "ev", when, action: "on" }, { price: 0, minuteOfDay: m, drEventActive: false });
    expect([only({ fromMinute: 600 }, 599), only({ fromMinute: 600 }, 600), only({ toMinute: 600 }, 599), only({ toMinute: 600 }, 600)]).toEqual([false, true, true, false]);
    expect(only({ fromMinute: 0, toMinute: 1 }, 0)).toBe(true);
  });

  it("price bands and drEvent: false", () => {
    expect(evaluateRules(rules, at({ price: 9 })).map((d) => d.ruleId)).toEqual([3]);
    expect(evaluateRules(rules, at({ price: -1 })).map((d) => d.ruleId)).toEqual([1]); // band is open: -1 is not > -1
    const r: Rule[] = [{ id: 9, device: "washer", when: { drEvent: false }, action: "on" }];
    expect(evaluateRules(r, at({}))).toHaveLength(1);
    expect(evaluateRules(r, at({ drEventActive: true }))).toHaveLength(0);
    expect(evaluateRules([{ id: 1, device: "washer", when: {}, action: "on" }], at({}))).toHaveLength(1); // no condition: always
  });

  it("ignores rules for devices the household does not have, including unknown device names", () => {
    expect(evaluateRules(rules, at({ price: 1, devices: ["battery"] })).map((d) => d.device)).toEqual(["battery"]);
    expect(evaluateRules([{ id: 1, device: "pool_pump", when: {}, action: "off" }], at({ devices: ["pool_pump"] }))).toEqual([{ device: "pool_pump", action: "off", ruleId: 1, ruleIndex: 0 }]);
  });

  it("rejects bad rules and contexts with typed errors", () => {
    expect(() => evaluateRules([rules[0]!, { ...rules[1]!, id: 1 }], at({}))).toThrow(InvalidRuleError);
    expect(() => evaluateRules(rules, at({ minuteOfDay: 1440 }))).toThrow(InvalidArgumentError);
    expect(() => evaluateRules(rules, at({ price: Number.NaN }))).toThrow(/price = NaN/);
    expect(() => evaluateRules(rules, { ...at({}), drEventActive: 1 as never })).toThrow(/drEventActive/);
    expect(() => evaluateRules(rules, { ...at({}), devices: "washer" as never })).toThrow(/devices/);
  });
});

describe("validateRule", () => {
  const ok: Rule = { id: 1, device: "washer", when: {}, action: "on" };
  it.each<[string, Partial<Rule>, string]>([
    ["negative id", { id: -1 }, "rule -1: id = -1; expected an integer in 0..2^32-1"],
    ["id too large", { id: 2 ** 32 }, "rule 4294967296: id = 4294967296; expected an integer in 0..2^32-1"],
    ["empty device", { device: "" }, 'rule 1: device = ""; expected a non-empty device name'],
    ["unknown action", { action: "toggle" as never }, 'rule 1: action = "toggle"; expected one of on, off, charge, discharge, defer'],
    ["empty price band", { when: { priceBelow: 3, priceAbove: 3 } }, "rule 1: when.priceAbove = 3; must be below priceBelow 3, or no price can match"],
    ["infinite price", { when: { priceBelow: Number.POSITIVE_INFINITY } }, "rule 1: when.priceBelow = Infinity; expected a finite price"],
    ["minute 1440 as from", { when: { fromMinute: 1440 } }, "rule 1: when.fromMinute = 1440; expected an integer minute in 0..1439"],
    ["minute out of range", { when: { toMinute: 1441 } }, "rule 1: when.toMinute = 1441; expected an integer minute in 0..1440"],
    ["from = to", { when: { fromMinute: 60, toMinute: 60 } }, "rule 1: when.toMinute = 60; with fromMinute 60 spans no time or the whole day; leave the time condition out instead"],
    ["drEvent not boolean", { when: { drEvent: "yes" as never } }, 'rule 1: when.drEvent = "yes"; expected a boolean'],
  ])("%s", (_, over, message) => {
    try {
      validateRule({ ...ok, ...over });
      throw new Error("no error");
    } catch (e) {
      expect(e).toBeInstanceOf(InvalidRuleError);
      expect((e as InvalidRuleError).shortMessage).toBe(message);
    }
  });
  it("accepts toMinute 1440 (until midnight)", () => {
    expect(() => validateRule({ ...ok, when: { fromMinute: 1200, toMinute: 1440 } })).not.toThrow();
  });
});
