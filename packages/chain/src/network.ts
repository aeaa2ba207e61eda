import { JsonRpcProvider, Network, Wallet, type JsonRpcPayload, type JsonRpcResult } from "ethers";
import type { NetworkName, SidegridConfig } from "./config";
import { networkRpcUrls, operatorKey } from "./config";
import { ChainIdMismatchError, ConfigError, InsufficientFundsError, NetworkUnreachableError } from "./errors";
import { MultiRpcProvider, type MultiRpcProviderOptions } from "./multiRpc";
import { HttpJsonRpc } from "./httpRpc";
import { rpcCall } from "./rpc";
import { TxSender, type TxSenderOptions } from "./sender";

export interface ConnectedNetwork {
  name: NetworkName;
  chainId: number;
  /** The primary endpoint (`urls[0]`). */
  url: string;
  urls: string[];
  provider: JsonRpcProvider;
  wallet: Wallet;
  sender: TxSender;
}

export type MakeProviderOptions = MultiRpcProviderOptions;

/**
 * A provider that does not probe the network on its own (no background retries, no log spam).
 * Several URLs (or a quorum) give a MultiRpcProvider: failover, quorum reads, broadcast sends.
 *
 * @example
 * const one = makeProvider("http://127.0.0.1:31001", 31001);
 * const many = makeProvider(["https://a.example", "https://b.example"], 41002, { quorum: 2 });
 */
export function makeProvider(url: string | readonly string[], chainId: number, options: MakeProviderOptions = {}): JsonRpcProvider {
  const urls = typeof url === "string" ? [url] : url;
  if (urls.length === 0) throw new ConfigError("a provider needs at least one RPC URL");
  if (urls.length > 1 || (options.quorum ?? 1) > 1) return new MultiRpcProvider(urls, chainId, options);
  // cacheTimeout -1: ethers otherwise serves identical calls from a 250 ms cache, so a read right
  // after a mined write could return the value from before it.
  return new NodeRaceRetryingProvider(urls[0]!, chainId);
}

/** True if a node's answer is anvil's mining race (see NodeRaceRetryingProvider): nothing ran, ask again. */
export function isNodeMiningRace(results: readonly JsonRpcResult[]): boolean {
  return results.some((r) => "error" in r && /BlockOutOfRangeError/.test(String((r as { error?: { message?: string } }).error?.message)));
}

/**
 * Runs `send` again (up to 8 times, a few ms apart) while the node answers with its mining race;
 * `onRetry` counts the retries. Shared by every transport that talks to anvil.
 * @example
 * const results = await retryNodeMiningRace(() => post(body), () => retried++);
 */
export async function retryNodeMiningRace(send: () => Promise<JsonRpcResult[]>, onRetry: () => void = () => {}): Promise<JsonRpcResult[]> {
  for (let attempt = 0; ; attempt++) {
    const results = await send();
    if (!isNodeMiningRace(results) || attempt >= 8) return results;
    onRetry();
    await new Promise((res) => setTimeout(res, 2 + attempt * 3));
  }
}

/**
 * A JsonRpcProvider that asks again when the node answered with its own mining race: anvil (1.x,
 * `--prune-history`) refuses calls at "latest" with "BlockOutOfRangeError: block height is N but
 * requested was N-1" while it mines back to back, which ethers reports as a call that reverted
 * without data. Nothing was executed, so asking again is safe.
 * @example
 * const p = new NodeRaceRetryingProvider("http://127.0.0.1:31001", 31001);
 */
export class NodeRaceRetryingProvider extends JsonRpcProvider {
  /** Requests asked again after the race (tests, diagnostics). */
  racesRetried = 0;
  /** Native JSON and UTF-8 instead of ethers' FetchRequest (see httpRpc.ts); undefined for other URL schemes. */
  private readonly http: HttpJsonRpc | undefined;

  constructor(url: string, chainId: number) {
    super(url, Network.from(chainId), { staticNetwork: true, batchMaxCount: 1, cacheTimeout: -1 });
    this.http = /^https?:\/\//i.test(url) ? new HttpJsonRpc(url) : undefined;
  }

  override _send(payload: JsonRpcPayload | JsonRpcPayload[]): Promise<JsonRpcResult[]> {
    const http = this.http;
    return retryNodeMiningRace(() => (http ? http.post(payload) : super._send(payload)), () => this.racesRetried++);
  }
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
 * With several endpoints, every one that answers must have the configured chainId, and at least
 * `quorum` of them must answer (the others may be down: failover copes).
 *
 * @example
 * const pri = await connectNetwork({ config: loadConfig(), network: "blockpri" });
 */
export async function connectNetwork(params: ConnectNetworkParameters): Promise<ConnectedNetwork> {
  const n = params.config.networks[params.network];
  const urls = networkRpcUrls(n);
  const ids = await Promise.all(urls.map((u) => rpcCall<string>(u, "eth_chainId", [], 3000).then(BigInt, (e: unknown) => e)));
  for (const [i, id] of ids.entries()) {
    if (typeof id === "bigint" && id !== BigInt(n.chainId)) {
      throw new ChainIdMismatchError(params.network, BigInt(n.chainId), id, urls.length > 1 ? { details: `at ${urls[i]}` } : {});
    }
  }
  if (ids.filter((id) => typeof id === "bigint").length < n.quorum) {
    throw new NetworkUnreachableError(params.network, urls.join(", "), { cause: ids.find((id) => typeof id !== "bigint") });
  }
  const provider = makeProvider(urls, n.chainId, { quorum: n.quorum });
  const wallet = new Wallet(params.privateKey ?? operatorKey(params.config, params.network), provider);
  if (params.requireFunds ?? true) {
    const balance = BigInt((await provider.send("eth_getBalance", [wallet.address, "latest"])) as string);
    if (balance === 0n) throw new InsufficientFundsError(params.network, wallet.address, balance);
  }
  const sender = await TxSender.create(wallet, provider, { network: params.network, ...params.senderOptions });
  return { name: params.network, chainId: n.chainId, url: urls[0]!, urls, provider, wallet, sender };
}
