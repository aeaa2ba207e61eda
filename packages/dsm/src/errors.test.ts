import { DsmError, InvalidArgumentError, InvalidLoadError, UnknownCodeError, isDsmError } from "./errors";

describe("DsmError", () => {
  it("carries code, shortMessage, details and cause", () => {
    const cause = new Error("root");
    const e = new InvalidLoadError(3, "h0004", "durationSlots", 9, "longer than its window of 4 slot(s) (10..13)", { details: "from the CLI", cause });
    expect(e).toBeInstanceOf(DsmError);
    expect(e).toBeInstanceOf(Error);
    expect(e).toMatchObject({ code: "INVALID_LOAD", name: "InvalidLoadError", index: 3, household: "h0004", field: "durationSlots", value: 9, details: "from the CLI", cause });
    expect(e.shortMessage).toBe('flexible load #3 ("h0004"): durationSlots = 9; longer than its window of 4 slot(s) (10..13)');
    expect(e.message).toBe(`${e.shortMessage}\n\nDetails: from the CLI`);
  });

  it("formats offending values compactly", () => {
    expect(new InvalidArgumentError("x", "a".repeat(50), "short").shortMessage).toBe(`x = "${"a".repeat(40)}..."; expected short`);
    expect(new InvalidArgumentError("x", [1, 2, 3], "y").shortMessage).toBe("x = <array of 3>; expected y");
    expect(new InvalidArgumentError("x", new Uint8Array(4), "y").shortMessage).toBe("x = <4 bytes>; expected y");
    expect(new InvalidArgumentError("x", 5n, "y").shortMessage).toBe("x = 5n; expected y");
    expect(new InvalidArgumentError("x", { a: 1 }, "y").shortMessage).toBe("x = object; expected y");
  });

  it("isDsmError narrows by code", () => {
    const e: unknown = new UnknownCodeError("device", 9);
    expect(isDsmError(e)).toBe(true);
    expect(isDsmError(e, "UNKNOWN_CODE")).toBe(true);
    expect(isDsmError(e, "INVALID_LOAD")).toBe(false);
    expect(isDsmError(new Error("x"))).toBe(false);
  });
});
