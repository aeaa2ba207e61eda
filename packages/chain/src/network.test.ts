import { Wallet } from "ethers";
import { defaultConfig } from "./config";
import { ChainIdMismatchError, InsufficientFundsError, NetworkUnreachableError } from "./errors";
import { NodeRaceRetryingProvider, connectNetwork, makeProvider } from "./network";
import { freePort } from "./process";
import { startTestChain, type TestChain } from "./testing";

describe("connectNetwork checks a network before use", () => {
  let chain: TestChain;
  beforeAll(async () => {
    chain = await startTestChain({ chainId: 31001 });
  });
  afterAll(() => chain.stop());

  function config(url: string, chainId = 31001) {
    const cfg = defaultConfig();
    cfg.networks.blockpri = { ...cfg.networks.blockpri, rpcUrl: url, chainId };
    return cfg;
  }

  it("connects and sends with the dev key on a healthy local chain", async () => {
    const n = await connectNetwork({ config: config(chain.node.url), network: "blockpri" });
    expect(n.chainId).toBe(31001);
    const r = await n.sender.sendAndWait({ to: n.wallet.address, value: 1n });
    expect(r.status).toBe(1);
    n.provider.destroy();
  });

  it("names a wrong URL", async () => {
    const url = `http://127.0.0.1:${await freePort()}`;
    const err = await connectNetwork({ config: config(url), network: "blockpri" }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NetworkUnreachableError);
    expect((err as NetworkUnreachableError).shortMessage).toBe(`network "blockpri" does not answer at ${url}`);
  });

  it("names a wrong chainId", async () => {
    const err = await connectNetwork({ config: config(chain.node.url, 999), network: "blockpri" }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ChainIdMismatchError);
    expect((err as ChainIdMismatchError).shortMessage).toBe('network "blockpri" has chainId 31001, configured 999');
  });

  it("names an unfunded key", async () => {
    const key = Wallet.createRandom().privateKey;
    const err = await connectNetwork({ config: config(chain.node.url), network: "blockpri", privateKey: key }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InsufficientFundsError);
    expect((err as InsufficientFundsError).shortMessage).toMatch(/cannot pay for gas \(balance 0 wei\)/);
  });

  it("asks again when anvil refuses a call at latest while it mines back to back (its BlockOutOfRange race)", async () => {
    const provider = makeProvider(chain.node.url, 31001);
    expect(provider).toBeInstanceOf(NodeRaceRetryingProvider);
    const { sender } = await chain.account(2);
    let stop = false;
    const spam = (async () => {
      while (!stop) await sender.sendMany(Array.from({ length: 20 }, () => ({ to: sender.address, value: 1n })));
    })();
    try {
      let ok = 0;
      for (let i = 0; i < 300; i++) {
        await provider.send("eth_call", [{ to: sender.address, data: "0x" }, "latest"]);
        ok++;
      }
      expect(ok).toBe(300);
    } finally {
      stop = true;
      await spam;
      provider.destroy();
    }
  });
});
