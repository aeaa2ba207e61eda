import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { hexlify, randomBytes, Wallet } from "ethers";
import { ContractRevertError, Deployments, deployContract, readArtifact, type TestChain, type TxSender } from "@sidegrid/chain";
import { artifactsDir } from "../artifacts";
import { BlockPriClient, registerWithInstaller, type ChangeResult } from "../client";
import { deployBlockPri } from "../deploy";

export interface PriWorld {
  chain: TestChain;
  dir: string;
  deployments: Deployments;
  admin: TxSender;
  /** Client per dev account: 0 admin, 1–2 utilities, 3–6 consumers, 7 court, 8 stranger, 9 installer. */
  as: (i: number) => Promise<BlockPriClient>;
  ppc: string;
  /** Account 9, holding INSTALLER_ROLE. */
  installer: BlockPriClient;
  /** Commissions `reg`'s meter (device key `reg.meterSigner`) and registers `consumer` with an installer-signed binding. */
  register: (consumer: BlockPriClient, reg?: { meterId: string; meterSigner: string; encryptionKey: string }) => Promise<ChangeResult>;
}

/** Deploys PPC on `chain` with accounts 1 and 2 as distributors, 7 as auditor and 9 as installer. */
export async function setupPri(chain: TestChain): Promise<PriWorld> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "blockpri-"));
  const admin = (await chain.account(0)).sender;
  const deployments = Deployments.forNetwork(dir, "blockpri", Number(admin.chainId));
  const u1 = (await chain.account(1)).wallet.address;
  const u2 = (await chain.account(2)).wallet.address;
  const court = (await chain.account(7)).wallet.address;
  const installerAccount = (await chain.account(9)).sender;
  const { ppc } = await deployBlockPri({ sender: admin, deployments, distributors: [u1, u2], auditors: [court], installers: [installerAccount.address] });
  const installer = new BlockPriClient({ sender: installerAccount, address: ppc });
  return {
    installer,
    register: (consumer, reg = randomRegistration()) =>
      registerWithInstaller({ installer, consumer, meterId: reg.meterId, deviceKey: reg.meterSigner, encryptionKey: reg.encryptionKey }),
    chain,
    dir,
    deployments,
    admin,
    ppc,
    as: async (i) => new BlockPriClient({ sender: (await chain.account(i)).sender, address: ppc }),
  };
}

/** Deploys the test MockOutbox. */
export async function deployMockOutbox(sender: TxSender, deployments: Deployments): Promise<string> {
  const r = await deployContract({ sender, deployments, artifact: readArtifact(artifactsDir, "MockOutbox"), key: "MockOutbox" });
  return r.address;
}

/** A random registration for a consumer. */
export function randomRegistration(): { meterId: string; meterSigner: string; encryptionKey: string } {
  return { meterId: hexlify(randomBytes(32)), meterSigner: Wallet.createRandom().address, encryptionKey: hexlify(randomBytes(32)) };
}

/** Awaits a rejection and returns it as ContractRevertError (fails the test otherwise). */
export async function revertOf(p: Promise<unknown>): Promise<ContractRevertError> {
  const e = await p.then(
    () => undefined,
    (x: unknown) => x,
  );
  if (!(e instanceof ContractRevertError)) throw new Error(`expected a ContractRevertError, got ${e === undefined ? "success" : String(e)}`);
  return e;
}
