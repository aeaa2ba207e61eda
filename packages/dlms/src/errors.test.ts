import { BadChecksumError, BadTagError, DlmsError, TruncatedError, UnknownTagError, isDlmsError } from "./errors";

describe("DlmsError", () => {
  it("carries code, shortMessage, details and cause", () => {
    const cause = new Error("root");
    const e = new BadChecksumError("FCS", 0x0cb8, 0x0db8, { details: "frame 3", cause });
    expect(e).toBeInstanceOf(DlmsError);
    expect(e).toMatchObject({ code: "BAD_FCS", name: "BadChecksumError", check: "FCS", expected: 0x0cb8, actual: 0x0db8, details: "frame 3", cause });
    expect(e.shortMessage).toBe("FCS mismatch: frame carries 0x0db8, bytes give 0x0cb8");
    expect(e.message).toBe("FCS mismatch: frame carries 0x0db8, bytes give 0x0cb8\n\nDetails: frame 3");
    expect(new BadChecksumError("HCS", 1, 2).code).toBe("BAD_HCS");
  });
  it("subclasses carry the offending values", () => {
    expect(new TruncatedError("x", 4, 1)).toMatchObject({ code: "TRUNCATED", field: "x", needed: 4, available: 1 });
    expect(new UnknownTagError("APDU", 0xff)).toMatchObject({ code: "UNKNOWN_TAG", tag: 0xff, shortMessage: "unknown APDU tag 0xff" });
    expect(new BadTagError("4d4d4d0000bc614e", 5)).toMatchObject({ code: "BAD_TAG", systemTitle: "4d4d4d0000bc614e", invocationCounter: 5 });
  });
  it("isDlmsError narrows by code", () => {
    const e: unknown = new TruncatedError("x", 1, 0);
    expect(isDlmsError(e)).toBe(true);
    expect(isDlmsError(e, "TRUNCATED")).toBe(true);
    expect(isDlmsError(e, "BAD_FCS")).toBe(false);
    expect(isDlmsError(new Error("x"))).toBe(false);
  });
});
