import { Contract, Interface, ZeroAddress, getAddress, id } from "ethers";
import { deployContract, readArtifact, type Deployments, type TxSender } from "@sidegrid/chain";
import { artifactsDir as defaultArtifactsDir } from "./artifacts";
import { FederationDeployError } from "./errors";
import { FederationOutbox__factory, TokenPeg__factory } from "./generated";

/** keccak256("FEDERATION_ROLE"): the role every app grants to the inbox of its chain. */
export const FEDERATION_ROLE = id("FEDERATION_ROLE");

const ACCESS_CONTROL = new Interface([
  "function grantRole(bytes32 role, address account)",
  "function hasRole(bytes32 role, address account) view returns (bool)",
]);
const ERC20_DECIMALS = new Interface(["function decimals() view returns (uint8)"]);

/** One chain of the federation as {@link deployFederation} sets it up. */
export interface FederationChainSetup {
  /** Network name ("blockpri", "blocksec", "blocktst"). */
  name: string;
  /** The chain's admin account; becomes admin of outbox and peg. */
  sender: TxSender;
  deployments: Deployments;
  /** App contracts allowed to send through this chain's outbox. */
  senders?: readonly string[];
  /** App contracts on which the inbox receives FEDERATION_ROLE (the sender must be their admin). */
  receivers?: readonly string[];
  /** "home": a TokenPeg escrowing `pegToken`; "remote": a TokenPeg with its wrapped token. */
  peg?: "home" | "remote";
  /** The pegged token on the home chain (BlockTST's SGT). */
  pegToken?: string;
}

export interface DeployFederationParameters {
  chains: readonly FederationChainSetup[];
  /** Member signer addresses, in member order. */
  members: readonly string[];
  /** Signatures per message (m). */
  threshold: number;
  /** Signatures to pause; default max(1, floor(m/2)). Must be below `unpauseThreshold`. */
  pauseThreshold?: number;
  /** Signatures to unpause; default m. */
  unpauseThreshold?: number;
  /** Seconds a replaced member set stays valid; default 86,400. */
  gracePeriodSec?: number;
  /** Seconds a pause signed by fewer than `unpauseThreshold` members lasts; default 3,600. */
  minorityPauseSec?: number;
  /** Seconds before a signer of a minority pause may sign another; default 86,400 (at least the duration). */
  minorityPauseCooldownSec?: number;
  /** Gas each app call receives; default 1,000,000. */
  appGasLimit?: bigint;
  /** Largest payload an outbox accepts; default 16 KiB. */
  maxPayloadBytes?: number;
  /** Limit per source chain over 24 h for peg transfers; default 1,000,000 tokens of 18 decimals. */
  pegDailyLimit?: bigint;
  wrappedName?: string;
  wrappedSymbol?: string;
  /** Top up every member account to this balance (wei) on every chain, for relaying gas. */
  fundMembers?: bigint;
  artifactsDir?: string;
}

export interface FederationChainDeployment {
  name: string;
  chainId: number;
  outbox: string;
  inbox: string;
  /** First block members scan (the outbox deployment block). */
  startBlock: number;
  peg: string | null;
  wrappedToken: string | null;
}

export interface DeployFederationReturnType {
  chains: FederationChainDeployment[];
  members: string[];
  threshold: number;
  pauseThreshold: number;
  unpauseThreshold: number;
  homeChainId: number | null;
}

/**
 * Deploys the federation on every chain, idempotently: outbox and inbox everywhere, TokenPeg where
 * configured (wrapped token on remote chains), registers the app senders and the peg on each outbox,
 * opens the lanes between all chains, grants FEDERATION_ROLE on the apps and pegs to the inbox,
 * pairs the pegs and funds the member accounts. Running it again changes nothing.
 *
 * @example
 * const fed = await deployFederation({
 *   chains: [
 *     { name: "blockpri", sender: pri, deployments: priDeps, senders: [ppc] },
 *     { name: "blocksec", sender: sec, deployments: secDeps, receivers: [mirror], peg: "remote" },
 *     { name: "blocktst", sender: tst, deployments: tstDeps, peg: "home", pegToken: sgt },
 *   ],
 *   members: [a0, a1, a2],
 *   threshold: 2,
 * });
 */
export async function deployFederation(params: DeployFederationParameters): Promise<DeployFederationReturnType> {
  const dir = params.artifactsDir ?? defaultArtifactsDir;
  const members = params.members.map((m) => getAddress(m));
  const threshold = params.threshold;
  const pauseThreshold = params.pauseThreshold ?? Math.max(1, Math.floor(threshold / 2));
  const unpauseThreshold = params.unpauseThreshold ?? Math.max(threshold, pauseThreshold + 1);
  const home = params.chains.filter((c) => c.peg === "home");
  if (home.length > 1) throw new FederationDeployError(home[1]!.name, "only one chain can be the peg's home");
  const homeChainId = home[0] ? Number(home[0].sender.chainId) : null;
  const limit = params.pegDailyLimit ?? 1_000_000n * 10n ** 18n;

  const outboxArt = readArtifact(dir, "FederationOutbox");
  const inboxArt = readArtifact(dir, "FederationInbox");
  const pegArt = readArtifact(dir, "TokenPeg");
  let decimals = 18;
  if (home[0]) {
    if (!home[0].pegToken) throw new FederationDeployError(home[0].name, "peg \"home\" needs pegToken");
    const c = new Contract(home[0].pegToken, ERC20_DECIMALS, home[0].sender.provider);
    decimals = Number(await c.getFunction("decimals")());
  }

  const out: FederationChainDeployment[] = [];
  for (const c of params.chains) {
    const s = c.sender;
    for (const abi of [outboxArt.abi, inboxArt.abi, pegArt.abi]) s.addAbi(abi as never);
    const outbox = await deployContract({
      sender: s,
      deployments: c.deployments,
      artifact: outboxArt,
      key: "FederationOutbox",
      args: [s.address, params.maxPayloadBytes ?? 16384],
    });
    const inbox = await deployContract({
      sender: s,
      deployments: c.deployments,
      artifact: inboxArt,
      key: "FederationInbox",
      args: [
        members,
        threshold,
        pauseThreshold,
        unpauseThreshold,
        params.gracePeriodSec ?? 86400,
        params.appGasLimit ?? 1_000_000n,
        params.minorityPauseSec ?? 3600,
        params.minorityPauseCooldownSec ?? 86400,
      ],
    });
    let peg: string | null = null;
    let wrapped: string | null = null;
    if (c.peg) {
      if (homeChainId === null) throw new FederationDeployError(c.name, "a remote peg needs a chain with peg \"home\"");
      const r = await deployContract({
        sender: s,
        deployments: c.deployments,
        artifact: pegArt,
        key: "TokenPeg",
        args: [
          s.address,
          outbox.address,
          homeChainId,
          c.peg === "home" ? c.pegToken : ZeroAddress,
          params.wrappedName ?? "Wrapped Smart Grid Token",
          params.wrappedSymbol ?? "wSGT",
          decimals,
        ],
      });
      peg = getAddress(r.address);
      const pegToken = await TokenPeg__factory.connect(peg, s.provider).token();
      wrapped = c.peg === "remote" ? getAddress(pegToken) : null;
    }
    out.push({
      name: c.name,
      chainId: Number(s.chainId),
      outbox: getAddress(outbox.address),
      inbox: getAddress(inbox.address),
      startBlock: outbox.record.blockNumber,
      peg,
      wrappedToken: wrapped,
    });
  }

  const outboxIface = FederationOutbox__factory.createInterface();
  const pegIface = TokenPeg__factory.createInterface();
  for (let i = 0; i < params.chains.length; i++) {
    const c = params.chains[i]!;
    const d = out[i]!;
    const s = c.sender;
    const outbox = FederationOutbox__factory.connect(d.outbox, s.provider);
    for (const other of out) {
      if (other.chainId === d.chainId || (await outbox.isDestination(other.chainId))) continue;
      await s.sendAndWait({ to: d.outbox, data: outboxIface.encodeFunctionData("setDestination", [other.chainId, true]) });
    }
    const senders = [...(c.senders ?? []), ...(d.peg ? [d.peg] : [])];
    for (const app of senders) {
      if (await outbox.isSender(app)) continue;
      await s.sendAndWait({ to: d.outbox, data: outboxIface.encodeFunctionData("setSender", [app, true]) });
    }
    const receivers = [...(c.receivers ?? []), ...(d.peg ? [d.peg] : [])];
    for (const app of receivers) {
      const ac = new Contract(app, ACCESS_CONTROL, s.provider);
      if (await ac.getFunction("hasRole")(FEDERATION_ROLE, d.inbox)) continue;
      await s.sendAndWait({ to: app, data: ACCESS_CONTROL.encodeFunctionData("grantRole", [FEDERATION_ROLE, d.inbox]) });
      if (!(await ac.getFunction("hasRole")(FEDERATION_ROLE, d.inbox))) {
        throw new FederationDeployError(c.name, `FEDERATION_ROLE on ${app} was not granted to the inbox`);
      }
    }
    if (d.peg) {
      const peg = TokenPeg__factory.connect(d.peg, s.provider);
      const peers = c.peg === "home" ? out.filter((o) => o.peg && o.chainId !== d.chainId) : out.filter((o) => o.chainId === homeChainId);
      for (const p of peers) {
        const [peer, lim] = await Promise.all([peg.peerOf(p.chainId), peg.dailyLimit(p.chainId)]);
        if (peer.toLowerCase() === p.peg!.toLowerCase() && lim === limit) continue;
        await s.sendAndWait({ to: d.peg, data: pegIface.encodeFunctionData("setPeer", [p.chainId, p.peg!, limit]) });
      }
    }
    if (params.fundMembers !== undefined) {
      for (const m of members) {
        const balance = await s.provider.getBalance(m);
        if (balance < params.fundMembers) await s.sendAndWait({ to: m, value: params.fundMembers - balance });
      }
    }
  }
  return { chains: out, members, threshold, pauseThreshold, unpauseThreshold, homeChainId };
}
