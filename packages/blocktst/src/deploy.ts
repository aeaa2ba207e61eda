import { getAddress } from "ethers";
import { deployContract, readArtifact, type Deployments, type TxSender } from "@sidegrid/chain";
import { artifactsDir as defaultArtifactsDir } from "./artifacts";
import { BLOCKTST_ABIS, type BlockTstAddresses } from "./client";
import { HOUR_SECONDS, ONE, ROLES } from "./constants";
import { BlockTstDeployError } from "./errors";
import { EnergyAuction__factory, EnergyMarket__factory, MarketMirror__factory, SmartGridToken__factory } from "./generated";
import { DEFAULT_PRICE_PARAMS, type PriceParams } from "./price";

/** Defaults of a BlockTST deployment (governance can change each later). */
export const BLOCKTST_DEFAULTS = {
  priceParams: DEFAULT_PRICE_PARAMS,
  intervalSeconds: HOUR_SECONDS,
  /** Two hours for the buyer's meter to confirm a delivery. */
  deliveryWindowSec: 2 * HOUR_SECONDS,
  /** Grid tariff 0.8 SGT/kWh: above every rule price with the defaults (0.3–0.7). */
  gridPrice: (ONE * 8n) / 10n,
  maxOrdersPerSide: 100,
  minOrderWh: 100n,
  /** Faucet cap per account on local chains: 10,000 SGT. */
  localFaucetCap: 10_000n * ONE,
} as const;

export interface DeployBlockTstParameters {
  /** The deployer; becomes admin (regulator/governance) unless `admin` says otherwise. */
  sender: TxSender;
  deployments: Deployments;
  artifactsDir?: string;
  /** DEFAULT_ADMIN_ROLE holder on all four contracts (default: the deployer). */
  admin?: string;
  /** ORACLE_ROLE holder that publishes demand and generation (default: the deployer). */
  oracle?: string;
  /** FEDERATION_ROLE holder on the mirror until the federation's inbox exists (default: the deployer). */
  relayer?: string;
  /** Companies granted DISTRIBUTOR on the market (their trades are CC). */
  distributors?: readonly string[];
  /** Installers who certify trading accounts' delivery keys (INSTALLER_ROLE on the market). */
  installers?: readonly string[];
  /**
   * Local chain (faucet on, deployer may also be minter). Default: chain id 31337, 1337 or
   * 31000–31999 (the Sidegrid local range).
   */
  local?: boolean;
  /** Minted to the deployer at deployment (default 0); changing it later redeploys SGT. */
  initialSupply?: bigint;
  /** Per-account faucet cap (default: BLOCKTST_DEFAULTS.localFaucetCap on local chains, else 0 = off). */
  faucetCap?: bigint;
  /** Accounts granted MINTER_ROLE on SGT (the federation's peg). */
  minters?: readonly string[];
  priceParams?: PriceParams;
  /** Interval of the D/G oracle in seconds (fixed at deployment). */
  intervalSeconds?: number;
  deliveryWindowSec?: number;
  /** Auction grid tariff, SGT per kWh. */
  gridPrice?: bigint;
  /** Receives payment for grid supply in the auction (default: the admin). */
  gridAccount?: string;
  maxOrdersPerSide?: number;
  minOrderWh?: bigint;
  /** BlockPRI's PPC, the only source the mirror accepts. */
  blockpri?: { chainId: number | bigint; ppc: string };
  /** The federation outbox settled trades are sent through, and their destination on BlockSEC. */
  outbox?: { address: string; destChainId: number | bigint; destContract: string };
}

export interface DeployBlockTstReturnType extends BlockTstAddresses {
  /** Which contracts this call deployed (false = an identical deployment was reused). */
  deployed: { token: boolean; mirror: boolean; market: boolean; auction: boolean };
  /** Configuration transactions this call sent (0 on an unchanged re-run). */
  configured: number;
}

const tokenIface = SmartGridToken__factory.createInterface();
const marketIface = EnergyMarket__factory.createInterface();
const mirrorIface = MarketMirror__factory.createInterface();
const auctionIface = EnergyAuction__factory.createInterface();

/** True for chain ids Sidegrid treats as local development chains. */
function isLocalChainId(chainId: bigint): boolean {
  return chainId === 31337n || chainId === 1337n || (chainId >= 31000n && chainId < 32000n);
}

/**
 * Deploys SGT, the mirror, the market and the auction idempotently, then brings roles and
 * parameters to the requested state (sending only what differs). Constructor arguments are fixed
 * defaults so changing a parameter later never redeploys a contract.
 *
 * @example
 * const tst = await deployBlockTst({ sender, deployments: Deployments.forNetwork(dir, "blocktst", 31003),
 *   blockpri: { chainId: 31001, ppc } });
 * const client = new BlockTstClient({ sender, addresses: tst });
 */
export async function deployBlockTst(params: DeployBlockTstParameters): Promise<DeployBlockTstReturnType> {
  const { sender, deployments } = params;
  const dir = params.artifactsDir ?? defaultArtifactsDir;
  for (const abi of BLOCKTST_ABIS) sender.addAbi(abi);
  const me = sender.address;
  const admin = getAddress(params.admin ?? me);
  const local = params.local ?? isLocalChainId(sender.chainId);
  const intervalSeconds = BigInt(params.intervalSeconds ?? BLOCKTST_DEFAULTS.intervalSeconds);
  const d = BLOCKTST_DEFAULTS;
  const p0 = d.priceParams;

  // Constructors take the deployer as admin (so it can configure), the admin is granted afterwards.
  const token = await deployContract({
    sender, deployments, artifact: readArtifact(dir, "SmartGridToken"), key: "SmartGridToken",
    args: [me, params.initialSupply ?? 0n, 0n],
  });
  const mirror = await deployContract({ sender, deployments, artifact: readArtifact(dir, "MarketMirror"), key: "MarketMirror", args: [me] });
  const market = await deployContract({
    sender, deployments, artifact: readArtifact(dir, "EnergyMarket"), key: "EnergyMarket",
    args: [me, token.address, mirror.address, intervalSeconds, [p0.base, p0.k, p0.discount, p0.discountResolution], BigInt(d.deliveryWindowSec)],
  });
  const auction = await deployContract({
    sender, deployments, artifact: readArtifact(dir, "EnergyAuction"), key: "EnergyAuction",
    args: [me, token.address, market.address, d.gridPrice, me, BigInt(d.maxOrdersPerSide), d.minOrderWh],
  });

  const sgt = SmartGridToken__factory.connect(token.address, sender.provider);
  const mir = MarketMirror__factory.connect(mirror.address, sender.provider);
  const mkt = EnergyMarket__factory.connect(market.address, sender.provider);
  const auc = EnergyAuction__factory.connect(auction.address, sender.provider);
  let configured = 0;
  const send = async (to: string, data: string, step: string): Promise<void> => {
    try {
      await sender.sendAndWait({ to, data });
      configured++;
    } catch (e) {
      throw new BlockTstDeployError(step, "configuration transaction failed", { cause: e });
    }
  };
  const ensureRole = async (c: { hasRole(role: string, a: string): Promise<boolean> }, to: string, role: string, account: string, iface: typeof tokenIface | typeof marketIface | typeof mirrorIface | typeof auctionIface, step: string) => {
    if (!(await c.hasRole(role, account))) await send(to, iface.encodeFunctionData("grantRole", [role, account]), step);
  };

  // Token: faucet (local only by default) and minters.
  const faucetCap = params.faucetCap ?? (local ? d.localFaucetCap : 0n);
  if ((await sgt.faucetCap()) !== faucetCap) await send(token.address, tokenIface.encodeFunctionData("setFaucetCap", [faucetCap]), "SGT faucet cap");
  for (const m of params.minters ?? []) await ensureRole(sgt, token.address, ROLES.MINTER, getAddress(m), tokenIface, "SGT minter");

  // Mirror: the BlockPRI source and the trusted relayer.
  if (params.blockpri) {
    const [chainId, ppc] = await mir.source();
    if (chainId !== BigInt(params.blockpri.chainId) || ppc !== getAddress(params.blockpri.ppc)) {
      await send(mirror.address, mirrorIface.encodeFunctionData("setSource", [params.blockpri.chainId, params.blockpri.ppc]), "mirror source");
    }
  }
  await ensureRole(mir, mirror.address, ROLES.FEDERATION, getAddress(params.relayer ?? me), mirrorIface, "mirror relayer");

  // Market: auction, oracle, distributors, price rule, delivery window, outbox.
  await ensureRole(mkt, market.address, ROLES.AUCTION, auction.address, marketIface, "market auction role");
  await ensureRole(mkt, market.address, ROLES.ORACLE, getAddress(params.oracle ?? me), marketIface, "market oracle");
  for (const dist of params.distributors ?? []) await ensureRole(mkt, market.address, ROLES.DISTRIBUTOR, getAddress(dist), marketIface, "market distributor");
  for (const inst of params.installers ?? []) await ensureRole(mkt, market.address, ROLES.INSTALLER, getAddress(inst), marketIface, "market installer");
  const want = params.priceParams ?? p0;
  const have = await mkt.priceParams();
  if (have.base !== want.base || have.k !== want.k || have.discount !== want.discount || Number(have.discountResolution) !== want.discountResolution) {
    await send(market.address, marketIface.encodeFunctionData("setPriceParams", [want]), "price params");
  }
  const window = BigInt(params.deliveryWindowSec ?? d.deliveryWindowSec);
  if ((await mkt.deliveryWindow()) !== window) await send(market.address, marketIface.encodeFunctionData("setDeliveryWindow", [window]), "delivery window");
  if (params.outbox) {
    const o = params.outbox;
    const [addr, chainId, dest] = await Promise.all([mkt.outbox(), mkt.outboxDestChainId(), mkt.outboxDestContract()]);
    if (addr !== getAddress(o.address) || chainId !== BigInt(o.destChainId) || dest !== getAddress(o.destContract)) {
      await send(market.address, marketIface.encodeFunctionData("setOutbox", [o.address, o.destChainId, o.destContract]), "market outbox");
    }
  }

  // Auction: grid tariff and book limits.
  const gridPrice = params.gridPrice ?? d.gridPrice;
  const gridAccount = getAddress(params.gridAccount ?? admin);
  const [gp, ga] = await auc.gridTariff();
  if (gp !== gridPrice || ga !== gridAccount) await send(auction.address, auctionIface.encodeFunctionData("setGridTariff", [gridPrice, gridAccount]), "grid tariff");
  const maxOrders = BigInt(params.maxOrdersPerSide ?? d.maxOrdersPerSide);
  const minOrder = params.minOrderWh ?? d.minOrderWh;
  if ((await auc.maxOrdersPerSide()) !== maxOrders || (await auc.minOrderWh()) !== minOrder) {
    await send(auction.address, auctionIface.encodeFunctionData("setBookLimits", [maxOrders, minOrder]), "book limits");
  }

  // Hand the admin role over last, when the admin is another account than the deployer.
  if (admin !== getAddress(me)) {
    for (const [c, addr, iface] of [
      [sgt, token.address, tokenIface],
      [mir, mirror.address, mirrorIface],
      [mkt, market.address, marketIface],
      [auc, auction.address, auctionIface],
    ] as const) {
      await ensureRole(c, addr, ROLES.DEFAULT_ADMIN, admin, iface, "admin hand-over");
    }
  }

  return {
    token: getAddress(token.address),
    mirror: getAddress(mirror.address),
    market: getAddress(market.address),
    auction: getAddress(auction.address),
    deployed: { token: token.deployed, mirror: mirror.deployed, market: market.deployed, auction: auction.deployed },
    configured,
  };
}
