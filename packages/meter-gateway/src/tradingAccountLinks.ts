// Trading accounts a household linked to herself at this gateway, in the gateway's LevelDB (known
// here only, never on chain): ta!<account> → the link, tc!<consumer>!<account> → 1.
import type { Level } from "level";

const accountKey = (account: string) => `ta!${account.toLowerCase()}`;
const consumerKey = (consumer: string, account: string) => `tc!${consumer.toLowerCase()}!${account.toLowerCase()}`;

/** A trading account a household linked to herself at this gateway (known here only, never on chain). */
export interface TradingAccountLink {
  consumer: string;
  account: string;
  linkedAt: number;
}

export class TradingAccountLinks {
  constructor(private readonly db: Level<string, unknown>) {}

  async put(link: TradingAccountLink): Promise<void> {
    await this.db.batch([
      { type: "put", key: accountKey(link.account), value: link },
      { type: "put", key: consumerKey(link.consumer, link.account), value: 1 },
    ] as never);
  }

  async delete(link: Pick<TradingAccountLink, "consumer" | "account">): Promise<void> {
    await this.db.batch([
      { type: "del", key: accountKey(link.account) },
      { type: "del", key: consumerKey(link.consumer, link.account) },
    ] as never);
  }

  async get(account: string): Promise<TradingAccountLink | undefined> {
    return (await this.db.get(accountKey(account))) as TradingAccountLink | undefined;
  }

  async of(consumer: string): Promise<TradingAccountLink[]> {
    const prefix = `tc!${consumer.toLowerCase()}!`;
    const ids: string[] = [];
    for await (const k of this.db.keys({ gte: prefix, lt: `${prefix}~` })) ids.push(accountKey(k.slice(prefix.length)));
    if (ids.length === 0) return [];
    return ((await this.db.getMany(ids)) as (TradingAccountLink | undefined)[]).filter((x): x is TradingAccountLink => !!x);
  }
}
