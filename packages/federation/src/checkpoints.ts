// AccessCheckpoints on BlockPRI: deploy it, read its checkpoints (a court), vote (a member).
import { Transaction, getAddress, type JsonRpcProvider } from "ethers";
import { deployContract, readArtifact, revertData, uncachedRunner, type Deployments, type TxReceipt, type TxSender } from "@sidegrid/chain";
import type { AccessCheckpointClaim } from "@sidegrid/blocksec";
import { artifactsDir as defaultArtifactsDir } from "./artifacts";
import { AccessCheckpoints__factory } from "./generated";

const iface = AccessCheckpoints__factory.createInterface();

/** A finalized checkpoint as AccessCheckpoints keeps it. */
export interface AccessCheckpoint extends AccessCheckpointClaim {
  /** The member set whose votes finalized it. */
  setIndex: number;
  /** BlockPRI block of the finalizing vote. */
  finalizedAt: number;
}

/** One vote: the heads of BlockSEC's AccessLedger at `secBlock`. */
export interface CheckpointVote {
  secBlock: number;
  root: string;
  consumers: number;
  entries: number;
}

export interface DeployAccessCheckpointsParameters {
  /** BlockPRI's operator. */
  sender: TxSender;
  deployments: Deployments;
  /** BlockPRI's FederationInbox (its member sets decide whose votes count). */
  memberSets: string;
  /** BlockSEC's chain id and AccessLedger, the ledger attested. */
  secChainId: number;
  accessLedger: string;
  artifactsDir?: string;
}

/**
 * Deploys AccessCheckpoints on BlockPRI (idempotent: an identical deployment is reused).
 *
 * @example
 * const { address } = await deployAccessCheckpoints({ sender: pri, deployments, memberSets: priInbox, secChainId: 31338, accessLedger });
 */
export async function deployAccessCheckpoints(p: DeployAccessCheckpointsParameters): Promise<{ address: string; blockNumber: number }> {
  const artifact = readArtifact(p.artifactsDir ?? defaultArtifactsDir, "AccessCheckpoints");
  p.sender.addAbi(artifact.abi as never);
  const r = await deployContract({
    sender: p.sender,
    deployments: p.deployments,
    artifact,
    key: "AccessCheckpoints",
    args: [getAddress(p.memberSets), p.secChainId, getAddress(p.accessLedger)],
  });
  return { address: getAddress(r.address), blockNumber: r.record.blockNumber };
}

/** What the finalizing votes of a checkpoint prove, checked from their signed transactions. */
export interface CheckpointAttestation {
  /** True when at least `threshold` distinct listed members signed a vote transaction for exactly this tuple. */
  ok: boolean;
  /** Members whose signed vote transactions for the tuple were found, in vote order. */
  signers: string[];
  /** Why a vote was not counted (a sender not listed, calldata or event not matching). */
  problems: string[];
}

export interface AccessCheckpointsClientParameters {
  address: string;
  provider: JsonRpcProvider;
  /** Needed only to vote. */
  sender?: TxSender;
}

/**
 * Reads AccessCheckpoints; votes with a member's sender.
 *
 * @example
 * const latest = await new AccessCheckpointsClient({ address, provider }).latest();
 */
export class AccessCheckpointsClient {
  readonly address: string;
  readonly contract;
  private readonly sender: TxSender | undefined;
  private readonly provider: JsonRpcProvider;

  constructor(p: AccessCheckpointsClientParameters) {
    this.address = getAddress(p.address);
    this.provider = p.provider;
    this.contract = AccessCheckpoints__factory.connect(this.address, uncachedRunner(p.provider));
    this.sender = p.sender;
    p.sender?.addAbi(iface.fragments as never);
  }

  /** What the contract attests and whose votes count. */
  async config(): Promise<{ memberSets: string; secChainId: number; accessLedger: string }> {
    const [m, c, a] = await Promise.all([this.contract.memberSets(), this.contract.secChainId(), this.contract.accessLedger()]);
    return { memberSets: getAddress(m), secChainId: Number(c), accessLedger: getAddress(a) };
  }

  async count(): Promise<number> {
    return Number(await this.contract.checkpointCount());
  }

  /** The latest checkpoint, or undefined before the first. */
  async latest(): Promise<AccessCheckpoint | undefined> {
    const n = await this.count();
    return n === 0 ? undefined : this.at(n - 1);
  }

  /** Checkpoint number `index`. */
  async at(index: number): Promise<AccessCheckpoint> {
    // By position: a Result's `entries` is Array.prototype.entries, not the field.
    const [secBlock, root, consumers, entries, setIndex, finalizedAt] = await this.contract.checkpointAt(index);
    return {
      index,
      secBlock: Number(secBlock),
      root,
      consumers: Number(consumers),
      entries: Number(entries),
      setIndex: Number(setIndex),
      finalizedAt: Number(finalizedAt),
      source: `AccessCheckpoints ${this.address} on BlockPRI`,
    };
  }

  /**
   * Checks a checkpoint without trusting the BlockPRI node that served it: recovers the signer of
   * every vote transaction for its tuple from the transaction's own signature and decodes its
   * calldata. A node can invent storage, events and a transaction's `from`, not a member's signature.
   *
   * @example
   * const a = await client.attest(cp, deployment.federation.members, deployment.federation.threshold);
   */
  async attest(cp: AccessCheckpoint, members: readonly string[], threshold: number): Promise<CheckpointAttestation> {
    const listed = new Set(members.map((m) => getAddress(m)));
    const provider = this.provider;
    const logs = await this.contract.queryFilter(this.contract.filters.CheckpointVoted(undefined, cp.secBlock), 0, cp.finalizedAt);
    const expected = this.encodeVote(cp).toLowerCase();
    const signers: string[] = [];
    const problems: string[] = [];
    for (const l of logs) {
      const tx = await provider.getTransaction(l.transactionHash);
      if (!tx?.signature) {
        problems.push(`vote tx ${l.transactionHash}: not served`);
        continue;
      }
      const signed = Transaction.from({
        type: tx.type,
        chainId: tx.chainId,
        nonce: tx.nonce,
        gasLimit: tx.gasLimit,
        gasPrice: tx.type === 2 ? null : tx.gasPrice,
        maxFeePerGas: tx.maxFeePerGas,
        maxPriorityFeePerGas: tx.maxPriorityFeePerGas,
        to: tx.to,
        value: tx.value,
        data: tx.data,
        accessList: tx.accessList,
        signature: tx.signature,
      });
      const signer = getAddress(signed.from!);
      if (signed.to === null || getAddress(signed.to) !== this.address || signed.data.toLowerCase() !== expected) continue; // a vote for another tuple
      if (!listed.has(signer)) problems.push(`vote tx ${l.transactionHash}: signed by ${signer}, not a listed member`);
      else if (!signers.includes(signer)) signers.push(signer);
    }
    return { ok: signers.length >= threshold, signers, problems };
  }

  hasVoted(secBlock: number, member: string): Promise<boolean> {
    return this.contract.hasVoted(secBlock, getAddress(member));
  }

  /** The calldata of a vote (members send it through their own sender). */
  encodeVote(v: CheckpointVote): string {
    return iface.encodeFunctionData("vote", [v.secBlock, v.root, v.consumers, v.entries]);
  }

  /** Votes with the client's sender; reverts arrive as ContractRevertError (CheckpointsNotMember, ...). */
  async vote(v: CheckpointVote): Promise<TxReceipt> {
    if (!this.sender) throw new TypeError("AccessCheckpointsClient: vote needs a sender");
    return this.sender.sendAndWait({ to: this.address, data: this.encodeVote(v) });
  }
}

/**
 * The AccessCheckpoints error in a failed call or estimate, by name and arguments.
 *
 * @example
 * checkpointsRevert(e)?.name === "CheckpointsStaleBlock";
 */
export function checkpointsRevert(e: unknown): { name: string; args: unknown[] } | undefined {
  const data = revertData(e);
  if (!data) return undefined;
  try {
    const p = iface.parseError(data);
    return p ? { name: p.name, args: [...p.args] } : undefined;
  } catch {
    return undefined;
  }
}
