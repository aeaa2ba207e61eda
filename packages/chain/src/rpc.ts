import type { JsonRpcError, JsonRpcResult } from "ethers";
import { RpcError } from "./errors";
import { HttpJsonRpc } from "./httpRpc";

let nextId = 1;

/**
 * One raw JSON-RPC call with a timeout, over the same native transport as the providers
 * (httpRpc.ts): probes, and the members' hot path (thousands of calls a minute under load).
 * @example
 * const head = await rpcCall<string>("http://127.0.0.1:8545", "eth_blockNumber");
 */
export async function rpcCall<T>(url: string, method: string, params: unknown[] = [], timeoutMs = 5000): Promise<T> {
  let answer: JsonRpcResult | JsonRpcError | undefined;
  try {
    [answer] = (await new HttpJsonRpc(url, timeoutMs).post({ jsonrpc: "2.0", id: nextId++, method, params })) as (JsonRpcResult | JsonRpcError)[];
  } catch (e) {
    throw new RpcError(`${method} at ${url} failed: ${(e as Error).message}`, { cause: e });
  }
  if (!answer) throw new RpcError(`${method} at ${url}: empty answer`);
  if ("error" in answer) throw new RpcError(`${method} at ${url}: ${answer.error.message}`, { details: JSON.stringify(answer.error) });
  return answer.result as T;
}
