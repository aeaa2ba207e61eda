import { Wallet } from "ethers";
import { startAnvil, type AnvilHandle } from "./anvil";
import { devPrivateKey } from "./config";
import { RpcDisagreementError, RpcUnavailableError } from "./errors";
import { MultiRpcProvider } from "./multiRpc";
import { makeProvider } from "./network";
import { freePort, sleep } from "./process";
import { rpcCall } from "./rpc";
import { TxSender } from "./sender";

// Two anvil nodes with the same chainId and mnemonic: identical state while every transaction is
// broadcast to both, diverged once one of them gets a transaction the other does not.
const CHAIN_ID = 31712;

/** Waits until the node at `url` has mined up to `block` (automine answers before the block exists now and then). */
async function headAt(url: string, block: number): Promise<void> {
  for (let i = 0; Number(await rpcCall<string>(url, "eth_blockNumber")) < block; i++) {
    if (i > 200) throw new Error(`${url} never reached block ${block}`);
    await sleep(50);
  }
}

describe("MultiRpcProvider quorum reads", () => {
  let a: AnvilHandle;
  let b: AnvilHandle;
  let q: MultiRpcProvider;
  const paid = Wallet.createRandom().address;
  beforeAll(async () => {
    [a, b] = await Promise.all([startAnvil({ chainId: CHAIN_ID }), startAnvil({ chainId: CHAIN_ID })]);
    q = new MultiRpcProvider([a.url, b.url], CHAIN_ID, { quorum: 2 });
    // One transaction through a failover provider reaches both nodes.
    const both = makeProvider([a.url, b.url], CHAIN_ID);
    const sender = await TxSender.create(devPrivateKey(2), both, { network: "quorum" });
    await sender.sendAndWait({ to: paid, value: 1000n });
    await Promise.all([headAt(a.url, 1), headAt(b.url, 1)]);
    both.destroy();
  });
  afterAll(async () => {
    q.destroy();
    await Promise.all([a.stop(), b.stop()]);
  });

  it("returns the value when the nodes agree", async () => {
    expect(BigInt((await q.send("eth_getBalance", [paid, "latest"])) as string)).toBe(1000n);
    expect(await q.send("eth_blockNumber", [])).toBe("0x1");
    expect(q.endpointStatus().map((s) => s.failures)).toEqual([0, 0]);
  });

  it("reaches a quorum of 2 of 3 with one endpoint dead, and not with 2 of 2", async () => {
    const dead = `http://127.0.0.1:${await freePort()}`;
    const q3 = new MultiRpcProvider([a.url, dead, b.url], CHAIN_ID, { quorum: 2 });
    expect(BigInt((await q3.send("eth_getBalance", [paid, "latest"])) as string)).toBe(1000n);
    expect(q3.endpointStatus()[1]).toMatchObject({ url: dead, up: false });
    q3.destroy();
    const q2 = new MultiRpcProvider([a.url, dead], CHAIN_ID, { quorum: 2 });
    const err = await q2.send("eth_getBalance", [paid, "latest"]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RpcUnavailableError);
    expect(err).toMatchObject({ code: "RPC_UNAVAILABLE", quorum: 2, answered: 1 });
    expect((err as RpcUnavailableError).failures.map((f) => f.url)).toEqual([dead]);
    q2.destroy();
  });

  it("throws RpcDisagreementError naming both endpoints and their answers once the nodes diverge", async () => {
    const wallet = new Wallet(devPrivateKey(3));
    const to = Wallet.createRandom().address;
    const sign = (value: bigint, nonce: number) =>
      wallet.signTransaction({ type: 2, chainId: CHAIN_ID, nonce, to, value, gasLimit: 21000n, maxFeePerGas: 10n ** 10n, maxPriorityFeePerGas: 1n });
    // The same nonce with different amounts: each node mines its own, so both reach block 2.
    await rpcCall(a.url, "eth_sendRawTransaction", [await sign(1000n, 0)]);
    await rpcCall(b.url, "eth_sendRawTransaction", [await sign(2000n, 0)]);
    await Promise.all([headAt(a.url, 2), headAt(b.url, 2)]);
    const err = await q.send("eth_getBalance", [to, "latest"]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RpcDisagreementError);
    const d = err as RpcDisagreementError;
    expect(d.code).toBe("RPC_DISAGREEMENT");
    expect(d.method).toBe("eth_getBalance");
    expect(d.answers).toEqual([
      { url: a.url, answer: '"0x3e8"' },
      { url: b.url, answer: '"0x7d0"' },
    ]);
    expect(d.shortMessage).toBe(`eth_getBalance: fewer than 2 endpoints agree: ${a.url} answered "0x3e8"; ${b.url} answered "0x7d0"`);

    // A head only one node has is not a quorum head: one more block on a leaves the answer at 2.
    await rpcCall(a.url, "eth_sendRawTransaction", [await sign(1n, 1)]);
    await headAt(a.url, 3);
    expect(await q.send("eth_blockNumber", [])).toBe("0x2");
  });
});
