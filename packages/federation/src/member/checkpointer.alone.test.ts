// The checkpointer alone, in this process, and the attack it answers. Three checkpointers (one per
// member key, each with its own LevelDB and BlockPRI sender) follow a real BlockSEC anvil and vote
// on a real BlockPRI anvil: they compute the identical root and it is finalized. Then a lying
// BlockSEC node: an anvil forked from the honest one just before one of alice's access entries,
// which replays her later request, so its log lacks that entry and is consistent with itself. The
// old per-node audit passes on it; the checkpoint audit reports it TRIMMED OR FORKED, names alice's
// leaf, and reports the honest node consistent.
import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { SigningKey, Wallet, parseEther, type JsonRpcProvider } from "ethers";
import { ANVIL_MNEMONIC, Deployments, TxSender, anvilBinary, devPrivateKey as devKey, freePort, makeProvider, rpcCall, sleep, stopPid } from "@sidegrid/chain";
import { AccessLedger__factory, auditConsumer, deployBlockSec, formatAuditReport, readAccessHeads, type DeployBlockSecReturnType } from "@sidegrid/blocksec";
import { AccessCheckpointsClient, deployAccessCheckpoints } from "../checkpoints";
import { deployFederation } from "../deploy";
import { CheckpointMisconfiguredError } from "../errors";
import { tmpDir } from "../test-utils/world";
import { Checkpointer } from "./checkpointer";
import { localMemberKeys, type FederationCheckpointerConfig } from "./config";
import { MemberStore } from "./store";
import { RelaySender } from "./wire";

const SEC = 31781;
const PRI = 31782;
const INTERVAL = 20;
const accessIface = AccessLedger__factory.createInterface();

interface Node {
  url: string;
  pid: number;
  provider: JsonRpcProvider;
}

let dir: string;
let sec: Node;
let pri: Node;
let forked: Node | undefined;
let blocksec: DeployBlockSecReturnType;
let checkpoints: AccessCheckpointsClient;
let utility: TxSender;
const memberKeys = localMemberKeys(3);
const alice = new Wallet(devKey(3)).address;
const bob = new Wallet(devKey(4)).address;
const running: { c: Checkpointer; store: MemberStore; errors: unknown[] }[] = [];

async function startNode(chainId: number, extra: string[] = []): Promise<Node> {
  const port = await freePort();
  // No --prune-history on BlockSEC: the lying node is a fork of it at a past block.
  const child = spawn(anvilBinary(), ["--port", String(port), "--chain-id", String(chainId), "--mnemonic", ANVIL_MNEMONIC, "--order", "fifo", ...extra], { stdio: "ignore" });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    try {
      await rpcCall(url, "eth_chainId", [], 500);
      return { url, pid: child.pid!, provider: makeProvider(url, chainId) };
    } catch (e) {
      if (i > 300) throw e;
      await sleep(50);
    }
  }
}

async function startCheckpointer(i: number, key: string, overrides: Partial<FederationCheckpointerConfig> = {}, storeDir = `member-${i}-${running.length}`, minBlockAgeMs?: number) {
  const store = await MemberStore.open(path.join(dir, storeDir));
  const address = new Wallet(key).address;
  const sender = await RelaySender.create(new SigningKey(key), address, { send: (m, p) => rpcCall(pri.url, m, p, 15_000) }, BigInt(PRI));
  const r = { store, errors: [] as unknown[], c: undefined as unknown as Checkpointer };
  r.c = new Checkpointer({
    config: { accessCheckpoints: checkpoints.address, accessLedger: blocksec.accessLedger, startBlock: blocksec.startBlock, intervalBlocks: INTERVAL, pollMs: 50, ...overrides },
    secChainId: SEC,
    secConfirmations: 0,
    ...(minBlockAgeMs !== undefined ? { secMinBlockAgeMs: minBlockAgeMs } : {}),
    secProvider: sec.provider,
    priProvider: pri.provider,
    address,
    store,
    sender: () => sender,
    log: () => undefined,
    onError: (e) => r.errors.push(e),
  });
  await r.c.start();
  running.push(r);
  return r;
}

async function waitFor<T>(what: string, f: () => Promise<T | undefined | false>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await f();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(running.map((r) => r.c.stats))}`);
    await sleep(50);
  }
}

/** `who` asks for `consumer`'s energy usage: one access entry (denied: not a distributor), one block. */
async function request(sender: TxSender, consumer: string): Promise<number> {
  const r = await sender.sendAndWait({ to: blocksec.accessLedger, data: accessIface.encodeFunctionData("getEnergyUsage", [consumer]) });
  return r.blockNumber;
}

async function mineTo(node: Node, block: number): Promise<void> {
  const head = Number(await node.provider.send("eth_blockNumber", []));
  if (block > head) await node.provider.send("anvil_mine", [`0x${(block - head).toString(16)}`]);
}

let trimmedBlock: number;
let checkpointBlock: number;

beforeAll(async () => {
  dir = tmpDir("checkpointer-alone");
  [sec, pri] = await Promise.all([startNode(SEC), startNode(PRI)]);
  const secAdmin = await TxSender.create(devKey(0), sec.provider);
  const priAdmin = await TxSender.create(devKey(0), pri.provider);
  utility = await TxSender.create(devKey(1), sec.provider);
  blocksec = await deployBlockSec({ sender: secAdmin, deployments: Deployments.forNetwork(dir, "blocksec", SEC) });
  const priDeps = Deployments.forNetwork(dir, "blockpri", PRI);
  const fed = await deployFederation({ chains: [{ name: "blockpri", sender: priAdmin, deployments: priDeps }], members: memberKeys.map((k) => new Wallet(k).address), threshold: 2, fundMembers: parseEther("10") });
  const { address } = await deployAccessCheckpoints({ sender: priAdmin, deployments: priDeps, memberSets: fed.chains[0]!.inbox, secChainId: SEC, accessLedger: blocksec.accessLedger });
  checkpoints = new AccessCheckpointsClient({ address, provider: pri.provider });

  await request(utility, bob);
  await request(utility, alice);
  trimmedBlock = await request(utility, alice);
  await request(utility, alice);
  const head = Number(await sec.provider.send("eth_blockNumber", []));
  checkpointBlock = (Math.floor(head / INTERVAL) + 1) * INTERVAL;
  await mineTo(sec, checkpointBlock);
});

afterAll(async () => {
  for (const r of running) {
    await r.c.stop();
    await r.store.close();
  }
  for (const n of [sec, pri, forked]) {
    if (!n) continue;
    n.provider.destroy();
    await stopPid(n.pid);
  }
  fs.rmSync(dir, { recursive: true, force: true });
});

describe("checkpointer", () => {
  it("three members compute the identical root of the AccessLedger's heads and it is finalized on BlockPRI", async () => {
    for (const [i, k] of memberKeys.entries()) await startCheckpointer(i, k);
    const cp = await waitFor("a checkpoint", () => checkpoints.latest());
    expect(cp).toMatchObject({ index: 0, secBlock: checkpointBlock, consumers: 2, entries: 4 });
    const fromEvents = await readAccessHeads({ provider: sec.provider, accessLedger: blocksec.accessLedger, fromBlock: blocksec.startBlock, toBlock: checkpointBlock });
    expect(cp.root).toBe(fromEvents.root);
    // Every member reached the same root (the third one either voted it or found it covered).
    await waitFor("every member's outcome", async () => running.every((r) => r.c.stats.lastOutcome !== null));
    expect(running.map((r) => r.c.stats.lastRoot?.root)).toEqual([cp.root, cp.root, cp.root]);
    expect(running.map((r) => r.c.stats.lastOutcome!.status).sort()).toEqual(expect.arrayContaining(["finalized", "voted"]));
    const votes = await checkpoints.contract.queryFilter(checkpoints.contract.filters.CheckpointVoted());
    expect(new Set(votes.map((v) => v.args.root))).toEqual(new Set([cp.root]));
    expect(running.flatMap((r) => r.errors.map((e) => (e as Error)?.message ?? String(e)))).toEqual([]);
  });

  it("refuses to vote for another ledger than AccessCheckpoints attests", async () => {
    const r = await startCheckpointer(9, memberKeys[0]!, { accessLedger: blocksec.policyMirror });
    await waitFor("the misconfiguration", async () => r.errors.length > 0);
    expect(r.errors[0]).toBeInstanceOf(CheckpointMisconfiguredError);
    expect(r.errors[0]).toMatchObject({ code: "CHECKPOINT_MISCONFIGURED", field: "accessLedger", onChain: blocksec.accessLedger });
    expect(r.c.stats.votes).toBe(0);
  });

  it("a node serving alice's log without one entry passes the per-node audit but the checkpoint audit reports it TRIMMED OR FORKED", async () => {
    const latest = (await checkpoints.latest())!;
    // The court checks the members' signatures on the finalizing votes (it need not trust the BlockPRI node).
    const attestation = await checkpoints.attest(latest, memberKeys.map((k) => new Wallet(k).address), 2);
    expect(attestation.ok).toBe(true);
    const cp = { ...latest, attestation: { ...attestation, threshold: 2 } };
    // One more entry on the honest node after the checkpoint: not yet covered.
    await request(utility, alice);
    // The lying node: BlockSEC forked before alice's second entry; her later request is replayed.
    forked = await startNode(SEC, ["--fork-url", sec.url, "--fork-block-number", String(trimmedBlock - 1)]);
    const liar = await TxSender.create(devKey(1), forked.provider);
    await liar.sendAndWait({ to: blocksec.accessLedger, data: accessIface.encodeFunctionData("getEnergyUsage", [alice]) });
    await mineTo(forked, checkpointBlock + 2);

    const old = await auditConsumer({ provider: forked.provider, accessLedger: blocksec.accessLedger, consumer: alice, fromBlock: blocksec.startBlock });
    expect(old.ok).toBe(true);
    expect(old.count).toBe(2);
    expect(formatAuditReport(old)).toContain("Chain VERIFIED: 2 entries");

    const report = await auditConsumer({
      provider: sec.provider,
      accessLedger: blocksec.accessLedger,
      consumer: alice,
      fromBlock: blocksec.startBlock,
      checkpoint: cp,
      endpoints: [
        { label: sec.url, provider: sec.provider },
        { label: forked.url, provider: forked.provider },
      ],
    });
    expect(report.ok).toBe(false);
    const [honest, lying] = report.checkpoint!.endpoints;
    expect(honest).toMatchObject({ status: "consistent", perNodeVerified: true, consumerCount: 4, newerThanCheckpoint: 1 });
    expect(honest!.consumerAtCheckpoint!.count).toBe(3);
    expect(lying).toMatchObject({ status: "mismatch", perNodeVerified: true, consumerCount: 2, consumerAffected: true, computed: { consumers: 2, entries: 3 } });
    expect(lying!.differingConsumers!.map((d) => [d.consumer, d.here.count, d.checkpoint.count])).toEqual([[alice, 2, 3]]);
    expect(report.checkpoint!.disagreements).toEqual([{ a: sec.url, b: forked.url, consumers: [expect.objectContaining({ consumer: alice })] }]);
    const text = formatAuditReport(report);
    expect(text).toContain(`${sec.url}: consistent with checkpoint #0 at block ${checkpointBlock} (2 consumers, 4 entries)`);
    expect(text).toContain(`${forked.url}: TRIMMED OR FORKED: root differs from the federation's checkpoint #0`);
    expect(text).toContain("1 newer (not yet covered by a checkpoint)");
    expect(text).toContain("Nodes disagree:");
    expect(text).toContain("Checkpoint: NOT CONSISTENT");
    expect(text).toContain(`signed by ${attestation.signers.length} member(s) (threshold 2)`);
    // The honest node alone passes.
    const honestOnly = await auditConsumer({ provider: sec.provider, accessLedger: blocksec.accessLedger, consumer: alice, fromBlock: blocksec.startBlock, checkpoint: cp });
    expect(honestOnly.ok).toBe(true);
    expect(honestOnly.checkpoint!.endpoints.map((e) => e.status)).toEqual(["consistent"]);
    // A checkpoint whose votes do not check out fails the audit even where the roots agree.
    const unattested = await auditConsumer({ provider: sec.provider, accessLedger: blocksec.accessLedger, consumer: alice, fromBlock: blocksec.startBlock, checkpoint: { ...cp, attestation: { ok: false, signers: [], threshold: 2, problems: [] } } });
    expect(unattested.ok).toBe(false);
    expect(formatAuditReport(unattested)).toContain("NOT ATTESTED: 0 member-signed vote(s) for this tuple, 2 needed");
  });

  it("a restarted member resumes from its LevelDB heads (no rescan, no second vote) and votes the next checkpoint", async () => {
    const first = running[0]!;
    await first.c.stop();
    await first.store.close();
    running.splice(0, 1);
    const again = await startCheckpointer(0, memberKeys[0]!, {}, "member-0-0");
    expect(again.c.stats.cursor).toBe(checkpointBlock);
    await sleep(300);
    expect(again.c.stats.lastOutcome).toBeNull();
    const next = checkpointBlock + INTERVAL;
    await mineTo(sec, next);
    const cp = await waitFor("the next checkpoint", async () => {
      const l = await checkpoints.latest();
      return l && l.secBlock === next && l;
    });
    expect(cp).toMatchObject({ index: 1, consumers: 2, entries: 5 });
    await waitFor("the restarted member's vote", async () => again.c.stats.lastRoot?.secBlock === next);
    expect(again.c.stats.lastRoot!.root).toBe(cp.root);
    expect(again.errors).toEqual([]);
  });

  it("with minBlockAgeMs, votes no root of blocks rolled back before they aged, and votes the kept chain's root once it has", async () => {
    // The adversary: a checkpoint over blocks that then leave the chain. Its root would name entries
    // no node holds, and every honest node would fail a court's audit against it.
    const AGE = 3000;
    for (const r of running.splice(0)) {
      await r.c.stop();
      await r.store.close();
    }
    const last = (await checkpoints.latest())!;
    const aged: Awaited<ReturnType<typeof startCheckpointer>>[] = [];
    for (const [i, k] of memberKeys.entries()) aged.push(await startCheckpointer(i, k, {}, `aged-${i}`, AGE));
    await waitFor("the aged checkpointers to catch up", async () => aged.every((r) => r.c.stats.cursor === last.secBlock));
    const b = last.secBlock + INTERVAL;
    const heads = async () => (await readAccessHeads({ provider: sec.provider, accessLedger: blocksec.accessLedger, fromBlock: blocksec.startBlock, toBlock: b })).root;

    const snap = await sec.provider.send("evm_snapshot", []);
    await request(await TxSender.create(devKey(1), sec.provider), alice);
    await mineTo(sec, b);
    const orphanRoot = await heads();
    await sleep(1500); // half the age: seen, not yet voted
    expect(aged.every((r) => r.c.stats.cursor < b)).toBe(true);
    expect(await sec.provider.send("evm_revert", [snap])).toBe(true);
    // anvil's revert takes its clock back too; a reorg's new blocks carry the time they are made.
    await sec.provider.send("evm_mine", [Math.floor(Date.now() / 1000)]);
    await sleep(AGE + 1000); // past the age the orphaned blocks would have reached

    // The kept chain: bob asked instead.
    await request(await TxSender.create(devKey(1), sec.provider), bob);
    await mineTo(sec, b);
    const keptRoot = await heads();
    expect(keptRoot).not.toBe(orphanRoot);
    const cp = await waitFor("the checkpoint of the kept chain", async () => {
      const l = await checkpoints.latest();
      return l && l.secBlock === b && l;
    });
    expect(cp.root).toBe(keptRoot);
    const votes = await checkpoints.contract.queryFilter(checkpoints.contract.filters.CheckpointVoted(undefined, b));
    expect(votes.length).toBeGreaterThanOrEqual(2);
    expect(new Set(votes.map((v) => v.args.root))).toEqual(new Set([keptRoot]));
    // Messages, not a boolean: a failure names what went wrong.
    expect(aged.flatMap((r) => r.errors.map((e) => (e as Error)?.message ?? String(e)))).toEqual([]);
  }, 60_000);
});
