import { startAnvil, type AnvilHandle } from "./anvil";
import { defaultConfig, devPrivateKey } from "./config";
import { ChainIdMismatchError, NetworkUnreachableError } from "./errors";
import { MultiRpcProvider } from "./multiRpc";
import { connectNetwork, makeProvider } from "./network";
import { freePort } from "./process";

// connectNetwork and makeProvider with a network that lists several endpoints.
const CHAIN_ID = 31714;

describe("connectNetwork with several endpoints", () => {
  let node: AnvilHandle;
  let other: AnvilHandle;
  let dead: string;
  beforeAll(async () => {
    [node, other] = await Promise.all([startAnvil({ chainId: CHAIN_ID }), startAnvil({ chainId: 31715 })]);
    dead = `http://127.0.0.1:${await freePort()}`;
  });
  afterAll(() => Promise.all([node.stop(), other.stop()]));

  function config(rpcUrls: string[], quorum = 1) {
    const cfg = defaultConfig();
    cfg.networks.blockpri = { ...cfg.networks.blockpri, rpcUrl: rpcUrls[0]!, rpcUrls, quorum, chainId: CHAIN_ID, local: false };
    return cfg;
  }

  it("connects while the primary is down and sends through the next endpoint", async () => {
    const n = await connectNetwork({ config: config([dead, node.url]), network: "blockpri", privateKey: devPrivateKey(4) });
    expect(n.provider).toBeInstanceOf(MultiRpcProvider);
    expect([n.url, n.urls]).toEqual([dead, [dead, node.url]]);
    const r = await n.sender.sendAndWait({ to: n.wallet.address, value: 1n });
    expect(r.status).toBe(1);
    expect((n.provider as MultiRpcProvider).lastUrl).toBe(node.url);
    n.provider.destroy();
  });

  it("refuses an endpoint of another chain, naming it", async () => {
    const err = await connectNetwork({ config: config([node.url, other.url]), network: "blockpri", privateKey: devPrivateKey(4) }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ChainIdMismatchError);
    expect(err).toMatchObject({ shortMessage: `network "blockpri" has chainId 31715, configured ${CHAIN_ID}`, details: `at ${other.url}` });
  });

  it("needs `quorum` endpoints answering", async () => {
    const err = await connectNetwork({ config: config([node.url, dead], 2), network: "blockpri", privateKey: devPrivateKey(4) }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NetworkUnreachableError);
    expect((err as NetworkUnreachableError).shortMessage).toBe(`network "blockpri" does not answer at ${node.url}, ${dead}`);
  });

  it("keeps one URL a plain JsonRpcProvider and rejects an impossible quorum", () => {
    const one = makeProvider(node.url, CHAIN_ID);
    expect(one).not.toBeInstanceOf(MultiRpcProvider);
    one.destroy();
    expect(() => makeProvider([node.url], CHAIN_ID, { quorum: 2 })).toThrow(/quorum must be an integer from 1 to the number of RPC URLs \(1\), got 2/);
    expect(() => makeProvider([], CHAIN_ID)).toThrow(/at least one RPC URL/);
  });
});
