import fc from "fast-check";
import { InvalidArgumentError, SequenceRejectedError } from "./errors";
import { SequenceCounter, SequenceWindow } from "./sequence";
import { MEP_GUIDE } from "./test-utils/vectors";

describe("SequenceCounter", () => {
  it(`after a 0x0C with 77635B90 the retry carries 77635B91 — ${MEP_GUIDE}, ch. 2, RC4 Example 1, p. 16`, () => {
    const c = new SequenceCounter(0x01020304);
    expect(c.take()).toBe(0x01020304);
    c.resync(0x77635b90);
    expect(c.take()).toBe(0x77635b91);
    expect(c.next).toBe(0x77635b92);
  });
  it("wraps from 2^32-1 to 0", () => {
    const c = new SequenceCounter(0xffffffff);
    expect([c.take(), c.take()]).toEqual([0xffffffff, 0]);
    c.resync(0xffffffff);
    expect(c.next).toBe(0);
  });
  it("rejects non-u32 starts", () => {
    expect(() => new SequenceCounter(-1)).toThrow(InvalidArgumentError);
    expect(() => new SequenceCounter(2 ** 32)).toThrow(InvalidArgumentError);
  });
});

describe("SequenceWindow", () => {
  it("accepts 1..8 ahead and moves current; rejects repeats, stale and far-ahead numbers with the current one", () => {
    const w = new SequenceWindow({ current: 100 });
    expect(w.check(101)).toEqual({ accepted: true });
    expect(w.check(108)).toEqual({ accepted: true });
    expect(w.check(109)).toEqual({ accepted: false, reason: "ahead" });
    expect(w.check(100)).toEqual({ accepted: false, reason: "repeat" });
    expect(w.check(99)).toEqual({ accepted: false, reason: "stale" });
    w.accept(105);
    expect(w.current).toBe(105);
    expect(() => w.accept(105)).toThrow(SequenceRejectedError);
    expect(() => w.accept(104)).toThrow(expect.objectContaining({ got: 104, current: 105, reason: "stale" }));
    expect(w.rejection()).toEqual({ response: "invalidSequenceNumber", seq: 105 });
  });
  it("accepts across the 2^32 wrap", () => {
    const w = new SequenceWindow({ current: 0xfffffffe });
    w.accept(3);
    expect(w.current).toBe(3);
    expect(w.check(0xffffffff)).toEqual({ accepted: false, reason: "stale" });
  });
  it("the window size is configurable and validated", () => {
    const w = new SequenceWindow({ current: 0, size: 1 });
    expect(w.check(2)).toEqual({ accepted: false, reason: "ahead" });
    expect(() => new SequenceWindow({ current: 0, size: 0 })).toThrow(InvalidArgumentError);
  });
  it("matches a model under random steps: accepts exactly 1..8 ahead, and only then moves", () => {
    fc.assert(
      fc.property(fc.nat({ max: 0xffffffff }), fc.array(fc.integer({ min: -12, max: 12 })), (start, steps) => {
        const w = new SequenceWindow({ current: start });
        let model = start;
        for (const step of steps) {
          const seq = (model + step + 2 ** 32) % 2 ** 32;
          const ok = step >= 1 && step <= 8;
          if (ok) {
            w.accept(seq);
            model = seq;
          } else {
            expect(() => w.accept(seq)).toThrow(SequenceRejectedError);
          }
          expect(w.current).toBe(model);
        }
      }),
    );
  });
});
