// Live member-set rotation with members on their own hosts (issue #17): while preference changes
// flow, governance adds a fourth member (m 2 → 3, as n/2 < m requires), removes the first one, then
// lowers m to 2 — on every chain's inbox with updateMemberSet, signed by m of the current set. The
// operator's side of each step: the new member's host gets the federation file and starts, the
// others re-read the member directory (SIGHUP). After the grace period the removed member's
// signature no longer counts. Network namespaces where the machine allows, else loopback addresses.
import path from "node:path";
import { SigningKey, Wallet } from "ethers";
import { retryRead, sleep } from "@sidegrid/chain";
import { FederationInbox__factory } from "./generated";
import { updateMemberSet } from "./governance";
import { localMemberKeys } from "./member/config";
import type { FederationMessage } from "./messages";
import { createHostNet, logTails, startHostedMembers, waitUntil, type HostNet, type HostedMembers } from "./test-utils/hosts";
import { PreferenceTraffic, batchesOn, deliveryReport } from "./test-utils/traffic";
import { deliverCall, inboxIface, preferencePayload, sign, startWorld, type World } from "./test-utils/world";

const IDS: [number, number, number] = [31724, 31725, 31726];
const TUNING = { pollIntervalMs: 50, takeoverMs: 1000, batchDelayMs: 5, resendMs: 1000 };
const GRACE_SEC = 30;

let net: HostNet | undefined;
let w: World | undefined;
let h: HostedMembers | undefined;
let traffic: PreferenceTraffic;
const keys = localMemberKeys(4);
const addr = keys.map((k) => new Wallet(k).address);
const summary: Record<string, unknown> = {};

beforeAll(async () => {
  net = createHostNet(4);
  w = await startWorld({ chainIds: IDS, host: net.chainHost, members: 3, threshold: 2, gracePeriodSec: GRACE_SEC });
  // The member to be added relays too: gas on every chain.
  for (const a of w.admins) await a.sendAndWait({ to: addr[3]!, value: 10n ** 21n });
  h = await startHostedMembers({ net, world: w, keys, initial: [0, 1, 2], threshold: 2, tuning: TUNING, dir: path.join(w.dir, "hosts") });
  traffic = new PreferenceTraffic(w, (await w.chains[0]!.account(3)).sender, 250);
  summary.mode = `${net.mode}: ${net.reason}`;
  summary.hosts = h.urls.map((u, k) => `${k}=${u}`).join(" ");
}, 180_000);

afterAll(async () => {
  await traffic?.stop();
  await h?.stopAll();
  await w?.stop();
  net?.destroy();
  console.log(`hosts.rotation.e2e summary\n${Object.entries(summary).map(([k, v]) => `  ${k}: ${typeof v === "string" ? v : JSON.stringify(v)}`).join("\n")}`);
}, 60_000);

const tails = () => (h ? logTails(h) : "");
const inbox = (d: number) => FederationInbox__factory.connect(w!.fed.chains[d]!.inbox, w!.chains[d]!.provider);

/** The member set every inbox reports now. */
async function sets(): Promise<{ index: number; members: string[]; threshold: number }[]> {
  return Promise.all(
    [0, 1, 2].map(async (d) => {
      // anvil (--prune-history) now and then refuses an eth_call while it mines: reads retry.
      const index = Number(await retryRead(() => inbox(d).currentSetIndex()));
      const s = await retryRead(() => inbox(d).memberSet(index));
      return { index, members: [...s.members], threshold: Number(s.threshold) };
    }),
  );
}

/** One governance step on every chain: the new set, signed by `approvers` (members of the current set). */
async function rotate(approvers: number[], members: number[], threshold: number): Promise<void> {
  const pause = Math.max(1, Math.floor(threshold / 2));
  const target = (await sets()).map((x) => x.index + 1);
  for (let d = 0; d < 3; d++) {
    // A read inside may meet anvil's refusal while it mines; try again unless the update landed.
    await retryRead(async () => {
      if (Number(await inbox(d).currentSetIndex()) >= target[d]!) return;
      await updateMemberSet({ sender: w!.admins[d]!, inbox: w!.fed.chains[d]!.inbox, approvers: approvers.map((k) => keys[k]!), members: members.map((k) => addr[k]!), threshold, pauseThreshold: pause, unpauseThreshold: threshold });
    });
  }
}

/** The operator's side: every host in `members` gets the new directory; running ones re-read it. */
async function redistribute(members: number[], threshold: number): Promise<void> {
  h!.writeFiles(members, threshold);
  for (const k of members) h!.reload(k);
  await waitUntil("every member re-read the directory", async () => {
    const hs = await Promise.all(members.filter((k) => h!.pids[k] !== undefined).map((k) => h!.health(k)));
    return hs.every((x) => x.peers.length === members.length - 1);
  }, 15_000, 100, tails);
}

/** Simulates delivering a fresh message on chain 1 with signatures of `signers`: "ok" or the inbox's error. */
async function tryDeliver(signers: number[], nonce: bigint): Promise<string> {
  const m: FederationMessage = { srcChainId: w!.ids[0]!, srcSender: w!.source, nonce, dstChainId: w!.ids[1]!, dstContract: w!.mirrors[0], payload: preferencePayload(Wallet.createRandom().address, 1n, addr[0]!, true) };
  const call = deliverCall(w!.fed.chains[1]!.inbox, [m], [sign(signers.map((k) => new SigningKey(keys[k]!)), m.dstChainId, w!.fed.chains[1]!.inbox, m)]);
  for (let attempt = 1; ; attempt++) {
    try {
      await w!.chains[1]!.provider.call({ ...call, from: w!.admins[1]!.address });
      return "ok";
    } catch (e) {
      const data = (e as { data?: string | null }).data;
      const err = data ? inboxIface.parseError(data) : null;
      if (err) return `${err.name}(${err.args.map(String).join(",")})`;
      // No revert data: anvil refused the call while mining, not the inbox. Try again.
      if (attempt >= 6) return (e as Error).message;
      await sleep(50 * attempt);
    }
  }
}

async function allDelivered(phase: string): Promise<number> {
  const keysOf = traffic.inPhase(phase).map((r) => r.key);
  await waitUntil(`messages of phase "${phase}" delivered`, async () => {
    const rep = await deliveryReport(w!, traffic);
    return keysOf.every((k) => !rep.missing.includes(k));
  }, 90_000, 200, tails);
  return keysOf.length;
}

describe("live member-set rotation with members on their own hosts", () => {
  it("adds a member while messages flow (m 2 → 3)", async () => {
    traffic.phase = "start";
    traffic.start();
    await sleep(3000);
    traffic.phase = "add";
    await redistribute([0, 1, 2, 3], 3);
    await h!.start(3);
    await rotate([0, 1], [0, 1, 2, 3], 3);
    expect(await sets()).toEqual([0, 1, 2].map(() => ({ index: 1, members: addr, threshold: 3 })));
    await sleep(5000);
    summary.add = { sent: await allDelivered("start") + (await allDelivered("add")) };
  }, 180_000);

  it("removes a member while messages flow; its signature counts during the grace period only", async () => {
    traffic.phase = "remove";
    await rotate([1, 2, 3], [1, 2, 3], 3);
    const removedAt = Date.now();
    await redistribute([1, 2, 3], 3);
    expect(await sets()).toEqual([0, 1, 2].map(() => ({ index: 2, members: addr.slice(1), threshold: 3 })));
    // In the grace period the previous set (0 among them) still signs messages.
    expect(await tryDeliver([0, 1, 2], 1_000_001n)).toBe("ok");
    const expiresAt = Number(await retryRead(() => inbox(1).previousSetExpiresAt()));
    await waitUntil("the grace period to end on chain 1", async () => (await w!.chains[1]!.provider.getBlock("latest"))!.timestamp > expiresAt, (GRACE_SEC + 30) * 1000, 500);
    // Traffic keeps chain 1's clock moving; the next block is past the grace period.
    await sleep(1500);
    expect(await tryDeliver([0, 1, 2], 1_000_002n)).toBe(`InboxNotMember(${addr[0]},2)`);
    await h!.stop(0);
    const sent = await allDelivered("remove");
    summary.remove = { sent, graceSec: GRACE_SEC, removedMemberRefusedAfterMs: Date.now() - removedAt };
  }, 180_000);

  it("lowers m to 2 while messages flow; two signatures suffice afterwards", async () => {
    expect(await tryDeliver([1, 2], 1_000_003n)).toMatch(/^InboxInsufficientSignatures\(0x[0-9a-f]{64},2,3\)$/);
    traffic.phase = "threshold";
    await rotate([1, 2, 3], [1, 2, 3], 2);
    await redistribute([1, 2, 3], 2);
    expect(await sets()).toEqual([0, 1, 2].map(() => ({ index: 3, members: addr.slice(1), threshold: 2 })));
    expect(await tryDeliver([1, 2], 1_000_004n)).toBe("ok");
    await sleep(5000);
    traffic.phase = "end";
    await sleep(2000);
    await traffic.stop();
    await allDelivered("threshold");
    await allDelivered("end");

    const rep = await deliveryReport(w!, traffic);
    expect(traffic.errors).toBe(0);
    expect({ missing: rep.missing, duplicates: rep.duplicates, wrongContent: rep.wrongContent, unknown: rep.unknown }).toEqual({ missing: [], duplicates: [], wrongContent: [], unknown: [] });
    expect(rep.batched).toBe(rep.delivered);
    const relayed: Record<string, number> = {};
    for (const d of [1, 2]) for (const [who, n] of await batchesOn(w!, d)) relayed[`member${addr.findIndex((a) => a.toLowerCase() === who)}`] = (relayed[`member${addr.findIndex((a) => a.toLowerCase() === who)}`] ?? 0) + n;
    // The added member relayed its share.
    expect(relayed.member3 ?? 0).toBeGreaterThan(0);
    summary.threshold = { sent: traffic.inPhase("threshold").length + traffic.inPhase("end").length };
    summary.total = { sent: rep.sent, delivered: rep.delivered, duplicates: rep.duplicates.length, relayedBy: relayed };
  }, 180_000);
});

