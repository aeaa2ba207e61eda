import { RpcError } from "./errors";

let nextId = 1;

/** One raw JSON-RPC call with a timeout; used where ethers' provider machinery is too heavy (probes). */
export async function rpcCall<T>(url: string, method: string, params: unknown[] = [], timeoutMs = 5000): Promise<T> {
  const ctrl = new AbortController();
  const timer = setTimeout(() => ctrl.abort(), timeoutMs);
  try {
    const res = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ jsonrpc: "2.0", id: nextId++, method, params }),
      signal: ctrl.signal,
    });
    if (!res.ok) throw new RpcError(`${method} at ${url}: HTTP ${res.status}`);
    const body = (await res.json()) as { result?: T; error?: { code: number; message: string; data?: unknown } };
    if (body.error) throw new RpcError(`${method} at ${url}: ${body.error.message}`, { details: JSON.stringify(body.error) });
    return body.result as T;
  } catch (e) {
    if (e instanceof RpcError) throw e;
    throw new RpcError(`${method} at ${url} failed: ${(e as Error).message}`, { cause: e });
  } finally {
    clearTimeout(timer);
  }
}
