// The adversary: kill -9 of a chain node at any moment, including while anvil rewrites state.json.
// It must never leave a chain that refuses to start, nor one that silently starts empty.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { startAnvil, type AnvilHandle } from "./anvil";
import { goodCopyOf, isCompleteDump, restoreState } from "./anvilKeeper";
import { NodeStartError } from "./errors";
import { isAlive, sleep } from "./process";
import { rpcCall } from "./rpc";

const WHOLE = '{"block":{"number":"0x5"},"accounts":{},"best_block_number":5,"blocks":[],"transactions":[],"historical_states":null}';

function tmpDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), "sidegrid-keeper-"));
}

/** PIDs whose parent is `pid` (the keeper's anvil). */
function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const d of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${d}/stat`, "utf8");
      if (Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]) === pid) out.push(Number(d));
    } catch {
      /* gone meanwhile */
    }
  }
  return out;
}

/** The block a dump was taken at (its block env leads the file); -1 without one. */
function dumpedBlock(file: string): number {
  try {
    const m = /"number":"(0x[0-9a-f]+)"/.exec(fs.readFileSync(file, "utf8").slice(0, 200));
    return m ? Number(m[1]) : -1;
  } catch {
    return -1;
  }
}

async function blockNumber(url: string): Promise<number> {
  return Number(BigInt(await rpcCall<string>(url, "eth_blockNumber")));
}

async function waitFor(what: string, ok: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

describe("anvil state files", () => {
  it("tells a whole dump from one cut short anywhere", () => {
    const dir = tmpDir();
    const f = path.join(dir, "state.json");
    fs.writeFileSync(f, WHOLE);
    expect(isCompleteDump(f)).toBe(true);
    for (const cut of [0, 1, 40, WHOLE.length - 1]) {
      fs.writeFileSync(f, WHOLE.slice(0, cut));
      expect(isCompleteDump(f)).toBe(false);
    }
  });

  it("puts the last complete copy back for a torn file, keeps the torn one, and refuses when there is no copy", () => {
    const dir = tmpDir();
    const f = path.join(dir, "state.json");
    expect(restoreState(f)).toEqual({ kind: "fresh" });
    fs.writeFileSync(f, WHOLE);
    expect(restoreState(f)).toEqual({ kind: "intact" });
    fs.writeFileSync(f, WHOLE.slice(0, 30));
    expect(restoreState(f)).toEqual({ kind: "torn", file: f });
    expect(fs.readFileSync(f, "utf8")).toBe(WHOLE.slice(0, 30)); // nothing thrown away
    fs.writeFileSync(goodCopyOf(f), WHOLE);
    expect(restoreState(f)).toMatchObject({ kind: "restored" });
    expect(fs.readFileSync(f, "utf8")).toBe(WHOLE);
    expect(fs.readFileSync(path.join(dir, "state.torn.json"), "utf8")).toBe(WHOLE.slice(0, 30));
  });
});

describe("startAnvil with a state directory (the keeper)", () => {
  let node: AnvilHandle | undefined;
  afterEach(async () => {
    await node?.stop();
    node = undefined;
  });

  it("dies with its anvil on kill -9 and restarts from the last complete dump when state.json was torn", async () => {
    const dir = tmpDir();
    const file = path.join(dir, "state.json");
    node = await startAnvil({ chainId: 31921, stateDir: dir, stateIntervalSec: 1 });
    const keeper = node.pid;
    await waitFor("the keeper's anvil", () => childrenOf(keeper).length === 1);
    const anvilPid = childrenOf(keeper)[0]!;
    for (let i = 0; i < 20; i++) await rpcCall(node.url, "evm_mine");
    await waitFor("a complete copy of a dump at block 20", () => dumpedBlock(goodCopyOf(file)) >= 20);

    process.kill(keeper, "SIGKILL");
    await waitFor("the keeper and anvil to be gone", () => !isAlive(keeper) && !isAlive(anvilPid));
    node = undefined;
    // What a kill in the middle of anvil's write leaves behind.
    fs.truncateSync(file, Math.floor(fs.statSync(file).size / 2));

    node = await startAnvil({ chainId: 31921, stateDir: dir, stateIntervalSec: 1 });
    expect(await blockNumber(node.url)).toBe(20);
    expect(fs.existsSync(path.join(dir, "state.torn.json"))).toBe(true);
  }, 60_000);

  it("refuses to start a torn state with no complete copy, with a clear error, and leaves the file alone", async () => {
    const dir = tmpDir();
    const file = path.join(dir, "state.json");
    fs.writeFileSync(file, WHOLE.slice(0, 50));
    const err = await startAnvil({ chainId: 31922, stateDir: dir }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NodeStartError);
    expect((err as NodeStartError).code).toBe("NODE_START_FAILED");
    expect((err as NodeStartError).shortMessage).toMatch(/state of chainId 31922 .* is torn/);
    expect(fs.readFileSync(file, "utf8")).toBe(WHOLE.slice(0, 50));
  });

  it("survives kill -9 at random moments of a busy chain with a large state: every restart starts, never older than the last copy", async () => {
    const dir = tmpDir();
    const file = path.join(dir, "state.json");
    node = await startAnvil({ chainId: 31923, stateDir: dir, stateIntervalSec: 1 });
    const accounts = await rpcCall<string[]>(node.url, "eth_accounts");
    const data = `0x${"ab".repeat(2000)}`;
    const send = async (url: string, n: number) => {
      for (let i = 0; i < n; i++) {
        // anvil 1.7 now and then refuses a send whose internal estimate raced its own new block
        // ("BlockOutOfRangeError: block height is 843 but requested was 842", seen in CI): the load
        // is only there to keep the chain busy, so such a send is tried again.
        for (let attempt = 1; ; attempt++) {
          try {
            await rpcCall(url, "eth_sendTransaction", [{ from: accounts[i % 10], to: accounts[(i + 1) % 10], data }]);
            break;
          } catch (e) {
            if (attempt >= 5 || !/BlockOutOfRange/.test(String((e as Error).message))) throw e;
          }
        }
      }
    };
    await send(node.url, 1000); // a state of ~12 MB: anvil takes tens of ms to write it
    let torn = 0;
    for (let k = 0; k < 6; k++) {
      const busy = send(node.url, 100).catch(() => undefined);
      await sleep(300 + Math.random() * 1500);
      const floor = dumpedBlock(goodCopyOf(file));
      process.kill(node.pid, "SIGKILL");
      await waitFor("the keeper to be gone", () => !isAlive(node!.pid));
      await busy;
      if (!isCompleteDump(file)) torn++;
      node = await startAnvil({ chainId: 31923, stateDir: dir, stateIntervalSec: 1 });
      expect(await blockNumber(node.url)).toBeGreaterThanOrEqual(floor);
    }
    // How often the kill landed mid-write is luck; the log says so, the assertions above hold either way.
    console.log(`kill -9 tore state.json ${torn} of 6 times`);
  }, 180_000);
});
