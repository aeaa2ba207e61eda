// The DemandResponse contract's typed client and deployment: day-ahead prices, demand-response
// events, household rules (the dsm package's bytes32 encoding), day-ahead settlement and efficiency
// rewards paid in SGT from a pool. Inputs are checked here before anything is sent.
import { concat, getAddress, hexlify, isHexString, type InterfaceAbi, type JsonRpcProvider } from "ethers";
import { deployContract, getLogs, readArtifact, revertData, type RawLog, type TxReceipt, type TxSender } from "@sidegrid/chain";
import { decodeRule, encodeRule, type Rule } from "@sidegrid/dsm";
import { artifactsDir as defaultArtifactsDir } from "./artifacts";
import { ROLES } from "./constants";
import { BlockTstDeployError, EventMissingError, InvalidArgumentError } from "./errors";
import { DemandResponse__factory, SmartGridToken__factory, type DemandResponse } from "./generated";
import { DEMAND_RESPONSE_LIMITS } from "./demandResponseTypes";
import type { DemandResponseRole, DemandResponseClientParameters, PublishPricesParameters, PricePublication, PublishPricesReturnType, LogLocation, PricePublicationLog, PriceAtReturnType, AnnounceEventParameters, DemandResponseEvent, AnnounceEventReturnType, DemandResponseEventLog, LogRangeParameters, RuleInput, SetRulesReturnType, HouseholdRules, SettleDayAheadParameters, SettleDayAheadReturnType, DaySettlement, PayEfficiencyRewardsParameters, EfficiencyReward, PayEfficiencyRewardsReturnType, EfficiencyRewardOfReturnType, RewardLog, RewardsParameters, FundOptions, DeployDemandResponseParameters, DeployDemandResponseReturnType, Seconds } from "./demandResponseTypes";

export { DEMAND_RESPONSE_LIMITS } from "./demandResponseTypes";
export type { DemandResponseRole, DemandResponseClientParameters, PublishPricesParameters, PricePublication, PublishPricesReturnType, LogLocation, PricePublicationLog, PriceAtReturnType, AnnounceEventParameters, DemandResponseEvent, AnnounceEventReturnType, DemandResponseEventLog, LogRangeParameters, RuleInput, SetRulesReturnType, HouseholdRules, SettleDayAheadParameters, SettleDayAheadReturnType, DaySettlement, PayEfficiencyRewardsParameters, EfficiencyReward, PayEfficiencyRewardsReturnType, EfficiencyRewardOfReturnType, RewardLog, RewardsParameters, FundOptions, DeployDemandResponseParameters, DeployDemandResponseReturnType, HouseholdAmount, HouseholdSavings } from "./demandResponseTypes";

const iface = DemandResponse__factory.createInterface();
type EventName = Parameters<typeof iface.getEvent>[0];
const tokenIface = SmartGridToken__factory.createInterface();
const UINT32_MAX = 2 ** 32 - 1;
const UINT64_MAX = 2n ** 64n - 1n;
const ZERO_WORD = `0x${"0".repeat(64)}`;

/**
 * Deploys DemandResponse for `token` and grants the price oracle, operator and rewarder roles
 * (to the deployer by default), then the admin role to `admin` when given. Idempotent with
 * `deployments` (constructor arguments are fixed: the deployer and the token).
 *
 * @example
 * const { address } = await deployDemandResponse({ sender, token: tst.token, operator: utility });
 * const dr = new DemandResponseClient({ sender, address });
 */
export async function deployDemandResponse(params: DeployDemandResponseParameters): Promise<DeployDemandResponseReturnType> {
  const { sender } = params;
  sender.addAbi(DemandResponse__factory.abi as InterfaceAbi);
  const me = getAddress(sender.address);
  const token = checkAddress("token", params.token);
  const lag = params.clockLagSeconds ?? 0;
  if (!Number.isInteger(lag) || lag < 0 || lag > 7 * 86_400) throw new InvalidArgumentError("clockLagSeconds", lag, "an integer from 0 to 604800 (7 days)");
  const artifact = readArtifact(params.artifactsDir ?? defaultArtifactsDir, "DemandResponse");
  let address: string;
  let deployed = true;
  if (params.deployments) {
    const r = await deployContract({ sender, deployments: params.deployments, artifact, key: "DemandResponse", args: [me, token, BigInt(lag)] });
    address = getAddress(r.address);
    deployed = r.deployed;
  } else {
    const receipt = await sender.sendAndWait({ data: concat([artifact.bytecode, iface.encodeDeploy([me, token, BigInt(lag)])]) });
    if (!receipt.contractAddress) throw new BlockTstDeployError("DemandResponse", "the deployment produced no contract address");
    address = getAddress(receipt.contractAddress);
  }
  const contract = DemandResponse__factory.connect(address, sender.provider);
  let configured = 0;
  const grants: [string, string, string][] = [
    [ROLES.PRICE_ORACLE, params.priceOracle ?? me, "price oracle"],
    [ROLES.DR_OPERATOR, params.operator ?? me, "operator"],
    [ROLES.REWARDER, params.rewarder ?? me, "rewarder"],
  ];
  if (params.admin !== undefined) grants.push([ROLES.DEFAULT_ADMIN, params.admin, "admin hand-over"]);
  for (const [role, account, step] of grants) {
    const who = checkAddress(step, account);
    if (await contract.hasRole(role, who)) continue;
    try {
      await sender.sendAndWait({ to: address, data: iface.encodeFunctionData("grantRole", [role, who]) });
      configured++;
    } catch (e) {
      throw new BlockTstDeployError(step, "role grant failed", { cause: e });
    }
  }
  return { address, token, deployed, configured };
}

/**
 * Typed client for DemandResponse. Writes go through the given TxSender (reverts arrive as
 * ContractRevertError naming the custom error, e.g. DRPoolShort); reads through its provider. Bad
 * input throws InvalidArgumentError before anything is sent.
 *
 * @example
 * const dr = new DemandResponseClient({ sender, address });
 * await dr.publishPrices({ firstSlotStart: dayStart, slotSeconds: 900, pricesMilli });
 * const { eventId } = await dr.announceEvent({ start, end, reduceWatts: 1500, rewardPerKwhWei: ONE / 2n });
 * await dr.setRules([{ id: 1, device: "washer", when: { drEvent: true }, action: "off" }]);
 */
export class DemandResponseClient {
  readonly sender: TxSender;
  readonly contractAddress: string;
  readonly contract: DemandResponse;
  private token: string | undefined;

  constructor(params: DemandResponseClientParameters) {
    this.sender = params.sender;
    this.contractAddress = getAddress(params.address);
    this.token = params.token === undefined ? undefined : getAddress(params.token);
    this.sender.addAbi(DemandResponse__factory.abi as InterfaceAbi);
    this.contract = DemandResponse__factory.connect(this.contractAddress, this.provider);
  }

  /** The address this client sends from. */
  get address(): string {
    return this.sender.address;
  }

  get provider(): JsonRpcProvider {
    return this.sender.provider;
  }

  // ------------------------------------------------------------ roles

  /** Grants a DemandResponse role (DEFAULT_ADMIN_ROLE holders only). */
  async grantRole(role: DemandResponseRole, account: string): Promise<TxReceipt> {
    return this.send(iface.encodeFunctionData("grantRole", [ROLES[role], checkAddress("account", account)]));
  }

  /** Whether `account` holds `role`. */
  async hasRole(role: DemandResponseRole, account: string): Promise<boolean> {
    return this.contract.hasRole(ROLES[role], checkAddress("account", account));
  }

  // ------------------------------------------------------------ prices

  /** Publishes a day-ahead schedule (PRICE_ORACLE_ROLE); later publications override it where they overlap. */
  async publishPrices(p: PublishPricesParameters): Promise<PublishPricesReturnType> {
    const L = DEMAND_RESPONSE_LIMITS;
    const first = uint64("firstSlotStart", p.firstSlotStart);
    if (!Number.isInteger(p.slotSeconds) || p.slotSeconds < L.minSlotSeconds || p.slotSeconds > L.maxSlotSeconds) {
      throw new InvalidArgumentError("slotSeconds", p.slotSeconds, `an integer in ${L.minSlotSeconds}..${L.maxSlotSeconds}`);
    }
    const n = p.pricesMilli.length;
    if (n === 0 || n > L.maxSlots) throw new InvalidArgumentError("pricesMilli.length", n, `1..${L.maxSlots}`);
    p.pricesMilli.forEach((v, i) => {
      if (!Number.isInteger(v) || v < -(2 ** 31) || v > 2 ** 31 - 1) throw new InvalidArgumentError(`pricesMilli[${i}]`, v, "an int32 (thousandths of a cent per kWh)");
    });
    if (first + BigInt(n * p.slotSeconds) > UINT64_MAX) throw new InvalidArgumentError("firstSlotStart", first, "the schedule must end before 2^64");
    const receipt = await this.send(iface.encodeFunctionData("publishPrices", [first, p.slotSeconds, [...p.pricesMilli]]));
    return { ...decodePublication(this.findLog(receipt, "PricesPublished")), receipt };
  }

  /** The price at `t` (unix seconds) from the latest publication covering it. */
  async priceAt(t: Seconds): Promise<PriceAtReturnType> {
    const [known, price] = await this.read(() => this.contract.priceAt(uint64("t", t)));
    return { known, priceMilli: Number(price) };
  }

  /** Publication `version` as stored (null for an unknown version). */
  async publicationOf(version: bigint): Promise<PricePublication | null> {
    const [first, slotSeconds, prices] = await this.read(() => this.contract.publicationOf(uint64("version", version)));
    if (prices.length === 0) return null;
    return { version, firstSlotStart: first, slotSeconds: Number(slotSeconds), pricesMilli: prices.map(Number) };
  }

  /** Number of publications so far (the latest version; 0 = none). */
  priceVersion(): Promise<bigint> {
    return this.read(() => this.contract.priceVersion());
  }

  /** Every publication in the block range, from the PricesPublished logs, oldest first. */
  async prices(params: LogRangeParameters = {}): Promise<PricePublicationLog[]> {
    const logs = await this.logs("PricesPublished", params);
    return logs.map((l) => ({ ...decodePublication(l), ...where(l) }));
  }

  // ------------------------------------------------------------ demand-response events

  /** Announces an event over [start, end) (DR_OPERATOR_ROLE). */
  async announceEvent(p: AnnounceEventParameters): Promise<AnnounceEventReturnType> {
    const start = uint64("start", p.start);
    const end = uint64("end", p.end);
    if (start >= end) throw new InvalidArgumentError("end", end, `must be after start ${start}`);
    if (end - start > BigInt(DEMAND_RESPONSE_LIMITS.maxEventSeconds)) {
      throw new InvalidArgumentError("end", end, `at most ${DEMAND_RESPONSE_LIMITS.maxEventSeconds} s after start ${start}`);
    }
    if (!Number.isInteger(p.reduceWatts) || p.reduceWatts <= 0 || p.reduceWatts > UINT32_MAX) {
      throw new InvalidArgumentError("reduceWatts", p.reduceWatts, "a positive uint32");
    }
    if (p.rewardPerKwhWei < 0n || p.rewardPerKwhWei >= 2n ** 256n) throw new InvalidArgumentError("rewardPerKwhWei", p.rewardPerKwhWei, "a uint256");
    const receipt = await this.send(iface.encodeFunctionData("announceEvent", [start, end, p.reduceWatts, p.rewardPerKwhWei]));
    const event = decodeAnnouncement(this.findLog(receipt, "DemandResponseAnnounced"));
    return { eventId: event.eventId, event, receipt };
  }

  /** Calls off an event before it starts (DR_OPERATOR_ROLE). */
  async cancelEvent(eventId: bigint): Promise<TxReceipt> {
    return this.send(iface.encodeFunctionData("cancelEvent", [positiveId("eventId", eventId)]));
  }

  /** The live event active at `t` (unix seconds), or null. */
  async eventAt(t: Seconds): Promise<DemandResponseEvent | null> {
    const [eventId, e] = await this.read(() => this.contract.eventAt(uint64("t", t)));
    return eventId === 0n ? null : toEvent(eventId, e);
  }

  /** Event `eventId` (reverts with DRUnknownEvent for an unknown id). */
  async eventOf(eventId: bigint): Promise<DemandResponseEvent> {
    const e = await this.read(() => this.contract.eventOf(uint64("eventId", eventId)));
    return toEvent(eventId, e);
  }

  /** Number of events announced so far (the latest id). */
  eventCount(): Promise<bigint> {
    return this.read(() => this.contract.eventCount());
  }

  /** Events announced in the block range, oldest first; `cancelled` when the range holds the cancellation. */
  async events(params: LogRangeParameters = {}): Promise<DemandResponseEventLog[]> {
    const [announced, cancelled] = await Promise.all([this.logs("DemandResponseAnnounced", params), this.logs("DemandResponseCancelled", params)]);
    const off = new Set(cancelled.map((l) => BigInt(l.topics[1]!)));
    return announced.map((l) => {
      const e = decodeAnnouncement(l);
      return { ...e, cancelled: off.has(e.eventId), ...where(l) };
    });
  }

  // ------------------------------------------------------------ rules

  /** Replaces this account's rule list: dsm Rules are encoded with encodeRule, words are checked. */
  async setRules(rules: readonly RuleInput[]): Promise<SetRulesReturnType> {
    if (rules.length > DEMAND_RESPONSE_LIMITS.maxRules) throw new InvalidArgumentError("rules.length", rules.length, `at most ${DEMAND_RESPONSE_LIMITS.maxRules}`);
    const words = rules.map((r, i) => ruleWord(r, i));
    const receipt = await this.send(iface.encodeFunctionData("setRules", [words]));
    const ev = iface.parseLog(this.findLog(receipt, "RulesSet"))!;
    return { version: ev.args.version as bigint, rules: [...(ev.args.rules as string[])], receipt };
  }

  /** `household`'s rules (default: this account), raw and decoded. */
  async rulesOf(household: string = this.address): Promise<HouseholdRules> {
    const who = checkAddress("household", household);
    const [words, version] = await this.read(() => this.contract.rulesOf(who));
    return { household: who, version, rules: [...words], decoded: words.map(tryDecodeRule) };
  }

  // ------------------------------------------------------------ day-ahead settlement

  /** Records the day's schedule root and PAR and pays each household (REWARDER_ROLE). */
  async settleDayAhead(p: SettleDayAheadParameters): Promise<SettleDayAheadReturnType> {
    const dayStart = uint64("dayStart", p.dayStart);
    const root = nonZeroWord("scheduleRoot", p.scheduleRoot);
    const before = uint32("parBeforeMilli", p.parBeforeMilli);
    const after = uint32("parAfterMilli", p.parAfterMilli);
    checkBatch("rewards", p.rewards.length, DEMAND_RESPONSE_LIMITS.maxDayAheadHouseholds);
    const seen = new Set<string>();
    const rows = p.rewards.map((r, i) => {
      const household = checkAddress(`rewards[${i}].household`, r.household);
      if (seen.has(household)) throw new InvalidArgumentError(`rewards[${i}].household`, household, "appears twice");
      seen.add(household);
      if (r.amount <= 0n || r.amount >= 2n ** 256n) throw new InvalidArgumentError(`rewards[${i}].amount`, r.amount, "a positive uint256 (leave the household out instead)");
      return { household, amount: r.amount };
    });
    rows.sort((a, b) => (BigInt(a.household) < BigInt(b.household) ? -1 : 1));
    const data = iface.encodeFunctionData("settleDayAhead", [dayStart, root, before, after, rows.map((r) => r.household), rows.map((r) => r.amount)]);
    const receipt = await this.send(data);
    const settled = iface.parseLog(this.findLog(receipt, "DayAheadSettled"))!;
    const paid = this.receiptLogs(receipt, "DayAheadRewarded").map((l) => {
      const ev = iface.parseLog(l)!;
      return { household: ev.args.household as string, amount: ev.args.amount as bigint };
    });
    return { dayStart, total: settled.args.total as bigint, paid, receipt };
  }

  /** What the settlement of `dayStart` recorded, or null when it is not settled. */
  async daySettlementOf(dayStart: Seconds): Promise<DaySettlement | null> {
    const day = uint64("dayStart", dayStart);
    const s = await this.read(() => this.contract.daySettlementOf(day));
    if (s.scheduleRoot === ZERO_WORD) return null;
    return {
      dayStart: day,
      scheduleRoot: s.scheduleRoot,
      total: s.total,
      parBeforeMilli: Number(s.parBeforeMilli),
      parAfterMilli: Number(s.parAfterMilli),
      households: Number(s.households),
    };
  }

  // ------------------------------------------------------------ efficiency rewards

  /** Pays savedWh × rewardPerKwhWei / 1000 per household for an ended event (REWARDER_ROLE). */
  async payEfficiencyRewards(p: PayEfficiencyRewardsParameters): Promise<PayEfficiencyRewardsReturnType> {
    const eventId = positiveId("eventId", p.eventId);
    const root = nonZeroWord("evidenceRoot", p.evidenceRoot);
    checkBatch("savings", p.savings.length, DEMAND_RESPONSE_LIMITS.maxEfficiencyHouseholds);
    const seen = new Set<string>();
    const rows = p.savings.map((s, i) => {
      const household = checkAddress(`savings[${i}].household`, s.household);
      if (seen.has(household)) throw new InvalidArgumentError(`savings[${i}].household`, household, "appears twice (one payment per event and household)");
      seen.add(household);
      if (s.savedWh <= 0n || s.savedWh > UINT64_MAX) throw new InvalidArgumentError(`savings[${i}].savedWh`, s.savedWh, "a positive uint64 (leave the household out instead)");
      return { household, savedWh: s.savedWh };
    });
    const data = iface.encodeFunctionData("payEfficiencyRewards", [eventId, root, rows.map((r) => r.household), rows.map((r) => r.savedWh)]);
    const receipt = await this.send(data);
    const rewards = this.receiptLogs(receipt, "EfficiencyRewarded").map(decodeEfficiency);
    return { eventId, total: rewards.reduce((s, r) => s + r.amount, 0n), rewards, receipt };
  }

  /** Whether `household` was paid for `eventId`, for how many Wh and how much. */
  async efficiencyRewardOf(eventId: bigint, household: string = this.address): Promise<EfficiencyRewardOfReturnType> {
    const who = checkAddress("household", household);
    const [paid, savedWh, amount] = await this.read(() => this.contract.efficiencyRewardOf(uint64("eventId", eventId), who));
    return { paid, savedWh, amount };
  }

  /** Day-ahead and efficiency rewards paid in the block range (optionally to one household), in log order. */
  async rewards(params: RewardsParameters = {}): Promise<RewardLog[]> {
    const who = params.household === undefined ? null : `0x${checkAddress("household", params.household).slice(2).toLowerCase().padStart(64, "0")}`;
    const [day, eff] = await Promise.all([this.logs("DayAheadRewarded", params, who), this.logs("EfficiencyRewarded", params, who)]);
    const out: { reward: RewardLog; log: RawLog }[] = [
      ...day.map((log) => {
        const ev = iface.parseLog(log)!;
        const reward: RewardLog = { kind: "dayAhead", dayStart: ev.args.dayStart as bigint, household: ev.args.household as string, amount: ev.args.amount as bigint, ...where(log) };
        return { reward, log };
      }),
      ...eff.map((log) => ({ reward: { kind: "efficiency" as const, ...decodeEfficiency(log), ...where(log) }, log })),
    ];
    out.sort((a, b) => a.log.blockNumber - b.log.blockNumber || a.log.index - b.log.index);
    return out.map((o) => o.reward);
  }

  // ------------------------------------------------------------ pool

  /** Adds `amount` SGT to the pool (anyone); `approve` approves exactly that first. */
  async fund(amount: bigint, options: FundOptions = {}): Promise<TxReceipt> {
    if (amount <= 0n || amount >= 2n ** 256n) throw new InvalidArgumentError("amount", amount, "a positive uint256");
    if (options.approve) {
      this.token ??= getAddress(await this.read(() => this.contract.token()));
      await this.sender.sendAndWait({ to: this.token, data: tokenIface.encodeFunctionData("approve", [this.contractAddress, amount]) });
    }
    return this.send(iface.encodeFunctionData("fund", [amount]));
  }

  /** SGT the pool holds. */
  pool(): Promise<bigint> {
    return this.read(() => this.contract.pool());
  }

  // ------------------------------------------------------------ plumbing

  private send(data: string): Promise<TxReceipt> {
    return this.sender.sendAndWait({ to: this.contractAddress, data });
  }

  /** A view call whose revert is decoded into the custom error, as a transaction's would be. */
  private async read<T>(f: () => Promise<T>): Promise<T> {
    try {
      return await f();
    } catch (e) {
      const data = revertData(e);
      if (data !== undefined) throw this.sender.decodeRevert(data);
      throw e;
    }
  }

  private receiptLogs(receipt: TxReceipt, name: EventName): TxReceipt["logs"] {
    const topic = iface.getEvent(name).topicHash;
    return receipt.logs.filter((l) => getAddress(l.address) === this.contractAddress && l.topics[0] === topic);
  }

  private findLog(receipt: TxReceipt, name: EventName): TxReceipt["logs"][number] {
    const l = this.receiptLogs(receipt, name)[0];
    if (!l) throw new EventMissingError(name, receipt.transactionHash);
    return l;
  }

  private logs(name: EventName, params: LogRangeParameters, topic2: string | null = null): Promise<RawLog[]> {
    const topics: (string | null)[] = [iface.getEvent(name).topicHash];
    if (topic2 !== null) topics.push(null, topic2);
    return getLogs(this.provider, { address: this.contractAddress, topics, fromBlock: params.fromBlock ?? 0, toBlock: params.toBlock ?? "latest" });
  }
}

// ------------------------------------------------------------ decoding

type Log = { topics: readonly string[]; data: string };

function where(l: RawLog): LogLocation {
  return { blockNumber: l.blockNumber, transactionHash: l.transactionHash };
}

function decodePublication(l: Log): PricePublication {
  const ev = iface.parseLog(l)!;
  return {
    version: ev.args.version as bigint,
    firstSlotStart: ev.args.firstSlotStart as bigint,
    slotSeconds: Number(ev.args.slotSeconds),
    pricesMilli: (ev.args.pricesMilli as bigint[]).map(Number),
  };
}

function decodeAnnouncement(l: Log): DemandResponseEvent {
  const ev = iface.parseLog(l)!;
  return {
    eventId: ev.args.eventId as bigint,
    start: ev.args.start as bigint,
    end: ev.args.end as bigint,
    reduceWatts: Number(ev.args.reduceWatts),
    rewardPerKwhWei: ev.args.rewardPerKwhWei as bigint,
    cancelled: false,
  };
}

function decodeEfficiency(l: Log): EfficiencyReward {
  const ev = iface.parseLog(l)!;
  return {
    eventId: ev.args.eventId as bigint,
    household: ev.args.household as string,
    savedWh: ev.args.savedWh as bigint,
    amount: ev.args.amount as bigint,
    evidenceRoot: ev.args.evidenceRoot as string,
  };
}

function toEvent(eventId: bigint, e: { start: bigint; end: bigint; reduceWatts: bigint; cancelled: boolean; rewardPerKwhWei: bigint }): DemandResponseEvent {
  return { eventId, start: e.start, end: e.end, reduceWatts: Number(e.reduceWatts), rewardPerKwhWei: e.rewardPerKwhWei, cancelled: e.cancelled };
}

function tryDecodeRule(word: string): Rule | null {
  try {
    return decodeRule(word);
  } catch {
    return null;
  }
}

// ------------------------------------------------------------ input checks

function checkAddress(argument: string, value: string): string {
  try {
    return getAddress(value);
  } catch (e) {
    throw new InvalidArgumentError(argument, value, "an address", { cause: e });
  }
}

function uint64(argument: string, value: Seconds): bigint {
  const v = typeof value === "number" && Number.isInteger(value) ? BigInt(value) : value;
  if (typeof v !== "bigint" || v < 0n || v > UINT64_MAX) throw new InvalidArgumentError(argument, value, "a uint64");
  return v;
}

function uint32(argument: string, value: number): number {
  if (!Number.isInteger(value) || value < 0 || value > UINT32_MAX) throw new InvalidArgumentError(argument, value, "a uint32");
  return value;
}

function positiveId(argument: string, value: bigint): bigint {
  const v = uint64(argument, value);
  if (v === 0n) throw new InvalidArgumentError(argument, value, "ids start at 1");
  return v;
}

function nonZeroWord(argument: string, value: string): string {
  if (!isHexString(value, 32)) throw new InvalidArgumentError(argument, value, "32 bytes of 0x-hex");
  if (BigInt(value) === 0n) throw new InvalidArgumentError(argument, value, "must not be zero");
  return value.toLowerCase();
}

function checkBatch(argument: string, n: number, max: number): void {
  if (n > max) throw new InvalidArgumentError(`${argument}.length`, n, `at most ${max} per call`);
}

function ruleWord(r: RuleInput, i: number): string {
  const argument = `rules[${i}]`;
  if (typeof r === "string") return nonZeroWord(argument, r);
  if (r instanceof Uint8Array) {
    if (r.length !== 32) throw new InvalidArgumentError(argument, hexlify(r), "32 bytes");
    return nonZeroWord(argument, hexlify(r));
  }
  try {
    return hexlify(encodeRule(r));
  } catch (e) {
    const reason = (e as { shortMessage?: string; message?: string }).shortMessage ?? (e as Error).message;
    throw new InvalidArgumentError(argument, `rule ${r.id}`, `not encodable: ${reason}`, { cause: e });
  }
}
