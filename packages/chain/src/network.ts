import { JsonRpcProvider, Network, Wallet } from "ethers";
import type { NetworkName, SidegridConfig } from "./config";
import { operatorKey } from "./config";
import { ChainIdMismatchError, InsufficientFundsError, NetworkUnreachableError } from "./errors";
import { rpcCall } from "./rpc";
import { TxSender, type TxSenderOptions } from "./sender";

export interface ConnectedNetwork {
  name: NetworkName;
  chainId: number;
  url: string;
  provider: JsonRpcProvider;
  wallet: Wallet;
  sender: TxSender;
}

/** A provider that does not probe the network on its own (no background retries, no log spam). */
export function makeProvider(url: string, chainId: number): JsonRpcProvider {
  // cacheTimeout -1: ethers otherwise serves identical calls from a 250 ms cache, so a read right
  // after a mined write could return the value from before it.
  return new JsonRpcProvider(url, Network.from(chainId), { staticNetwork: true, batchMaxCount: 1, cacheTimeout: -1 });
}

export interface ConnectNetworkParameters {
  config: SidegridConfig;
  network: NetworkName;
  /** Override the operator key (default: from env, or the dev key on local networks). */
  privateKey?: string;
  /** Refuse an account with no balance (default true). */
  requireFunds?: boolean;
  senderOptions?: TxSenderOptions;
}

/**
 * Connects to one configured network and checks it before use: it answers, its chainId is the
 * configured one, and the operator account can pay for gas. Each failure is one typed error.
 *
 * @example
 * const pri = await connectNetwork({ config: loadConfig(), network: "blockpri" });
 */
export async function connectNetwork(params: ConnectNetworkParameters): Promise<ConnectedNetwork> {
  const n = params.config.networks[params.network];
  let actual: bigint;
  try {
    actual = BigInt(await rpcCall<string>(n.rpcUrl, "eth_chainId", [], 3000));
  } catch (e) {
    throw new NetworkUnreachableError(params.network, n.rpcUrl, { cause: e });
  }
  if (actual !== BigInt(n.chainId)) throw new ChainIdMismatchError(params.network, BigInt(n.chainId), actual);
  const provider = makeProvider(n.rpcUrl, n.chainId);
  const wallet = new Wallet(params.privateKey ?? operatorKey(params.config, params.network), provider);
  if (params.requireFunds ?? true) {
    const balance = BigInt(await rpcCall<string>(n.rpcUrl, "eth_getBalance", [wallet.address, "latest"], 3000));
    if (balance === 0n) throw new InsufficientFundsError(params.network, wallet.address, balance);
  }
  const sender = await TxSender.create(wallet, provider, { network: params.network, ...params.senderOptions });
  return { name: params.network, chainId: n.chainId, url: n.rpcUrl, provider, wallet, sender };
}
