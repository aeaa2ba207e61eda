import type { RpcAnswer, RpcPayload } from "./endpoints";
import { agreedAnswer, isQuorumRead, pinToBlock, quorumHead, readsLatest } from "./quorum";

const req = (method: string, params: unknown[]): RpcPayload => ({ jsonrpc: "2.0", id: 7, method, params });
const result = (v: unknown): RpcAnswer => ({ id: 1, result: v });

describe("quorum reads", () => {
  it("takes the k-th highest head: the newest block k nodes have", () => {
    expect(quorumHead([105n, 107n, 106n], 1)).toBe(107n);
    expect(quorumHead([105n, 107n, 106n], 2)).toBe(106n);
    expect(quorumHead([105n, 107n, 106n], 3)).toBe(105n);
    expect(quorumHead([105n], 2)).toBeUndefined();
  });

  it("pins reads of latest (or of no tag) to the quorum head and leaves explicit blocks alone", () => {
    expect(pinToBlock(req("eth_call", [{ to: "0x01" }]), 255n).params).toEqual([{ to: "0x01" }, "0xff"]);
    expect(pinToBlock(req("eth_getStorageAt", ["0x01", "0x0", "latest"]), 16n).params).toEqual(["0x01", "0x0", "0x10"]);
    expect(pinToBlock(req("eth_getLogs", [{ address: "0x01", fromBlock: "0x5" }]), 16n).params).toEqual([{ address: "0x01", fromBlock: "0x5", toBlock: "0x10" }]);
    expect(readsLatest(req("eth_getBalance", ["0x01", "0x5"]))).toBe(false);
    expect(readsLatest(req("eth_getLogs", [{ blockHash: "0xab" }]))).toBe(false);
    expect(readsLatest(req("eth_getTransactionReceipt", ["0xab"]))).toBe(false);
  });

  it("leaves pending reads and writes to failover", () => {
    expect(isQuorumRead(req("eth_getTransactionCount", ["0x01", "pending"]))).toBe(false);
    expect(isQuorumRead(req("eth_getTransactionCount", ["0x01", "latest"]))).toBe(true);
    expect(isQuorumRead(req("eth_estimateGas", [{}]))).toBe(false);
    expect(isQuorumRead(req("eth_sendRawTransaction", ["0x"]))).toBe(false);
  });

  it("agrees on equal answers whatever the key order or hex case", () => {
    const a = agreedAnswer("eth_getTransactionReceipt", [result({ status: "0x1", to: "0xAB" }), result({ to: "0xab", status: "0x1" })], 2);
    expect(a).toEqual(result({ status: "0x1", to: "0xAB" }));
    expect(agreedAnswer("eth_call", [result("0x01"), result("0x02"), result("0x01")], 2)).toEqual(result("0x01"));
    expect(agreedAnswer("eth_call", [result("0x01"), result("0x02")], 2)).toBeUndefined();
    // The same revert from k nodes is an agreed answer too.
    const revert: RpcAnswer = { id: 1, error: { code: 3, message: "execution reverted", data: "0xdeadbeef" } };
    expect(agreedAnswer("eth_call", [revert, revert], 2)).toEqual(revert);
  });

  it("reads a receipt only some nodes have as not there yet, but two different receipts as a disagreement", () => {
    expect(agreedAnswer("eth_getTransactionReceipt", [result({ blockNumber: "0x5" }), result(null)], 2)).toEqual(result(null));
    expect(agreedAnswer("eth_getTransactionReceipt", [result({ blockNumber: "0x5" }), result({ blockNumber: "0x6" }), result(null)], 2)).toBeUndefined();
    expect(agreedAnswer("eth_getBalance", [result("0x1"), result(null)], 2)).toBeUndefined();
  });
});
