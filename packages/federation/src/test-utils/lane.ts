// Test harness (not part of the build): one anvil chain with the federation's inbox and outbox and
// a mock app, for testing a member's collaborators one at a time.
import fs from "node:fs";
import { SigningKey, Wallet, getAddress } from "ethers";
import { Deployments, deployContract, readArtifact, startTestChain, type TestChain, type TxSender } from "@sidegrid/chain";
import { artifactsDir } from "../artifacts";
import { deployFederation } from "../deploy";
import { localMemberKeys, type MemberChainConfig } from "../member/config";
import { createMemberMetrics, type MemberMetrics } from "../member/metrics";
import { MessageBatch } from "../merkle";
import { messageKey, signDigest, type FederationMessage } from "../messages";
import { batchKey, type ChainState, type PendingBatch, type PendingMessage } from "../member/state";
import { ALL_ABIS, mirrorIface, outboxIface, preferencePayload, tmpDir } from "./world";

/** The source chain the lane's messages claim to come from (it exists only in them). */
export const LANE_SRC = 31398n;
/** A destination the outbox accepts (nothing listens there). */
export const LANE_DST = 31397n;

export interface Lane {
  chain: TestChain;
  chainId: number;
  admin: TxSender;
  /** An account the outbox accepts as sender. */
  app: TxSender;
  inbox: string;
  outbox: string;
  /** MockPreferenceMirror accepting messages from (LANE_SRC, `source`). */
  mirror: string;
  source: string;
  /** Keys of the three members (threshold 2), then an outsider. */
  keys: SigningKey[];
  members: string[];
  startBlock: number;
  dir: string;
  stop(): Promise<void>;
}

export async function startLane(chainId: number): Promise<Lane> {
  const chain = await startTestChain({ chainId });
  const admin = (await chain.account(0)).sender;
  const app = (await chain.account(1)).sender;
  for (const s of [admin, app]) for (const abi of ALL_ABIS) s.addAbi(abi as never);
  const dir = tmpDir("lane");
  const deployments = Deployments.forNetwork(dir, "local", chainId);
  const source = getAddress("0x00000000000000000000000000000000005eed01");
  const m = await deployContract({ sender: admin, deployments, artifact: readArtifact(artifactsDir, "MockPreferenceMirror"), args: [admin.address] });
  const mirror = getAddress(m.address);
  await admin.sendAndWait({ to: mirror, data: mirrorIface.encodeFunctionData("setSource", [LANE_SRC, source]) });
  const keys = localMemberKeys(4).map((k) => new SigningKey(k));
  const members = keys.slice(0, 3).map((k) => new Wallet(k.privateKey).address);
  const fed = await deployFederation({
    chains: [{ name: "local", sender: admin, deployments, receivers: [mirror], senders: [app.address] }],
    members,
    threshold: 2,
    gracePeriodSec: 600,
    appGasLimit: 300_000n,
    fundMembers: 10n ** 20n,
  });
  const { inbox, outbox } = fed.chains[0]!;
  await admin.sendAndWait({ to: outbox, data: outboxIface.encodeFunctionData("setDestination", [LANE_DST, true]) });
  const startBlock = await chain.provider.getBlockNumber();
  return {
    chain,
    chainId,
    admin,
    app,
    inbox,
    outbox,
    mirror,
    source,
    keys,
    members,
    startBlock,
    dir,
    async stop() {
      await chain.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

export function laneChainConfig(l: Lane, confirmations = 0): MemberChainConfig {
  return { name: "local", chainId: l.chainId, rpcUrl: l.chain.node.url, confirmations, outbox: l.outbox, inbox: l.inbox, startBlock: l.startBlock };
}

/** A preference message from (LANE_SRC, source) to the lane's mirror, lane nonce `nonce`. */
export function laneMessage(l: Lane, nonce: bigint, allowed = true): FederationMessage {
  const consumer = getAddress("0x000000000000000000000000000000000000c0de");
  const utility = getAddress("0x0000000000000000000000000000000000007711");
  return { srcChainId: LANE_SRC, srcSender: l.source, nonce, dstChainId: BigInt(l.chainId), dstContract: l.mirror, payload: preferencePayload(consumer, nonce, utility, allowed) };
}

/** Metrics of a member that is not serving them (one registry per test). */
export function testMetrics(): MemberMetrics {
  return createMemberMetrics(0);
}

/** Records what a collaborator logged. */
export function recordingLog(): { lines: { level: string; msg: string; fields?: Record<string, unknown> }[]; log: (level: "info" | "warn" | "error", msg: string, fields?: Record<string, unknown>) => void } {
  const lines: { level: string; msg: string; fields?: Record<string, unknown> }[] = [];
  return { lines, log: (level, msg, fields) => lines.push({ level, msg, ...(fields ? { fields } : {}) }) };
}

/**
 * `ms` pending on `cs` as one batch the attester would have formed, with the signatures of
 * `signers` ([member index, key index] into the lane's members and keys: a key that is not the
 * member's is a bad signature in its name) over the batch's root; ready when `ready`.
 */
export function pendBatch(l: Lane, cs: ChainState, ms: readonly FederationMessage[], signers: readonly [member: number, key: number][], opts: { ready?: boolean; ageMs?: number } = {}): PendingBatch {
  const mb = new MessageBatch(cs.separator, ms);
  const sigs = new Map(signers.map(([member, key]) => [l.members[member]!.toLowerCase(), signDigest(l.keys[key]!, mb.digest)]));
  const now = Date.now() - (opts.ageMs ?? 0);
  const b: PendingBatch = {
    key: batchKey(cs.id, mb.batch.srcChainId, mb.batch.firstNonce),
    batch: mb.batch,
    digest: mb.digest,
    tree: mb.tree,
    keys: mb.messages.map((m) => messageKey(m.dstChainId, m.srcChainId, m.nonce)),
    open: new Map(),
    settling: new Map(),
    firstSeen: now,
    own: [...sigs.values()][0] ?? "0x",
    sigs,
    bad: new Set(),
    readyAt: opts.ready === false ? undefined : now,
    lastResend: now,
  };
  mb.messages.forEach((m, leaf) => {
    const p: PendingMessage = { key: b.keys[leaf]!, msg: m, digest: mb.digests[leaf]!, firstSeen: now, batch: b, leaf, inflight: false, attempts: 0 };
    b.open.set(leaf, p);
    cs.pending.set(p.key, p);
  });
  cs.batches.set(b.key, b);
  return b;
}
