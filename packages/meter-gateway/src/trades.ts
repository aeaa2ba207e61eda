// A household's trade log, kept the way her readings are. Trades settle publicly on BlockTST under
// trading accounts that nothing on chain ties to her BlockPRI identity; the federation relays them
// to BlockSEC's TradeLog. Only her gateway knows which accounts are hers (she links them here, the
// account signing too), and where she lets this gateway's utility monitor her trades it seals each
// of her trades under her trade epoch key (resolution NONE) and anchors it in the MeterDataLedger
// as a TRADES record of her meter. A utility reads them after a logged TRADES grant, through the
// federation's key release, like readings; without her consent nothing is sealed, and the ledger
// would refuse it anyway.
import { getAddress, verifyMessage, type JsonRpcProvider } from "ethers";
import type { BlockSecClient, Trade } from "@sidegrid/blocksec";
import type { EpochKeys } from "./epochKeys";
import { InvalidArgumentError, NotFoundError, TradingAccountLinkError } from "./errors";
import { recordLeafFast } from "./packing";
import { CONTENT_TRADE, encodeSealedTrade, sealReadingPayloadV2 } from "./payload";
import type { CachedPolicy, MeterBinding } from "./policy";
import { Category, Resolution } from "./resolution";
import { keys, type GatewayStore, type OutboxRecord, type StoredKeyPublication, type TradingAccountLink } from "./store";

/**
 * Ledger sequences of trade records start here, far above any meter's reading sequences (32-bit):
 * sequence = base + 2·tradeId + side, so both sides of one trade fit one meter (two of her accounts).
 */
export const TRADE_SEQUENCE_BASE = 2 ** 40;
const CURSOR = "trades-cursor";

/**
 * What the trading account signs (EIP-191) to be linked: bound to the household, this gateway and
 * BlockSEC's chain, so the signature links nothing else.
 * @example
 * const signature = await accountWallet.signMessage(tradingAccountLinkMessage({ consumer, account, gateway, chainId }));
 */
export function tradingAccountLinkMessage(p: { consumer: string; account: string; gateway: string; chainId: number | bigint }): string {
  return [
    "Sidegrid: link this trading account to my household at this gateway",
    `consumer: ${getAddress(p.consumer)}`,
    `account: ${getAddress(p.account)}`,
    `gateway: ${getAddress(p.gateway)}`,
    `chainId: ${p.chainId.toString()}`,
  ].join("\n");
}

export interface TradeSealerOptions {
  sec: Pick<BlockSecClient, "relayedTrades"> & { provider: Pick<JsonRpcProvider, "getBlockNumber"> };
  store: GatewayStore;
  policy: Pick<CachedPolicy, "bindingOfMeter" | "tradesPermitted">;
  epochKeys: EpochKeys;
  /** The meters this gateway reads: their households are the ones whose trades it may seal. */
  meterIds: readonly number[];
  /** This gateway's account and BlockSEC's chain id (in the link message). */
  gateway: string;
  chainId: number | bigint;
  /** First block to read relayed trades from (the deployment block). */
  fromBlock?: number;
  pollMs?: number;
  onEnqueued?: (count: number) => void;
  onError?: (e: unknown) => void;
}

export interface TradeSealerStats {
  /** Trade sides sealed into a household's log. */
  sealed: number;
  /** Sides of a household here who does not permit trade monitoring: nothing sealed. */
  notPermitted: number;
  /** Sides with neither a linked account nor a household of this gateway. */
  notOurs: number;
  cursor: number;
  lastError: string | null;
}

interface Household {
  meterId: number;
  binding: MeterBinding;
}

/**
 * Seals the relayed trades of this gateway's households into their trade logs.
 * @example
 * const sealer = new TradeSealer({ sec, store, policy, epochKeys, meterIds, gateway, chainId });
 * sealer.start(); ... await sealer.stop();
 */
export class TradeSealer {
  readonly stats: TradeSealerStats = { sealed: 0, notPermitted: 0, notOurs: 0, cursor: -1, lastError: null };
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;
  private kicked = false;
  private lock: Promise<void> = Promise.resolve();
  /** Accounts linked since the last poll: their earlier trades are looked up once. */
  private readonly rescan = new Set<string>();

  constructor(private readonly o: TradeSealerOptions) {}

  start(): void {
    this.stopped = false;
    const tick = () => {
      if (this.stopped) return;
      this.running = this.poll().finally(() => {
        if (!this.stopped) this.timer = setTimeout(tick, this.o.pollMs ?? 1000);
      });
    };
    tick();
  }

  /** Polls soon (a new head arrived): once after the poll under way, however many heads came meanwhile. */
  kick(): void {
    if (this.stopped || this.kicked) return;
    this.kicked = true;
    void this.poll(() => (this.kicked = false));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
  }

  /** Links `account` to `consumer` (a household of this gateway) when the account signed the link message. */
  async link(consumer: string, account: string, signature: string): Promise<TradingAccountLink> {
    const c = getAddress(consumer);
    const a = getAddress(account);
    if (a === c) throw new InvalidArgumentError("account", a, "an account other than the household's own (her trades under her own address are hers already)");
    let signer: string;
    try {
      signer = verifyMessage(tradingAccountLinkMessage({ consumer: c, account: a, gateway: this.o.gateway, chainId: this.o.chainId }), signature);
    } catch {
      throw new InvalidArgumentError("signature", signature, "a 65-byte signature of the link message");
    }
    if (signer !== a) throw new TradingAccountLinkError("LINK_REFUSED", a, `the link is signed by ${signer}, not by the account`);
    if (!(await this.households()).has(c.toLowerCase())) throw new NotFoundError(`a meter of ${c} at this gateway`);
    const held = await this.o.store.tradingAccounts.get(a);
    if (held && getAddress(held.consumer) !== c) throw new TradingAccountLinkError("LINK_CONFLICT", a, "linked to another household");
    const link = { consumer: c, account: a, linkedAt: held?.linkedAt ?? Date.now() };
    await this.o.store.tradingAccounts.put(link);
    this.rescan.add(a);
    return link;
  }

  async unlink(consumer: string, account: string): Promise<boolean> {
    const held = await this.o.store.tradingAccounts.get(account);
    if (!held || getAddress(held.consumer) !== getAddress(consumer)) return false;
    await this.o.store.tradingAccounts.delete(held);
    return true;
  }

  accountsOf(consumer: string): Promise<TradingAccountLink[]> {
    return this.o.store.tradingAccounts.of(consumer);
  }

  /** One pass: relayed trades since the cursor (and the earlier trades of newly linked accounts). Passes never overlap. */
  poll(onStart?: () => void): Promise<void> {
    const run = this.lock.then(() => {
      onStart?.();
      return this.stopped ? undefined : this.pollOnce();
    });
    this.lock = run.catch(() => undefined);
    return run;
  }

  private async pollOnce(): Promise<void> {
    try {
      const stored = await this.o.store.getMeta<number>(CURSOR);
      const cursor = stored ?? (this.o.fromBlock ?? 0) - 1;
      this.stats.cursor = cursor;
      const head = await this.o.sec.provider.getBlockNumber();
      const trades: Trade[] = [];
      for (const account of [...this.rescan]) {
        this.rescan.delete(account);
        if (cursor >= 0) trades.push(...(await this.o.sec.relayedTrades({ party: account, fromBlock: this.o.fromBlock ?? 0, toBlock: cursor })));
      }
      if (head > cursor) trades.push(...(await this.o.sec.relayedTrades({ fromBlock: cursor + 1, toBlock: head })));
      if (trades.length === 0 && head <= cursor) return;
      await this.seal(trades, Math.max(head, cursor));
      this.stats.cursor = Math.max(head, cursor);
      this.stats.lastError = null;
    } catch (e) {
      this.stats.lastError = (e as Error).message?.split("\n")[0] ?? String(e);
      this.o.onError?.(e);
    }
  }

  private async households(): Promise<Map<string, Household>> {
    const out = new Map<string, Household>();
    for (const meterId of this.o.meterIds) {
      const binding = await this.o.policy.bindingOfMeter(meterId);
      if (binding) out.set(binding.consumer.toLowerCase(), { meterId, binding });
    }
    return out;
  }

  private async seal(trades: Trade[], cursor: number): Promise<void> {
    const homes = trades.length ? await this.households() : new Map<string, Household>();
    const records: OutboxRecord[] = [];
    const newKeys: StoredKeyPublication[] = [];
    try {
      for (const t of trades) {
        for (const [side, account, counterparty] of [
          ["BUYER", t.buyer, t.seller],
          ["SELLER", t.seller, t.buyer],
        ] as const) {
          const consumer = (await this.o.store.tradingAccounts.get(account))?.consumer ?? account;
          const home = homes.get(consumer.toLowerCase());
          if (!home) {
            this.stats.notOurs++;
            continue;
          }
          if (!(await this.o.policy.tradesPermitted(home.binding.consumer))) {
            this.stats.notPermitted++;
            continue;
          }
          const k = await this.o.epochKeys.keyFor(home.binding.consumer, home.binding.encryptionKey, Resolution.NONE, t.settledAt * 1000);
          if (k.created) newKeys.push(k.created);
          const sequence = TRADE_SEQUENCE_BASE + Number(t.tradeId) * 2 + (side === "BUYER" ? 0 : 1);
          const ctx = { meterId: home.meterId, sequence, resolution: Resolution.NONE };
          const plaintext = encodeSealedTrade({ side, kind: t.kind, tradeId: t.tradeId, settledAt: t.settledAt, account, counterparty, quantityWh: t.quantityWh, amount: t.amount, unitPrice: t.unitPrice });
          const payload = sealReadingPayloadV2(k.key, k.keyId, CONTENT_TRADE, plaintext, ctx);
          const r: OutboxRecord = {
            meterId: home.meterId,
            sequence,
            consumer: home.binding.consumer,
            periodStart: t.settledAt * 1000,
            periodEnd: t.settledAt * 1000,
            resolution: Resolution.NONE,
            category: Category.TRADES,
            payload: `0x${Buffer.from(payload).toString("hex")}`,
            firstSeq: sequence,
            lastSeq: sequence,
            readAt: Date.now(),
            enqueuedAt: Date.now(),
            queueKey: keys.queue(Date.now(), home.meterId, sequence),
            status: "pending",
          };
          r.leaf = recordLeafFast(r);
          records.push(r);
        }
      }
      const added = await this.o.store.commitTrades({ records, keys: newKeys, cursor, cursorName: CURSOR });
      this.stats.sealed += added;
      if (added) this.o.onEnqueued?.(added);
    } catch (e) {
      // Keys whose publication was not written must not seal anything else.
      this.o.epochKeys.discard(newKeys.map((k) => k.keyId));
      throw e;
    }
  }
}
