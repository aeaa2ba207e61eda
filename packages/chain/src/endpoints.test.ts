import http from "node:http";
import type { AddressInfo } from "node:net";
import { startAnvil, type AnvilHandle } from "./anvil";
import { Endpoint, EndpointFailure } from "./endpoints";
import { MultiRpcProvider } from "./multiRpc";
import { freePort } from "./process";

// Stub nodes that answer in the ways a real endpoint fails or speaks, to tell a transport failure
// (fail over) from a node's answer (return it).
type Reply = (id: number) => { status: number; body: string } | undefined;

async function stub(reply: Reply): Promise<{ url: string; hits: () => number; close: () => Promise<void> }> {
  let hits = 0;
  const server = http.createServer((req, res) => {
    let body = "";
    req.on("data", (c: Buffer) => (body += c.toString()));
    req.on("end", () => {
      hits++;
      const r = reply((JSON.parse(body) as { id: number }).id);
      if (!r) return; // never answers: a black-holed node
      res.writeHead(r.status, { "content-type": "application/json" }).end(r.body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    hits: () => hits,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

const ok: Reply = (id) => ({ status: 200, body: JSON.stringify({ jsonrpc: "2.0", id, result: "0x2a" }) });

describe("which failures move to the next endpoint", () => {
  it.each([
    ["HTTP 503", (() => ({ status: 503, body: "busy" })) as Reply, /HTTP 503/],
    ["HTTP 429 with a JSON body", ((id) => ({ status: 429, body: JSON.stringify({ jsonrpc: "2.0", id, error: { code: -32005, message: "rate" } }) })) as Reply, /HTTP 429/],
    ["an HTML error page", (() => ({ status: 500, body: "<html>oops</html>" })) as Reply, /HTTP 500: not a JSON-RPC answer/],
    ["no answer within the timeout", (() => undefined) as Reply, /timeout after 300 ms/],
  ])("fails over on %s", async (_name, reply, why) => {
    const [bad, good] = await Promise.all([stub(reply), stub(ok)]);
    const p = new MultiRpcProvider([bad.url, good.url], 31713, { timeoutMs: 300 });
    expect(await p.send("eth_gasPrice", [])).toBe("0x2a");
    expect(p.lastUrl).toBe(good.url);
    expect(p.endpointStatus()[0]).toMatchObject({ up: false, failures: 1 });
    expect(p.endpointStatus()[0]!.lastError).toMatch(why);
    p.destroy();
    await Promise.all([bad.close(), good.close()]);
  });

  it("returns a JSON-RPC error as the node's answer even under HTTP 500, without asking the next endpoint", async () => {
    const [node, other] = await Promise.all([
      stub((id) => ({ status: 500, body: JSON.stringify({ jsonrpc: "2.0", id, error: { code: -32000, message: "nonce too low" } }) })),
      stub(ok),
    ]);
    const p = new MultiRpcProvider([node.url, other.url], 31713);
    await expect(p.send("eth_gasPrice", [])).rejects.toThrow(/nonce too low/);
    expect(other.hits()).toBe(0);
    expect(p.endpointStatus()[0]).toMatchObject({ up: true, failures: 0 });
    p.destroy();
    await Promise.all([node.close(), other.close()]);
  });

  it("backs off longer while an endpoint keeps failing", async () => {
    const e = new Endpoint(`http://127.0.0.1:${await freePort()}`, { backoffMs: 1000, maxBackoffMs: 3000 });
    const spans: number[] = [];
    for (let i = 0; i < 3; i++) {
      e.downUntil = 0; // let it be tried again at once
      const t = Date.now();
      await expect(e.call({ jsonrpc: "2.0", id: i, method: "eth_chainId", params: [] })).rejects.toBeInstanceOf(EndpointFailure);
      spans.push(Math.round((e.downUntil - t) / 1000));
    }
    expect(spans).toEqual([1, 2, 3]);
  });
});

describe("a WebSocket endpoint", () => {
  let node: AnvilHandle;
  beforeAll(async () => {
    node = await startAnvil({ chainId: 31713 });
  });
  afterAll(() => node.stop());

  it("speaks JSON-RPC over ws and fails over from a dead one", async () => {
    const dead = `ws://127.0.0.1:${await freePort()}`;
    const p = new MultiRpcProvider([dead, node.url.replace(/^http/, "ws")], 31713);
    expect(await p.send("eth_chainId", [])).toBe("0x7be1");
    expect(await p.send("eth_blockNumber", [])).toBe("0x0");
    expect(p.endpointStatus().map((s) => [s.up, s.failures])).toEqual([
      [false, 1],
      [true, 0],
    ]);
    p.destroy();
  });
});
