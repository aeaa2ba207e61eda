// Members on their own hosts (issue #17): three member processes (2-of-3), each in its own network
// namespace with its own address, directory, key file and LevelDB, reached only at the URL in the
// file; the chains stay in the root namespace on the bridge's address. Where the machine allows no
// namespaces the members get separate loopback addresses instead (the summary says which ran).
// One member is cut off for 40 s while preference changes keep flowing (and one change lands in a
// block that is then orphaned); after it rejoins it catches up by itself.
import fs from "node:fs";
import path from "node:path";
import { retryRead, sleep, type TxSender } from "@sidegrid/chain";
import { MockPreferenceMirror__factory } from "./generated";
import { createHostNet, logTails, startHostedMembers, waitUntil, type HostNet, type HostedMembers } from "./test-utils/hosts";
import { PreferenceTraffic, batchesOn, deliveryReport } from "./test-utils/traffic";
import { startWorld, type World } from "./test-utils/world";

const IDS: [number, number, number] = [31721, 31722, 31723];
const TUNING = { pollIntervalMs: 50, takeoverMs: 1000, batchDelayMs: 5, resendMs: 1000 };
/** Blocks the members wait on chain 0 (the source): an orphaned block never reaches that depth. */
const CONFIRMATIONS = 2;
const PARTITION_MS = 40_000;
const CUT = 2; // the member that is partitioned
const UTILITY = "0x0000000000000000000000000000000000007711";

let net: HostNet | undefined;
let w: World | undefined;
let h: HostedMembers | undefined;
let traffic: PreferenceTraffic;
let orphanSender: TxSender;
let consumer: TxSender;
const summary: Record<string, unknown> = {};

beforeAll(async () => {
  net = createHostNet(3);
  w = await startWorld({ chainIds: IDS, host: net.chainHost });
  h = await startHostedMembers({ net, world: w, threshold: 2, tuning: TUNING, confirmations: { chain0: CONFIRMATIONS }, dir: path.join(w.dir, "hosts") });
  consumer = (await w.chains[0]!.account(3)).sender;
  traffic = new PreferenceTraffic(w, consumer, 250);
  orphanSender = (await w.chains[0]!.account(5)).sender;
  summary.mode = `${net.mode}: ${net.reason}`;
  summary.members = h.urls.map((u, k) => `${k}=${u}`).join(" ");
}, 180_000);

afterAll(async () => {
  await traffic?.stop();
  await h?.stopAll();
  await w?.stop();
  net?.destroy();
  console.log(`hosts.e2e summary\n${Object.entries(summary).map(([k, v]) => `  ${k}: ${typeof v === "string" ? v : JSON.stringify(v)}`).join("\n")}`);
}, 60_000);

const tails = () => (h ? logTails(h) : "");

async function heads(): Promise<number[]> {
  return Promise.all(w!.chains.map(async (c) => Number(await c.provider.send("eth_blockNumber", []))));
}

describe(`members on their own hosts (3 members, threshold 2)`, () => {
  it("each member runs on its own host, is reached at its URL only, and keeps its own key and data", async () => {
    const hm = h!;
    for (let k = 0; k < 3; k++) {
      const health = await hm.health(k);
      expect([k, health.ok, health.address]).toEqual([k, true, hm.addresses[k]]);
      expect(health.peers.map((p) => p.url).sort()).toEqual(hm.urls.filter((_, j) => j !== k).sort());
      // Its own directory: its key file (0600) and its LevelDB, nothing of the others.
      expect(fs.statSync(path.join(hm.dirs[k]!, "key")).mode & 0o777).toBe(0o600);
      expect(fs.existsSync(path.join(hm.dirs[k]!, "data", "CURRENT"))).toBe(true);
      const file = JSON.parse(fs.readFileSync(path.join(hm.dirs[k]!, "federation.json"), "utf8")) as { members: { privateKey?: string; privateKeyFile?: string }[] };
      expect(file.members.filter((m) => m.privateKey !== undefined || m.privateKeyFile !== undefined)).toHaveLength(1);
      // Not on this machine's loopback at its port: only its URL reaches it.
      const port = new URL(hm.urls[k]!).port;
      const local = await fetch(`http://127.0.0.1:${port}/health`, { signal: AbortSignal.timeout(1000) })
        .then(async (r) => ((await r.json()) as { address?: string }).address)
        .catch(() => undefined);
      expect(local).not.toBe(hm.addresses[k]);
      if (net!.mode === "netns") {
        // Another network namespace than the test's.
        expect(fs.readlinkSync(`/proc/${hm.pids[k]}/ns/net`)).not.toBe(fs.readlinkSync("/proc/self/ns/net"));
      }
    }
  });

  it("relays preference changes between hosts with 2 of 3 signatures, each exactly once", async () => {
    traffic.phase = "steady";
    for (let i = 0; i < 10; i++) await traffic.once();
    await traffic.settle(CONFIRMATIONS);
    const r = await waitUntil("every message delivered", async () => {
      const rep = await deliveryReport(w!, traffic);
      return rep.missing.length === 0 && rep;
    }, 60_000, 200, tails);
    expect(r).toMatchObject({ sent: 20, delivered: 20, duplicates: [], wrongContent: [], unknown: [], batched: 20 });
    // The last change (10th: revoke) is what both mirrors hold.
    for (const [i, d] of [[0, 1], [1, 2]] as const) {
      expect(await retryRead(() => MockPreferenceMirror__factory.connect(w!.mirrors[i], w!.chains[d]!.provider).permits(consumer.address, UTILITY, 3))).toBe(false);
    }
    summary.steady = `${r.sent} messages sent, ${r.delivered} delivered once each`;
  }, 120_000);

  it("keeps relaying while one member is cut off for 40 s; the member catches up by itself after it rejoins", async () => {
    const hm = h!;
    const before = await hm.health(CUT);
    traffic.phase = "before";
    traffic.start();
    await sleep(3000);

    traffic.phase = "partition";
    const how = hm.partition(CUT);
    const cutAt = Date.now();
    // The others cannot reach it any more.
    await waitUntil("the others see the member down", async () => {
      const hs = await Promise.all([0, 1].map((k) => hm.health(k)));
      return hs.every((x) => x.peers.find((p) => p.address === hm.addresses[CUT])?.up === false);
    }, 30_000, 500, tails);
    await sleep(10_000);
    // A change in a block that is then orphaned: its lane nonces are reused by the next change.
    const orphaned = await traffic.orphan(orphanSender);
    expect(orphaned).toHaveLength(2);
    await sleep(Math.max(0, PARTITION_MS - (Date.now() - cutAt) - 8000));
    // Without the cut member, 2 of 3 still reach the threshold: what was sent so far is delivered.
    const sentWhileCut = traffic.inPhase("partition").map((r) => r.key);
    await waitUntil("messages sent during the partition delivered by the other two", async () => {
      const rep = await deliveryReport(w!, traffic);
      return sentWhileCut.every((k) => !rep.missing.includes(k));
    }, 60_000, 200, tails);
    while (Date.now() - cutAt < PARTITION_MS) await sleep(100);

    traffic.phase = "after";
    const headsAtRejoin = await heads();
    const rejoinBlock = headsAtRejoin.map((x) => x + 1);
    hm.rejoin(CUT);
    const partitionMs = Date.now() - cutAt;
    const rejoinedAt = Date.now();
    const caughtUp = await waitUntil("the rejoined member's cursors reach the heads it missed", async () => {
      const x = await hm.health(CUT);
      const atHead = x.chains.every((c, i) => c.cursor >= headsAtRejoin[i]! - (i === 0 ? CONFIRMATIONS : 0));
      return atHead && x.peers.every((p) => p.up) && x;
    }, 90_000, 200, tails);
    const catchUpMs = Date.now() - rejoinedAt;
    await sleep(5000);
    await traffic.stop();
    await traffic.settle(CONFIRMATIONS);

    const rep = await waitUntil("every message delivered", async () => {
      const r = await deliveryReport(w!, traffic);
      return r.missing.length === 0 && r;
    }, 90_000, 200, tails);
    expect(traffic.errors).toBe(0);
    expect({ missing: rep.missing, duplicates: rep.duplicates, wrongContent: rep.wrongContent, unknown: rep.unknown }).toEqual({ missing: [], duplicates: [], wrongContent: [], unknown: [] });
    expect(rep.batched).toBe(rep.delivered);
    // Nothing of the orphaned block: its nonces carry the canonical change (checked by digest above),
    // and its sender's consent never reached a mirror.
    for (const m of orphaned) expect(traffic.sent.get(`${m.dstChainId}/${m.nonce}`)?.msg.payload).not.toBe(m.payload);
    for (const [i, d] of [[0, 1], [1, 2]] as const) {
      expect(await retryRead(() => MockPreferenceMirror__factory.connect(w!.mirrors[i], w!.chains[d]!.provider).permits(orphanSender.address, UTILITY, 3))).toBe(false);
    }

    // The rejoined member: nothing left pending (what it missed it signed, or found already executed),
    // its cursors at the heads, and it signed the changes sent after it came back.
    const after = await waitUntil("the rejoined member has nothing pending", async () => {
      const x = await hm.health(CUT);
      return x.pending === 0 && x;
    }, 60_000, 200, tails);
    // Its cursors follow the heads again (within a few polls: the heads move with the others' deliveries).
    const hs = await heads();
    await waitUntil("the rejoined member following the heads", async () => {
      const x = await hm.health(CUT);
      return x.chains.every((c, i) => c.cursor >= hs[i]! - (i === 0 ? CONFIRMATIONS : 0));
    }, 15_000, 100, tails);
    const signed = after.signatures.own - before.signatures.own;
    const sinceBefore = traffic.inPhase("before").length + traffic.inPhase("partition").length + traffic.inPhase("after").length;
    expect(signed).toBeGreaterThanOrEqual(traffic.inPhase("after").length);
    expect(signed).toBeLessThanOrEqual(sinceBefore);
    const relayedAfter = (await Promise.all([1, 2].map((d) => batchesOn(w!, d, rejoinBlock[d]!)))).reduce((n, m) => n + (m.get(hm.addresses[CUT]!.toLowerCase()) ?? 0), 0);

    summary.partition = {
      how,
      durationMs: partitionMs,
      catchUpMs,
      cursorsAfterCatchUp: caughtUp.chains.map((c) => c.cursor),
      sent: { before: traffic.inPhase("before").length, partition: sentWhileCut.length, after: traffic.inPhase("after").length },
      delivered: rep.delivered,
      ofSent: rep.sent,
      orphanedMessages: orphaned.length,
      rejoinedSignedOwn: signed,
      rejoinedRelayedAfterRejoin: relayedAfter,
    };
  }, 240_000);
});
