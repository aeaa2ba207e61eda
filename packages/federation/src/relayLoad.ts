// Relay throughput of a running federation, measured with a load generator on the source chain
// (MockPreferenceSource: hundreds of outbox sends per transaction) and a mirror on the destination
// that ignores stale versions. The app side then costs almost nothing, so what is measured is the
// members: watch, sign, exchange signatures, batch and deliver. Used by `pnpm bench` here and by
// `sidegrid bench` on the system's own chains.
import { deployContract, readArtifact, rpcCall, sleep, type Deployments, type TxReceipt, type TxSender } from "@sidegrid/chain";
import { getAddress, zeroPadValue } from "ethers";
import { artifactsDir as defaultArtifactsDir } from "./artifacts";
import { FEDERATION_ROLE } from "./deploy";
import { RelayTimeoutError } from "./errors";
import { FederationInbox__factory, FederationOutbox__factory, MockPreferenceMirror__factory, MockPreferenceSource__factory } from "./generated";

const inboxIface = FederationInbox__factory.createInterface();
const outboxIface = FederationOutbox__factory.createInterface();
const sourceIface = MockPreferenceSource__factory.createInterface();
const mirrorIface = MockPreferenceMirror__factory.createInterface();
const EXECUTED = inboxIface.getEvent("MessageExecuted").topicHash;
const FAILED = inboxIface.getEvent("MessageFailed").topicHash;
/** The utility the generated preference changes name; any address does. */
const LOAD_UTILITY = "0x0000000000000000000000000000000000007711";

export interface DeployRelayLoadParameters {
  /** The source chain's admin (admin of its outbox) and its deployments file. */
  source: { sender: TxSender; deployments: Deployments; outbox: string };
  /** The destination chain's admin and deployments; `inbox` receives FEDERATION_ROLE on the mirror. */
  destination: { sender: TxSender; deployments: Deployments; inbox: string };
  artifactsDir?: string;
}

export interface DeployRelayLoadReturnType {
  /** MockPreferenceSource on the source chain, registered as an outbox sender, one route (index 0). */
  source: string;
  /** MockPreferenceMirror on the destination chain, in "ignore stale versions" mode. */
  mirror: string;
}

/**
 * Deploys the relay load generator on an existing federation, idempotently: the source is
 * registered on the source chain's outbox and routed to the mirror, the mirror accepts only that
 * source and lets the destination inbox call it.
 *
 * @example
 * const load = await deployRelayLoad({ source: { sender: priAdmin, deployments: priDeps, outbox }, destination: { sender: secAdmin, deployments: secDeps, inbox } });
 */
export async function deployRelayLoad(params: DeployRelayLoadParameters): Promise<DeployRelayLoadReturnType> {
  const dir = params.artifactsDir ?? defaultArtifactsDir;
  const src = params.source.sender;
  const dst = params.destination.sender;
  const source = await deployContract({ sender: src, deployments: params.source.deployments, artifact: readArtifact(dir, "MockPreferenceSource"), key: "RelayLoadSource" });
  const mirror = await deployContract({
    sender: dst,
    deployments: params.destination.deployments,
    artifact: readArtifact(dir, "MockPreferenceMirror"),
    key: "RelayLoadMirror",
    args: [dst.address],
  });
  const s = MockPreferenceSource__factory.connect(source.address, src.provider);
  const m = MockPreferenceMirror__factory.connect(mirror.address, dst.provider);
  const o = FederationOutbox__factory.connect(params.source.outbox, src.provider);
  if (getAddress(await s.outbox()) !== getAddress(params.source.outbox)) {
    await src.sendAndWait({ to: source.address, data: sourceIface.encodeFunctionData("setOutbox", [params.source.outbox]) });
  }
  const route = await s.routes(0).catch(() => undefined);
  if (!route) await src.sendAndWait({ to: source.address, data: sourceIface.encodeFunctionData("addRoute", [dst.chainId, mirror.address]) });
  if (!(await o.isSender(source.address))) await src.sendAndWait({ to: params.source.outbox, data: outboxIface.encodeFunctionData("setSender", [source.address, true]) });
  const [srcChainId, srcSender] = await Promise.all([m.expectedSrcChainId(), m.expectedSrcSender()]);
  if (srcChainId !== src.chainId || getAddress(srcSender) !== getAddress(source.address)) {
    await dst.sendAndWait({ to: mirror.address, data: mirrorIface.encodeFunctionData("setSource", [src.chainId, source.address]) });
  }
  if (!(await m.hasRole(FEDERATION_ROLE, params.destination.inbox))) {
    await dst.sendAndWait({ to: mirror.address, data: mirrorIface.encodeFunctionData("grantRole", [FEDERATION_ROLE, params.destination.inbox]) });
  }
  // One consumer changes its preference thousands of times; relayers may deliver batches out of
  // order, and the mirror ignores an older version instead of reverting (the gas of a normal delivery).
  if (Number(await m.mode()) !== 3) await dst.sendAndWait({ to: mirror.address, data: mirrorIface.encodeFunctionData("setMode", [3]) });
  return { source: getAddress(source.address), mirror: getAddress(mirror.address) };
}

export interface MeasureRelayThroughputParameters {
  /** Sends the load (any funded account of the source chain; not the admin, whose nonces others use). */
  loader: TxSender;
  /** The MockPreferenceSource (from {@link deployRelayLoad} or a test world). */
  source: string;
  /** Route of the source to use (default 0). */
  routeIndex?: number;
  /** Where the messages execute: the destination's RPC URL, its inbox and the receiving contract. */
  destination: { rpcUrl: string; inbox: string; receiver: string };
  messages: number;
  /** Outbox sends per load transaction (default 400). */
  perTx?: number;
  /** Wait at most this long for the last execution (default 300 s). */
  timeoutMs?: number;
  /**
   * When set, the timer starts here (ms, `performance.now()` clock) instead of at the first load
   * transaction, e.g. when the load was sent before the members were started (a backlog).
   */
  preloaded?: { startedAt: number; fromBlock: number };
}

export interface MeasureRelayThroughputReturnType {
  messages: number;
  /** Sending the load (0 for a preloaded backlog). */
  appSendSeconds: number;
  /** First load transaction (or `preloaded.startedAt`) to the last execution on the destination. */
  seconds: number;
  messagesPerSecond: number;
  /** The deliver transactions that executed the messages. */
  deliver: { txs: number; gasUsed: number; gasPerMessage: number; meanBatch: number; largestBatch: number };
}

/**
 * Sends `messages` preference messages through the federation and times them until every one
 * executed on the destination inbox (MessageExecuted or MessageFailed for `receiver`).
 *
 * @example
 * const r = await measureRelayThroughput({ loader, source: load.source, destination: { rpcUrl, inbox, receiver: load.mirror }, messages: 6000 });
 * console.log(r.messagesPerSecond);
 */
export async function measureRelayThroughput(params: MeasureRelayThroughputParameters): Promise<MeasureRelayThroughputReturnType> {
  const { destination } = params;
  let fromBlock: number;
  let t0: number;
  let appSendSeconds = 0;
  if (params.preloaded) {
    fromBlock = params.preloaded.fromBlock;
    t0 = params.preloaded.startedAt;
  } else {
    fromBlock = Number(await rpcCall<string>(destination.rpcUrl, "eth_blockNumber", [])) + 1;
    t0 = performance.now();
    await sendRelayLoad({ loader: params.loader, source: params.source, messages: params.messages, ...(params.perTx !== undefined ? { perTx: params.perTx } : {}), ...(params.routeIndex !== undefined ? { routeIndex: params.routeIndex } : {}) });
    appSendSeconds = (performance.now() - t0) / 1000;
  }
  const txMessages = new Map<string, number>();
  let done = 0;
  let next = fromBlock;
  const deadline = Date.now() + (params.timeoutMs ?? 300_000);
  const receiverTopic = zeroPadValue(destination.receiver, 32).toLowerCase();
  for (;;) {
    // Raw JSON-RPC: ethers' response decoding would steal CPU from the members being measured.
    const head = Number(await rpcCall<string>(destination.rpcUrl, "eth_blockNumber", []));
    if (head >= next) {
      const logs = await rpcCall<{ transactionHash: string }[]>(destination.rpcUrl, "eth_getLogs", [
        { fromBlock: `0x${next.toString(16)}`, toBlock: `0x${head.toString(16)}`, address: destination.inbox, topics: [[EXECUTED, FAILED], null, null, receiverTopic] },
      ]);
      for (const l of logs) txMessages.set(l.transactionHash, (txMessages.get(l.transactionHash) ?? 0) + 1);
      done += logs.length;
      next = head + 1;
    }
    if (done >= params.messages) break;
    if (Date.now() > deadline) throw new RelayTimeoutError(params.messages, done);
    await sleep(25);
  }
  const seconds = (performance.now() - t0) / 1000;
  let gasUsed = 0;
  for (const hash of txMessages.keys()) {
    const r = await rpcCall<{ gasUsed: string }>(destination.rpcUrl, "eth_getTransactionReceipt", [hash]);
    gasUsed += Number(BigInt(r.gasUsed));
  }
  const batches = [...txMessages.values()];
  return {
    messages: params.messages,
    appSendSeconds: round3(appSendSeconds),
    seconds: round3(seconds),
    messagesPerSecond: Math.round(params.messages / seconds),
    deliver: {
      txs: batches.length,
      gasUsed,
      // A deliver transaction may also carry other messages (a preference relay landing in the same
      // batch); they are few, and counting only ours errs on the expensive side.
      gasPerMessage: Math.round(gasUsed / Math.max(1, done)),
      meanBatch: Math.round(done / Math.max(1, batches.length)),
      largestBatch: Math.max(0, ...batches),
    },
  };
}

/** The load alone: `messages` preference changes in pipelined transactions of `perTx` sends each. */
export async function sendRelayLoad(params: { loader: TxSender; source: string; messages: number; perTx?: number; routeIndex?: number }): Promise<TxReceipt[]> {
  const perTx = params.perTx ?? 400;
  const txs = [];
  for (let left = params.messages; left > 0; left -= perTx) {
    txs.push({ to: params.source, data: sourceIface.encodeFunctionData("setPreferenceMany", [LOAD_UTILITY, Math.min(perTx, left), params.routeIndex ?? 0]) });
  }
  return params.loader.sendMany(txs, 120_000);
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}
