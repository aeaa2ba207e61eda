import { Wallet } from "ethers";
import { startAnvil, type AnvilHandle } from "./anvil";
import { devPrivateKey } from "./config";
import { makeProvider } from "./network";
import { TxSender, type TxSenderOptions } from "./sender";
import type { JsonRpcProvider } from "ethers";

export interface TestChain {
  node: AnvilHandle;
  provider: JsonRpcProvider;
  /** Dev account `i` (0 = deployer/admin) with a sender of its own. */
  account(i: number): Promise<{ wallet: Wallet; sender: TxSender }>;
  snapshot(): Promise<string>;
  revert(id: string): Promise<void>;
  /** Moves the chain clock forward and mines a block. */
  increaseTime(seconds: number): Promise<void>;
  stop(): Promise<void>;
}

export interface StartTestChainParameters {
  chainId?: number;
  gasLimit?: bigint;
  senderOptions?: TxSenderOptions;
  /** Listen address (default 127.0.0.1); another one lets processes in other network namespaces reach the node. */
  host?: string;
}

/**
 * Starts a throwaway anvil on a free port for one test file (files run in parallel, so each gets
 * its own node and never shares nonces).
 *
 * @example
 * let chain: TestChain; beforeAll(async () => { chain = await startTestChain({ chainId: 31001 }); });
 * afterAll(() => chain.stop());
 */
export async function startTestChain(params: StartTestChainParameters = {}): Promise<TestChain> {
  const chainId = params.chainId ?? 31337;
  const node = await startAnvil({ chainId, ...(params.gasLimit !== undefined ? { gasLimit: params.gasLimit } : {}), ...(params.host !== undefined ? { host: params.host } : {}) });
  const provider = makeProvider(node.url, chainId);
  const accounts = new Map<number, Promise<{ wallet: Wallet; sender: TxSender }>>();
  return {
    node,
    provider,
    account(i: number) {
      let a = accounts.get(i);
      if (!a) {
        const wallet = new Wallet(devPrivateKey(i), provider);
        a = TxSender.create(wallet, provider, { network: `test-${chainId}`, ...params.senderOptions }).then((sender) => ({ wallet, sender }));
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
