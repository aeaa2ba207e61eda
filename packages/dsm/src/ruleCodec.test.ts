import fc from "fast-check";
import { DsmError, InvalidEncodingError, InvalidRuleError, UnknownCodeError } from "./errors";
import { ACTION_CODES, DEVICE_CODES, RULE_LAYOUT, decodeRule, encodeRule } from "./ruleCodec";
import { RULE_ACTIONS, evaluateRules, type Rule } from "./rules";
import type { KnownDevice } from "./types";

const hex = (b: Uint8Array) => `0x${Buffer.from(b).toString("hex")}`;

const arbRule: fc.Arbitrary<Rule> = fc
  .record({
    id: fc.integer({ min: 0, max: 0xffffffff }),
    device: fc.constantFrom(...(Object.keys(DEVICE_CODES) as KnownDevice[])),
    action: fc.constantFrom(...RULE_ACTIONS),
    when: fc.record(
      {
        priceBelow: fc.integer({ min: -0x80000000, max: 0x7fffffff }).map((m) => m / 1000),
        priceAbove: fc.integer({ min: -0x80000000, max: 0x7fffffff }).map((m) => m / 1000),
        fromMinute: fc.integer({ min: 0, max: 1439 }),
        toMinute: fc.integer({ min: 0, max: 1440 }),
        drEvent: fc.boolean(),
      },
      { requiredKeys: [] },
    ),
  })
  .filter(({ when: w }) => {
    if (w.priceBelow !== undefined && w.priceAbove !== undefined && w.priceAbove >= w.priceBelow) return false;
    if (w.fromMinute !== undefined && w.toMinute !== undefined && (w.fromMinute === w.toMinute || (w.fromMinute === 0 && w.toMinute === 1440))) return false;
    return true;
  });

describe("encodeRule / decodeRule", () => {
  it("encodes the issue's example to a fixed word", () => {
    const rule: Rule = { id: 7, device: "washer", when: { priceBelow: 3 }, action: "on" };
    const word = encodeRule(rule);
    expect(hex(word)).toBe(`0x010101010000000700000bb8${"0".repeat(40)}`);
    expect(decodeRule(word)).toEqual(rule);
    expect(decodeRule(hex(word))).toEqual(rule);
  });

  it("encodes every field where the layout says (a full rule)", () => {
    const rule: Rule = { id: 0xdeadbeef, device: "ev", when: { priceBelow: 4.25, priceAbove: -1.5, fromMinute: 1320, toMinute: 360, drEvent: false }, action: "charge" };
    expect(hex(encodeRule(rule))).toBe(`0x011f0303deadbeef0000109afffffa2405280168${"0".repeat(24)}`);
    expect(decodeRule(encodeRule(rule))).toEqual(rule);
  });

  it("round-trips every valid rule (property)", () => {
    fc.assert(
      fc.property(arbRule, (rule) => {
        const word = encodeRule(rule);
        expect(word).toHaveLength(32);
        expect(decodeRule(word)).toEqual(rule);
        expect(encodeRule(decodeRule(hex(word)))).toEqual(word);
      }),
      { numRuns: 2000, seed: 42 },
    );
  });

  it("a decoded rule decides like the original (property)", () => {
    fc.assert(
      fc.property(arbRule, fc.integer({ min: -5000, max: 5000 }), fc.integer({ min: 0, max: 1439 }), fc.boolean(), (rule, milli, minuteOfDay, drEventActive) => {
        const ctx = { price: milli / 1000, minuteOfDay, drEventActive, devices: [rule.device] };
        expect(evaluateRules([decodeRule(encodeRule(rule))], ctx)).toEqual(evaluateRules([rule], ctx));
      }),
      { numRuns: 1000, seed: 7 },
    );
  });

  it("any 32 bytes either decode to a rule that re-encodes to them, or throw a DsmError (property)", () => {
    // Half the words are biased towards valid ones (version 1, codes 0..5, absent fields zero,
    // minutes in range) so both branches are exercised; the other half are raw random bytes.
    const arbWord = fc.tuple(fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.boolean()).map(([b, plausible]) => {
      if (plausible) {
        const v = new DataView(b.buffer);
        b[0] = 1;
        b[1]! &= 0x3f;
        b[2] = b[2]! % 6;
        b[3] = b[3]! % 6;
        b.fill(0, 20);
        if (!(b[1]! & 0x01)) v.setInt32(8, 0);
        if (!(b[1]! & 0x02)) v.setInt32(12, 0);
        v.setUint16(16, b[1]! & 0x04 ? v.getUint16(16) % 1440 : 0);
        v.setUint16(18, b[1]! & 0x08 ? v.getUint16(18) % 1441 : 0);
      }
      return b;
    });
    let decoded = 0;
    fc.assert(
      fc.property(arbWord, (b) => {
        let rule: Rule;
        try {
          rule = decodeRule(b);
        } catch (e) {
          expect(e).toBeInstanceOf(DsmError);
          return;
        }
        decoded++;
        expect(encodeRule(rule)).toEqual(b);
      }),
      { numRuns: 3000, seed: 3 },
    );
    expect(decoded).toBeGreaterThan(100);
  });

  it("the Solidity view: each field is uint256(word) >> (8·(32 − offset − size)), masked", () => {
    const rule: Rule = { id: 123456, device: "battery", when: { priceAbove: -2.5, fromMinute: 61, toMinute: 1440, drEvent: true }, action: "discharge" };
    const word = BigInt(hex(encodeRule(rule)));
    const field = (name: string) => {
      const f = RULE_LAYOUT.find((x) => x.name === name)!;
      const raw = (word >> BigInt(8 * (32 - f.offset - f.size))) & ((1n << BigInt(8 * f.size)) - 1n);
      return Number(f.signed ? BigInt.asIntN(8 * f.size, raw) : raw);
    };
    expect([field("version"), field("flags"), field("device"), field("action"), field("id")]).toEqual([1, 0x3e, DEVICE_CODES.battery, ACTION_CODES.discharge, 123456]);
    expect([field("priceBelowMilli"), field("priceAboveMilli"), field("fromMinute"), field("toMinute")]).toEqual([0, -2500, 61, 1440]);
  });

  it("rejects rules it cannot encode", () => {
    const base: Rule = { id: 1, device: "washer", when: {}, action: "on" };
    expect(() => encodeRule({ ...base, device: "sauna" })).toThrow(InvalidRuleError);
    expect(() => encodeRule({ ...base, device: "sauna" })).toThrow(/device = "sauna"; has no code; encodable devices are washer, dishwasher, ev, heat_pump, battery/);
    expect(() => encodeRule({ ...base, device: "toString" })).toThrow(/has no code/);
    expect(() => encodeRule({ ...base, when: { priceBelow: 2.0005 } })).toThrow(/more than 3 decimals/);
    expect(() => encodeRule({ ...base, when: { priceBelow: 3_000_000 } })).toThrow(/int32 milli-unit range/);
    expect(() => encodeRule({ ...base, when: { priceBelow: 1.0004, priceAbove: 1 } })).toThrow(InvalidRuleError);
    expect(() => encodeRule({ ...base, when: { fromMinute: 5, toMinute: 5 } })).toThrow(InvalidRuleError);
  });

  it("rejects malformed words with typed errors", () => {
    const good = encodeRule({ id: 7, device: "washer", when: { priceBelow: 3 }, action: "on" });
    const tweak = (i: number, v: number) => {
      const b = Uint8Array.from(good);
      b[i] = v;
      return b;
    };
    const err = (input: Uint8Array | string) => {
      try {
        decodeRule(input);
      } catch (e) {
        return e as DsmError;
      }
      throw new Error("decoded");
    };
    expect(err(good.subarray(0, 31))).toMatchObject({ code: "INVALID_ENCODING", field: "length", value: 31 });
    expect(err(tweak(0, 2))).toMatchObject({ code: "INVALID_ENCODING", field: "version", value: 2 });
    expect(err(tweak(2, 0))).toBeInstanceOf(UnknownCodeError);
    expect(err(tweak(2, 9))).toMatchObject({ code: "UNKNOWN_CODE", field: "device", codeValue: 9, shortMessage: "unknown device code 9" });
    expect(err(tweak(3, 6))).toMatchObject({ code: "UNKNOWN_CODE", field: "action", codeValue: 6 });
    expect(err(tweak(1, 0x41))).toMatchObject({ code: "INVALID_ENCODING", field: "flags" });
    expect(err(tweak(1, 0x21))).toMatchObject({ code: "INVALID_ENCODING", field: "flags" }); // value bit without drEvent bit
    expect(err(tweak(31, 1))).toMatchObject({ code: "INVALID_ENCODING", field: "reserved byte 31" });
    expect(err(tweak(13, 1))).toMatchObject({ code: "INVALID_ENCODING", field: "priceAbove", value: 0x10000 }); // absent field not zero
    expect(err(tweak(17, 0xff))).toMatchObject({ code: "INVALID_ENCODING", field: "fromMinute" });
    const badMinute = tweak(1, 0x05);
    badMinute[16] = 0x05;
    badMinute[17] = 0xa0; // fromMinute 1440
    const e = err(badMinute);
    expect(e).toBeInstanceOf(InvalidEncodingError);
    expect(e).toMatchObject({ field: "rule" });
    expect(e.cause).toBeInstanceOf(InvalidRuleError);
    expect(err("0x12")).toMatchObject({ code: "INVALID_ENCODING", field: "length", value: 1 });
    expect(err("12ab")).toMatchObject({ code: "INVALID_ARGUMENT", argument: "input" });
  });
});
