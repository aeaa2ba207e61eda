import { BadDigestError, InsecureSuiteError, OsgpError, SequenceRejectedError, TruncatedFrameError, isOsgpError } from "./errors";

describe("OsgpError", () => {
  it("carries code, shortMessage, details and cause", () => {
    const cause = new Error("root");
    const e = new BadDigestError("aa", "bb", { details: "while decoding", cause });
    expect(e).toBeInstanceOf(OsgpError);
    expect(e).toBeInstanceOf(Error);
    expect(e).toMatchObject({ code: "BAD_DIGEST", name: "BadDigestError", expected: "aa", actual: "bb", details: "while decoding", cause });
    expect(e.shortMessage).toBe("digest mismatch: frame carries bb, key gives aa");
    expect(e.message).toBe("digest mismatch: frame carries bb, key gives aa\n\nDetails: while decoding");
  });
  it("subclasses carry the offending values", () => {
    expect(new SequenceRejectedError(5, 9, "stale")).toMatchObject({ code: "SEQUENCE_REJECTED", got: 5, current: 9, reason: "stale" });
    expect(new TruncatedFrameError("x", 4, 1)).toMatchObject({ field: "x", needed: 4, available: 1 });
    expect(new InsecureSuiteError("legacy-rc4-mep").shortMessage).toMatch(/allowInsecure/);
  });
  it("isOsgpError narrows by code", () => {
    const e: unknown = new SequenceRejectedError(1, 2, "repeat");
    expect(isOsgpError(e)).toBe(true);
    expect(isOsgpError(e, "SEQUENCE_REJECTED")).toBe(true);
    expect(isOsgpError(e, "BAD_DIGEST")).toBe(false);
    expect(isOsgpError(new Error("x"))).toBe(false);
  });
});
