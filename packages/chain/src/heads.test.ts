// The head follower against a real anvil: one callback per mined block, nothing after stop, a node
// that is not there retried and reported.
import { startAnvil } from "./anvil";
import { startTestChain, type TestChain } from "./testing";
import { HeadFollower } from "./heads";

let chain: TestChain;
beforeAll(async () => {
  chain = await startTestChain({ chainId: 31731 });
});
afterAll(() => chain.stop());

async function until(cond: () => boolean, ms = 5000): Promise<void> {
  for (const end = Date.now() + ms; !cond() && Date.now() < end; ) await new Promise((r) => setTimeout(r, 20));
}

it("calls back once per new head, and not after stop", async () => {
  let heads = 0;
  const f = new HeadFollower({ wsUrl: chain.node.url.replace(/^http/, "ws"), onHead: () => heads++ });
  f.start();
  await until(() => f.subscribed);
  expect(f.subscribed).toBe(true);
  for (let i = 0; i < 3; i++) await chain.provider.send("evm_mine", []);
  await until(() => heads >= 3);
  expect(heads).toBe(3);
  await f.stop();
  await chain.provider.send("evm_mine", []);
  await new Promise((r) => setTimeout(r, 300));
  expect(heads).toBe(3);
});

it("keeps retrying a node that is not there, and reports it", async () => {
  const errors: unknown[] = [];
  const f = new HeadFollower({ wsUrl: "ws://127.0.0.1:9", onHead: () => undefined, onError: (e) => errors.push(e), retryMs: 50 });
  f.start();
  await until(() => errors.length >= 2, 3000);
  expect(f.subscribed).toBe(false);
  expect(errors.length).toBeGreaterThanOrEqual(2);
  await f.stop();
});

it("subscribes again when its node comes back on the same port (a restarted anvil)", async () => {
  const first = await startAnvil({ chainId: 31732 });
  const port = Number(new URL(first.url).port);
  let heads = 0;
  const f = new HeadFollower({ wsUrl: first.url.replace(/^http/, "ws"), onHead: () => heads++, retryMs: 100 });
  f.start();
  await until(() => f.subscribed);
  await first.stop();
  await until(() => !f.subscribed);
  expect(f.subscribed).toBe(false);
  const second = await startAnvil({ chainId: 31732, port });
  try {
    await until(() => f.subscribed, 10_000);
    expect(f.subscribed).toBe(true);
    const before = heads;
    await fetch(second.url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "evm_mine", params: [] }) });
    await until(() => heads > before);
    expect(heads).toBeGreaterThan(before);
  } finally {
    await f.stop();
    await second.stop();
  }
});
