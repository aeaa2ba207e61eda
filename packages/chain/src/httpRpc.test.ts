import http from "node:http";
import type { AddressInfo } from "node:net";
import { FetchRequest, JsonRpcProvider, Network, isError } from "ethers";
import { HttpJsonRpc } from "./httpRpc";
import { NodeRaceRetryingProvider } from "./network";
import { freePort } from "./process";
import { startTestChain, type TestChain } from "./testing";

describe("HttpJsonRpc: the provider's transport", () => {
  let chain: TestChain;
  beforeAll(async () => {
    chain = await startTestChain({ chainId: 31941 });
  });
  afterAll(() => chain.stop());

  it("answers exactly as ethers' FetchRequest does, for a block with a large answer", async () => {
    const { sender } = await chain.account(1);
    // 40 transfers in one block: the block with full transactions is a large answer.
    await chain.provider.send("evm_setAutomine", [false]);
    const sent = [];
    for (let i = 0; i < 40; i++) sent.push(await sender.send({ to: sender.address, value: BigInt(i + 1), data: `0x${"ab".repeat(2_000)}` }));
    await chain.provider.send("evm_mine", []);
    await chain.provider.send("evm_setAutomine", [true]);
    await Promise.all(sent.map((s) => s.wait()));
    const head = await chain.provider.send("eth_blockNumber", []);
    const ethersOnly = new JsonRpcProvider(new FetchRequest(chain.node.url), Network.from(31941), { staticNetwork: true, batchMaxCount: 1 });
    const viaEthers = await ethersOnly.send("eth_getBlockByNumber", [head, true]);
    const viaNative = await new HttpJsonRpc(chain.node.url).post({ jsonrpc: "2.0", id: 7, method: "eth_getBlockByNumber", params: [head, true] });
    expect(viaNative).toHaveLength(1);
    expect(viaNative[0]!.id).toBe(7);
    expect((viaNative[0] as { result: { transactions: unknown[] } }).result.transactions).toHaveLength(40);
    expect((viaNative[0] as { result: unknown }).result).toEqual(viaEthers);
    ethersOnly.destroy();
  });

  it("is what the single-endpoint provider sends through, node errors included", async () => {
    const p = new NodeRaceRetryingProvider(chain.node.url, 31941);
    expect(Number(await p.send("eth_chainId", []))).toBe(31941);
    // A node's JSON-RPC error still becomes ethers' typed error.
    await expect(p.send("eth_noSuchMethod", [])).rejects.toThrow(/eth_noSuchMethod|not.*(found|supported|exist)/i);
    p.destroy();
  });

  it("rejects a closed port with Node's own code", async () => {
    const t = new HttpJsonRpc(`http://127.0.0.1:${await freePort()}`);
    await expect(t.post({ jsonrpc: "2.0", id: 1, method: "eth_blockNumber", params: [] })).rejects.toMatchObject({ code: "ECONNREFUSED" });
  });

  describe("against a server that misbehaves", () => {
    let server: http.Server;
    let url: string;
    let reply: (res: http.ServerResponse) => void = () => {};
    beforeAll(async () => {
      server = http.createServer((req, res) => {
        req.resume();
        req.on("end", () => reply(res));
      });
      await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
      url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });
    afterAll(() => new Promise<void>((r) => server.close(() => r())));
    const ask = (timeoutMs?: number) => new HttpJsonRpc(url, timeoutMs).post({ jsonrpc: "2.0", id: 3, method: "eth_call", params: [] });

    it("an HTTP error without a JSON-RPC answer is ethers' SERVER_ERROR with the status", async () => {
      reply = (res) => res.writeHead(502).end("bad gateway");
      const e = await ask().catch((x: unknown) => x);
      expect(isError(e, "SERVER_ERROR")).toBe(true);
      expect(String((e as Error).message)).toMatch(/server response 502/);
    });

    it("a JSON-RPC error sent with HTTP 500 is the node's answer, not a transport failure", async () => {
      reply = (res) => res.writeHead(500, { "content-type": "application/json" }).end(JSON.stringify({ jsonrpc: "2.0", id: 3, error: { code: 3, message: "execution reverted" } }));
      expect(await ask()).toEqual([{ jsonrpc: "2.0", id: 3, error: { code: 3, message: "execution reverted" } }]);
    });

    it("a 200 that is not JSON-RPC is refused, not returned", async () => {
      reply = (res) => res.writeHead(200).end("<html>captive portal</html>");
      const e = await ask().catch((x: unknown) => x);
      expect(isError(e, "SERVER_ERROR")).toBe(true);
      expect(String((e as Error).message)).toMatch(/not a JSON-RPC answer.*captive/);
    });

    it("a server that never answers times out as ethers' TIMEOUT", async () => {
      reply = () => {};
      const e = await ask(300).catch((x: unknown) => x);
      expect(isError(e, "TIMEOUT")).toBe(true);
      expect(String((e as Error).message)).toMatch(/timeout after 300 ms/);
    });
  });
});
