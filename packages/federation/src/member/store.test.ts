import fs from "node:fs";
import { tmpDir } from "../test-utils/world";
import { MemberStore, type StoredMessage } from "./store";

function stored(key: string, digest: string): StoredMessage {
  return { key, srcChainId: "1", srcSender: "0x01", nonce: "1", dstChainId: "2", dstContract: "0x02", payload: "0x", digest, signature: "0xsig", firstSeen: 1 };
}

describe("MemberStore", () => {
  it("commits messages, executions and cursors atomically and keeps them across reopen", async () => {
    const dir = tmpDir("store");
    let store = await MemberStore.open(dir);
    expect(await store.cursor(31001)).toBeUndefined();
    await store.commit({ messages: [stored("2/1/01", "0xa"), stored("2/1/02", "0xb")], cursor: { chainId: 31001, block: 10 } });
    await store.commit({ done: [{ key: "2/1/01", digest: "0xa" }], cursor: { chainId: 31002, block: 4 } });
    await store.close();
    store = await MemberStore.open(dir);
    expect(await store.cursor(31001)).toBe(10);
    expect(await store.cursor(31002)).toBe(4);
    expect((await store.pending()).map((m) => m.key)).toEqual(["2/1/02"]);
    expect(await store.doneDigests(["2/1/01", "2/1/02", "2/1/03"])).toEqual(["0xa", undefined, undefined]);
    expect(await store.doneDigests([])).toEqual([]);
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
