// The actions the demand-response agent took, kept in the gateway's LevelDB per household, so that
// she (and only she, through the signed API) can see what her rules did to her appliances.
//
// keys: dr!<consumer>!<atMs:13dec>!<meter:8hex>!<device>  →  DemandResponseAction
import type { GatewayStore } from "./store";
import type { RuleAction } from "@sidegrid/dsm";

/** One action the agent took. */
export interface DemandResponseAction {
  /** Meter time the action takes effect (ms): the start of the interval the rules were evaluated for. */
  atMs: number;
  meterId: number;
  consumer: string;
  account: string;
  device: string;
  action: RuleAction | "auto";
  /** The rule that decided it (null for "auto": no rule holds any more). */
  ruleId: number | null;
  /** The price the rules saw, in their unit (null when none was published). */
  price: number | null;
  drEventId: string | null;
}

const key = (a: DemandResponseAction) => `dr!${a.consumer.toLowerCase()}!${String(Math.max(0, Math.floor(a.atMs))).padStart(13, "0")}!${a.meterId.toString(16).padStart(8, "0")}!${a.device}`;

/** Records one action (the same meter, device and interval overwrite: the last decision stands). */
export function recordDemandResponseAction(store: GatewayStore, a: DemandResponseAction): Promise<void> {
  return store.db.put(key(a), a);
}

/** A household's actions, newest first. */
export async function demandResponseActions(store: GatewayStore, consumer: string, limit = 200): Promise<DemandResponseAction[]> {
  const prefix = `dr!${consumer.toLowerCase()}!`;
  const out: DemandResponseAction[] = [];
  for await (const v of store.db.values({ gte: prefix, lt: `${prefix}~`, reverse: true, limit })) out.push(v as DemandResponseAction);
  return out;
}
