// The system the bench measures: three fresh anvil chains with every contract deployed by the
// packages' own deploy functions, the federation wired to the real apps, three member processes,
// the paper's baseline contract beside them on BlockSEC, and consumers registered on BlockPRI.
import fs from "node:fs";
import path from "node:path";
import nacl from "tweetnacl";
import { Wallet, getAddress, hexlify, parseEther, randomBytes } from "ethers";
import { Deployments, TxSender, deployContract, devPrivateKey, readArtifact, sleep, startTestChain, type TestChain } from "@sidegrid/chain";
import { BlockPriClient, deployBlockPri, encodePreferencesPayload, encodeRegistrationPayload, signMeterBinding, type MeterBinding } from "@sidegrid/blockpri";
import { BlockSecClient, PolicyMirror__factory, deployBlockSec, deployKeyCustody, type BlockSecAddresses } from "@sidegrid/blocksec";
import { deployBlockTst, type DeployBlockTstReturnType } from "@sidegrid/blocktst";
import { artifactsDir as fedArtifacts, localMemberKeys, spawnFederation, wireSidegrid, type DeployFederationReturnType, type MemberProcesses } from "@sidegrid/federation";
import { meterIdToBytes32 } from "@sidegrid/meter-gateway";
import { CliError } from "../errors";
import { deployPaperStorage } from "./baseline";
import type { Cleanup } from "./infra";

/** Chain ids no other part of Sidegrid uses (`up` runs 31001–31003, tests 313xx–315xx). */
export const BENCH_CHAIN_IDS = { blockpri: 31901, blocksec: 31902, blocktst: 31903 } as const;

/** anvil dev accounts by role; each process that sends from one account owns it (no nonce races). */
export const ACCOUNTS = {
  admin: 0,
  e2eGateway: 1,
  utility: 2,
  court: 3,
  figure9Gateway: 4,
  apiGateway: 5,
  relayLoader: 6,
  gasGateway: 7,
  seller: 8,
  pegUser: 9,
} as const;

/**
 * Member tuning: the defaults (`sidegrid up`'s), but batches of up to 400 as in the federation's
 * relay bench. Polling faster costs CPU the other measurements need: each idle member used ~30 %
 * of a core polling three chains every 50 ms on the 2-core machine this was written on.
 */
export const MEMBER_TUNING = { pollIntervalMs: 100, maxBatch: 400, takeoverMs: 3000 } as const;

export interface BenchWorld {
  dir: string;
  /** The chains' ids (BENCH_CHAIN_IDS unless the caller chose others, e.g. a test's own range). */
  chainIds: BenchChainIds;
  pri: TestChain;
  sec: TestChain;
  tst: TestChain;
  admins: { pri: TxSender; sec: TxSender; tst: TxSender };
  /** BlockPRI as the utility's installer: commissions meters, signs households' bindings. */
  installer: BlockPriClient;
  deployments: { pri: Deployments; sec: Deployments; tst: Deployments };
  ppc: string;
  secAddresses: BlockSecAddresses;
  /** BlockSEC's KeyCustody (epoch keys in the members' threshold custody). */
  keyCustody: string;
  /** What a gateway's config names: the four contracts and KeyCustody. */
  gatewayAddresses: BlockSecAddresses & { keyCustody: string };
  secStartBlock: number;
  /** BlockTST's apps: token (SGT), mirror (MarketMirror), market, auction. */
  tstApps: DeployBlockTstReturnType;
  fed: DeployFederationReturnType;
  /** The members' keys (their processes: {@link startMembers}). */
  memberKeys: string[];
  paperStorage: { address: string; gasUsed: number; compiler: string };
  /** Standalone WrappedToken, deployed only to read its deploy gas (remote pegs create theirs). */
  wrappedTokenGas: number;
  utility: Wallet;
  court: Wallet;
  key(role: keyof typeof ACCOUNTS): string;
}

export interface BenchConsumer {
  wallet: Wallet;
  address: string;
  keys: nacl.BoxKeyPair;
  meterId: number;
  pri: BlockPriClient;
  registerGas: number;
  /** Gas of the consent change (0 when the consumer gave none). */
  preferenceGas: number;
}

type Log = (line: string) => void;

export interface BenchChainIds {
  blockpri: number;
  blocksec: number;
  blocktst: number;
}

/** Starts the chains, deploys and wires everything; registers what to stop in `cleanup`. Members: {@link startMembers}. */
export async function startBenchWorld(p: { dir: string; cleanup: Cleanup; log: Log; chainIds?: BenchChainIds }): Promise<BenchWorld> {
  const { dir, cleanup, log } = p;
  const ids = p.chainIds ?? BENCH_CHAIN_IDS;
  const [pri, sec, tst] = await Promise.all(
    (["blockpri", "blocksec", "blocktst"] as const).map(async (name) => {
      const c = await startTestChain({ chainId: ids[name] });
      cleanup.add(`stop ${name} chain`, () => c.stop());
      return c;
    }),
  );
  const admins = { pri: (await pri!.account(ACCOUNTS.admin)).sender, sec: (await sec!.account(ACCOUNTS.admin)).sender, tst: (await tst!.account(ACCOUNTS.admin)).sender };
  const depDir = path.join(dir, "deployments");
  const deployments = {
    pri: Deployments.forNetwork(depDir, "blockpri", ids.blockpri),
    sec: Deployments.forNetwork(depDir, "blocksec", ids.blocksec),
    tst: Deployments.forNetwork(depDir, "blocktst", ids.blocktst),
  };
  const key = (role: keyof typeof ACCOUNTS) => devPrivateKey(ACCOUNTS[role]);
  const utility = new Wallet(key("utility"));
  const court = new Wallet(key("court"));
  const gateways = (["e2eGateway", "figure9Gateway", "apiGateway", "gasGateway"] as const).map((r) => ({ gateway: new Wallet(key(r)).address, utility: utility.address }));

  const t0 = Date.now();
  // The installer that commissions the bench's meters: its own funded account (no nonce races).
  const installerWallet = new Wallet(hexlify(randomBytes(32)), pri!.provider);
  await admins.pri.sendMany([{ to: installerWallet.address, value: parseEther("10") }]);
  const { ppc } = await deployBlockPri({ sender: admins.pri, deployments: deployments.pri, distributors: [utility.address], auditors: [court.address], installers: [installerWallet.address] });
  const installer = new BlockPriClient({ sender: await TxSender.create(installerWallet, pri!.provider, { network: "blockpri" }), address: ppc });
  const secD = await deployBlockSec({
    sender: admins.sec,
    deployments: deployments.sec,
    preferenceSource: { chainId: ids.blockpri, address: ppc },
    distributors: [utility.address],
    auditors: [court.address],
    gateways,
  });
  const secAddresses: BlockSecAddresses = { policyMirror: secD.policyMirror, meterDataLedger: secD.meterDataLedger, accessLedger: secD.accessLedger, tradeLog: secD.tradeLog };
  const tstD = await deployBlockTst({ sender: admins.tst, deployments: deployments.tst, blockpri: { chainId: ids.blockpri, ppc } });
  const memberKeys = localMemberKeys(3);
  const fed = await wireSidegrid({
    blockpri: { sender: admins.pri, deployments: deployments.pri, ppc },
    blocksec: { sender: admins.sec, deployments: deployments.sec, policyMirror: secAddresses.policyMirror, tradeLog: secAddresses.tradeLog },
    blocktst: { sender: admins.tst, deployments: deployments.tst, market: tstD.market, marketMirror: tstD.mirror, sgt: tstD.token },
    members: memberKeys.map((k) => new Wallet(k).address),
    threshold: 2,
    fundMembers: parseEther("1000"),
  });
  const { keyCustody } = await deployKeyCustody({
    sender: admins.sec,
    deployments: deployments.sec,
    federationInbox: fed.chains.find((c) => c.name === "blocksec")!.inbox,
    accessLedger: secAddresses.accessLedger,
    meterDataLedger: secAddresses.meterDataLedger,
    policyMirror: secAddresses.policyMirror,
  });
  const paperStorage = await deployPaperStorage(admins.sec, deployments.sec);
  const wrapped = await deployContract({
    sender: admins.sec,
    deployments: deployments.sec,
    artifact: readArtifact(fedArtifacts, "WrappedToken"),
    key: "WrappedToken (standalone)",
    args: ["Wrapped Smart Grid Token", "wSGT", 18, admins.sec.address],
  });
  log(`deployed and wired every contract on 3 chains in ${((Date.now() - t0) / 1000).toFixed(1)} s`);

  return {
    dir,
    chainIds: { ...ids },
    pri: pri!,
    sec: sec!,
    tst: tst!,
    admins,
    installer,
    deployments,
    ppc,
    secAddresses,
    keyCustody,
    gatewayAddresses: { ...secAddresses, keyCustody },
    secStartBlock: secD.startBlock,
    tstApps: tstD,
    fed,
    memberKeys,
    paperStorage,
    wrappedTokenGas: Number(wrapped.record.gasUsed),
    utility,
    court,
    key,
  };
}

/** Spawns the three member processes (threshold 2) on the world's chains. */
export async function startMembers(w: BenchWorld, cleanup: Cleanup, log?: (line: string) => void): Promise<MemberProcesses> {
  const memberDir = path.join(w.dir, "federation");
  fs.mkdirSync(memberDir, { recursive: true });
  const members = await spawnFederation({
    dir: memberDir,
    deployment: w.fed,
    rpcUrls: { blockpri: w.pri.node.url, blocksec: w.sec.node.url, blocktst: w.tst.node.url },
    memberKeys: w.memberKeys,
    tuning: MEMBER_TUNING,
    custody: { keyCustody: w.keyCustody, accessLedger: w.secAddresses.accessLedger, policyMirror: w.secAddresses.policyMirror, startBlock: w.secStartBlock, pollMs: 200 },
    // A busy machine slows a member's first pass: the bench reports it and goes on (measured figures say how busy).
    ...(log ? { onSlowStart: (m: string) => log(`  slow start: ${m}`) } : {}),
  });
  cleanup.add("stop federation members", () => members.stopAll());
  return members;
}

/**
 * Registers consumers on BlockPRI the way consumers do (their own accounts: consumerRegister, then
 * consent to the utility at QUARTER_HOURLY when `permit`), and waits until the federation has
 * relayed every change to BlockSEC's PolicyMirror.
 */
export async function registerConsumers(w: BenchWorld, specs: readonly { meterId: number; permit: boolean }[], concurrency = 16): Promise<BenchConsumer[]> {
  const created = specs.map((s) => ({ ...s, wallet: Wallet.createRandom().connect(w.pri.provider) as unknown as Wallet, keys: nacl.box.keyPair() }));
  for (let i = 0; i < created.length; i += 400) {
    await w.admins.pri.sendMany(created.slice(i, i + 400).map((c) => ({ to: c.wallet.address, value: parseEther("1") })));
  }
  // The bench's households confirm deliveries with their own wallet: it stands for the meter's
  // device key here. Bindings are signed up front, before the workers load the node.
  await w.installer.commissionMeters(created.map((c) => ({ meterId: meterIdToBytes32(c.meterId), deviceKey: c.wallet.address })));
  const signed: { binding: MeterBinding; signature: string }[] = [];
  for (const c of created) {
    const binding = await w.installer.meterBinding({ meterId: meterIdToBytes32(c.meterId), consumer: c.wallet.address, ttlSeconds: 3600 });
    signed.push({ binding, signature: await signMeterBinding({ signer: w.installer.sender.wallet, chainId: w.installer.chainId, ppc: w.ppc, binding }) });
  }
  const out: BenchConsumer[] = new Array(created.length);
  let next = 0;
  const worker = async () => {
    while (next < created.length) {
      const i = next++;
      const c = created[i]!;
      const sender = await TxSender.create(c.wallet, w.pri.provider, { network: "blockpri" });
      const client = new BlockPriClient({ sender, address: w.ppc });
      const reg = await client.consumerRegister({ ...signed[i]!, encryptionKey: hexlify(c.keys.publicKey) });
      const pref = c.permit ? await client.setPreference({ utility: w.utility.address, category: "CONSUMPTION", allowed: true, resolution: "QUARTER_HOURLY" }) : undefined;
      out[i] = {
        wallet: c.wallet,
        address: c.wallet.address,
        keys: c.keys,
        meterId: c.meterId,
        pri: client,
        registerGas: Number(reg.receipt.gasUsed),
        preferenceGas: pref ? Number(pref.receipt.gasUsed) : 0,
      };
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, created.length) }, worker));
  await waitForMirror(w, out.map((c, i) => ({ consumer: c.address, permitted: specs[i]!.permit })));
  return out;
}

/** Waits until BlockSEC's mirror holds each consumer's registration and the expected consent. */
export async function waitForMirror(w: BenchWorld, expect: readonly { consumer: string; permitted: boolean }[], timeoutMs = 120_000): Promise<void> {
  const reader = new BlockSecClient({ sender: w.admins.sec, addresses: w.secAddresses });
  let pending = [...expect];
  const deadline = Date.now() + timeoutMs;
  while (pending.length) {
    const still: typeof pending = [];
    for (let i = 0; i < pending.length; i += 50) {
      const chunk = pending.slice(i, i + 50);
      const ok = await Promise.all(
        chunk.map(async (e) => {
          const reg = await reader.registrationOf(e.consumer);
          if (!reg) return false;
          const permitted = await reader.isPermitted({ consumer: e.consumer, utility: w.utility.address, category: "CONSUMPTION", resolution: "QUARTER_HOURLY" });
          return permitted === e.permitted;
          // anvil now and then refuses an eth_call while it mines: "not yet", read again.
        }).map((p) => p.catch(() => false)),
      );
      chunk.forEach((e, j) => !ok[j] && still.push(e));
    }
    pending = still;
    if (!pending.length) break;
    if (Date.now() > deadline) throw new CliError("BENCH_FAILED", `the federation did not relay ${pending.length} consumers' registrations to BlockSEC within ${timeoutMs / 1000} s`);
    await sleep(100);
  }
}

/**
 * Consent for a simulated fleet, delivered straight to BlockSEC's mirror by the regulator's
 * trusted-relayer role (what a federation round delivers, without 3 transactions per consumer on
 * BlockPRI): the end-to-end bench measures the gateway, not consent setup.
 */
export async function grantFleetConsent(w: BenchWorld, meterIds: readonly number[]): Promise<void> {
  const iface = PolicyMirror__factory.createInterface();
  const txs: { to: string; data: string; gasLimit: bigint }[] = [];
  for (const meterId of meterIds) {
    // Random bytes, not Wallet.createRandom / nacl key pairs (~10 ms each): nobody signs or
    // decrypts as these consumers, the gateway only encrypts to the 32-byte X25519 key.
    const consumer = getAddress(hexlify(randomBytes(20)));
    const encryptionKey = hexlify(randomBytes(32));
    const reg = encodeRegistrationPayload({ registration: { consumer, meterId: meterIdToBytes32(meterId), meterSigner: consumer, encryptionKey }, version: 1n });
    const prefs = encodePreferencesPayload({ consumer, version: 2n, prefs: [{ utility: w.utility.address, category: "CONSUMPTION", allowed: true, resolution: "QUARTER_HOURLY", expiresAt: 0 }] });
    for (const payload of [reg, prefs]) txs.push({ to: w.secAddresses.policyMirror, data: iface.encodeFunctionData("onFederatedMessage", [w.chainIds.blockpri, w.ppc, payload]), gasLimit: 400_000n });
  }
  for (let i = 0; i < txs.length; i += 500) {
    const receipts = await w.admins.sec.sendMany(txs.slice(i, i + 500), 120_000);
    if (receipts.some((r) => r.status !== 1)) throw new CliError("BENCH_FAILED", "a fleet consent delivery to the PolicyMirror failed");
  }
}
