import { getAddress } from "ethers";
import { deployContract, readArtifact, type Deployments, type TxSender } from "@sidegrid/chain";
import { artifactsDir as defaultArtifactsDir } from "./artifacts";
import { BlockPriClient } from "./client";
import { BlockPriDeployError } from "./errors";

export interface DeployBlockPriParameters {
  /** The regulator's account: deploys and becomes DEFAULT_ADMIN_ROLE. */
  sender: TxSender;
  deployments: Deployments;
  artifactsDir?: string;
  /** Utilities to admit as distributors. */
  distributors?: readonly string[];
  /** Courts to admit as auditors. */
  auditors?: readonly string[];
  /** The utility's installers (they commission meters); never the regulator itself. */
  installers?: readonly string[];
  /** Federation outbox to send payloads through (omitted = leave as is). */
  outbox?: string;
  /** Destinations of every payload: (chain id, receiving contract), e.g. BlockSEC's PolicyMirror. */
  routes?: readonly { chainId: bigint | number; target: string }[];
}

export interface DeployBlockPriReturnType {
  /** The PPC contract address. */
  ppc: string;
  /** False when an identical deployment was reused. */
  deployed: boolean;
  blockNumber: number;
  gasUsed: bigint;
}

/**
 * Deploys BlockPRI's PPC idempotently (deployer = regulator) and grants the given roles, outbox
 * and routes; running it again changes nothing that is already in place.
 *
 * @example
 * const { ppc } = await deployBlockPri({ sender, deployments: Deployments.forNetwork(dir, "blockpri", 31001), distributors: [utility] });
 */
export async function deployBlockPri(params: DeployBlockPriParameters): Promise<DeployBlockPriReturnType> {
  const { sender, deployments } = params;
  const artifact = readArtifact(params.artifactsDir ?? defaultArtifactsDir, "PPC");
  const r = await deployContract({ sender, deployments, artifact, key: "PPC", args: [sender.address] });
  const client = new BlockPriClient({ sender, address: r.address });
  for (const d of params.distributors ?? []) {
    if (!(await client.isDistributor(d))) await client.grantDistributor(d);
  }
  for (const a of params.auditors ?? []) {
    if (!(await client.isAuditor(a))) await client.grantAuditor(a);
  }
  for (const i of params.installers ?? []) {
    if (!(await client.isInstaller(i))) await client.grantInstaller(i);
  }
  if (params.outbox !== undefined && (await client.outbox()) !== getAddress(params.outbox)) await client.setOutbox(params.outbox);
  if (params.routes?.length) {
    const have = await client.routes();
    for (const route of params.routes) {
      const exists = have.some((h) => h.chainId === BigInt(route.chainId) && h.target === getAddress(route.target));
      if (!exists) await client.addRoute(route.chainId, route.target);
    }
  }
  for (const d of params.distributors ?? []) {
    if (!(await client.isDistributor(d))) throw new BlockPriDeployError(`DISTRIBUTOR_ROLE was not granted to ${d}`);
  }
  return { ppc: getAddress(r.address), deployed: r.deployed, blockNumber: r.record.blockNumber, gasUsed: BigInt(r.record.gasUsed) };
}
