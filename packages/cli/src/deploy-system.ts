// Deploys and wires every Sidegrid contract on the three chains (idempotent: a second `up` reuses
// what is there and sends nothing) and records the result in <dataDir>/deployment.json, which
// `demo`, `audit` and the services read.
import fs from "node:fs";
import path from "node:path";
import { Wallet, parseEther } from "ethers";
import { NETWORK_NAMES, Deployments, connectNetwork, type ConnectedNetwork, type NetworkName, type SidegridConfig } from "@sidegrid/chain";
import { deployBlockPri } from "@sidegrid/blockpri";
import { deployBlockSec, deployKeyCustody } from "@sidegrid/blocksec";
import { deployBlockTst, deployDemandResponse } from "@sidegrid/blocktst";
import { deployAccessCheckpoints, handOverAdmin, wireSidegrid, type WireSidegridReturnType } from "@sidegrid/federation";
import { memberKeys, roleKey } from "./accounts";
import { CliError } from "./errors";
import type { Ui } from "./ui";
import { label } from "./system";

export interface DeployedContract {
  network: string;
  name: string;
  address: string;
}

export interface SystemDeployment {
  version: 1;
  networks: Record<NetworkName, { chainId: number; rpcUrl: string }>;
  accounts: { operator: string; utility: string; company: string; court: string; gateway: string; installer: string };
  blockpri: { ppc: string; startBlock: number };
  blocksec: { policyMirror: string; meterDataLedger: string; accessLedger: string; tradeLog: string; keyCustody: string; startBlock: number };
  /** `demandResponse`: prices, DR events, households' rules and rewards (absent in older deployments). */
  blocktst: { token: string; mirror: string; market: string; auction: string; demandResponse?: string };
  federation: WireSidegridReturnType;
  /** Per chain: the timelock that alone holds DEFAULT_ADMIN_ROLE after `up`, and its governor (m-of-n members). */
  governance: { network: NetworkName; governor: string; timelock: string; minDelaySec: number }[];
  /** AccessCheckpoints on BlockPRI and how often (BlockSEC blocks) the members checkpoint (absent in older deployments). */
  checkpoints?: { accessCheckpoints: string; intervalBlocks: number };
  contracts: DeployedContract[];
}

/** BlockSEC blocks between AccessLedger checkpoints (local chains mine a block per transaction). */
export const CHECKPOINT_INTERVAL_BLOCKS = 10;

export function deploymentFile(cfg: SidegridConfig): string {
  return path.join(cfg.dataDir, "deployment.json");
}

/** The deployment `up` recorded; a clear error when the system was never brought up. */
export function readDeployment(cfg: SidegridConfig): SystemDeployment {
  const f = deploymentFile(cfg);
  if (!fs.existsSync(f)) throw new CliError("NOT_RUNNING", `no deployment in ${cfg.dataDir}: run \`sidegrid up\` first`);
  return JSON.parse(fs.readFileSync(f, "utf8")) as SystemDeployment;
}

/** Checks every non-local network (reachable, right chainId, funded key) without deploying. */
export async function checkRemoteNetworks(cfg: SidegridConfig, ui: Ui): Promise<void> {
  for (const name of NETWORK_NAMES) {
    if (cfg.networks[name].local) continue;
    const n = await ui.step(`checking ${label(name)}`, () => connectNetwork({ config: cfg, network: name }), (c) => `operator ${c.wallet.address}`);
    n.provider.destroy();
  }
}

/** Connects to the three chains as the operator (each checked: reachable, right chainId, funded key). */
export async function connectAll(cfg: SidegridConfig, ui?: Ui): Promise<Record<NetworkName, ConnectedNetwork>> {
  const out = {} as Record<NetworkName, ConnectedNetwork>;
  for (const name of NETWORK_NAMES) {
    const connect = () => connectNetwork({ config: cfg, network: name });
    out[name] = ui ? await ui.step(`connecting to ${label(name)}`, connect, (c) => `chainId ${c.chainId}, operator ${c.wallet.address}`) : await connect();
  }
  return out;
}

export function closeAll(nets: Record<NetworkName, ConnectedNetwork>): void {
  for (const n of Object.values(nets)) n.provider.destroy();
}

/**
 * Deploys BlockPRI's PPC, BlockSEC's four contracts, BlockTST's token, mirror, market and auction,
 * then the federation (outbox, inbox, peg on each chain) wired to them, with roles: the utility and
 * the company are distributors, the court an auditor, the installer commissions meters, the gateway
 * stores for the utility.
 */
export async function deploySystem(cfg: SidegridConfig, ui: Ui): Promise<SystemDeployment> {
  const nets = await connectAll(cfg, ui);
  try {
    const dir = path.join(cfg.dataDir, "deployments");
    const deps = {} as Record<NetworkName, Deployments>;
    for (const name of NETWORK_NAMES) deps[name] = Deployments.forNetwork(dir, name, nets[name].chainId);
    const addr = (k: string) => new Wallet(k).address;
    const accounts = {
      operator: nets.blocksec.wallet.address,
      utility: addr(roleKey(cfg, "utility")),
      company: addr(roleKey(cfg, "company")),
      court: addr(roleKey(cfg, "court")),
      gateway: addr(roleKey(cfg, "gateway")),
      installer: addr(roleKey(cfg, "installer")),
    };
    const distributors = [accounts.utility, accounts.company];
    // After the first `up` the deployer holds no FEDERATION_ROLE (handed over): the inbox is the relayer.
    const inboxOf = (n: NetworkName) => deps[n].get("FederationInbox")?.address;
    const relayerOf = (n: NetworkName) => (inboxOf(n) ? { relayer: inboxOf(n)! } : {});
    const pri = await ui.step("deploying BlockPRI: PPC", () => deployBlockPri({ sender: nets.blockpri.sender, deployments: deps.blockpri, distributors, auditors: [accounts.court], installers: [accounts.installer] }), (r) => r.ppc);
    const sec = await ui.step(
      "deploying BlockSEC: PolicyMirror, MeterDataLedger, AccessLedger, TradeLog",
      () =>
        deployBlockSec({
          sender: nets.blocksec.sender,
          deployments: deps.blocksec,
          distributors,
          auditors: [accounts.court],
          gateways: [{ gateway: accounts.gateway, utility: accounts.utility }],
          ...relayerOf("blocksec"),
        }),
      (r) => r.meterDataLedger,
    );
    const tst = await ui.step(
      "deploying BlockTST: SGT, MarketMirror, EnergyMarket, EnergyAuction",
      () => deployBlockTst({ sender: nets.blocktst.sender, deployments: deps.blocktst, distributors: [accounts.company], installers: [accounts.installer], ...relayerOf("blocktst") }),
      (r) => r.market,
    );
    // The operator publishes prices (it is the price oracle already); the utility runs events and pays rewards.
    const allLocalNets = NETWORK_NAMES.every((n) => cfg.networks[n].local);
    const dr = await ui.step(
      "deploying BlockTST: DemandResponse (prices, demand-response events, households' rules, rewards)",
      // Local meters replay up to two days behind real time (SIM_LEAD_MS): their events may end up to three days back.
      () => deployDemandResponse({ sender: nets.blocktst.sender, token: tst.token, deployments: deps.blocktst, operator: accounts.utility, rewarder: accounts.utility, clockLagSeconds: allLocalNets ? 3 * 86_400 : 0 }),
      (r) => r.address,
    );
    const { keys } = memberKeys(cfg, cfg.services.members);
    const allLocal = NETWORK_NAMES.every((n) => cfg.networks[n].local);
    const fed = await ui.step(
      `deploying the federation (${cfg.services.threshold}-of-${cfg.services.members}) and wiring the apps`,
      () =>
        wireSidegrid({
          blockpri: { sender: nets.blockpri.sender, deployments: deps.blockpri, ppc: pri.ppc },
          blocksec: { sender: nets.blocksec.sender, deployments: deps.blocksec, policyMirror: sec.policyMirror, tradeLog: sec.tradeLog },
          blocktst: { sender: nets.blocktst.sender, deployments: deps.blocktst, market: tst.market, marketMirror: tst.mirror, sgt: tst.token },
          members: keys.map((k) => new Wallet(k).address),
          threshold: cfg.services.threshold,
          // Members pay gas for relaying; locally they are topped up, remotely the operator funds them.
          ...(allLocal ? { fundMembers: parseEther("1000") } : {}),
          // Governance changes wait 60 s locally, 2 days on a real network; a one-member pause lasts
          // 5 min locally (1 h remotely) and that member waits 1 h (1 day) before pausing again.
          governanceDelaySec: allLocal ? 60 : 172_800,
          ...(allLocal ? { minorityPauseSec: 300, minorityPauseCooldownSec: 3600 } : {}),
        }),
      (f) => `members ${f.members.length}, threshold ${f.threshold}`,
    );
    const secInbox = fed.chains.find((c) => c.name === "blocksec")!.inbox;
    const custody = await ui.step(
      "deploying BlockSEC: KeyCustody (epoch keys in the federation's threshold custody)",
      () =>
        deployKeyCustody({
          sender: nets.blocksec.sender,
          deployments: deps.blocksec,
          federationInbox: secInbox,
          accessLedger: sec.accessLedger,
          meterDataLedger: sec.meterDataLedger,
          policyMirror: sec.policyMirror,
        }),
      (r) => r.keyCustody,
    );
    const checkpoints = await ui.step(
      "deploying BlockPRI: AccessCheckpoints (the federation's checkpoints of BlockSEC's access log)",
      () =>
        deployAccessCheckpoints({
          sender: nets.blockpri.sender,
          deployments: deps.blockpri,
          memberSets: fed.chains.find((c) => c.name === "blockpri")!.inbox,
          secChainId: nets.blocksec.chainId,
          accessLedger: sec.accessLedger,
        }),
      (r) => r.address,
    );
    const contracts: DeployedContract[] = [
      { network: "blockpri", name: "PPC", address: pri.ppc },
      { network: "blocksec", name: "PolicyMirror", address: sec.policyMirror },
      { network: "blocksec", name: "MeterDataLedger", address: sec.meterDataLedger },
      { network: "blocksec", name: "AccessLedger", address: sec.accessLedger },
      { network: "blocksec", name: "TradeLog", address: sec.tradeLog },
      { network: "blocksec", name: "KeyCustody", address: custody.keyCustody },
      { network: "blockpri", name: "AccessCheckpoints", address: checkpoints.address },
      { network: "blocktst", name: "SmartGridToken", address: tst.token },
      { network: "blocktst", name: "MarketMirror", address: tst.mirror },
      { network: "blocktst", name: "EnergyMarket", address: tst.market },
      { network: "blocktst", name: "EnergyAuction", address: tst.auction },
      { network: "blocktst", name: "DemandResponse", address: dr.address },
    ];
    for (const c of fed.chains) {
      contracts.push({ network: c.name, name: "FederationOutbox", address: c.outbox }, { network: c.name, name: "FederationInbox", address: c.inbox });
      if (c.peg) contracts.push({ network: c.name, name: "TokenPeg", address: c.peg });
      if (c.wrappedToken) contracts.push({ network: c.name, name: "WrappedToken (wSGT)", address: c.wrappedToken });
    }
    const governance = fed.governance.map((g) => ({ network: g.name as NetworkName, governor: g.governor, timelock: g.timelock, minDelaySec: g.minDelaySec }));
    for (const g of governance) {
      contracts.push({ network: g.network, name: "FederationGovernor", address: g.governor }, { network: g.network, name: "SidegridTimelock", address: g.timelock });
    }
    // No god key: the operator keeps REGULATOR_ROLE (admits utilities, courts, gateways) and
    // ORACLE_ROLE; everything that writes consent, mints or rewires goes through the timelock.
    await ui.step(
      "handing DEFAULT_ADMIN_ROLE to each chain's federation timelock",
      async () => {
        let renounced = 0;
        for (const g of governance) {
          const r = await handOverAdmin({ sender: nets[g.network].sender, timelock: g.timelock, contracts: contracts.filter((c) => c.network === g.network).map((c) => c.address) });
          renounced += r.filter((x) => x.renounced).length;
        }
        return renounced;
      },
      (n) => (n > 0 ? `${n} contracts handed over` : "already handed over"),
    );
    const networks = {} as SystemDeployment["networks"];
    for (const name of NETWORK_NAMES) networks[name] = { chainId: nets[name].chainId, rpcUrl: cfg.networks[name].rpcUrl };
    const deployment: SystemDeployment = {
      version: 1,
      networks,
      accounts,
      blockpri: { ppc: pri.ppc, startBlock: pri.blockNumber },
      blocksec: { policyMirror: sec.policyMirror, meterDataLedger: sec.meterDataLedger, accessLedger: sec.accessLedger, tradeLog: sec.tradeLog, keyCustody: custody.keyCustody, startBlock: sec.startBlock },
      blocktst: { token: tst.token, mirror: tst.mirror, market: tst.market, auction: tst.auction, demandResponse: dr.address },
      federation: fed,
      governance,
      checkpoints: { accessCheckpoints: checkpoints.address, intervalBlocks: CHECKPOINT_INTERVAL_BLOCKS },
      contracts,
    };
    fs.mkdirSync(cfg.dataDir, { recursive: true });
    fs.writeFileSync(deploymentFile(cfg), JSON.stringify(deployment, null, 2));
    return deployment;
  } finally {
    closeAll(nets);
  }
}
