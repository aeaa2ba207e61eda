import { Contract, Interface, SigningKey, ZeroHash, getAddress, hexlify, id, randomBytes, type Provider } from "ethers";
import { deployContract, readArtifact, type Deployments, type TxReceipt, type TxSender } from "@sidegrid/chain";
import { artifactsDir as defaultArtifactsDir } from "./artifacts";
import { GovernanceError } from "./errors";
import { FederationGovernor__factory, FederationInbox__factory, SidegridTimelock__factory } from "./generated";
import {
  cancelDigest,
  governorDomain,
  inboxDomain,
  memberSetDigest,
  packSignatures,
  pauseDigest,
  scheduleDigest,
  signDigest,
  type GovernanceProposal,
} from "./messages";

/** Signer keys as hex private keys or ethers SigningKeys. */
export type SignerKeys = readonly (string | SigningKey)[];

function keysOf(keys: SignerKeys): SigningKey[] {
  return keys.map((k) => (typeof k === "string" ? new SigningKey(k) : k));
}

export interface UpdateMemberSetParameters {
  sender: TxSender;
  inbox: string;
  /** Keys of current members that approve the change (at least the current threshold). */
  approvers: SignerKeys;
  members: readonly string[];
  threshold: number;
  pauseThreshold: number;
  unpauseThreshold: number;
}

/**
 * Replaces an inbox's member set (add, remove or rotate a member, change thresholds): signs the
 * next set index with the approvers' keys and submits. The previous set keeps signing messages for
 * the inbox's grace period.
 *
 * @example
 * await updateMemberSet({ sender, inbox, approvers: [k0, k1], members: [a0, a1, a3], threshold: 2, pauseThreshold: 1, unpauseThreshold: 2 });
 */
export async function updateMemberSet(params: UpdateMemberSetParameters): Promise<TxReceipt> {
  const inbox = FederationInbox__factory.connect(params.inbox, params.sender.provider);
  const setIndex = Number(await inbox.currentSetIndex()) + 1;
  const domain = inboxDomain(params.sender.chainId, params.inbox);
  const update = {
    setIndex,
    members: params.members.map((m) => getAddress(m)),
    threshold: params.threshold,
    pauseThreshold: params.pauseThreshold,
    unpauseThreshold: params.unpauseThreshold,
  };
  const sigs = signAll(params.approvers, memberSetDigest(domain, update));
  params.sender.addAbi(FederationInbox__factory.abi);
  return params.sender.sendAndWait({
    to: params.inbox,
    data: FederationInbox__factory.createInterface().encodeFunctionData("updateMemberSet", [
      setIndex,
      update.members,
      update.threshold,
      update.pauseThreshold,
      update.unpauseThreshold,
      sigs,
    ]),
  });
}

export interface SetInboxPausedParameters {
  sender: TxSender;
  inbox: string;
  /** Keys of current members (pauseThreshold of them to pause, unpauseThreshold to unpause). */
  approvers: SignerKeys;
  /** Source chain to pause or unpause; 0 = every source. */
  srcChainId: bigint;
  paused: boolean;
}

/**
 * Pauses or unpauses delivery from one source chain (or all) on an inbox, with the approvers'
 * signatures over the inbox's current governance nonce.
 *
 * @example
 * await setInboxPaused({ sender, inbox, approvers: [k0], srcChainId: 0n, paused: true });
 */
export async function setInboxPaused(params: SetInboxPausedParameters): Promise<TxReceipt> {
  const inbox = FederationInbox__factory.connect(params.inbox, params.sender.provider);
  const nonce = await inbox.governanceNonce();
  const domain = inboxDomain(params.sender.chainId, params.inbox);
  const sigs = signAll(params.approvers, pauseDigest(domain, { srcChainId: params.srcChainId, paused: params.paused, nonce }));
  params.sender.addAbi(FederationInbox__factory.abi);
  return params.sender.sendAndWait({
    to: params.inbox,
    data: FederationInbox__factory.createInterface().encodeFunctionData("setPaused", [params.srcChainId, params.paused, nonce, sigs]),
  });
}

/**
 * Signs `digest` with every key and packs the signatures for the inbox.
 *
 * @example
 * const sigs = signAll([key0, key1], pauseDigest(domain, { srcChainId: 0n, paused: true, nonce }));
 */
export function signAll(keys: SignerKeys, digest: string): string {
  return packSignatures(keysOf(keys).map((k) => signDigest(k, digest)));
}

// ---------------------------------------------------------------- governance of the apps

/** The roles governance cares about, by name (keccak256 of the name; DEFAULT_ADMIN_ROLE is zero). */
export const GOVERNANCE_ROLES = {
  DEFAULT_ADMIN_ROLE: ZeroHash,
  REGULATOR_ROLE: id("REGULATOR_ROLE"),
  FEDERATION_ROLE: id("FEDERATION_ROLE"),
  MINTER_ROLE: id("MINTER_ROLE"),
  AUCTION_ROLE: id("AUCTION_ROLE"),
  ORACLE_ROLE: id("ORACLE_ROLE"),
} as const;
export type GovernanceRoleName = keyof typeof GOVERNANCE_ROLES;

// Roles that write consent or mint: the deployer gives them up with DEFAULT_ADMIN_ROLE.
const BYPASS_ROLES: GovernanceRoleName[] = ["FEDERATION_ROLE", "MINTER_ROLE", "AUCTION_ROLE"];

const ACCESS_CONTROL = new Interface([
  "function hasRole(bytes32 role, address account) view returns (bool)",
  "function grantRole(bytes32 role, address account)",
  "function revokeRole(bytes32 role, address account)",
  "function renounceRole(bytes32 role, address account)",
]);

export interface DeployGovernanceParameters {
  sender: TxSender;
  deployments: Deployments;
  /** This chain's FederationInbox: its current member set and threshold authorize proposals. */
  inbox: string;
  /** Timelock minimum delay, seconds (e.g. 60 locally, 172,800 = 2 days on a real network). */
  minDelaySec: number;
  artifactsDir?: string;
}

export interface DeployGovernanceReturnType {
  governor: string;
  timelock: string;
  minDelaySec: number;
}

/**
 * Deploys a chain's FederationGovernor, which creates its timelock (the governor its only
 * proposer and canceller, execution open to anyone), idempotently.
 *
 * @example
 * const { governor, timelock } = await deployGovernance({ sender, deployments, inbox, minDelaySec: 60 });
 */
export async function deployGovernance(params: DeployGovernanceParameters): Promise<DeployGovernanceReturnType> {
  const dir = params.artifactsDir ?? defaultArtifactsDir;
  const art = readArtifact(dir, "FederationGovernor");
  params.sender.addAbi(art.abi as never);
  params.sender.addAbi(SidegridTimelock__factory.abi as never);
  const r = await deployContract({
    sender: params.sender,
    deployments: params.deployments,
    artifact: art,
    key: "FederationGovernor",
    args: [getAddress(params.inbox), params.minDelaySec],
  });
  const timelock = getAddress(await FederationGovernor__factory.connect(r.address, params.sender.provider).timelock());
  return { governor: getAddress(r.address), timelock, minDelaySec: params.minDelaySec };
}

export interface HandOverAdminParameters {
  /** The account that holds DEFAULT_ADMIN_ROLE today (the deployer). */
  sender: TxSender;
  /** The chain's timelock, the only admin afterwards. */
  timelock: string;
  /** Contracts on this chain; those without AccessControl (KeyCustody, the inbox) are skipped. */
  contracts: readonly string[];
}

export interface HandOverAdminResult {
  contract: string;
  /** False for a contract without AccessControl. */
  accessControl: boolean;
  grantedToTimelock: boolean;
  /** Bypass roles (FEDERATION, MINTER, AUCTION) the deployer held and gave up. */
  revoked: GovernanceRoleName[];
  renounced: boolean;
}

/**
 * Hands DEFAULT_ADMIN_ROLE of every contract to the chain's timelock: grants it, revokes the
 * deployer's consent-writing and minting roles, then renounces the deployer's admin role. The
 * deployer keeps REGULATOR_ROLE (admits distributors, auditors, gateways) and ORACLE_ROLE.
 * Idempotent: a second call sends nothing.
 *
 * @example
 * await handOverAdmin({ sender, timelock, contracts: [policyMirror, tradeLog, meterDataLedger] });
 */
export async function handOverAdmin(params: HandOverAdminParameters): Promise<HandOverAdminResult[]> {
  const me = params.sender.address;
  const timelock = getAddress(params.timelock);
  const out: HandOverAdminResult[] = [];
  for (const address of params.contracts) {
    const c = new Contract(address, ACCESS_CONTROL, params.sender.provider);
    const has = (role: string, account: string) => c.getFunction("hasRole")(role, account) as Promise<boolean>;
    const send = (fn: "grantRole" | "revokeRole" | "renounceRole", role: string, account: string) =>
      params.sender.sendAndWait({ to: address, data: ACCESS_CONTROL.encodeFunctionData(fn, [role, account]) });
    const r: HandOverAdminResult = { contract: getAddress(address), accessControl: true, grantedToTimelock: false, revoked: [], renounced: false };
    out.push(r);
    let timelockIsAdmin: boolean;
    try {
      timelockIsAdmin = await has(ZeroHash, timelock);
    } catch {
      r.accessControl = false;
      continue;
    }
    const iAmAdmin = await has(ZeroHash, me);
    if (!timelockIsAdmin) {
      if (!iAmAdmin) throw new GovernanceError(address, `neither ${me} nor the timelock ${timelock} holds DEFAULT_ADMIN_ROLE`);
      await send("grantRole", ZeroHash, timelock);
      r.grantedToTimelock = true;
    }
    if (!iAmAdmin) continue;
    for (const name of BYPASS_ROLES) {
      if (!(await has(GOVERNANCE_ROLES[name], me))) continue;
      await send("revokeRole", GOVERNANCE_ROLES[name], me);
      r.revoked.push(name);
    }
    await send("renounceRole", ZeroHash, me);
    r.renounced = true;
  }
  return out;
}

export interface GovernanceCall {
  target: string;
  data: string;
  value?: bigint;
}

export interface ProposeGovernanceParameters {
  sender: TxSender;
  governor: string;
  /** Keys of current members that approve (at least the inbox's threshold). */
  approvers: SignerKeys;
  calls: readonly GovernanceCall[];
  /** Distinguishes otherwise equal batches; default random. */
  salt?: string;
  predecessor?: string;
  /** Seconds; default the timelock's minimum delay. */
  delaySec?: bigint;
}

export interface ProposeGovernanceReturnType {
  /** The timelock operation id. */
  id: string;
  proposal: GovernanceProposal;
  receipt: TxReceipt;
  /** Chain time (seconds) from which anyone may execute. */
  readyAt: bigint;
}

function proposalOf(calls: readonly GovernanceCall[], salt: string, predecessor: string, delay: bigint): GovernanceProposal {
  return {
    targets: calls.map((c) => getAddress(c.target)),
    values: calls.map((c) => c.value ?? 0n),
    payloads: calls.map((c) => c.data),
    predecessor,
    salt,
    delay,
  };
}

function opArgs(p: GovernanceProposal) {
  return { ...p, targets: [...p.targets], values: [...p.values], payloads: [...p.payloads] };
}

/**
 * Schedules a call batch on a chain's timelock through its governor, signed by the approvers.
 *
 * @example
 * const p = await proposeGovernance({ sender, governor, approvers: [k0, k1], calls: [{ target: ppc, data }] });
 * await executeGovernance({ sender, governor, proposal: p.proposal, wait: true });
 */
export async function proposeGovernance(params: ProposeGovernanceParameters): Promise<ProposeGovernanceReturnType> {
  const gov = FederationGovernor__factory.connect(params.governor, params.sender.provider);
  const timelock = SidegridTimelock__factory.connect(await gov.timelock(), params.sender.provider);
  const delay = params.delaySec ?? (await timelock.getMinDelay());
  const proposal = proposalOf(params.calls, params.salt ?? hexlify(randomBytes(32)), params.predecessor ?? ZeroHash, delay);
  const sigs = signAll(params.approvers, scheduleDigest(governorDomain(params.sender.chainId, params.governor), proposal));
  params.sender.addAbi(FederationGovernor__factory.abi);
  params.sender.addAbi(SidegridTimelock__factory.abi);
  const receipt = await params.sender.sendAndWait({
    to: params.governor,
    data: FederationGovernor__factory.createInterface().encodeFunctionData("schedule", [opArgs(proposal), sigs]),
  });
  const opId = await timelock.hashOperationBatch([...proposal.targets], [...proposal.values], [...proposal.payloads], proposal.predecessor, proposal.salt);
  return { id: opId, proposal, receipt, readyAt: await timelock.getTimestamp(opId) };
}

export interface ExecuteGovernanceParameters {
  sender: TxSender;
  governor: string;
  proposal: GovernanceProposal;
  /** Wait (polling the chain's clock) until the operation is ready; default false (the timelock refuses an early call). */
  wait?: boolean;
  pollMs?: number;
}

/**
 * Executes a scheduled batch on the governor's timelock (anyone may, after the delay).
 *
 * @example
 * await executeGovernance({ sender, governor, proposal, wait: true });
 */
export async function executeGovernance(params: ExecuteGovernanceParameters): Promise<TxReceipt> {
  const gov = FederationGovernor__factory.connect(params.governor, params.sender.provider);
  const timelockAddress = await gov.timelock();
  const timelock = SidegridTimelock__factory.connect(timelockAddress, params.sender.provider);
  const p = params.proposal;
  if (params.wait) {
    const opId = await timelock.hashOperationBatch([...p.targets], [...p.values], [...p.payloads], p.predecessor, p.salt);
    const readyAt = await timelock.getTimestamp(opId);
    if (readyAt <= 1n) throw new GovernanceError(timelockAddress, `operation ${opId} is not pending (never scheduled, cancelled or done)`);
    for (;;) {
      const block = await params.sender.provider.getBlock("latest");
      if (block && BigInt(block.timestamp) >= readyAt) break;
      await new Promise((r) => setTimeout(r, params.pollMs ?? 1000));
    }
  }
  params.sender.addAbi(SidegridTimelock__factory.abi);
  return params.sender.sendAndWait({
    to: timelockAddress,
    value: p.values.reduce((a, b) => a + b, 0n),
    data: SidegridTimelock__factory.createInterface().encodeFunctionData("executeBatch", [
      [...p.targets],
      [...p.values],
      [...p.payloads],
      p.predecessor,
      p.salt,
    ]),
  });
}

export interface CancelGovernanceParameters {
  sender: TxSender;
  governor: string;
  approvers: SignerKeys;
  /** The timelock operation id. */
  id: string;
}

/**
 * Cancels a pending operation through the governor, signed by the approvers.
 *
 * @example
 * await cancelGovernance({ sender, governor, approvers: [k0, k1], id });
 */
export async function cancelGovernance(params: CancelGovernanceParameters): Promise<TxReceipt> {
  const sigs = signAll(params.approvers, cancelDigest(governorDomain(params.sender.chainId, params.governor), params.id));
  params.sender.addAbi(FederationGovernor__factory.abi);
  params.sender.addAbi(SidegridTimelock__factory.abi);
  return params.sender.sendAndWait({
    to: params.governor,
    data: FederationGovernor__factory.createInterface().encodeFunctionData("cancel", [params.id, sigs]),
  });
}

export interface AdminRolesParameters {
  provider: Provider;
  contracts: readonly { name: string; address: string }[];
  /** Accounts to check, by label ("operator", "timelock", "inbox", ...). */
  accounts: Readonly<Record<string, string>>;
  roles?: readonly GovernanceRoleName[];
}

export interface AdminRolesEntry {
  name: string;
  address: string;
  /** Role → labels of the checked accounts that hold it (only roles someone holds). */
  holders: Partial<Record<GovernanceRoleName, string[]>>;
}

/**
 * Who of the known accounts holds DEFAULT_ADMIN_ROLE, REGULATOR_ROLE and FEDERATION_ROLE (or the
 * roles asked) on each contract; contracts without AccessControl are left out.
 *
 * @example
 * const rows = await adminRoles({ provider, contracts, accounts: { operator, timelock } });
 */
export async function adminRoles(params: AdminRolesParameters): Promise<AdminRolesEntry[]> {
  const roles = params.roles ?? (["DEFAULT_ADMIN_ROLE", "REGULATOR_ROLE", "FEDERATION_ROLE"] as const);
  const out: AdminRolesEntry[] = [];
  for (const { name, address } of params.contracts) {
    const c = new Contract(address, ACCESS_CONTROL, params.provider);
    const holders: AdminRolesEntry["holders"] = {};
    try {
      for (const role of roles) {
        for (const [label, account] of Object.entries(params.accounts)) {
          if (!(await c.getFunction("hasRole")(GOVERNANCE_ROLES[role], account))) continue;
          (holders[role] ??= []).push(label);
        }
      }
    } catch {
      continue;
    }
    out.push({ name, address: getAddress(address), holders });
  }
  return out;
}
