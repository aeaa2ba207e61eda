import { Contract, Interface, getAddress } from "ethers";
import type { Deployments, TxSender } from "@sidegrid/chain";
import { deployFederation, type DeployFederationParameters, type DeployFederationReturnType } from "./deploy";
import { WiringUnavailableError } from "./errors";
import { deployGovernance, type DeployGovernanceReturnType } from "./governance";

// The app-side hooks, by the names the app packages' contracts declare (PPC, PolicyMirror,
// TradeLog in BlockSEC; EnergyMarket, MarketMirror in BlockTST). Declared here as human-readable
// fragments so the federation does not need the app packages' TypeScript to wire them.
const PPC = new Interface([
  "function outbox() view returns (address)",
  "function setOutbox(address outbox)",
  "function routes() view returns (tuple(uint256 chainId, address target)[])",
  "function addRoute(uint256 chainId, address target)",
]);
const POLICY_MIRROR = new Interface([
  "function preferenceSource() view returns (uint256 srcChainId, address srcSender)",
  "function setPreferenceSource(uint256 srcChainId, address srcSender)",
]);
const TRADE_LOG = new Interface([
  "function tradeSource() view returns (uint256 srcChainId, address srcSender)",
  "function setTradeSource(uint256 srcChainId, address srcSender)",
]);
const MARKET_MIRROR = new Interface([
  "function source() view returns (uint256 srcChainId, address srcSender)",
  "function setSource(uint256 srcChainId, address srcSender)",
]);
const MARKET = new Interface([
  "function outbox() view returns (address)",
  "function outboxDestChainId() view returns (uint256)",
  "function outboxDestContract() view returns (address)",
  "function setOutbox(address outbox, uint256 destChainId, address destContract)",
]);

/** The relays of ARCHITECTURE.md §4, as wired by {@link wireSidegrid}. */
export const SIDEGRID_RELAYS = [
  { from: "blockpri", app: "PPC", event: "PreferencesChanged / RegistrationChanged", to: "blocksec", receiver: "PolicyMirror" },
  { from: "blockpri", app: "PPC", event: "PreferencesChanged / RegistrationChanged", to: "blocktst", receiver: "MarketMirror" },
  { from: "blocktst", app: "EnergyMarket", event: "TradeSettled", to: "blocksec", receiver: "TradeLog" },
  { from: "blocktst", app: "TokenPeg", event: "Locked", to: "blockpri, blocksec", receiver: "TokenPeg (mints wSGT)" },
  { from: "blockpri, blocksec", app: "TokenPeg", event: "Burned", to: "blocktst", receiver: "TokenPeg (releases SGT)" },
] as const;

interface ChainApps {
  sender: TxSender;
  deployments: Deployments;
}

export interface WireSidegridParameters extends Omit<DeployFederationParameters, "chains"> {
  blockpri: ChainApps & { ppc: string };
  blocksec: ChainApps & { policyMirror: string; tradeLog: string };
  blocktst: ChainApps & { market: string; marketMirror: string; sgt: string };
  /** Timelock delay of each chain's governance, seconds; default 172,800 (2 days). */
  governanceDelaySec?: number;
}

export type WireSidegridReturnType = DeployFederationReturnType & {
  /** Per chain: the FederationGovernor and the timelock that {@link handOverAdmin} makes the only admin. */
  governance: (DeployGovernanceReturnType & { name: string; chainId: number })[];
};

/**
 * Deploys the federation on the three Sidegrid chains and wires the real apps to it, idempotently:
 * PPC and EnergyMarket send through their chain's outbox (registered senders, hook set, routes to
 * PolicyMirror, MarketMirror and TradeLog); the receivers grant FEDERATION_ROLE to their inbox and
 * expect the right (srcChainId, srcSender); SGT is pegged with BlockTST as home. The caller must
 * be the admin of every app (the regulator account that deployed them). Also deploys each chain's
 * governance (FederationGovernor + timelock); {@link handOverAdmin} then makes the timelock the only admin.
 *
 * @example
 * const fed = await wireSidegrid({
 *   blockpri: { sender: pri, deployments: priDeps, ppc },
 *   blocksec: { sender: sec, deployments: secDeps, policyMirror, tradeLog },
 *   blocktst: { sender: tst, deployments: tstDeps, market, marketMirror, sgt },
 *   members, threshold: 2,
 * });
 */
export async function wireSidegrid(params: WireSidegridParameters): Promise<WireSidegridReturnType> {
  const { blockpri: pri, blocksec: sec, blocktst: tst, governanceDelaySec, ...rest } = params;
  const missing = Object.entries({ ppc: pri.ppc, policyMirror: sec.policyMirror, tradeLog: sec.tradeLog, market: tst.market, marketMirror: tst.marketMirror, sgt: tst.sgt })
    .filter(([, a]) => !/^0x[0-9a-fA-F]{40}$/.test(a ?? ""))
    .map(([k]) => k);
  if (missing.length > 0) throw new WiringUnavailableError(missing);
  const [priId, secId, tstId] = [pri.sender.chainId, sec.sender.chainId, tst.sender.chainId];

  const fed = await deployFederation({
    ...rest,
    chains: [
      { name: "blockpri", sender: pri.sender, deployments: pri.deployments, senders: [pri.ppc], peg: "remote" },
      { name: "blocksec", sender: sec.sender, deployments: sec.deployments, receivers: [sec.policyMirror, sec.tradeLog], peg: "remote" },
      { name: "blocktst", sender: tst.sender, deployments: tst.deployments, senders: [tst.market], receivers: [tst.marketMirror], peg: "home", pegToken: tst.sgt },
    ],
  });
  const [priFed, , tstFed] = fed.chains;

  // BlockPRI: the PPC sends every preference/registration change to both mirrors.
  const ppc = new Contract(pri.ppc, PPC, pri.sender.provider);
  if (getAddress(await ppc.getFunction("outbox")()) !== priFed!.outbox) {
    await pri.sender.sendAndWait({ to: pri.ppc, data: PPC.encodeFunctionData("setOutbox", [priFed!.outbox]) });
  }
  const routes = (await ppc.getFunction("routes")()) as { chainId: bigint; target: string }[];
  for (const [chainId, target] of [
    [secId, sec.policyMirror],
    [tstId, tst.marketMirror],
  ] as const) {
    if (routes.some((r) => r.chainId === chainId && getAddress(r.target) === getAddress(target))) continue;
    await pri.sender.sendAndWait({ to: pri.ppc, data: PPC.encodeFunctionData("addRoute", [chainId, target]) });
  }
  // BlockTST: settled trades go to BlockSEC's trade log.
  const market = new Contract(tst.market, MARKET, tst.sender.provider);
  const [ob, dst, dstContract] = await Promise.all([
    market.getFunction("outbox")(),
    market.getFunction("outboxDestChainId")(),
    market.getFunction("outboxDestContract")(),
  ]);
  if (getAddress(ob) !== tstFed!.outbox || dst !== secId || getAddress(dstContract) !== getAddress(sec.tradeLog)) {
    await tst.sender.sendAndWait({ to: tst.market, data: MARKET.encodeFunctionData("setOutbox", [tstFed!.outbox, secId, sec.tradeLog]) });
  }
  // Receivers: which (chain, contract) they accept messages from.
  const sources: [TxSender, string, Interface, string, string, bigint, string][] = [
    [sec.sender, sec.policyMirror, POLICY_MIRROR, "preferenceSource", "setPreferenceSource", priId, pri.ppc],
    [sec.sender, sec.tradeLog, TRADE_LOG, "tradeSource", "setTradeSource", tstId, tst.market],
    [tst.sender, tst.marketMirror, MARKET_MIRROR, "source", "setSource", priId, pri.ppc],
  ];
  for (const [sender, address, iface, get, set, chainId, from] of sources) {
    const [c, a] = (await new Contract(address, iface, sender.provider).getFunction(get)()) as [bigint, string];
    if (c === chainId && getAddress(a) === getAddress(from)) continue;
    await sender.sendAndWait({ to: address, data: iface.encodeFunctionData(set, [chainId, from]) });
  }
  // Governance: a timelock per chain, proposed to only by m-of-n of the federation.
  const governance: WireSidegridReturnType["governance"] = [];
  for (const [i, apps] of [pri, sec, tst].entries()) {
    const f = fed.chains[i]!;
    const g = await deployGovernance({ sender: apps.sender, deployments: apps.deployments, inbox: f.inbox, minDelaySec: governanceDelaySec ?? 172_800 });
    governance.push({ ...g, name: f.name, chainId: f.chainId });
  }
  return { ...fed, governance };
}
