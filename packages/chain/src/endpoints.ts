// One RPC endpoint of a network with several (multiRpc.ts): how to reach it and whether it is up.
// A request either comes back as the node's JSON-RPC answer (a result, or an error such as a
// revert, which is the node speaking and is never failed over) or fails in transport (refused,
// reset, timeout, an HTTP error without a JSON-RPC body): then the endpoint is marked down for a
// back-off that doubles while it keeps failing, and tried again once that has passed.
import WebSocket from "ws";

/** A JSON-RPC request as ethers' JsonRpcApiProvider hands it to `_send`. */
export interface RpcPayload {
  jsonrpc: "2.0";
  id: number;
  method: string;
  params: unknown[] | Record<string, unknown>;
}

/** The node's answer: a result or a JSON-RPC error object. */
export type RpcAnswer = { jsonrpc?: "2.0"; id: number; result: unknown } | { jsonrpc?: "2.0"; id: number; error: { code: number; message: string; data?: unknown } };

/** A transport failure (not a node's answer): the caller moves on to another endpoint. */
export class EndpointFailure extends Error {
  override name = "EndpointFailure";
}

export interface EndpointOptions {
  /** Per request (default 20 s). A long eth_getLogs must fit; a black-holed node costs this once per back-off. */
  timeoutMs?: number;
  /** First back-off after a failure (default 2 s), doubling per consecutive failure up to `maxBackoffMs` (default 30 s). */
  backoffMs?: number;
  maxBackoffMs?: number;
}

/** What a caller can see of an endpoint's health. */
export interface EndpointStatus {
  url: string;
  up: boolean;
  requests: number;
  failures: number;
  /** Epoch ms until which it is skipped (0: never failed). */
  downUntil: number;
  lastError: string | undefined;
}

export class Endpoint {
  requests = 0;
  failures = 0;
  downUntil = 0;
  lastError: string | undefined;
  private streak = 0;
  private readonly timeoutMs: number;
  private readonly backoffMs: number;
  private readonly maxBackoffMs: number;
  private readonly ws: WsTransport | undefined;

  constructor(
    readonly url: string,
    options: EndpointOptions = {},
  ) {
    this.timeoutMs = options.timeoutMs ?? 20_000;
    this.backoffMs = options.backoffMs ?? 2_000;
    this.maxBackoffMs = options.maxBackoffMs ?? 30_000;
    if (/^wss?:\/\//.test(url)) this.ws = new WsTransport(url);
    else if (!/^https?:\/\//.test(url)) throw new TypeError(`RPC endpoint "${url}" is not an http(s) or ws(s) URL`);
  }

  get up(): boolean {
    return Date.now() >= this.downUntil;
  }

  status(): EndpointStatus {
    return { url: this.url, up: this.up, requests: this.requests, failures: this.failures, downUntil: this.downUntil, lastError: this.lastError };
  }

  /** Sends one request; resolves with the node's answer, rejects with EndpointFailure (and marks the endpoint down). */
  async call(payload: RpcPayload): Promise<RpcAnswer> {
    this.requests++;
    try {
      const answer = this.ws ? await this.ws.call(payload, this.timeoutMs) : await this.post(payload);
      this.streak = 0;
      this.downUntil = 0;
      return answer;
    } catch (e) {
      const why = e instanceof Error ? e.message : String(e);
      this.failures++;
      this.lastError = why;
      this.downUntil = Date.now() + Math.min(this.maxBackoffMs, this.backoffMs * 2 ** this.streak);
      this.streak++;
      throw e instanceof EndpointFailure ? e : new EndpointFailure(why, { cause: e });
    }
  }

  close(): void {
    this.ws?.close();
  }

  private async post(payload: RpcPayload): Promise<RpcAnswer> {
    let res: Response;
    let text: string;
    try {
      res = await fetch(this.url, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(payload),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      text = await res.text();
    } catch (e) {
      const cause = (e as { cause?: { code?: string; message?: string } }).cause;
      throw new EndpointFailure(`${(e as Error).name === "TimeoutError" ? `timeout after ${this.timeoutMs} ms` : (e as Error).message}${cause?.code ? ` (${cause.code})` : ""}`, { cause: e });
    }
    // Rate limits and gateways in front of a node say nothing about the request itself.
    if (res.status === 429 || res.status === 502 || res.status === 503 || res.status === 504) throw new EndpointFailure(`HTTP ${res.status}`);
    // Any other status with a JSON-RPC answer inside is the node's answer (some nodes send reverts as 500).
    return parseAnswer(text, payload.id, `HTTP ${res.status}`);
  }
}

function parseAnswer(text: string, id: number, where: string): RpcAnswer {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new EndpointFailure(`${where}: not a JSON-RPC answer (${text.slice(0, 80)})`);
  }
  const o = body as Record<string, unknown> | null;
  if (!o || typeof o !== "object" || o.id !== id || !("result" in o || (typeof o.error === "object" && o.error !== null))) {
    throw new EndpointFailure(`${where}: not a JSON-RPC answer to request ${id} (${text.slice(0, 80)})`);
  }
  return o as unknown as RpcAnswer;
}

/**
 * JSON-RPC over one WebSocket, opened on first use and again after it drops. Ids are the
 * socket's own (several providers' requests may share it); the answer gets the caller's id back.
 */
class WsTransport {
  private socket: WebSocket | undefined;
  private opening: Promise<WebSocket> | undefined;
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (a: RpcAnswer) => void; reject: (e: Error) => void }>();

  constructor(private readonly url: string) {}

  async call(payload: RpcPayload, timeoutMs: number): Promise<RpcAnswer> {
    const id = this.nextId++;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new EndpointFailure(`timeout after ${timeoutMs} ms`)), timeoutMs);
    });
    const exchange = this.open().then(
      (socket) =>
        new Promise<RpcAnswer>((resolve, reject) => {
          this.pending.set(id, { resolve, reject });
          socket.send(JSON.stringify({ ...payload, id }));
        }),
    );
    exchange.catch(() => undefined); // a late failure after the timeout won the race is nobody's business
    try {
      const answer = await Promise.race([exchange, timeout]);
      return { ...answer, id: payload.id };
    } finally {
      clearTimeout(timer);
      this.pending.delete(id);
    }
  }

  close(): void {
    this.socket?.terminate();
    this.socket = undefined;
  }

  private fail(id: number, e: Error): void {
    this.pending.get(id)?.reject(e);
    this.pending.delete(id);
  }

  private open(): Promise<WebSocket> {
    if (this.socket?.readyState === WebSocket.OPEN) return Promise.resolve(this.socket);
    this.opening ??= new Promise<WebSocket>((resolve, reject) => {
      const s = new WebSocket(this.url);
      s.once("open", () => {
        this.socket = s;
        this.opening = undefined;
        resolve(s);
      });
      s.on("error", (e) => {
        this.opening = undefined;
        reject(new EndpointFailure(e.message, { cause: e }));
      });
      s.on("close", () => {
        if (this.socket === s) this.socket = undefined;
        for (const id of [...this.pending.keys()]) this.fail(id, new EndpointFailure("websocket closed"));
      });
      s.on("message", (data) => {
        let msg: { id?: unknown };
        try {
          msg = JSON.parse(String(data)) as { id?: unknown };
        } catch {
          return;
        }
        if (typeof msg.id !== "number") return; // subscription notices are not answers
        const p = this.pending.get(msg.id);
        if (!p) return;
        try {
          p.resolve(parseAnswer(String(data), msg.id, "websocket"));
        } catch (e) {
          p.reject(e as Error);
        }
      });
    });
    return this.opening;
  }
}
