// Test harness (not part of the build): a throwaway anvil like @sidegrid/chain's startTestChain, but
// bound to a chosen address, so members on other hosts (network namespaces) can reach it.
import { Wallet } from "ethers";
import { TxSender, devPrivateKey, makeProvider, startAnvil, startTestChain, type TestChain } from "@sidegrid/chain";

/** startTestChain on `host` (omitted: startTestChain itself, on 127.0.0.1). */
export async function startTestChainAt(p: { chainId: number; host?: string; gasLimit?: bigint }): Promise<TestChain> {
  if (p.host === undefined || p.host === "127.0.0.1") return startTestChain({ chainId: p.chainId, ...(p.gasLimit !== undefined ? { gasLimit: p.gasLimit } : {}) });
  const node = await startAnvil({ chainId: p.chainId, host: p.host, ...(p.gasLimit !== undefined ? { gasLimit: p.gasLimit } : {}) });
  const provider = makeProvider(node.url, p.chainId);
  const accounts = new Map<number, Promise<{ wallet: Wallet; sender: TxSender }>>();
  return {
    node,
    provider,
    account(i: number) {
      let a = accounts.get(i);
      if (!a) {
        const wallet = new Wallet(devPrivateKey(i), provider);
        a = TxSender.create(wallet, provider, { network: `test-${p.chainId}` }).then((sender) => ({ wallet, sender }));
        accounts.set(i, a);
      }
      return a;
    },
    snapshot: () => provider.send("evm_snapshot", []) as Promise<string>,
    async revert(id: string) {
      await provider.send("evm_revert", [id]);
      // Nonces rewind with the state: resync every sender.
      for (const a of accounts.values()) await (await a).sender.sync();
    },
    async increaseTime(seconds: number) {
      await provider.send("evm_increaseTime", [seconds]);
      await provider.send("evm_mine", []);
    },
    async stop() {
      provider.destroy();
      await node.stop();
    },
  };
}
