import fc from "fast-check";
import { Wallet, hexlify } from "ethers";
import { startTestChain, type TestChain } from "@sidegrid/chain";
import { FastJsonRpcProvider, FastWallet } from "./fastRpc";

describe("fast transport and serializer", () => {
  it("signs EIP-1559 transactions to exactly ethers' bytes", async () => {
    const key = Wallet.createRandom().privateKey;
    const ethersWallet = new Wallet(key);
    const fast = new FastWallet(key);
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          chainId: fc.bigInt({ min: 1n, max: 1n << 40n }),
          nonce: fc.integer({ min: 0, max: 1_000_000 }),
          gasLimit: fc.bigInt({ min: 21000n, max: 1n << 40n }),
          maxFeePerGas: fc.bigInt({ min: 0n, max: 1n << 70n }),
          maxPriorityFeePerGas: fc.bigInt({ min: 0n, max: 1n << 40n }),
          value: fc.bigInt({ min: 0n, max: 1n << 80n }),
          data: fc.uint8Array({ maxLength: 300 }).map((b) => hexlify(b)),
          to: fc.uint8Array({ minLength: 20, maxLength: 20 }).map((b) => hexlify(b)),
        }),
        async (tx) => {
          const t = { ...tx, maxFeePerGas: tx.maxFeePerGas + tx.maxPriorityFeePerGas, type: 2 as const };
          expect(await fast.signTransaction(t)).toBe(await ethersWallet.signTransaction(t));
        },
      ),
      { numRuns: 100 },
    );
  });

  describe("against anvil", () => {
    let chain: TestChain;
    beforeAll(async () => {
      chain = await startTestChain({ chainId: 31511 });
    });
    afterAll(() => chain.stop());

    it("sends, reads and reports JSON-RPC errors like the ethers transport", async () => {
      const provider = new FastJsonRpcProvider(chain.node.url, 31511);
      try {
        expect(await provider.getBlockNumber()).toBeGreaterThanOrEqual(0);
        const funded = (await chain.account(0)).wallet;
        const w = new FastWallet(funded.privateKey, provider);
        const before = await provider.getBalance(funded.address);
        const raw = await w.signTransaction({ type: 2, chainId: 31511n, nonce: await provider.getTransactionCount(funded.address), to: Wallet.createRandom().address, value: 5n, gasLimit: 21000n, maxFeePerGas: 10n ** 10n, maxPriorityFeePerGas: 1n, data: "0x" });
        const hash = await provider.send("eth_sendRawTransaction", [raw]);
        expect(hash).toMatch(/^0x[0-9a-f]{64}$/);
        for (let i = 0; i < 100 && !(await provider.send("eth_getTransactionReceipt", [hash])); i++) await new Promise((r) => setTimeout(r, 10));
        expect(BigInt(await provider.send("eth_getBalance", [funded.address, "latest"]))).toBeLessThan(before);
        await expect(provider.send("eth_sendRawTransaction", [raw])).rejects.toThrow(/nonce|already|known/i);
      } finally {
        provider.destroy();
      }
    });

    it("retries anvil's BlockOutOfRangeError race on calls at latest while blocks are mined back to back", async () => {
      const provider = new FastJsonRpcProvider(chain.node.url, 31511);
      const { sender } = await chain.account(1);
      let stop = false;
      const spam = (async () => {
        while (!stop) await sender.sendMany(Array.from({ length: 20 }, () => ({ to: sender.address, value: 1n })));
      })();
      try {
        let ok = 0;
        for (let i = 0; i < 300; i++) {
          // eth_getBalance/eth_call at "latest" are what hit the race.
          await provider.send("eth_call", [{ to: sender.address, data: "0x" }, "latest"]);
          ok++;
        }
        expect(ok).toBe(300);
      } finally {
        stop = true;
        await spam;
        provider.destroy();
      }
    });
  });
});
