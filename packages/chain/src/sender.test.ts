import { Interface, JsonRpcProvider, Network, Wallet, type InterfaceAbi } from "ethers";
import { Deployments, deployContract } from "./deploy";
import { ContractRevertError, GasLimitExceededError, ReceiptTimeoutError } from "./errors";
import { devPrivateKey } from "./config";
import { TxSender } from "./sender";
import { diagnoseStalledTx } from "./stall";
import { compileSample } from "./test-fixtures";
import { startTestChain, type TestChain } from "./testing";
import type { ContractArtifact } from "./compile";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

describe("TxSender against a real anvil", () => {
  let chain: TestChain;
  let artifact: ContractArtifact;
  let iface: Interface;
  let token: string;

  beforeAll(async () => {
    // A small block gas limit makes the split test cheap: ~22k gas per stored slot.
    chain = await startTestChain({ chainId: 31901, gasLimit: 3_000_000n });
    ({ artifact } = await compileSample());
    iface = new Interface(artifact.abi as InterfaceAbi);
    const { sender } = await chain.account(0);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "sidegrid-deploy-"));
    ({ address: token } = await deployContract({
      sender,
      deployments: Deployments.forNetwork(dir, "test", 31901),
      artifact,
      args: [1_000_000n],
    }));
  });
  afterAll(() => chain.stop());

  it("pipelines 1,000 transactions in nonce order and finds every receipt", async () => {
    const { sender } = await chain.account(1);
    const data = iface.encodeFunctionData("bump");
    const startNonce = Number(await chain.provider.getTransactionCount(sender.address, "latest"));
    const txs = Array.from({ length: 1000 }, () => ({ to: token, data, gasLimit: 60_000n }));
    const receipts = await sender.sendMany(txs);
    expect(receipts).toHaveLength(1000);
    expect(receipts.every((r) => r.status === 1)).toBe(true);
    // Mined in send order: block numbers never go back (under load anvil's automine may put
    // several pending transactions into one block, so they need not strictly increase).
    const backwards = receipts.filter((r, i) => i > 0 && r.blockNumber < receipts[i - 1]!.blockNumber);
    expect(backwards).toEqual([]);
    expect(receipts[999]!.blockNumber).toBeGreaterThan(receipts[0]!.blockNumber);
    const counter = iface.decodeFunctionResult("counter", await chain.provider.call({ to: token, data: iface.encodeFunctionData("counter") }))[0];
    expect(counter).toBe(1000n);
    expect(Number(await chain.provider.getTransactionCount(sender.address, "latest"))).toBe(startNonce + 1000);
  });

  it("splits a batch that would exceed the block gas limit instead of dropping it", async () => {
    const { sender } = await chain.account(2);
    const keys = Array.from({ length: 300 }, (_, i) => BigInt(i + 1)); // ~300 × 22k ≈ 6.6M gas > 3M
    const batches = await sender.sendBatched(keys, (chunk) => ({ to: token, data: iface.encodeFunctionData("storeMany", [chunk]) }));
    expect(batches.length).toBeGreaterThan(1);
    expect(batches.flatMap((b) => b.items)).toEqual(keys);
    for (const b of batches) {
      expect(b.receipt.status).toBe(1);
      expect(b.receipt.gasUsed).toBeLessThanOrEqual(3_000_000n);
    }
    const last = iface.decodeFunctionResult("slots", await chain.provider.call({ to: token, data: iface.encodeFunctionData("slots", [300n]) }))[0];
    expect(last).not.toBe(`0x${"0".repeat(64)}`);
  });

  it("sends a chunk with the caller's gas bound and no estimate, and splits a chunk whose bound is over 90 % of the block", async () => {
    const { sender } = await chain.account(3);
    const estimates = jest.spyOn(sender, "estimateGas");
    const keys = Array.from({ length: 80 }, (_, i) => BigInt(1000 + i)); // ~80 × 22k ≈ 1.8M gas
    // 30k a key bounds it: 80 keys (2.4M + 60k) are over 2.7M (90 % of 3M) only when doubled.
    const bound = (chunk: readonly bigint[]) => 60_000n + 30_000n * BigInt(chunk.length) * (chunk.length > 40 ? 2n : 1n);
    const batches = await sender.sendBatched(keys, (chunk) => ({ to: token, data: iface.encodeFunctionData("storeMany", [chunk]) }), { gasLimitFor: bound });
    expect(estimates).not.toHaveBeenCalled();
    expect(batches.map((b) => b.items.length)).toEqual([40, 40]);
    for (const b of batches) {
      expect(b.receipt.status).toBe(1);
      expect((await chain.provider.getTransaction(b.receipt.transactionHash))!.gasLimit).toBe(60_000n + 30_000n * 40n);
    }
    estimates.mockRestore();
  });

  it("refuses a single transaction above the block gas limit with a typed error", async () => {
    const { sender } = await chain.account(3);
    const keys = Array.from({ length: 300 }, (_, i) => BigInt(10_000 + i));
    const err = await sender.send({ to: token, data: iface.encodeFunctionData("storeMany", [keys]) }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GasLimitExceededError);
  });

  it("surfaces a revert as ContractRevertError with the custom error's name and arguments", async () => {
    const { sender } = await chain.account(4);
    sender.addAbi(artifact.abi as InterfaceAbi);
    const err = await sender.sendAndWait({ to: token, data: iface.encodeFunctionData("mintLimited", [5000n]) }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ContractRevertError);
    const r = err as ContractRevertError;
    expect(r.code).toBe("CONTRACT_REVERT");
    expect(r.errorName).toBe("SampleTooMuch");
    expect(r.args).toEqual([sender.address, 5000n, 1000n]);
    expect(r.shortMessage).toBe(`reverted with SampleTooMuch(${sender.address}, 5000, 1000)`);
  });

  it("decodes a revert that happens on chain (gas given, no estimate) from the receipt", async () => {
    const { sender } = await chain.account(5);
    sender.addAbi(artifact.abi as InterfaceAbi);
    const sent = await sender.send({ to: token, data: iface.encodeFunctionData("mintLimited", [2000n]), gasLimit: 100_000n });
    const err = await sent.wait().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ContractRevertError);
    expect((err as ContractRevertError).errorName).toBe("SampleTooMuch");
    expect((err as ContractRevertError).txHash).toBe(sent.hash);
  });

  describe("a transaction the node leaves pending", () => {
    // The automine race (foundry-rs/foundry#10122) cannot be triggered on demand. Its state can:
    // the node in manual mode holds the transaction in its pool while this provider reports
    // automine on, as a racing anvil does.
    class RacingAnvil extends JsonRpcProvider {
      override send(method: string, params: unknown[] | Record<string, unknown>): Promise<unknown> {
        if (method === "anvil_getAutomine") return Promise.resolve(true);
        return super.send(method, params);
      }
    }
    const height = async () => Number(await chain.provider.send("eth_blockNumber", []));
    afterEach(() => chain.provider.send("evm_setAutomine", [true]));

    it("is flushed with one block when the node automines yet left them in the pool", async () => {
      const provider = new RacingAnvil(chain.node.url, Network.from(31901), { staticNetwork: true, batchMaxCount: 1, cacheTimeout: -1 });
      const sender = await TxSender.create(new Wallet(devPrivateKey(6), provider), provider, { stallCheckMs: 200 });
      await chain.provider.send("evm_setAutomine", [false]);
      const before = await height();
      // Five pipelined waits, one look at the lowest nonce, one block for all five.
      const receipts = await sender.sendMany(Array.from({ length: 5 }, () => ({ to: sender.address, value: 1n, gasLimit: 21_000n })), 10_000);
      expect(receipts.map((r) => [r.status, r.blockNumber])).toEqual(Array.from({ length: 5 }, () => [1, before + 1]));
      expect(sender.stalledFlushed).toBe(1);
      provider.destroy();
    });

    it("is left alone on a node that mines by hand, and the timeout says it is pending", async () => {
      const { sender } = await chain.account(7);
      await chain.provider.send("evm_setAutomine", [false]);
      const before = await height();
      const sent = await sender.send({ to: sender.address, value: 1n, gasLimit: 21_000n });
      const err = await sent.wait(700).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ReceiptTimeoutError);
      expect((err as ReceiptTimeoutError).diagnosis).toMatch(new RegExp(`^pending with nonce ${sent.nonce}; the account's mined nonce is ${sent.nonce}`));
      expect(await height()).toBe(before);
      expect(sender.stalledFlushed).toBe(0);
      // The caller's own block mines it: the transaction was never lost.
      await chain.provider.send("evm_mine", []);
      expect((await sender.waitForReceipt(sent.hash, 2000)).status).toBe(1);
    });

    it("is never flushed when a nonce gap holds it, even on an automining node", async () => {
      const wallet = new Wallet(devPrivateKey(8), chain.provider);
      const nonce = Number(await chain.provider.send("eth_getTransactionCount", [wallet.address, "pending"]));
      const fees = { maxFeePerGas: 10_000_000_000n, maxPriorityFeePerGas: 1n };
      const raw = await wallet.signTransaction({ type: 2, chainId: 31901n, nonce: nonce + 1, to: wallet.address, value: 1n, gasLimit: 21_000n, ...fees });
      const hash = (await chain.provider.send("eth_sendRawTransaction", [raw])) as string;
      const before = await height();
      const d = await diagnoseStalledTx(chain.provider, hash);
      expect(d).toMatchObject({ state: "pending", flushed: false, txNonce: nonce + 1, accountNonce: nonce });
      expect(d.summary).toContain("a gap of 1");
      expect(await height()).toBe(before);
      // Filling the gap mines both: the diagnosis named the cause.
      const fill = await wallet.signTransaction({ type: 2, chainId: 31901n, nonce, to: wallet.address, value: 1n, gasLimit: 21_000n, ...fees });
      await chain.provider.send("eth_sendRawTransaction", [fill]);
      const r = await (await chain.account(8)).sender.waitForReceipt(hash, 5000);
      expect(r.status).toBe(1);
    });

    it("is broadcast again, with the ones behind it, when the node dropped them from its pool", async () => {
      const { sender } = await chain.account(9);
      const fast = await TxSender.create(sender.wallet, chain.provider, { stallCheckMs: 200 });
      await chain.provider.send("evm_setAutomine", [false]);
      const sent = [];
      for (let i = 0; i < 3; i++) sent.push(await fast.send({ to: fast.address, value: 1n, gasLimit: 21_000n }));
      // The node loses the first, and anvil drops the two that depend on its nonce with it.
      await chain.provider.send("anvil_dropTransaction", [sent[0]!.hash]);
      for (const x of sent) expect(await chain.provider.send("eth_getTransactionByHash", [x.hash])).toBeNull();
      await chain.provider.send("evm_setAutomine", [true]);
      const receipts = await Promise.all(sent.map((x) => x.wait(10_000)));
      expect(receipts.map((r) => [r.status, r.transactionHash])).toEqual(sent.map((x) => [1, x.hash]));
      expect(fast.rebroadcast).toBe(3);
    });

    it("is mined after a rollback took the nonces below it: they are filled with empty transfers, the lost transactions are not sent again", async () => {
      const wallet = new Wallet(Wallet.createRandom().privateKey, chain.provider);
      await chain.provider.send("anvil_setBalance", [wallet.address, "0xde0b6b3a7640000"]);
      const fast = await TxSender.create(wallet, chain.provider, { stallCheckMs: 200 });
      const payee = Wallet.createRandom().address;
      const snap = await chain.snapshot();
      for (const v of [5n, 6n]) expect((await fast.sendAndWait({ to: payee, value: v, gasLimit: 21_000n })).status).toBe(1);
      expect(await chain.provider.getBalance(payee)).toBe(11n);
      // What an anvil restarted from an older state dump does: both transfers are gone.
      await chain.revert(snap);
      expect(await chain.provider.getBalance(payee)).toBe(0n);
      const r = await fast.sendAndWait({ to: payee, value: 7n, gasLimit: 21_000n }, 20_000);
      expect(r.status).toBe(1);
      expect(fast.gapsFilled).toBe(2);
      // Only the new transfer: the lost ones' callers saw them mined, sending them again could pay twice.
      expect(await chain.provider.getBalance(payee)).toBe(7n);
      expect(Number(await chain.provider.send("eth_getTransactionCount", [wallet.address, "latest"]))).toBe(3);
    });

    it("is taken out of the pool and sent again when the pool files it behind a nonce the chain already mined", async () => {
      // CI's failure: the pool held a minable transaction as "queued" and no mined block took it.
      // anvil_setNonce moves the chain's nonce past the pool's view, which leaves the same state.
      const wallet = new Wallet(Wallet.createRandom().privateKey, chain.provider);
      await chain.provider.send("anvil_setBalance", [wallet.address, "0xde0b6b3a7640000"]);
      const fast = await TxSender.create(wallet, chain.provider, { stallCheckMs: 200 });
      await chain.provider.send("evm_setAutomine", [false]);
      const first = await fast.send({ to: wallet.address, value: 1n, gasLimit: 21_000n });
      await chain.provider.send("anvil_dropTransaction", [first.hash]);
      const sent = [await fast.send({ to: wallet.address, value: 2n, gasLimit: 21_000n }), await fast.send({ to: wallet.address, value: 3n, gasLimit: 21_000n })];
      await chain.provider.send("anvil_setNonce", [wallet.address, `0x${(first.nonce + 1).toString(16)}`]);
      await chain.provider.send("evm_setAutomine", [true]);
      const before = await height();
      await chain.provider.send("evm_mine", []);
      // The state CI saw: a mined block did not take it, though its nonce is the chain's.
      expect(await chain.provider.send("eth_getTransactionReceipt", [sent[0]!.hash])).toBeNull();
      expect(await chain.provider.send("txpool_status", [])).toMatchObject({ pending: "0x0", queued: "0x2" });
      expect(await height()).toBe(before + 1);
      const receipts = await Promise.all(sent.map((x) => x.wait(10_000)));
      expect(receipts.map((r) => [r.status, r.transactionHash])).toEqual(sent.map((x) => [1, x.hash]));
      expect(fast.resubmitted).toBe(1);
      expect(fast.stalledFlushed).toBeGreaterThanOrEqual(2);
    });

    it("is reported unknown when the node never had it", async () => {
      const d = await diagnoseStalledTx(chain.provider, `0x${"ab".repeat(32)}`);
      expect(d).toMatchObject({ state: "unknown", flushed: false });
    });
  });
});
