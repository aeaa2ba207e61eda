import fs from "node:fs";
import path from "node:path";
import { AbiCoder, Interface, keccak256, concat, type InterfaceAbi } from "ethers";
import type { ContractArtifact } from "./compile";
import { ChainError } from "./errors";
import type { TxSender } from "./sender";

export interface DeploymentRecord {
  contractName: string;
  address: string;
  txHash: string;
  blockNumber: number;
  /** keccak256(creation bytecode ‖ constructor args): a changed contract or argument redeploys. */
  initCodeHash: string;
  args: unknown[];
  gasUsed: string;
  deployedAt: string;
}

export interface DeploymentsFile {
  network: string;
  chainId: number;
  contracts: Record<string, DeploymentRecord>;
}

/** `deployments/<network>.json`: the addresses of one network, read and written atomically. */
export class Deployments {
  constructor(
    readonly file: string,
    readonly network: string,
    readonly chainId: number,
  ) {}

  static forNetwork(dir: string, network: string, chainId: number): Deployments {
    return new Deployments(path.join(dir, `${network}.json`), network, chainId);
  }

  read(): DeploymentsFile {
    if (!fs.existsSync(this.file)) return { network: this.network, chainId: this.chainId, contracts: {} };
    const data = JSON.parse(fs.readFileSync(this.file, "utf8")) as DeploymentsFile;
    // A record for another chain id (a reset local chain, a different network) is not ours.
    if (data.chainId !== this.chainId) return { network: this.network, chainId: this.chainId, contracts: {} };
    return data;
  }

  get(key: string): DeploymentRecord | undefined {
    return this.read().contracts[key];
  }

  address(key: string): string {
    const r = this.get(key);
    if (!r) throw new ChainError("DEPLOY_FAILED", `no deployment "${key}" recorded for network "${this.network}" in ${this.file}`);
    return r.address;
  }

  set(key: string, record: DeploymentRecord): void {
    const data = this.read();
    data.contracts[key] = record;
    fs.mkdirSync(path.dirname(this.file), { recursive: true });
    const tmp = `${this.file}.tmp-${process.pid}`;
    fs.writeFileSync(tmp, JSON.stringify(data, (_k, v) => (typeof v === "bigint" ? v.toString() : v), 2));
    fs.renameSync(tmp, this.file);
  }
}

export interface DeployContractParameters {
  sender: TxSender;
  deployments: Deployments;
  artifact: ContractArtifact;
  /** Key in the deployments file; defaults to the contract name. */
  key?: string;
  args?: unknown[];
}

export interface DeployContractReturnType {
  address: string;
  /** False when an identical deployment was already on chain and was reused. */
  deployed: boolean;
  record: DeploymentRecord;
}

/**
 * Deploys a contract unless the same init code is already deployed at the recorded address.
 *
 * @example
 * const { address, deployed } = await deployContract({ sender, deployments, artifact, args: [admin] });
 */
export async function deployContract(params: DeployContractParameters): Promise<DeployContractReturnType> {
  const { sender, deployments, artifact } = params;
  const key = params.key ?? artifact.contractName;
  const args = params.args ?? [];
  const iface = new Interface(artifact.abi as InterfaceAbi);
  const encodedArgs = iface.deploy.inputs.length > 0 ? AbiCoder.defaultAbiCoder().encode(iface.deploy.inputs, args) : "0x";
  const initCode = concat([artifact.bytecode, encodedArgs]);
  const initCodeHash = keccak256(initCode);

  const existing = deployments.get(key);
  if (existing && existing.initCodeHash === initCodeHash) {
    const code = (await sender.provider.send("eth_getCode", [existing.address, "latest"])) as string;
    if (code && code !== "0x") return { address: existing.address, deployed: false, record: existing };
  }
  sender.addAbi(artifact.abi as InterfaceAbi);
  const receipt = await sender.sendAndWait({ data: initCode });
  if (!receipt.contractAddress) throw new ChainError("DEPLOY_FAILED", `deployment of ${key} produced no contract address`);
  const record: DeploymentRecord = {
    contractName: artifact.contractName,
    address: receipt.contractAddress,
    txHash: receipt.transactionHash,
    blockNumber: receipt.blockNumber,
    initCodeHash,
    args: args.map((a) => (typeof a === "bigint" ? a.toString() : a)),
    gasUsed: receipt.gasUsed.toString(),
    deployedAt: new Date().toISOString(),
  };
  deployments.set(key, record);
  return { address: receipt.contractAddress, deployed: true, record };
}
