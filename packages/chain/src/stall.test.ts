import { diagnoseStalledTx, type RpcSend } from "./stall";

/** A node that holds one minable pending transaction and answers the dev methods as told. */
function node(dev: "anvil" | "none" | "down"): RpcSend & { calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    async send(method: string) {
      calls.push(method);
      switch (method) {
        case "eth_getTransactionByHash":
          return { blockNumber: null, nonce: "0x5", from: "0x00000000000000000000000000000000000000aa", maxFeePerGas: "0x64" };
        case "eth_getTransactionCount":
          return "0x5";
        case "eth_getBlockByNumber":
          return { baseFeePerGas: "0x7" };
        case "anvil_getAutomine":
          if (dev === "anvil") return true;
          throw Object.assign(new Error(dev === "down" ? "connect ECONNREFUSED" : "could not coalesce error"), dev === "down" ? {} : { error: { code: -32601, message: "Method not found" } });
        case "hardhat_getAutomine":
          throw Object.assign(new Error(dev === "down" ? "connect ECONNREFUSED" : "could not coalesce error"), dev === "down" ? {} : { error: { code: -32601, message: "Method not found" } });
        case "evm_mine":
          return "0x0";
        default:
          throw new Error(`unexpected ${method}`);
      }
    },
  };
}

describe("diagnoseStalledTx", () => {
  it("mines one block on an automining dev node for a minable pending transaction", async () => {
    const n = node("anvil");
    const d = await diagnoseStalledTx(n, "0x01");
    expect(d).toMatchObject({ state: "pending", flushed: true, txNonce: 5, accountNonce: 5 });
    expect(n.calls.filter((c) => c === "evm_mine")).toHaveLength(1);
  });

  it("never mines on a network that knows no dev method, and does not ask it again", async () => {
    const n = node("none");
    expect(await diagnoseStalledTx(n, "0x01")).toMatchObject({ state: "pending", flushed: false });
    expect(await diagnoseStalledTx(n, "0x01")).toMatchObject({ state: "pending", flushed: false });
    expect(n.calls.filter((c) => c.endsWith("_getAutomine"))).toEqual(["anvil_getAutomine", "hardhat_getAutomine"]);
    expect(n.calls).not.toContain("evm_mine");
  });

  it("asks again after a failed connection (it may be a dev node after all)", async () => {
    const n = node("down");
    await diagnoseStalledTx(n, "0x01");
    await diagnoseStalledTx(n, "0x01");
    expect(n.calls.filter((c) => c === "anvil_getAutomine")).toHaveLength(2);
  });
});
