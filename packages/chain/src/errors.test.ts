import { ChainError, ContractRevertError, SidegridError, formatErrorValue, isChainError } from "./errors";

// Another package's base, declared the way blockpri, blocksec, ... declare theirs.
class OtherPackageError extends SidegridError<"INVALID_ARGUMENT"> {
  override name = "OtherPackageError";
}

describe("SidegridError, the shared base of every package's errors", () => {
  it("keeps code, one-line shortMessage, details in the message and the cause", () => {
    const cause = new Error("socket hang up");
    const e = new ChainError("RPC_ERROR", "node refused eth_call", { details: "HTTP 502", cause });
    expect([e.name, e.code, e.shortMessage, e.details, e.message, e.cause]).toEqual(["ChainError", "RPC_ERROR", "node refused eth_call", "HTTP 502", "node refused eth_call\n\nDetails: HTTP 502", cause]);
    expect(new ChainError("RPC_ERROR", "x").message).toBe("x");
  });

  it("still tells the packages apart by instanceof and by guard", () => {
    const pri = new OtherPackageError("INVALID_ARGUMENT", "bad meter id");
    const revert = new ContractRevertError("PPCMeterTaken", [1n], "0x");
    expect([pri.name, pri instanceof SidegridError, pri instanceof ChainError, isChainError(pri)]).toEqual(["OtherPackageError", true, false, false]);
    expect([revert instanceof SidegridError, isChainError(revert, "CONTRACT_REVERT"), revert.shortMessage]).toEqual([true, true, "reverted with PPCMeterTaken(1)"]);
  });

  it("formats offending values for messages", () => {
    expect([formatErrorValue("a"), formatErrorValue(12n), formatErrorValue({ n: 1n }), formatErrorValue(undefined)]).toEqual(['"a"', "12", '{"n":"1"}', "undefined"]);
  });
});
