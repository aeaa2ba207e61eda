// Demand response at the meter: at each 15-minute report of a household's meter, her rules (held
// on BlockTST under her trading accounts, encoded by @sidegrid/dsm) are evaluated against the
// price and any demand-response event of the coming interval, and what they decide is sent to her
// appliances. The rules are hers; the gateway only runs them where her meter reports, and records
// each action it took so that she can see it (and nothing else can).
import fs from "node:fs";
import { Wallet } from "ethers";
import { DemandResponseClient } from "@sidegrid/blocktst";
import { TxSender, makeProvider } from "@sidegrid/chain";
import { decodeRule, evaluateRules, type Rule, type RuleAction } from "@sidegrid/dsm";
import type { GatewayConfig } from "./config";
import { recordDemandResponseAction, type DemandResponseAction } from "./demandResponseLog";
import { ApplianceControlError, InvalidArgumentError } from "./errors";
import type { GatewayStore } from "./store";

/** What the agent reads on BlockTST (DemandResponse contract). */
export interface DemandResponseSource {
  /** A household account's rules (bytes32 words) and their version. */
  rulesOf(account: string): Promise<{ rules: readonly string[]; version: bigint }>;
  /** The published price at Unix second t, in thousandths of the rules' price unit. */
  priceAt(t: number): Promise<{ known: boolean; priceMilli: number }>;
  /** The demand-response event active at Unix second t, if any. */
  eventAt(t: number): Promise<{ id: bigint } | undefined>;
}

/** Where commands go: the appliances behind a meter (the simulator's control API, or a home's EMS). */
export interface ApplianceControl {
  /** `atMs`: meter time the command takes effect (undefined: at once). */
  command(meterId: number, device: string, action: RuleAction | "auto", atMs: number | undefined): Promise<void>;
}

export type { DemandResponseAction } from "./demandResponseLog";

export interface DemandResponseAgentOptions {
  source: DemandResponseSource;
  control: ApplianceControl;
  /** The household's trading accounts (whose rules apply to her meter). */
  accountsOf(consumer: string): Promise<readonly string[]>;
  /** Where each action is recorded (the gateway's store). */
  record?(a: DemandResponseAction): Promise<void>;
  /** Rules are re-read at most this often per account (ms of real time; default 5,000). */
  rulesTtlMs?: number;
  /** The reporting interval (default 15 minutes). */
  intervalMs?: number;
}

/** The figures a bench or /metrics reports. */
export interface DemandResponseStats {
  reports: number;
  evaluations: number;
  actions: number;
  errors: number;
  lastError: string | null;
  /** Total time spent evaluating (ms), for throughput. */
  evalMs: number;
}

/**
 * Runs households' rules at their meters' reports.
 * @example
 * const agent = new DemandResponseAgent({ source, control, accountsOf });
 * await agent.onReport(7, consumer, clockMs); // the actions taken for the next interval
 */
export class DemandResponseAgent {
  readonly stats: DemandResponseStats = { reports: 0, evaluations: 0, actions: 0, errors: 0, lastError: null, evalMs: 0 };
  private readonly rules = new Map<string, { at: number; version: bigint; rules: Rule[] }>();
  private readonly prices = new Map<number, Promise<{ known: boolean; priceMilli: number }>>();
  private readonly events = new Map<number, Promise<{ id: bigint } | undefined>>();
  /** Per meter and device: the last action sent (so an unchanged decision is not sent again). */
  private readonly applied = new Map<number, Map<string, RuleAction | "auto">>();
  /** Per meter: the start of the last interval already decided (ms of meter time). */
  private readonly decidedThrough = new Map<number, number>();
  private readonly intervalMs: number;

  constructor(private readonly o: DemandResponseAgentOptions) {
    this.intervalMs = o.intervalMs ?? 900_000;
    if (!Number.isInteger(this.intervalMs) || this.intervalMs < 60_000) throw new InvalidArgumentError("intervalMs", this.intervalMs, "an integer ≥ 60,000 ms");
  }

  /**
   * A report of `meterId` whose interval ended at `clockMs` (meter time): her rules decide for the
   * interval that starts then. Returns the actions sent; a failure is counted and rethrown.
   */
  async onReport(meterId: number, consumer: string, clockMs: number): Promise<DemandResponseAction[]> {
    this.stats.reports++;
    const t0 = performance.now();
    try {
      const accounts = await this.o.accountsOf(consumer);
      const rules: Rule[] = [];
      let account = "";
      for (const a of accounts) {
        const r = await this.rulesOf(a);
        if (r.length > 0 && !account) account = a;
        rules.push(...r);
      }
      const devices = [...new Set(rules.map((r) => r.device))];
      const prior = this.applied.get(meterId) ?? new Map<string, RuleAction | "auto">();
      if (devices.length === 0 && prior.size === 0) return [];
      // A report ends an interval: decide now for the one that has begun (unless an earlier report
      // already did) and, ahead of time, for the next one, so that a command takes effect at the
      // interval's start rather than whenever the next report happens to be read.
      const current = Math.floor(clockMs / this.intervalMs) * this.intervalMs;
      const decidedThrough = this.decidedThrough.get(meterId) ?? -Infinity;
      const out: DemandResponseAction[] = [];
      for (const atMs of [current, current + this.intervalMs]) {
        if (atMs <= decidedThrough) continue;
        out.push(...(await this.decide(meterId, consumer, account, rules, devices, prior, atMs, atMs === current ? undefined : atMs)));
      }
      this.decidedThrough.set(meterId, current + this.intervalMs);
      this.applied.set(meterId, prior);
      this.stats.actions += out.length;
      return out;
    } catch (e) {
      this.stats.errors++;
      this.stats.lastError = (e as Error).message;
      throw e;
    } finally {
      this.stats.evalMs += performance.now() - t0;
    }
  }

  /** Her rules for the interval starting at `atMs`; commands take effect at `effectiveMs` (undefined: now). */
  private async decide(meterId: number, consumer: string, account: string, rules: Rule[], devices: string[], prior: Map<string, RuleAction | "auto">, atMs: number, effectiveMs: number | undefined): Promise<DemandResponseAction[]> {
    const t = Math.floor(atMs / 1000);
    const [price, event] = await Promise.all([this.cached(this.prices, t, () => this.o.source.priceAt(t)), this.cached(this.events, t, () => this.o.source.eventAt(t))]);
    this.stats.evaluations++;
    const minuteOfDay = Math.floor((atMs % 86_400_000) / 60_000);
    // Without a published price no price condition holds: only rules without one take part.
    const usable = price.known ? rules : rules.filter((r) => r.when.priceBelow === undefined && r.when.priceAbove === undefined);
    const decided = evaluateRules(dedupe(usable), { price: price.known ? price.priceMilli / 1000 : 0, minuteOfDay, drEventActive: event !== undefined, devices });
    const want = new Map<string, { action: RuleAction | "auto"; ruleId: number | null }>(decided.map((d) => [d.device, { action: d.action, ruleId: d.ruleId }]));
    // A device the agent steered whose rules no longer hold goes back to the household's own behaviour.
    for (const [device, last] of prior) if (!want.has(device) && last !== "auto") want.set(device, { action: "auto", ruleId: null });
    const out: DemandResponseAction[] = [];
    for (const [device, w] of want) {
      if (prior.get(device) === w.action) continue;
      await this.o.control.command(meterId, device, w.action, effectiveMs);
      prior.set(device, w.action);
      const a: DemandResponseAction = { atMs, meterId, consumer, account, device, action: w.action, ruleId: w.ruleId, price: price.known ? price.priceMilli / 1000 : null, drEventId: event ? event.id.toString() : null };
      out.push(a);
      await this.o.record?.(a);
    }
    return out;
  }

  private async rulesOf(account: string): Promise<Rule[]> {
    const key = account.toLowerCase();
    const c = this.rules.get(key);
    if (c && Date.now() - c.at < (this.o.rulesTtlMs ?? 5_000)) return c.rules;
    const r = await this.o.source.rulesOf(account);
    const rules = r.rules.map((w) => decodeRule(w));
    this.rules.set(key, { at: Date.now(), version: r.version, rules });
    return rules;
  }

  private cached<T>(m: Map<number, Promise<T>>, t: number, f: () => Promise<T>): Promise<T> {
    let p = m.get(t);
    if (!p) {
      p = f();
      m.set(t, p);
      p.catch(() => m.delete(t));
      // A few intervals' worth: a price or event published late for a slot is seen at the next one.
      if (m.size > 8) m.delete(m.keys().next().value as number);
    }
    return p;
  }
}

/** Two accounts may carry rules with the same id: later ones keep their order, ids made unique. */
function dedupe(rules: Rule[]): Rule[] {
  const seen = new Set<number>();
  return rules.map((r, i) => {
    if (!seen.has(r.id)) {
      seen.add(r.id);
      return r;
    }
    const id = 0x8000_0000 + i;
    seen.add(id);
    return { ...r, id };
  });
}

/**
 * Appliance control over the meter simulator's HTTP control API (POST /meters/{id}/appliances).
 * @example
 * const control = new SimulatorApplianceControl(sim.controlUrl, sim.controlToken);
 */
export class SimulatorApplianceControl implements ApplianceControl {
  constructor(
    private readonly url: string,
    private readonly token: string,
  ) {}

  async command(meterId: number, device: string, action: RuleAction | "auto", atMs: number | undefined): Promise<void> {
    const res = await fetch(`${this.url}/meters/${meterId}/appliances`, {
      method: "POST",
      headers: { authorization: `Bearer ${this.token}`, "content-type": "application/json" },
      // Without a time the command acts from the simulator's now: an interval that has begun may
      // already lie behind a current reading the gateway took (a fast clock), which it would refuse.
      body: JSON.stringify(atMs === undefined ? { device, action } : { device, action, atMs }),
    }).catch((cause: unknown) => {
      throw new ApplianceControlError(meterId, device, action, `the control API at ${this.url} cannot be reached`, { cause });
    });
    if (!res.ok) {
      const body = (await res.json().catch(() => ({}))) as { code?: string; error?: string };
      throw new ApplianceControlError(meterId, device, action, `${res.status} ${body.code ?? ""} ${body.error ?? res.statusText}`.replace(/ +/g, " ").trim());
    }
  }
}

/** The gateway's demand response: the agent, fed after every poll with the meter's latest report. */
export interface GatewayDemandResponse {
  readonly agent: DemandResponseAgent;
  /** After a poll of `meterId`: a new report (a later accepted record) runs the household's rules. */
  afterPoll(meterId: number): Promise<void>;
  stop(): void;
}

/**
 * Wires the agent from the gateway's `demandResponse` config: BlockTST's DemandResponse (read
 * only), the control API, the household's wallet and linked trading accounts, the action log.
 */
export async function startGatewayDemandResponse(p: {
  config: NonNullable<GatewayConfig["demandResponse"]>;
  store: GatewayStore;
  bindingOfMeter(meterId: number): Promise<{ consumer: string } | null>;
  lastReportMs(meterId: number): Promise<number | null>;
  log(line: string): void;
}): Promise<GatewayDemandResponse> {
  const provider = makeProvider(p.config.blocktst.rpcUrl, p.config.blocktst.chainId);
  // Reads only: a throwaway account.
  const reader = await TxSender.create(Wallet.createRandom().privateKey, provider, { network: "blocktst" });
  const dr = new DemandResponseClient({ sender: reader, address: p.config.blocktst.demandResponse });
  const token = fs.readFileSync(p.config.control.tokenFile, "utf8").trim();
  const agent = new DemandResponseAgent({
    source: {
      rulesOf: (a) => dr.rulesOf(a),
      priceAt: (t) => dr.priceAt(t),
      eventAt: async (t) => {
        const e = await dr.eventAt(t);
        return e ? { id: e.eventId } : undefined;
      },
    },
    control: new SimulatorApplianceControl(p.config.control.url, token),
    // Her wallet and the trading accounts she linked here: rules set under either apply to her meter.
    accountsOf: async (consumer) => [consumer, ...(await p.store.tradingAccounts.of(consumer)).map((l) => l.account)],
    record: (a) => recordDemandResponseAction(p.store, a),
    ...(p.config.rulesTtlMs !== undefined ? { rulesTtlMs: p.config.rulesTtlMs } : {}),
  });
  const reported = new Map<number, number>();
  return {
    agent,
    async afterPoll(meterId) {
      const at = await p.lastReportMs(meterId);
      if (at === null || (reported.get(meterId) ?? -1) >= at) return;
      reported.set(meterId, at);
      const b = await p.bindingOfMeter(meterId);
      if (!b) return;
      // A failed evaluation or command never fails the poll: it is counted and logged.
      await agent.onReport(meterId, b.consumer, at).catch((e: Error) => p.log(`demand response, meter ${meterId}: ${e.message}`));
    },
    stop: () => provider.destroy(),
  };
}
