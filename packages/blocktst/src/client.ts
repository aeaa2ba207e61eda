// The typed client of BlockTST (SGT, EnergyMarket, EnergyAuction, MarketMirror). Longer than 500
// lines on purpose: one class per chain's market, so every trading call is found in one place;
// the auction's clearing rule and the delivery signature are in auction.ts and delivery.ts.
import { Interface, MaxUint256, getAddress, type InterfaceAbi, type JsonRpcProvider } from "ethers";
import { revertData, type TxReceipt, type TxSender } from "@sidegrid/chain";
import type { AuctionOrderOutcome } from "./auction";
import { bidEscrow } from "./auction";
import { ROLES, Side, type TradeKind, type TradeStatus } from "./constants";
import { signDeliveryConfirmation } from "./delivery";
import { EventMissingError, InvalidArgumentError } from "./errors";
import {
  DemandResponse__factory,
  EnergyAuction__factory,
  EnergyMarket__factory,
  MarketMirror__factory,
  SmartGridToken__factory,
  type EnergyAuction,
  type EnergyMarket,
  type MarketMirror,
  type SmartGridToken,
} from "./generated";
import { decodeTradePayload, type Trade } from "./messages";
import type { PriceParams } from "./price";

/** Addresses of the four BlockTST contracts. */
export interface BlockTstAddresses {
  token: string;
  mirror: string;
  market: string;
  auction: string;
}

export interface BlockTstClientParameters {
  /** Signs and sends this client's transactions (its address is "me"). */
  sender: TxSender;
  addresses: BlockTstAddresses;
}

/** A seller's standing offer. */
export interface Offer {
  quantityWh: bigint;
  /** SGT per kWh; 0 follows the price rule. */
  unitPrice: bigint;
}

/** An escrowed bilateral trade as stored on chain. */
export interface EscrowTrade {
  tradeId: bigint;
  buyer: string;
  seller: string;
  kind: TradeKind;
  status: TradeStatus;
  quantityWh: bigint;
  deliveredWh: bigint;
  amount: bigint;
  unitPrice: bigint;
  deadline: bigint;
  meterSigner: string;
}

/** What a purchase costs now (EnergyMarket.quote). */
export interface Quote {
  unitPrice: bigint;
  amount: bigint;
  kind: TradeKind;
  discounted: boolean;
  rulePrice: bigint;
  interval: bigint;
  demand: bigint;
  generation: bigint;
}

export interface BuyEnergyOptions {
  /** Revert if the trade would cost more (buyEnergyWithLimit). */
  maxAmount?: bigint;
  /** Approve the market for exactly the quoted amount (or maxAmount) first. */
  approve?: boolean;
  /** The company's discount voucher for this account (buyEnergyWithVoucher). */
  voucher?: DiscountVoucher;
}

/** A company's signed discount voucher for one trading account (see signDiscountVoucher). */
export interface DiscountVoucher {
  /** Unix seconds. */
  expiresAt: bigint | number;
  signature: string;
}

/** A trading account's certificate on the market. */
export interface TradingAccountInfo {
  /** Zero address when the account has none (never registered, closed or revoked). */
  deliverySigner: string;
  expiresAt: number;
  installer: string;
}

export interface BuyEnergyReturnType {
  tradeId: bigint;
  kind: TradeKind;
  quantityWh: bigint;
  amount: bigint;
  unitPrice: bigint;
  deadline: bigint;
  receipt: TxReceipt;
}

export interface ConfirmDeliveryReturnType {
  tradeId: bigint;
  deliveredWh: bigint;
  paid: bigint;
  refunded: bigint;
  /** The settled trade as relayed (null when the meter confirmed zero delivery). */
  trade: Trade | null;
  /** Its relay payload, `SidegridMessages.encodeTrade(trade)`. */
  payload: string | null;
  receipt: TxReceipt;
}

export interface RefundReturnType {
  tradeId: bigint;
  amount: bigint;
  receipt: TxReceipt;
}

export interface PlaceOrderOptions {
  /** For a bid: approve the auction for its escrow (quantity at the hour's grid price) first. */
  approve?: boolean;
}

export interface PlaceOrderReturnType {
  hour: bigint;
  orderId: bigint;
  escrow: bigint;
  receipt: TxReceipt;
}

/** An order of an hour's book. */
export interface ListedOrder {
  hour: bigint;
  orderId: bigint;
  owner: string;
  side: "bid" | "offer";
  quantityWh: bigint;
  price: bigint;
  cancelled: boolean;
}

/** An hour's book summary and clearing result. */
export interface HourBook {
  gridPrice: bigint;
  bids: number;
  offers: number;
  cleared: boolean;
  crossed: boolean;
  clearingPrice: bigint;
  matchedWh: bigint;
}

export interface ClearHourReturnType {
  hour: bigint;
  price: bigint;
  matchedWh: bigint;
  gridWh: bigint;
  crossed: boolean;
  firstTradeId: bigint;
  /** Every trade logged by the clearing, in trade id order. */
  trades: Trade[];
  /** Settlement of each live order, in id order. */
  outcomes: AuctionOrderOutcome[];
  receipt: TxReceipt;
}

export interface SettledTradesParameters {
  fromBlock?: number;
  toBlock?: number | "latest";
}

const marketIface = EnergyMarket__factory.createInterface();
const auctionIface = EnergyAuction__factory.createInterface();
const tokenIface = SmartGridToken__factory.createInterface();
const mirrorIface = MarketMirror__factory.createInterface();

/** Every ABI whose custom errors a sender should decode for BlockTST calls. */
export const BLOCKTST_ABIS: readonly InterfaceAbi[] = [
  EnergyMarket__factory.abi as InterfaceAbi,
  EnergyAuction__factory.abi as InterfaceAbi,
  SmartGridToken__factory.abi as InterfaceAbi,
  MarketMirror__factory.abi as InterfaceAbi,
  DemandResponse__factory.abi as InterfaceAbi,
];

/**
 * Typed client for BlockTST: SGT, the bilateral market with escrow and meter-confirmed delivery,
 * the price rule's oracle, and the hourly double auction. Writes go through the given TxSender
 * (reverts arrive as ContractRevertError naming the custom error); reads through its provider.
 *
 * @example
 * const tst = new BlockTstClient({ sender, addresses });
 * await tst.faucet(100n * 10n ** 18n);
 * const { tradeId } = await tst.buyEnergy(seller, 50_000n, { approve: true });
 * const sig = tst.signDelivery(meterKey, tradeId, 50_000n); // normally done by the buyer's meter
 * await tst.confirmDelivery(tradeId, 50_000n, await sig);
 */
export class BlockTstClient {
  readonly sender: TxSender;
  readonly addresses: BlockTstAddresses;
  readonly token: SmartGridToken;
  readonly mirror: MarketMirror;
  readonly market: EnergyMarket;
  readonly auction: EnergyAuction;

  constructor(params: BlockTstClientParameters) {
    this.sender = params.sender;
    this.addresses = {
      token: getAddress(params.addresses.token),
      mirror: getAddress(params.addresses.mirror),
      market: getAddress(params.addresses.market),
      auction: getAddress(params.addresses.auction),
    };
    for (const abi of BLOCKTST_ABIS) this.sender.addAbi(abi);
    const provider = this.provider;
    this.token = SmartGridToken__factory.connect(this.addresses.token, provider);
    this.mirror = MarketMirror__factory.connect(this.addresses.mirror, provider);
    this.market = EnergyMarket__factory.connect(this.addresses.market, provider);
    this.auction = EnergyAuction__factory.connect(this.addresses.auction, provider);
  }

  /** The address this client sends from. */
  get address(): string {
    return this.sender.address;
  }

  get provider(): JsonRpcProvider {
    return this.sender.provider;
  }

  // ------------------------------------------------------------ token

  /** Draws `amount` SGT from the faucet (local chains; the admin sets the cap). */
  faucet(amount: bigint): Promise<TxReceipt> {
    return this.send(this.addresses.token, tokenIface.encodeFunctionData("faucet", [amount]));
  }

  /** Mints `amount` SGT to `to`; needs MINTER_ROLE (the peg, or a local admin that granted itself). */
  mint(to: string, amount: bigint): Promise<TxReceipt> {
    return this.send(this.addresses.token, tokenIface.encodeFunctionData("mint", [to, amount]));
  }

  /** Approves `spender` ("market", "auction" or an address) for `amount` SGT. */
  approve(spender: "market" | "auction" | string, amount: bigint): Promise<TxReceipt> {
    const to = spender === "market" ? this.addresses.market : spender === "auction" ? this.addresses.auction : spender;
    return this.send(this.addresses.token, tokenIface.encodeFunctionData("approve", [to, amount]));
  }

  /** Transfers `amount` SGT to `to`. */
  transfer(to: string, amount: bigint): Promise<TxReceipt> {
    return this.send(this.addresses.token, tokenIface.encodeFunctionData("transfer", [to, amount]));
  }

  /** SGT balance of `account` (default: this client). */
  balanceOf(account: string = this.address): Promise<bigint> {
    return this.token.balanceOf(account);
  }

  // ------------------------------------------------------------ bilateral market

  /** Publishes or replaces this account's offer (unitPrice 0 = the rule's price). */
  sellEnergy(quantityWh: bigint, unitPrice = 0n): Promise<TxReceipt> {
    return this.send(this.addresses.market, marketIface.encodeFunctionData("sellEnergy", [quantityWh, unitPrice]));
  }

  /** Withdraws this account's offer. */
  cancelOffer(): Promise<TxReceipt> {
    return this.send(this.addresses.market, marketIface.encodeFunctionData("cancelOffer"));
  }

  /** `seller`'s current offer. */
  async offerOf(seller: string): Promise<Offer> {
    const o = await this.market.offerOf(seller);
    return { quantityWh: o.quantityWh, unitPrice: o.unitPrice };
  }

  /** What buying `quantityWh` from `seller` costs `buyer` (default: this client) now. */
  async quote(seller: string, quantityWh: bigint, buyer: string = this.address, voucher?: DiscountVoucher): Promise<Quote> {
    let q;
    try {
      q = voucher
        ? await this.market.quoteWithVoucher(buyer, seller, quantityWh, BigInt(voucher.expiresAt), voucher.signature)
        : await this.market.quote(buyer, seller, quantityWh);
    } catch (e) {
      // An invalid voucher is a revert of the view: name the custom error as a transaction would.
      const data = revertData(e);
      if (data !== undefined) throw this.sender.decodeRevert(data);
      throw e;
    }
    return {
      unitPrice: q.unitPrice,
      amount: q.amount,
      kind: Number(q.kind) as TradeKind,
      discounted: q.discounted,
      rulePrice: q.rulePrice,
      interval: q.interval,
      demand: q.demand,
      generation: q.generation,
    };
  }

  /** Buys `quantityWh` from `seller`, escrowing the price; optionally approves exactly that first. */
  async buyEnergy(seller: string, quantityWh: bigint, options: BuyEnergyOptions = {}): Promise<BuyEnergyReturnType> {
    if (quantityWh <= 0n) throw new InvalidArgumentError("quantityWh", quantityWh, "must be positive");
    let limit = options.maxAmount;
    if (options.approve) {
      const amount = limit ?? (await this.quote(seller, quantityWh, this.address, options.voucher)).amount;
      await this.approve("market", amount);
      limit = amount;
    }
    const v = options.voucher;
    const data = v
      ? marketIface.encodeFunctionData("buyEnergyWithVoucher", [seller, quantityWh, limit ?? MaxUint256, BigInt(v.expiresAt), v.signature])
      : limit === undefined
        ? marketIface.encodeFunctionData("buyEnergy", [seller, quantityWh])
        : marketIface.encodeFunctionData("buyEnergyWithLimit", [seller, quantityWh, limit]);
    const receipt = await this.send(this.addresses.market, data);
    const ev = this.findEvent(receipt, marketIface, this.addresses.market, "EnergyBought");
    return {
      tradeId: ev.args.tradeId as bigint,
      kind: Number(ev.args.kind) as TradeKind,
      quantityWh: ev.args.quantityWh as bigint,
      amount: ev.args.amount as bigint,
      unitPrice: ev.args.unitPrice as bigint,
      deadline: ev.args.deadline as bigint,
      receipt,
    };
  }

  /**
   * Registers this client's account as a trading account whose deliveries `deliverySigner` (a
   * meter's delivery key) confirms, with an installer's certificate (signTradingAccountCertificate).
   */
  registerTradingAccount(p: { deliverySigner: string; expiresAt: bigint | number; signature: string }): Promise<TxReceipt> {
    return this.send(this.addresses.market, marketIface.encodeFunctionData("registerTradingAccount", [p.deliverySigner, BigInt(p.expiresAt), p.signature]));
  }

  /** Gives up this account's delivery key. */
  closeTradingAccount(): Promise<TxReceipt> {
    return this.send(this.addresses.market, marketIface.encodeFunctionData("closeTradingAccount"));
  }

  /** Removes an account's delivery key (REGULATOR_ROLE). */
  revokeTradingAccount(account: string): Promise<TxReceipt> {
    return this.send(this.addresses.market, marketIface.encodeFunctionData("revokeTradingAccount", [account]));
  }

  /** The account's certificate on the market. */
  async tradingAccountOf(account: string = this.address): Promise<TradingAccountInfo> {
    const a = await this.market.tradingAccountOf(account);
    return { deliverySigner: a.deliverySigner, expiresAt: Number(a.expiresAt), installer: a.installer };
  }

  /** Admits an installer, who certifies trading accounts' delivery keys (REGULATOR_ROLE). */
  grantInstaller(account: string): Promise<TxReceipt> {
    return this.send(this.addresses.market, marketIface.encodeFunctionData("grantRole", [ROLES.INSTALLER, account]));
  }

  /** Signs a delivery confirmation with a meter key for this client's market and chain. */
  async signDelivery(meterKey: string, tradeId: bigint, deliveredWh: bigint): Promise<string> {
    const { chainId } = await this.provider.getNetwork();
    return signDeliveryConfirmation({ meterKey, chainId, market: this.addresses.market, tradeId, deliveredWh });
  }

  /** Submits the buyer's meter's confirmation; pays the seller pro rata and refunds the rest. */
  async confirmDelivery(tradeId: bigint, deliveredWh: bigint, signature: string): Promise<ConfirmDeliveryReturnType> {
    const receipt = await this.send(this.addresses.market, marketIface.encodeFunctionData("confirmDelivery", [tradeId, deliveredWh, signature]));
    const ev = this.findEvent(receipt, marketIface, this.addresses.market, "DeliveryConfirmed");
    const relay = this.events(receipt, marketIface, this.addresses.market, "RelayPayload")[0];
    const payload = relay ? (relay.args.payload as string) : null;
    return {
      tradeId,
      deliveredWh: ev.args.deliveredWh as bigint,
      paid: ev.args.paid as bigint,
      refunded: ev.args.refunded as bigint,
      trade: payload ? decodeTradePayload(payload) : null,
      payload,
      receipt,
    };
  }

  /** Returns an unconfirmed trade's escrow to its buyer after the deadline (anyone may call). */
  async refund(tradeId: bigint): Promise<RefundReturnType> {
    const receipt = await this.send(this.addresses.market, marketIface.encodeFunctionData("refund", [tradeId]));
    const ev = this.findEvent(receipt, marketIface, this.addresses.market, "TradeRefunded");
    return { tradeId, amount: ev.args.amount as bigint, receipt };
  }

  /** The escrow record of `tradeId`. */
  async getTrade(tradeId: bigint): Promise<EscrowTrade> {
    const t = await this.market.tradeOf(tradeId);
    return {
      tradeId,
      buyer: t.buyer,
      seller: t.seller,
      kind: Number(t.kind) as TradeKind,
      status: Number(t.status) as TradeStatus,
      quantityWh: t.quantityWh,
      deliveredWh: t.deliveredWh,
      amount: t.amount,
      unitPrice: t.unitPrice,
      deadline: t.deadline,
      meterSigner: t.meterSigner,
    };
  }

  /** Every trade settled (bilateral and auction) in the block range, from the RelayPayload events. */
  async settledTrades(params: SettledTradesParameters = {}): Promise<Trade[]> {
    const logs = await this.provider.getLogs({
      address: this.addresses.market,
      topics: [marketIface.getEvent("RelayPayload").topicHash],
      fromBlock: params.fromBlock ?? 0,
      toBlock: params.toBlock ?? "latest",
    });
    return logs.map((l) => decodeTradePayload(marketIface.parseLog(l)!.args.payload as string));
  }

  // ------------------------------------------------------------ price rule and oracle

  /** Publishes demand and generation (Wh) for `interval` (default: the current one). ORACLE_ROLE. */
  async publishGridState(demand: bigint, generation: bigint, interval?: bigint): Promise<TxReceipt> {
    const i = interval ?? (await this.market.currentInterval());
    return this.send(this.addresses.market, marketIface.encodeFunctionData("publishGridState", [i, demand, generation]));
  }

  /** The demand/generation interval of the latest block. */
  currentInterval(): Promise<bigint> {
    return this.market.currentInterval();
  }

  /** The price rule's parameters. */
  async priceParams(): Promise<PriceParams> {
    const p = await this.market.priceParams();
    return { base: p.base, k: p.k, discount: p.discount, discountResolution: Number(p.discountResolution) as PriceParams["discountResolution"] };
  }

  /** Sets the price rule (admin / governance). */
  setPriceParams(params: PriceParams): Promise<TxReceipt> {
    return this.send(this.addresses.market, marketIface.encodeFunctionData("setPriceParams", [params]));
  }

  /** Grants DISTRIBUTOR on the market to a company (the regulator's call; makes its trades CC). */
  grantDistributor(account: string): Promise<TxReceipt> {
    return this.send(this.addresses.market, marketIface.encodeFunctionData("grantRole", [ROLES.DISTRIBUTOR, account]));
  }

  // ------------------------------------------------------------ mirror

  /** Delivers a BlockPRI payload to the mirror as the trusted relayer (FEDERATION_ROLE). */
  relayMessage(srcChainId: bigint | number, srcSender: string, payload: string): Promise<TxReceipt> {
    return this.send(this.addresses.mirror, mirrorIface.encodeFunctionData("onFederatedMessage", [srcChainId, srcSender, payload]));
  }

  /** The meter key that confirms `consumer`'s deliveries (zero address if not mirrored). */
  meterSignerOf(consumer: string): Promise<string> {
    return this.mirror.meterSignerOf(consumer);
  }

  // ------------------------------------------------------------ auction

  /** The auction hour of the latest block. */
  currentHour(): Promise<bigint> {
    return this.auction.currentHour();
  }

  /** Bids for `quantityWh` in `hour` at up to `price` per kWh; `approve` covers its escrow first. */
  async placeBid(hour: bigint, quantityWh: bigint, price: bigint, options: PlaceOrderOptions = {}): Promise<PlaceOrderReturnType> {
    if (options.approve) {
      const book = await this.auction.hourOf(hour);
      const gridPrice = book.gridPrice !== 0n ? book.gridPrice : (await this.auction.gridTariff()).gridPrice;
      await this.approve("auction", bidEscrow(gridPrice, quantityWh));
    }
    return this.place("placeBid", hour, quantityWh, price);
  }

  /** Offers `quantityWh` in `hour` for at least `price` per kWh. */
  placeOffer(hour: bigint, quantityWh: bigint, price: bigint): Promise<PlaceOrderReturnType> {
    return this.place("placeOffer", hour, quantityWh, price);
  }

  /** Cancels this account's order before its hour starts (a bid's escrow comes back). */
  cancelOrder(hour: bigint, orderId: bigint): Promise<TxReceipt> {
    return this.send(this.addresses.auction, auctionIface.encodeFunctionData("cancelOrder", [hour, orderId]));
  }

  /** The orders of `hour`, optionally only `owner`'s. */
  async listOrders(hour: bigint, owner?: string): Promise<ListedOrder[]> {
    const orders = await this.auction.ordersOf(hour);
    const want = owner ? getAddress(owner) : undefined;
    return orders
      .map((o, i) => ({
        hour,
        orderId: BigInt(i),
        owner: o.owner,
        side: Number(o.side) === Side.BID ? ("bid" as const) : ("offer" as const),
        quantityWh: o.quantityWh,
        price: o.price,
        cancelled: o.cancelled,
      }))
      .filter((o) => want === undefined || o.owner === want);
  }

  /** The book summary and clearing result of `hour`. */
  async hourOf(hour: bigint): Promise<HourBook> {
    const h = await this.auction.hourOf(hour);
    return {
      gridPrice: h.gridPrice,
      bids: Number(h.bids),
      offers: Number(h.offers),
      cleared: h.cleared,
      crossed: h.crossed,
      clearingPrice: h.clearingPrice,
      matchedWh: h.matchedWh,
    };
  }

  /** Clears `hour` (anyone, once it started) and reports the price, the trades and each order's settlement. */
  async clearHour(hour: bigint): Promise<ClearHourReturnType> {
    const receipt = await this.send(this.addresses.auction, auctionIface.encodeFunctionData("clear", [hour]));
    const ev = this.findEvent(receipt, auctionIface, this.addresses.auction, "HourCleared");
    const trades = this.events(receipt, marketIface, this.addresses.market, "RelayPayload").map((e) => decodeTradePayload(e.args.payload as string));
    const outcomes = this.events(receipt, auctionIface, this.addresses.auction, "OrderFilled").map(
      (e): AuctionOrderOutcome => ({
        orderId: Number(e.args.orderId),
        owner: e.args.owner as string,
        side: Number(e.args.side) === Side.BID ? "bid" : "offer",
        filledWh: e.args.filledWh as bigint,
        value: e.args.value as bigint,
        gridWh: e.args.gridWh as bigint,
        gridAmount: e.args.gridAmount as bigint,
        refund: e.args.refund as bigint,
      }),
    );
    return {
      hour,
      price: ev.args.price as bigint,
      matchedWh: ev.args.matchedWh as bigint,
      gridWh: ev.args.gridWh as bigint,
      crossed: ev.args.crossed as boolean,
      firstTradeId: ev.args.firstTradeId as bigint,
      trades,
      outcomes,
      receipt,
    };
  }

  // ------------------------------------------------------------ plumbing

  private async place(fn: "placeBid" | "placeOffer", hour: bigint, quantityWh: bigint, price: bigint): Promise<PlaceOrderReturnType> {
    const data =
      fn === "placeBid"
        ? auctionIface.encodeFunctionData("placeBid", [hour, quantityWh, price])
        : auctionIface.encodeFunctionData("placeOffer", [hour, quantityWh, price]);
    const receipt = await this.send(this.addresses.auction, data);
    const ev = this.findEvent(receipt, auctionIface, this.addresses.auction, "OrderPlaced");
    return { hour, orderId: ev.args.orderId as bigint, escrow: ev.args.escrow as bigint, receipt };
  }

  private send(to: string, data: string): Promise<TxReceipt> {
    return this.sender.sendAndWait({ to, data });
  }

  private events(receipt: TxReceipt, iface: Interface, address: string, name: string) {
    const topic = iface.getEvent(name)!.topicHash;
    return receipt.logs
      .filter((l) => getAddress(l.address) === address && l.topics[0] === topic)
      .map((l) => iface.parseLog(l)!);
  }

  private findEvent(receipt: TxReceipt, iface: Interface, address: string, name: string) {
    const ev = this.events(receipt, iface, address, name)[0];
    if (!ev) throw new EventMissingError(name, receipt.transactionHash);
    return ev;
  }
}
