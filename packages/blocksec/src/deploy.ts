import { getAddress } from "ethers";
import { deployContract, readArtifact, type Deployments, type TxSender } from "@sidegrid/chain";
import { artifactsDir as defaultArtifactsDir } from "./artifacts";
import { BlockSecClient, FEDERATION_ROLE, type BlockSecAddresses } from "./client";
import { BlockSecDeployError } from "./errors";

export interface DeployBlockSecParameters {
  /** The regulator's account: deploys, becomes admin, and is the trusted relayer unless `relayer` says otherwise. */
  sender: TxSender;
  deployments: Deployments;
  artifactsDir?: string;
  /** BlockPRI's chain id and PPC address: the mirror's only accepted source. */
  preferenceSource?: { chainId: bigint | number; address: string };
  /** BlockTST's chain id and market address: the trade log's only accepted source. */
  tradeSource?: { chainId: bigint | number; address: string };
  /** Account given FEDERATION_ROLE on the mirror and the trade log (default: the deployer). */
  relayer?: string;
  distributors?: readonly string[];
  auditors?: readonly string[];
  gateways?: readonly { gateway: string; utility: string }[];
}

export interface DeployBlockSecReturnType extends BlockSecAddresses {
  /** Names of the contracts deployed by this call (empty when all were reused). */
  deployed: string[];
  /** Deployment gas per contract (from the deployment records). */
  gasUsed: Record<keyof BlockSecAddresses, bigint>;
  /** Block of the first contract's deployment: where event scans can start. */
  startBlock: number;
}

/**
 * Deploys BlockSEC's PolicyMirror, TradeLog, MeterDataLedger and AccessLedger idempotently and
 * wires them: deployer = regulator (admin), FEDERATION_ROLE to the relayer (the deployer for local
 * runs), sources, roles and gateways. Running it again changes nothing that is already in place.
 *
 * @example
 * const sec = await deployBlockSec({ sender, deployments, preferenceSource: { chainId: 31001, address: ppc } });
 */
export async function deployBlockSec(params: DeployBlockSecParameters): Promise<DeployBlockSecReturnType> {
  const { sender, deployments } = params;
  const dir = params.artifactsDir ?? defaultArtifactsDir;
  const admin = sender.address;
  const mirror = await deployContract({ sender, deployments, artifact: readArtifact(dir, "PolicyMirror"), key: "PolicyMirror", args: [admin] });
  const trades = await deployContract({ sender, deployments, artifact: readArtifact(dir, "TradeLog"), key: "TradeLog", args: [admin] });
  const ledger = await deployContract({
    sender,
    deployments,
    artifact: readArtifact(dir, "MeterDataLedger"),
    key: "MeterDataLedger",
    args: [admin, mirror.address],
  });
  const access = await deployContract({
    sender,
    deployments,
    artifact: readArtifact(dir, "AccessLedger"),
    key: "AccessLedger",
    args: [mirror.address],
  });
  const addresses: BlockSecAddresses = {
    policyMirror: getAddress(mirror.address),
    meterDataLedger: getAddress(ledger.address),
    accessLedger: getAddress(access.address),
    tradeLog: getAddress(trades.address),
  };
  const c = new BlockSecClient({ sender, addresses });

  const relayer = getAddress(params.relayer ?? admin);
  if (!(await c.mirror.hasRole(FEDERATION_ROLE, relayer)) || !(await c.trades.hasRole(FEDERATION_ROLE, relayer))) await c.grantFederation(relayer);
  if (params.preferenceSource) {
    const [id, src] = await c.mirror.preferenceSource();
    if (id !== BigInt(params.preferenceSource.chainId) || src !== getAddress(params.preferenceSource.address)) {
      await c.setPreferenceSource(params.preferenceSource.chainId, params.preferenceSource.address);
    }
  }
  if (params.tradeSource) {
    const [id, src] = await c.trades.tradeSource();
    if (id !== BigInt(params.tradeSource.chainId) || src !== getAddress(params.tradeSource.address)) {
      await c.setTradeSource(params.tradeSource.chainId, params.tradeSource.address);
    }
  }
  for (const d of params.distributors ?? []) if (!(await c.isDistributor(d))) await c.grantDistributor(d);
  for (const a of params.auditors ?? []) if (!(await c.isAuditor(a))) await c.grantAuditor(a);
  for (const g of params.gateways ?? []) {
    if ((await c.gatewayUtility(g.gateway)) !== getAddress(g.utility)) await c.grantGateway(g.gateway, g.utility);
  }
  if (!(await c.mirror.hasRole(FEDERATION_ROLE, relayer))) throw new BlockSecDeployError(`FEDERATION_ROLE was not granted to ${relayer}`);

  const deployed = [mirror, trades, ledger, access].filter((r) => r.deployed).map((r) => r.record.contractName);
  return {
    ...addresses,
    deployed,
    gasUsed: {
      policyMirror: BigInt(mirror.record.gasUsed),
      tradeLog: BigInt(trades.record.gasUsed),
      meterDataLedger: BigInt(ledger.record.gasUsed),
      accessLedger: BigInt(access.record.gasUsed),
    },
    startBlock: mirror.record.blockNumber,
  };
}
