// A destination rollback with real member processes (3, threshold 2, confirmations 0): chain 1
// (the BlockSEC stand-in) is snapshotted, the members deliver preference changes to it and see
// them executed, then the chain is reverted to the snapshot, which undoes those executions. The
// members must notice (they keep what they signed until the execution is final) and deliver every
// message again, so each ends executed exactly once on the canonical chain, with its digest.
import fs from "node:fs";
import { sleep, type TxSender } from "@sidegrid/chain";
import { FederationInbox__factory, MockPreferenceMirror__factory, MockPreferenceSource__factory } from "./generated";
import { domainSeparator, messageDigest, type FederationMessage } from "./messages";
import type { MemberHealth } from "./member/node";
import { startMemberProcesses, type MemberProcesses } from "./test-utils/members";
import { executionsOn } from "./test-utils/traffic";
import { sentMessages, sourceIface, startWorld, type World } from "./test-utils/world";

let w: World;
let members: MemberProcesses;
let consumer: TxSender;
const utility = "0x0000000000000000000000000000000000007712";

async function waitFor<T>(what: string, f: () => Promise<T | undefined | false>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    // Anvil with --prune-history now and then refuses a read while it mines: retry.
    const v = await f().catch(() => undefined);
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) {
      const logs = [0, 1, 2].map((i) => `--- member ${i}\n${fs.existsSync(members.logFile(i)) ? fs.readFileSync(members.logFile(i), "utf8").split("\n").slice(-15).join("\n") : ""}`).join("\n");
      throw new Error(`timed out waiting for ${what}\n${logs}`);
    }
    await sleep(50);
  }
}

function areExecuted(d: number, ms: readonly FederationMessage[]): Promise<boolean[]> {
  return FederationInbox__factory.connect(w.fed.chains[d]!.inbox, w.chains[d]!.provider)
    .areExecuted(
      ms.map((m) => m.srcChainId),
      ms.map((m) => m.nonce),
    )
    .then((r) => [...r]);
}

async function health(i: number): Promise<MemberHealth> {
  return (await (await fetch(`${members.urls[i]}/health`)).json()) as MemberHealth;
}

/** Sends `n` preference changes; returns the messages to chain 1. */
async function sendChanges(n: number, first: boolean): Promise<FederationMessage[]> {
  const out: FederationMessage[] = [];
  for (let i = 0; i < n; i++) {
    const r = await consumer.sendAndWait({ to: w.source, data: sourceIface.encodeFunctionData("setPreference", [utility, (i % 2 === 0) === first, 3]) });
    out.push(...sentMessages(r, w.ids[0]!, w.fed.chains[0]!.outbox).filter((m) => m.dstChainId === w.ids[1]));
  }
  return out;
}

beforeAll(async () => {
  w = await startWorld({ chainIds: [31861, 31862, 31863] });
  consumer = (await w.chains[0]!.account(3)).sender;
  consumer.addAbi(MockPreferenceSource__factory.abi);
  members = await startMemberProcesses(w, { pollIntervalMs: 20, takeoverMs: 1000, batchDelayMs: 5, resendMs: 500 });
}, 60_000);

afterAll(async () => {
  await members?.stopAll();
  await w?.stop();
});

describe("a destination rollback (evm_snapshot, deliveries, evm_revert)", () => {
  it("delivers every undone message again, exactly once on the canonical chain, without manual steps", async () => {
    const warm = await sendChanges(1, true);
    await waitFor("warm-up delivered", async () => (await areExecuted(1, warm)).every(Boolean), 20_000);

    const snap = await w.chains[1]!.snapshot();
    const ms = await sendChanges(4, false);
    expect(ms).toHaveLength(4);
    await waitFor("delivered before the rollback", async () => (await areExecuted(1, ms)).every(Boolean), 20_000);
    // Every member has seen them executed (nothing of theirs left pending): this is where they used to forget.
    await waitFor("members saw the executions", async () => (await Promise.all([0, 1, 2].map(health))).every((h) => h.pending === 0), 20_000);
    const before = await executionsOn(w, 1);

    await w.chains[1]!.revert(snap);
    expect(await areExecuted(1, ms)).toEqual([false, false, false, false]);
    expect((await executionsOn(w, 1)).length).toBe(before.length - ms.length);

    // No manual step: the members find the executions undone and deliver again.
    const t0 = Date.now();
    await waitFor("delivered again after the rollback", async () => (await areExecuted(1, ms)).every(Boolean), 30_000);
    console.log(`redelivered ${ms.length} messages ${Date.now() - t0} ms after the rollback`);

    // Exactly once on the canonical chain, with the digest of what was sent.
    const sep = domainSeparator(w.ids[1]!, w.fed.chains[1]!.inbox);
    const execs = await executionsOn(w, 1);
    for (const m of [...warm, ...ms]) {
      const key = `${w.ids[1]}/${m.nonce}`;
      expect([key, execs.filter((e) => e.key === key).map((e) => e.digest)]).toEqual([key, [messageDigest(sep, m)]]);
    }
    expect(execs.length).toBe(warm.length + ms.length);
    // The mirror holds the last change (sendChanges(4, false) ends with allowed = true).
    const mirror = MockPreferenceMirror__factory.connect(w.mirrors[0], w.chains[1]!.provider);
    expect(await mirror.permits(consumer.address, utility, 3)).toBe(true);
    // And the members settle: nothing pending on any of them.
    await waitFor("members idle", async () => (await Promise.all([0, 1, 2].map(health))).every((h) => h.pending === 0), 20_000);
  }, 120_000);
});
