import { Wallet } from "ethers";
import { startAnvil, type AnvilHandle } from "./anvil";
import { devPrivateKey } from "./config";
import { MultiRpcProvider } from "./multiRpc";
import { isAlive, sleep } from "./process";
import { rpcCall } from "./rpc";
import { TxSender, revertData } from "./sender";

// Two anvil nodes with the same chainId and mnemonic stand for two endpoints of one network: a
// transaction broadcast to both is mined by both, so the state read from either is the same.
const CHAIN_ID = 31711;

async function balanceAt(url: string, address: string): Promise<bigint> {
  return BigInt(await rpcCall<string>(url, "eth_getBalance", [address, "latest"]));
}

async function eventually(f: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await f())) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await sleep(50);
  }
}

describe("MultiRpcProvider failover", () => {
  let a: AnvilHandle;
  let b: AnvilHandle;
  let provider: MultiRpcProvider;
  beforeAll(async () => {
    [a, b] = await Promise.all([startAnvil({ chainId: CHAIN_ID }), startAnvil({ chainId: CHAIN_ID })]);
    provider = new MultiRpcProvider([a.url, b.url], CHAIN_ID, { backoffMs: 300, maxBackoffMs: 1000, timeoutMs: 10_000 });
  });
  afterAll(async () => {
    provider.destroy();
    await Promise.all([a.stop(), b.stop()]);
  });

  it("returns a node's revert as it came and does not ask the next endpoint", async () => {
    const before = provider.endpointStatus();
    // Init code that reverts with the 4 bytes 0xdeadbeef: PUSH4 deadbeef PUSH1 e0 SHL PUSH1 0 MSTORE PUSH1 4 PUSH1 0 REVERT.
    const err = await provider.send("eth_call", [{ data: "0x63deadbeef60e01b60005260046000fd" }, "latest"]).catch((e: unknown) => e);
    expect((err as { code?: string }).code).toBe("CALL_EXCEPTION");
    expect(revertData(err)).toBe("0xdeadbeef");
    const after = provider.endpointStatus();
    expect(after.map((s) => [s.requests - before[after.indexOf(s)]!.requests, s.failures, s.up])).toEqual([
      [1, 0, true],
      [0, 0, true],
    ]);
    expect(provider.lastUrl).toBe(a.url);
  });

  it("keeps reading and sending through the second endpoint while the primary is dead, and goes back to it", async () => {
    const sender = await TxSender.create(devPrivateKey(1), provider, { network: "failover" });
    const to = Wallet.createRandom().address;
    await sender.sendAndWait({ to, value: 1000n });
    // Broadcast: both nodes got the transaction and mined it.
    await eventually(async () => (await balanceAt(b.url, to)) === 1000n);
    expect(await balanceAt(a.url, to)).toBe(1000n);
    expect(BigInt((await provider.send("eth_getBalance", [to, "latest"])) as string)).toBe(1000n);
    expect(provider.lastUrl).toBe(a.url);

    process.kill(a.pid, "SIGKILL");
    await eventually(async () => !isAlive(a.pid));

    expect(BigInt((await provider.send("eth_getBalance", [to, "latest"])) as string)).toBe(1000n);
    expect(provider.lastUrl).toBe(b.url);
    const down = provider.endpointStatus()[0]!;
    expect(down.up).toBe(false);
    expect(down.failures).toBeGreaterThanOrEqual(1);
    expect(down.lastError).toMatch(/fetch failed|ECONNREFUSED|closed|socket/i);

    const receipt = await sender.sendAndWait({ to, value: 500n });
    expect(receipt.status).toBe(1);
    expect(BigInt((await provider.send("eth_getBalance", [to, "latest"])) as string)).toBe(1500n);
    expect(await balanceAt(b.url, to)).toBe(1500n);

    // The primary comes back on its port as a fresh chain: which balance a read returns tells
    // which node answered it (0 from the new primary, 1500 from the second).
    a = await startAnvil({ chainId: CHAIN_ID, port: a.port });
    await sleep(1100); // the longest back-off
    expect(BigInt((await provider.send("eth_getBalance", [to, "latest"])) as string)).toBe(0n);
    expect(provider.lastUrl).toBe(a.url);
    expect(provider.endpointStatus()[0]!.up).toBe(true);
  });

  it("names every endpoint when none answers", async () => {
    await Promise.all([a.stop(), b.stop()]);
    const err = await provider.send("eth_blockNumber", []).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: "RPC_UNAVAILABLE", method: "eth_blockNumber" });
    expect((err as { failures: { url: string }[] }).failures.map((f) => f.url)).toEqual([a.url, b.url]);
  });
});
