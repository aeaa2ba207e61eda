import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { startAnvil } from "./anvil";
import { NodeStartError } from "./errors";
import { isAlive } from "./process";
import { rpcCall } from "./rpc";

describe("startAnvil", () => {
  it("keeps chain state across a stop and a restart from the same data directory", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "sidegrid-anvil-"));
    const a = await startAnvil({ chainId: 31911, stateDir: dir });
    expect(BigInt(await rpcCall<string>(a.url, "eth_chainId"))).toBe(31911n);
    for (let i = 0; i < 5; i++) await rpcCall(a.url, "evm_mine");
    await rpcCall(a.url, "anvil_setBalance", ["0x00000000000000000000000000000000000000aa", "0x1234"]);
    await rpcCall(a.url, "evm_mine");
    const before = BigInt(await rpcCall<string>(a.url, "eth_blockNumber"));
    await a.stop();
    expect(isAlive(a.pid)).toBe(false);
    expect(fs.existsSync(path.join(dir, "state.json"))).toBe(true);

    const b = await startAnvil({ chainId: 31911, stateDir: dir });
    try {
      expect(BigInt(await rpcCall<string>(b.url, "eth_blockNumber"))).toBe(before);
      expect(await rpcCall<string>(b.url, "eth_getBalance", ["0x00000000000000000000000000000000000000aa", "latest"])).toBe("0x1234");
    } finally {
      await b.stop();
    }
  });

  it("refuses a port already held by another node", async () => {
    const a = await startAnvil({ chainId: 31912 });
    try {
      const err = await startAnvil({ chainId: 31913, port: a.port, startTimeoutMs: 3000 }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(NodeStartError);
      expect((err as NodeStartError).shortMessage).toMatch(/chainId 31912, expected 31913|exited/);
    } finally {
      await a.stop();
    }
  });
});
