// `pnpm bench`: relayed messages per second through three real member processes (2-of-3) that
// sign one root per batch, plus the inbox's own ceiling with pre-signed transactions, per-message
// signatures (`deliver`) beside one root per batch (`deliverBatches`) in the same run. Prints the
// figures and writes bench-results/relay.json.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { SigningKey, Wallet } from "ethers";
import { devPrivateKey, type TxReceipt, type TxSender } from "@sidegrid/chain";
import { FederationOutbox__factory } from "./generated";
import { MessageBatch } from "./merkle";
import { domainSeparator, packSignatures, signDigest } from "./messages";
import { RelaySender, encodeDeliver, encodeDeliverBatches } from "./member/wire";
import { measureRelayThroughput, sendRelayLoad } from "./relayLoad";
import { startMemberProcesses, type MemberProcesses } from "./test-utils/members";
import { ALL_ABIS, mirrorIface, sentMessages, sign, startWorld, type World } from "./test-utils/world";

const MESSAGES = Number(process.env.BENCH_MESSAGES ?? 6000);
const PER_TX = 400;
const TUNING = { pollIntervalMs: 20, batchDelayMs: 20, maxBatch: PER_TX, maxInFlight: 4, takeoverMs: 3000 };
let w: World;
let members: MemberProcesses | undefined;
let loader: TxSender;

/** The app: `n` preference messages chain 0 → chain 1 in pipelined transactions of PER_TX sends each. */
function load(n: number): Promise<TxReceipt[]> {
  return sendRelayLoad({ loader, source: w.source, messages: n, perTx: PER_TX });
}

const destination = () => ({ rpcUrl: w.chains[1]!.node.url, inbox: w.fed.chains[1]!.inbox, receiver: w.mirrors[0] });
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

  // 1b. The same with one signed root per transaction of PER_TX messages (what the members send now).
  const rooted = (await load(2000)).flatMap((r) => sentMessages(r, w.ids[0]!, w.fed.chains[0]!.outbox));
  const sep = domainSeparator(w.ids[1]!, inbox);
  const rootTxs = [];
  for (let i = 0; i < rooted.length; i += PER_TX) {
    const b = new MessageBatch(sep, rooted.slice(i, i + PER_TX));
    rootTxs.push(encodeDeliverBatches([b.delivery(packSignatures(w.signers.slice(0, 2).map((k) => signDigest(k, b.digest))))]));
  }
  t = performance.now();
  const sentRoots = [];
  for (const data of rootTxs) sentRoots.push(await relayer.send(inbox, data, 28_000_000n));
  const rootReceipts = await Promise.all(sentRoots.map((x) => x.wait()));
  expect(rootReceipts.every((r) => r.status === 1)).toBe(true);
  const rootSec = (performance.now() - t) / 1000;
  const rootGas = rootReceipts.reduce((a, r) => a + Number(r.gasUsed), 0) / rooted.length;
  results.inboxOnlyRoots = { messages: rooted.length, batch: PER_TX, seconds: +rootSec.toFixed(3), messagesPerSecond: Math.round(rooted.length / rootSec), gasPerMessage: Math.round(rootGas) };

  // 2. Backlog: the app sends while the members are down; then three member processes start and
  //    drain it (sign, exchange, batch, deliver). Timed from spawning the processes.
  const fromBlock = (await head(1)) + 1;
  await load(MESSAGES);
  const startedAt = performance.now();
  members = await startMemberProcesses(w, TUNING);
  const backlog = await measureRelayThroughput({ loader, source: w.source, destination: destination(), messages: MESSAGES, preloaded: { startedAt, fromBlock } });
  results.backlog = { messages: MESSAGES, seconds: backlog.seconds, messagesPerSecond: backlog.messagesPerSecond, deliver: backlog.deliver, note: "timed from spawning the 3 member processes" };

  // 3. Live: members running, the app sends; timed from the first send to the last execution.
  const live = await measureRelayThroughput({ loader, source: w.source, destination: destination(), messages: MESSAGES, perTx: PER_TX });
  results.live = { messages: MESSAGES, appSendSeconds: live.appSendSeconds, seconds: live.seconds, messagesPerSecond: live.messagesPerSecond, deliver: live.deliver };
  expect(Number(await lane.laneNonce(w.ids[1]!))).toBe(4000 + 2 * MESSAGES);

  console.log(
    [
      `federation relay bench (${results.machine}; 3 anvil chains, 3 member processes, threshold 2, one root per source block, ≤ ${PER_TX} messages per tx)`,
      `  inbox only, pre-signed, per-message sigs:   ${JSON.stringify(results.inboxOnly)}`,
      `  inbox only, pre-signed, one root per tx:    ${JSON.stringify(results.inboxOnlyRoots)}`,
      `  backlog drained by the members:              ${JSON.stringify(results.backlog)}`,
      `  live, app sending while members relay:       ${JSON.stringify(results.live)}`,
      `  (the app alone sends ~${Math.round(2000 / (results.appSendsAlone as { seconds: number }).seconds)} messages/s on this machine)`,
    ].join("\n"),
  );
  const dir = path.join(__dirname, "..", "bench-results");
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, "relay.json"), JSON.stringify({ ...results, measuredAt: new Date().toISOString() }, null, 2));
}, 600_000);
