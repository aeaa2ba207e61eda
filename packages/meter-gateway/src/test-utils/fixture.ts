// Two real anvil chains (BlockPRI and BlockSEC) with the PPC and the BlockSEC contracts deployed
// and wired, consumers registered on BlockPRI with X25519 keys, and a trusted-relayer round
// (`relay`) standing in for the federation. Used by the end-to-end tests and the bench.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import nacl from "tweetnacl";
import { BlockPriClient, deployBlockPri, signMeterBinding, type MeterBinding, type SetPreferenceParameters } from "@sidegrid/blockpri";
import { BlockSecClient, deployBlockSec, relayPreferences, type BlockSecAddresses } from "@sidegrid/blocksec";
import { Deployments, TxSender, devPrivateKey, startTestChain, type TestChain } from "@sidegrid/chain";
import { Wallet, hexlify, parseEther } from "ethers";
import { meterIdToBytes32 } from "../blocksec";

export interface FixtureConsumer {
  meterId: number;
  wallet: Wallet;
  address: string;
  keys: nacl.BoxKeyPair;
  pri: BlockPriClient;
}

export interface SidegridFixture {
  pri: TestChain;
  sec: TestChain;
  ppc: string;
  addresses: BlockSecAddresses;
  startBlock: number;
  priAdmin: BlockPriClient;
  secAdmin: BlockSecClient;
  gatewayKey: string;
  gatewayAddress: string;
  utility: Wallet;
  court: Wallet;
  consumers: Map<number, FixtureConsumer>;
  dir: string;
  /** Registers consumers for these meters on BlockPRI (one wallet and X25519 key each). */
  addConsumers(meterIds: readonly number[]): Promise<FixtureConsumer[]>;
  setPreferences(meterId: number, prefs: readonly SetPreferenceParameters[]): Promise<void>;
  /** One federation relay round: BlockPRI payloads since the last round → BlockSEC's mirror. */
  relay(): Promise<number>;
  stop(): Promise<void>;
}

export async function startSidegridFixture(p: { priChainId: number; secChainId: number; gasLimit?: bigint }): Promise<SidegridFixture> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `mg-fixture-${p.secChainId}-`));
  const [pri, sec] = await Promise.all([
    startTestChain({ chainId: p.priChainId }),
    startTestChain({ chainId: p.secChainId, ...(p.gasLimit ? { gasLimit: p.gasLimit } : {}) }),
  ]);
  const priAdminAcc = await pri.account(0);
  const secAdminAcc = await sec.account(0);
  const utility = new Wallet(devPrivateKey(2), sec.provider);
  const court = new Wallet(devPrivateKey(3), sec.provider);
  const gatewayKey = devPrivateKey(1);
  const gatewayAddress = new Wallet(gatewayKey).address;
  // The utility's installer commissions the meters and signs each household's binding.
  const installerAcc = await pri.account(8);
  const { ppc } = await deployBlockPri({ sender: priAdminAcc.sender, deployments: Deployments.forNetwork(dir, "blockpri", p.priChainId), distributors: [utility.address], auditors: [court.address], installers: [installerAcc.wallet.address] });
  const installer = new BlockPriClient({ sender: installerAcc.sender, address: ppc });
  const secDeploy = await deployBlockSec({
    sender: secAdminAcc.sender,
    deployments: Deployments.forNetwork(dir, "blocksec", p.secChainId),
    preferenceSource: { chainId: p.priChainId, address: ppc },
    distributors: [utility.address],
    auditors: [court.address],
    gateways: [{ gateway: gatewayAddress, utility: utility.address }],
  });
  const addresses: BlockSecAddresses = { policyMirror: secDeploy.policyMirror, meterDataLedger: secDeploy.meterDataLedger, accessLedger: secDeploy.accessLedger, tradeLog: secDeploy.tradeLog };
  const priAdmin = new BlockPriClient({ sender: priAdminAcc.sender, address: ppc });
  const secAdmin = new BlockSecClient({ sender: secAdminAcc.sender, addresses });
  const consumers = new Map<number, FixtureConsumer>();
  let nextFromBlock = 0;
  // The funder is its own account so its nonces never race the regulator's.
  const funder = (await pri.account(9)).sender;

  return {
    pri,
    sec,
    ppc,
    addresses,
    startBlock: secDeploy.startBlock,
    priAdmin,
    secAdmin,
    gatewayKey,
    gatewayAddress,
    utility,
    court,
    consumers,
    dir,
    async addConsumers(meterIds) {
      const created = meterIds.map((meterId) => ({ meterId, wallet: Wallet.createRandom().connect(pri.provider) as unknown as Wallet, keys: nacl.box.keyPair() }));
      await funder.sendMany(created.map((c) => ({ to: c.wallet.address, value: parseEther("1") })));
      // The household's wallet stands for its meter's device key (as the registered signer before).
      await installer.commissionMeters(created.map((c) => ({ meterId: meterIdToBytes32(c.meterId), deviceKey: c.wallet.address })));
      const signed = new Map<number, { binding: MeterBinding; signature: string }>();
      for (const c of created) {
        const binding = await installer.meterBinding({ meterId: meterIdToBytes32(c.meterId), consumer: c.wallet.address, ttlSeconds: 3600 });
        signed.set(c.meterId, { binding, signature: await signMeterBinding({ signer: installerAcc.wallet, chainId: installer.chainId, ppc, binding }) });
      }
      const out: FixtureConsumer[] = [];
      await Promise.all(
        created.map(async (c) => {
          const sender = await TxSender.create(c.wallet, pri.provider, { network: "blockpri" });
          const client = new BlockPriClient({ sender, address: ppc });
          await client.consumerRegister({ ...signed.get(c.meterId)!, encryptionKey: hexlify(c.keys.publicKey) });
          const fc = { meterId: c.meterId, wallet: c.wallet, address: c.wallet.address, keys: c.keys, pri: client };
          consumers.set(c.meterId, fc);
          out.push(fc);
        }),
      );
      return out;
    },
    async setPreferences(meterId, prefs) {
      const c = consumers.get(meterId);
      if (!c) throw new Error(`no consumer for meter ${meterId}`);
      await c.pri.setPreferences(prefs);
    },
    async relay() {
      const r = await relayPreferences({ from: priAdmin, to: secAdmin, fromBlock: nextFromBlock });
      nextFromBlock = r.nextFromBlock;
      if (r.failed.length) throw new Error(`relay failed: ${r.failed.map((f) => f.error).join(", ")}`);
      return r.delivered.length;
    },
    async stop() {
      await Promise.all([pri.stop(), sec.stop()]);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface BlockSecBenchFixture {
  sec: TestChain;
  addresses: BlockSecAddresses;
  startBlock: number;
  secAdmin: BlockSecClient;
  gatewayKey: string;
  gatewayAddress: string;
  utility: string;
  /** Registers meters to fresh consumers and grants `resolution` to the utility, by relayer deliveries (pipelined). */
  grantConsent(meterIds: readonly number[], resolution: "QUARTER_HOURLY" | "HOURLY" | "DAILY" | "MONTHLY"): Promise<Map<number, { address: string; keys: nacl.BoxKeyPair }>>;
  stop(): Promise<void>;
}

/**
 * BlockSEC alone, with consent delivered straight to the mirror by the trusted relayer (what a
 * relay round does, without BlockPRI): fast enough to set up a thousand consumers for the bench.
 */
export async function startBlockSecBenchFixture(p: { secChainId: number; gasLimit?: bigint }): Promise<BlockSecBenchFixture> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `mg-bench-${p.secChainId}-`));
  const sec = await startTestChain({ chainId: p.secChainId, ...(p.gasLimit ? { gasLimit: p.gasLimit } : {}) });
  const admin = await sec.account(0);
  const utility = new Wallet(devPrivateKey(2)).address;
  const gatewayKey = devPrivateKey(1);
  const gatewayAddress = new Wallet(gatewayKey).address;
  const ppc = Wallet.createRandom().address;
  const priChainId = p.secChainId + 1000;
  const d = await deployBlockSec({
    sender: admin.sender,
    deployments: Deployments.forNetwork(dir, "blocksec", p.secChainId),
    preferenceSource: { chainId: priChainId, address: ppc },
    distributors: [utility],
    gateways: [{ gateway: gatewayAddress, utility }],
  });
  const addresses: BlockSecAddresses = { policyMirror: d.policyMirror, meterDataLedger: d.meterDataLedger, accessLedger: d.accessLedger, tradeLog: d.tradeLog };
  const secAdmin = new BlockSecClient({ sender: admin.sender, addresses });
  const { encodePreferencesPayload, encodeRegistrationPayload } = await import("@sidegrid/blockpri");
  const { PolicyMirror__factory } = await import("@sidegrid/blocksec");
  const iface = PolicyMirror__factory.createInterface();
  return {
    sec,
    addresses,
    startBlock: d.startBlock,
    secAdmin,
    gatewayKey,
    gatewayAddress,
    utility,
    async grantConsent(meterIds, resolution) {
      const out = new Map<number, { address: string; keys: nacl.BoxKeyPair }>();
      const txs: { to: string; data: string }[] = [];
      for (const meterId of meterIds) {
        const consumer = Wallet.createRandom().address;
        const keys = nacl.box.keyPair();
        out.set(meterId, { address: consumer, keys });
        const reg = encodeRegistrationPayload({ registration: { consumer, meterId: meterIdToBytes32(meterId), meterSigner: consumer, encryptionKey: hexlify(keys.publicKey) }, version: 1n });
        const prefs = encodePreferencesPayload({ consumer, version: 2n, prefs: [{ utility, category: "CONSUMPTION", allowed: true, resolution, expiresAt: 0 }] });
        for (const payload of [reg, prefs]) txs.push({ to: addresses.policyMirror, data: iface.encodeFunctionData("onFederatedMessage", [priChainId, ppc, payload]) });
      }
      for (let i = 0; i < txs.length; i += 500) await admin.sender.sendMany(txs.slice(i, i + 500).map((t) => ({ ...t, gasLimit: 400_000n })));
      return out;
    },
    async stop() {
      await sec.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Records the ledger holds. anvil answers calls at "latest" with BlockOutOfRangeError now and then while it mines fast: retried. */
export async function ledgerRecords(fx: Pick<SidegridFixture, "secAdmin">): Promise<bigint> {
  for (let i = 0; ; i++) {
    try {
      return (await fx.secAdmin.totals()).records;
    } catch (e) {
      if (i > 20) throw e;
      await new Promise((r) => setTimeout(r, 10));
    }
  }
}
