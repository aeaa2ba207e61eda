// A JsonRpcProvider over several endpoints of one network. The code base passes JsonRpcProvider
// around (provider.send, TxSender), so ethers' FallbackProvider (an AbstractProvider) cannot
// stand in; this one keeps the type and replaces only `_send`, the primitive JsonRpcApiProvider
// hands each queued request to, so everything above it (send, the request queue, error mapping
// of JSON-RPC errors through getRpcError) stays ethers' own.
//
// - Failover: a request goes to the first endpoint that is up, in list order, so the primary is
//   used again as soon as its back-off has passed and it answers. Only transport failures move on
//   (endpoints.ts); a node's JSON-RPC error (a revert, "nonce too low") is returned as it came.
// - Quorum (`quorum` > 1): the reads in quorum.ts go to every endpoint that is up and count only
//   when `quorum` of them give the same answer; reads of "latest" are pinned to the newest block
//   `quorum` endpoints have (quorum.ts). Otherwise RpcDisagreementError names every answer.
// - eth_sendRawTransaction goes to every endpoint that is up; the first acceptance wins, and the
//   others' "already known" or "nonce too low" (it reached them first) do not matter.
import { JsonRpcProvider, Network, type JsonRpcPayload, type JsonRpcResult } from "ethers";
import { Endpoint, EndpointFailure, type EndpointOptions, type EndpointStatus, type RpcAnswer, type RpcPayload } from "./endpoints";
import { ConfigError, RpcDisagreementError, RpcUnavailableError, type RpcEndpointAnswer } from "./errors";
import { agreedAnswer, describeAnswer, isQuorumRead, pinToBlock, quorumHead, readsLatest } from "./quorum";

export interface MultiRpcProviderOptions extends EndpointOptions {
  /** Endpoints that must give the same answer to a read (default 1: failover only). */
  quorum?: number;
}

/**
 * @example
 * const provider = new MultiRpcProvider(["https://a.example", "https://b.example"], 41002, { quorum: 2 });
 * const head = await provider.send("eth_blockNumber", []); // the newest block both have
 */
export class MultiRpcProvider extends JsonRpcProvider {
  readonly urls: readonly string[];
  readonly quorum: number;
  private readonly endpoints: Endpoint[];
  private last: string | undefined;
  private headId = 1;

  constructor(urls: readonly string[], chainId: number, options: MultiRpcProviderOptions = {}) {
    if (urls.length === 0) throw new ConfigError("a provider needs at least one RPC URL");
    if (new Set(urls).size !== urls.length) throw new ConfigError(`RPC URLs listed twice: ${urls.join(", ")}`);
    const quorum = options.quorum ?? 1;
    if (!Number.isSafeInteger(quorum) || quorum < 1 || quorum > urls.length) {
      throw new ConfigError(`quorum must be an integer from 1 to the number of RPC URLs (${urls.length}), got ${quorum}`);
    }
    // The base class's own connection (urls[0]) is never used: `_send` below replaces it.
    super(urls[0], Network.from(chainId), { staticNetwork: true, batchMaxCount: 1, cacheTimeout: -1 });
    this.urls = [...urls];
    this.quorum = quorum;
    this.endpoints = urls.map((u) => new Endpoint(u, options));
  }

  /** The endpoint that answered the last failover request or broadcast. */
  get lastUrl(): string | undefined {
    return this.last;
  }

  /** Health of every endpoint, in list order. */
  endpointStatus(): EndpointStatus[] {
    return this.endpoints.map((e) => e.status());
  }

  override destroy(): void {
    for (const e of this.endpoints) e.close();
    super.destroy();
  }

  override async _send(payload: JsonRpcPayload | JsonRpcPayload[]): Promise<JsonRpcResult[]> {
    const list = (Array.isArray(payload) ? payload : [payload]) as RpcPayload[];
    // JSON-RPC errors travel in the same array: the base class turns them into ethers errors.
    return (await Promise.all(list.map((p) => this.one(p)))) as unknown as JsonRpcResult[];
  }

  private one(p: RpcPayload): Promise<RpcAnswer> {
    if (p.method === "eth_sendRawTransaction") return this.broadcast(p);
    if (this.quorum > 1 && isQuorumRead(p)) return this.quorumRead(p);
    return this.failover(p);
  }

  /** Endpoints that are up in list order, then those backing off, soonest back first (worth a try when nothing else works). */
  private ordered(): { up: Endpoint[]; down: Endpoint[] } {
    const up = this.endpoints.filter((e) => e.up);
    const down = this.endpoints.filter((e) => !e.up).sort((a, b) => a.downUntil - b.downUntil);
    return { up, down };
  }

  private async failover(p: RpcPayload): Promise<RpcAnswer> {
    const { up, down } = this.ordered();
    const failures: RpcEndpointAnswer[] = [];
    for (const e of [...up, ...down]) {
      try {
        const answer = await e.call(p);
        this.last = e.url;
        return answer;
      } catch (err) {
        if (!(err instanceof EndpointFailure)) throw err;
        failures.push({ url: e.url, answer: err.message });
      }
    }
    throw new RpcUnavailableError(p.method, failures);
  }

  private async broadcast(p: RpcPayload): Promise<RpcAnswer> {
    const { up, down } = this.ordered();
    const failures: RpcEndpointAnswer[] = [];
    const first = await this.sendToAll(up, p, failures);
    if (first) return first;
    // Every endpoint that was up failed in transport: those backing off may be back.
    const second = await this.sendToAll(down, p, failures);
    if (second) return second;
    throw new RpcUnavailableError(p.method, failures);
  }

  /**
   * Sends to every endpoint at once; resolves with the first acceptance, or once all have
   * answered with the first refusal in list order (the node's own words, as one node would give
   * them), or undefined when none answered at all.
   */
  private sendToAll(targets: readonly Endpoint[], p: RpcPayload, failures: RpcEndpointAnswer[]): Promise<RpcAnswer | undefined> {
    if (targets.length === 0) return Promise.resolve(undefined);
    return new Promise((resolve) => {
      const refusals = new Map<Endpoint, RpcAnswer>();
      let left = targets.length;
      let done = false;
      for (const e of targets) {
        e.call(p)
          .then(
            (a) => {
              if ("result" in a && !done) {
                done = true;
                this.last = e.url;
                resolve(a);
              } else refusals.set(e, a);
            },
            (err: unknown) => failures.push({ url: e.url, answer: err instanceof Error ? err.message : String(err) }),
          )
          .finally(() => {
            if (--left > 0 || done) return;
            const refusal = targets.find((t) => refusals.has(t));
            if (refusal) this.last = refusal.url;
            resolve(refusal ? refusals.get(refusal) : undefined);
          });
      }
    });
  }

  private async quorumRead(p: RpcPayload): Promise<RpcAnswer> {
    const { up, down } = this.ordered();
    // Too few endpoints up to reach the quorum: ask those backing off too rather than fail outright.
    let targets = up.length >= this.quorum ? up : [...up, ...down];
    const failures: RpcEndpointAnswer[] = [];
    let request = p;
    if (p.method === "eth_blockNumber" || readsLatest(p)) {
      const heads = await this.heads(targets, failures);
      const h = quorumHead(
        heads.map((x) => x.head),
        this.quorum,
      );
      if (h === undefined) throw new RpcUnavailableError(p.method, failures, this.quorum, heads.length);
      if (p.method === "eth_blockNumber") return { jsonrpc: "2.0", id: p.id, result: `0x${h.toString(16)}` };
      targets = heads.filter((x) => x.head >= h).map((x) => x.endpoint);
      request = pinToBlock(p, h);
    }
    const answered: { url: string; answer: RpcAnswer }[] = [];
    await Promise.all(
      targets.map((e) =>
        e.call(request).then(
          (answer) => answered.push({ url: e.url, answer }),
          (err: unknown) => failures.push({ url: e.url, answer: err instanceof Error ? err.message : String(err) }),
        ),
      ),
    );
    if (answered.length < this.quorum) throw new RpcUnavailableError(p.method, failures, this.quorum, answered.length);
    // List order, so the error message and the chosen answer do not depend on who was faster.
    answered.sort((a, b) => this.urls.indexOf(a.url) - this.urls.indexOf(b.url));
    const agreed = agreedAnswer(
      p.method,
      answered.map((a) => a.answer),
      this.quorum,
    );
    if (agreed) return { ...agreed, id: p.id };
    throw new RpcDisagreementError(
      p.method,
      this.quorum,
      answered.map((a) => ({ url: a.url, answer: describeAnswer(a.answer) })),
    );
  }

  private async heads(targets: readonly Endpoint[], failures: RpcEndpointAnswer[]): Promise<{ endpoint: Endpoint; head: bigint }[]> {
    const out: { endpoint: Endpoint; head: bigint }[] = [];
    await Promise.all(
      targets.map(async (endpoint) => {
        try {
          const a = await endpoint.call({ jsonrpc: "2.0", id: this.headId++, method: "eth_blockNumber", params: [] });
          if ("result" in a && typeof a.result === "string") out.push({ endpoint, head: BigInt(a.result) });
          else failures.push({ url: endpoint.url, answer: `eth_blockNumber: ${describeAnswer(a)}` });
        } catch (err) {
          failures.push({ url: endpoint.url, answer: err instanceof Error ? err.message : String(err) });
        }
      }),
    );
    return out;
  }
}
