// `pnpm bench`: relayed messages per second through three real member processes (2-of-3) with
// batching, plus the inbox's own ceiling with pre-signed batches. Prints the figures and writes
// bench-results/relay.json.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { SigningKey, Wallet } from "ethers";
import { devPrivateKey, rpcCall, sleep, type TxReceipt, type TxSender } from "@sidegrid/chain";
import { FederationOutbox__factory } from "./generated";
import { RelaySender, encodeDeliver } from "./member/wire";
import { startMemberProcesses, type MemberProcesses } from "./test-utils/members";
import { ALL_ABIS, inboxIface, mirrorIface, sentMessages, sign, sourceIface, startWorld, type World } from "./test-utils/world";

const MESSAGES = Number(process.env.BENCH_MESSAGES ?? 6000);
const PER_TX = 400;
const TUNING = { pollIntervalMs: 20, batchDelayMs: 20, maxBatch: PER_TX, maxInFlight: 4, takeoverMs: 3000 };
let w: World;
let members: MemberProcesses | undefined;
let loader: TxSender;

/** Counts executions on chain `d`'s inbox from block `from` on; returns the next block to scan. */
async function countExecuted(d: number, from: number): Promise<{ count: number; next: number }> {
  // Raw JSON-RPC: ethers' response decoding would steal CPU from the members being measured.
  const url = w.chains[d]!.node.url;
  const head = Number(await rpcCall<string>(url, "eth_blockNumber", []));
  if (head < from) return { count: 0, next: from };
  const logs = (await rpcCall<unknown[]>(url, "eth_getLogs", [
    {
      fromBlock: `0x${from.toString(16)}`,
      toBlock: `0x${head.toString(16)}`,
      address: w.fed.chains[d]!.inbox,
      topics: [[inboxIface.getEvent("MessageExecuted").topicHash, inboxIface.getEvent("MessageFailed").topicHash]],
    },
  ])) as unknown[];
  return { count: logs.length, next: head + 1 };
}

async function waitExecuted(n: number, from: number, timeoutMs = 300_000): Promise<number> {
  let done = 0;
  let next = from;
  const deadline = Date.now() + timeoutMs;
  while (done < n) {
    const r = await countExecuted(1, next);
    done += r.count;
    next = r.next;
    if (done >= n) break;
    if (Date.now() > deadline) throw new Error(`only ${done}/${n} relayed`);
    await sleep(25);
  }
  return performance.now();
}

/** The app: `n` preference messages chain 0 → chain 1 in pipelined transactions of PER_TX sends each. */
async function load(n: number): Promise<TxReceipt[]> {
  const txs = [];
  for (let left = n; left > 0; left -= PER_TX) {
    txs.push({ to: w.source, data: sourceIface.encodeFunctionData("setPreferenceMany", ["0x0000000000000000000000000000000000007711", Math.min(PER_TX, left), 0]) });
  }
  return loader.sendMany(txs, 120_000);
}

const head = async (d: number) => Number(await w.chains[d]!.provider.send("eth_blockNumber", []));

beforeAll(async () => {
  w = await startWorld({ chainIds: [31391, 31392, 31393] });
  loader = (await w.chains[0]!.account(5)).sender;
  for (const abi of ALL_ABIS) loader.addAbi(abi as never);
  // One consumer changes its preference thousands of times; relayers deliver rounds out of order,
  // and the mirror ignores an older version instead of reverting (gas of a normal delivery).
  await w.admins[1]!.sendAndWait({ to: w.mirrors[0], data: mirrorIface.encodeFunctionData("setMode", [3]) });
}, 120_000);

afterAll(async () => {
  if (process.env.BENCH_DEBUG && members) {
    for (const u of members.urls) console.log((await (await fetch(`${u}/metrics`)).text()).split("\n").filter((l) => /^federation_(relay_submissions|relayed|signatures)/.test(l)).join("\n"));
    for (const i of [0, 1, 2]) console.log(fs.readFileSync(members.logFile(i), "utf8").split("\n").filter((l) => l.includes("warn")).slice(0, 10).join("\n"));
  }
  await members?.stopAll();
  await w?.stop();
});

it("relays messages through three member processes with batching", async () => {
  const results: Record<string, unknown> = { machine: `${process.platform} ${process.arch}, ${os.cpus().length} cores`, tuning: TUNING };

  // 1. The inbox's ceiling: pre-signed batches delivered by one sender, no members involved.
  let t = performance.now();
  const receiptsIn = await load(2000);
  results.appSendsAlone = { messages: 2000, seconds: +((performance.now() - t) / 1000).toFixed(3) };
  const direct = receiptsIn.flatMap((r) => sentMessages(r, w.ids[0]!, w.fed.chains[0]!.outbox));
  const lane = FederationOutbox__factory.connect(w.fed.chains[0]!.outbox, w.chains[0]!.provider);
  const key = new SigningKey(devPrivateKey(6));
  const relayer = await RelaySender.create(key, new Wallet(key.privateKey).address, w.chains[1]!.provider, w.ids[1]!);
  const inbox = w.fed.chains[1]!.inbox;
  const sigs = direct.map((m) => sign(w.signers.slice(0, 2), w.ids[1]!, inbox, m));
  t = performance.now();
  const sentTxs = [];
  for (let i = 0; i < direct.length; i += PER_TX) {
    sentTxs.push(await relayer.send(inbox, encodeDeliver(direct.slice(i, i + PER_TX), sigs.slice(i, i + PER_TX)), 28_000_000n));
  }
  const receipts = await Promise.all(sentTxs.map((x) => x.wait()));
  expect(receipts.every((r) => r.status === 1)).toBe(true);
  const directSec = (performance.now() - t) / 1000;
  const gasPerMsg = receipts.reduce((a, r) => a + Number(r.gasUsed), 0) / direct.length;
  results.inboxOnly = { messages: direct.length, batch: PER_TX, seconds: +directSec.toFixed(3), messagesPerSecond: Math.round(direct.length / directSec), gasPerMessage: Math.round(gasPerMsg) };

  // 2. Backlog: the app sends while the members are down; then three member processes start and
  //    drain it (sign, exchange, batch, deliver). Timed from spawning the processes.
  await load(MESSAGES);
  let from = (await head(1)) + 1;
  t = performance.now();
  members = await startMemberProcesses(w, TUNING);
  const drained = await waitExecuted(MESSAGES, from);
  const backlogSec = (drained - t) / 1000;
  results.backlog = { messages: MESSAGES, seconds: +backlogSec.toFixed(3), messagesPerSecond: Math.round(MESSAGES / backlogSec), note: "timed from spawning the 3 member processes" };

  // 3. Live: members running, the app sends; timed from the first send to the last execution.
  from = (await head(1)) + 1;
  t = performance.now();
  await load(MESSAGES);
  const sentSec = (performance.now() - t) / 1000;
  const liveSec = ((await waitExecuted(MESSAGES, from)) - t) / 1000;
  results.live = { messages: MESSAGES, appSendSeconds: +sentSec.toFixed(3), seconds: +liveSec.toFixed(3), messagesPerSecond: Math.round(MESSAGES / liveSec) };
  expect(Number(await lane.laneNonce(w.ids[1]!))).toBe(2000 + 2 * MESSAGES);

  console.log(
    [
      `federation relay bench (${results.machine}; 3 anvil chains, 3 member processes, threshold 2, batches ≤ ${PER_TX})`,
      `  inbox only, pre-signed batches, one sender: ${JSON.stringify(results.inboxOnly)}`,
      `  backlog drained by the members:              ${JSON.stringify(results.backlog)}`,
      `  live, app sending while members relay:       ${JSON.stringify(results.live)}`,
      `  (the app alone sends ~${Math.round(2000 / (results.appSendsAlone as { seconds: number }).seconds)} messages/s on this machine)`,
    ].join("\n"),
  );
  const dir = path.join(__dirname, "..", "bench-results");
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, "relay.json"), JSON.stringify({ ...results, measuredAt: new Date().toISOString() }, null, 2));
}, 600_000);
