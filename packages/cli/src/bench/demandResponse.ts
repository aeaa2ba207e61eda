// Demand response (issue #16): how fast households' rules are evaluated (@sidegrid/dsm alone, and
// through the gateway's DemandResponseAgent with its chain reads served from memory), the day-ahead
// DSM game on synthetic households with the grid's load before and after, and the gas of every
// DemandResponse operation on the bench's BlockTST, paid in the SGT of the bench's deployment.
import { Wallet, dataSlice, getAddress, id, parseEther } from "ethers";
import { TxSender, latestTimestamp, type TxReceipt } from "@sidegrid/chain";
import { BlockTstClient, DemandResponseClient, ONE, deployDemandResponse } from "@sidegrid/blocktst";
import {
  createPrng,
  bestResponseGame,
  decodeRule,
  encodeRule,
  evaluateRules,
  mohsenianRadPricing,
  syntheticHouseholds,
  type BestResponseGameReturnType,
  type Rule,
} from "@sidegrid/dsm";
import { DemandResponseAgent } from "@sidegrid/meter-gateway";
import { CliError } from "../errors";
import { round, spread } from "./stats";
import type { AgentThroughput, DayAheadRun, DemandResponseGasRow, DemandResponseSection, RoundSpread, RuleThroughput } from "./types";
import type { BenchWorld } from "./world";

/** The demand-response event the rules see on the simulated day: 18:00–19:00 wall clock. */
export const BENCH_DR_EVENT = { fromMinute: 18 * 60, toMinute: 19 * 60 } as const;
export const RULES_PER_HOUSEHOLD = 4;
/** Seeds the synthetic households (dsm) and the households' rules (here). */
export const DR_BENCH_SEED = 1;
/** Households paid per settlement transaction in the gas figures (the blocktst package's own gas table uses 100 as well). */
export const DR_GAS_HOUSEHOLDS = 100;
/** The clock lag `sidegrid up` gives DemandResponse on local chains; lets the bench pay an event that already ended without moving BlockTST's clock. */
const CLOCK_LAG_SECONDS = 3 * 86_400;
/** A UTC midnight: the in-memory day the agent's reports fall on. */
const AGENT_DAY_MS = Date.UTC(2026, 0, 5);

export interface DemandResponsePlan {
  /** Households whose rules are evaluated per round. */
  households: number;
  ruleRounds: number;
  /** Meters reporting through the agent per round, and rounds (consecutive 15-minute reports). */
  agentMeters: number;
  agentRounds: number;
  /** Household counts of the day-ahead runs; the first one is settled on chain. */
  dayAhead: readonly number[];
  dayAheadRounds: number;
}

/**
 * Four rules per household, the kinds the issue names: an appliance on below a price and off in a
 * DR event, and either an EV charging overnight below a price with the heat pump off when the
 * evening is dear, or a home battery charging when cheap and discharging when dear. Thresholds are
 * drawn per household (cents per kWh, two decimals) around the day-ahead prices of the DSM run.
 */
export function benchRules(households: number, seed = DR_BENCH_SEED): Rule[][] {
  const rnd = createPrng(seed).next; // the same households in every run
  const price = (lo: number, hi: number) => Math.round((lo + (hi - lo) * rnd()) * 100) / 100;
  const out: Rule[][] = [];
  for (let i = 0; i < households; i++) {
    const appliance = rnd() < 0.6 ? "washer" : "dishwasher";
    const rules: Rule[] = [
      { id: 1, device: appliance, when: { priceBelow: price(1.5, 3.5) }, action: "on" },
      { id: 2, device: appliance, when: { drEvent: true }, action: "off" },
    ];
    if (rnd() < 0.5) {
      rules.push(
        { id: 3, device: "ev", when: { priceBelow: price(2, 4), fromMinute: 22 * 60, toMinute: 7 * 60 }, action: "charge" },
        { id: 4, device: "heat_pump", when: { priceAbove: price(2.5, 4.5), fromMinute: 17 * 60, toMinute: 21 * 60 }, action: "off" },
      );
    } else {
      rules.push(
        { id: 3, device: "battery", when: { priceBelow: price(1.5, 3) }, action: "charge" },
        { id: 4, device: "battery", when: { priceAbove: price(3, 5) }, action: "discharge" },
      );
    }
    out.push(rules);
  }
  return out;
}

/** Each rule as the 0x-hex bytes32 a DemandResponse.rulesOf call returns. */
export function ruleWords(rules: readonly (readonly Rule[])[]): string[][] {
  return rules.map((list) => list.map((r) => `0x${Buffer.from(encodeRule(r)).toString("hex")}`));
}

/** What the rules see at a report for slot s of the day: its price, the wall-clock minute, the DR flag. */
export interface SlotContext {
  price: number;
  minuteOfDay: number;
  drEventActive: boolean;
}

export function slotContexts(pricesPerKwh: readonly number[], startMinute: number, slotMinutes: number): SlotContext[] {
  return pricesPerKwh.map((price, s) => {
    const minuteOfDay = (startMinute + s * slotMinutes) % 1440;
    return { price, minuteOfDay, drEventActive: minuteOfDay >= BENCH_DR_EVENT.fromMinute && minuteOfDay < BENCH_DR_EVENT.toMinute };
  });
}

const devicesOf = (rules: readonly Rule[]) => [...new Set(rules.map((r) => r.device))];

/** One round over every household (household i at slot i + round): evaluateRules on decoded rules. Returns the decisions. */
export function evaluateFleet(rules: readonly (readonly Rule[])[], devices: readonly (readonly string[])[], contexts: readonly SlotContext[], roundNo: number): number {
  let decisions = 0;
  for (let i = 0; i < rules.length; i++) {
    const c = contexts[(i + roundNo) % contexts.length]!;
    decisions += evaluateRules(rules[i]!, { price: c.price, minuteOfDay: c.minuteOfDay, drEventActive: c.drEventActive, devices: devices[i]! }).length;
  }
  return decisions;
}

/** The same round from the bytes32 words: every household's words decoded, then evaluated. */
export function decodeAndEvaluateFleet(words: readonly (readonly string[])[], contexts: readonly SlotContext[], roundNo: number): number {
  let decisions = 0;
  for (let i = 0; i < words.length; i++) {
    const rules = words[i]!.map((w) => decodeRule(w));
    const c = contexts[(i + roundNo) % contexts.length]!;
    decisions += evaluateRules(rules, { price: c.price, minuteOfDay: c.minuteOfDay, drEventActive: c.drEventActive, devices: devicesOf(rules) }).length;
  }
  return decisions;
}

/** Per-second rates of `n` operations from each round's milliseconds: min / median / max, rounded. */
export function ratesPerSecond(n: number, roundMs: readonly number[]): RoundSpread {
  return spread(roundMs.map((ms) => Math.round((n * 1000) / ms)));
}

/** Rule evaluation throughput on `households` × 4 rules against the day's prices. */
export function measureRuleThroughput(p: { households: number; rounds: number; contexts: readonly SlotContext[]; seed?: number }): RuleThroughput {
  const rules = benchRules(p.households, p.seed);
  const words = ruleWords(rules);
  const devices = rules.map(devicesOf);
  // Both paths interleaved round by round, as the codec figure does: load from elsewhere hits both alike.
  const evalMs: number[] = [];
  const decodeMs: number[] = [];
  let decisions = -1;
  evaluateFleet(rules, devices, p.contexts, 0);
  decodeAndEvaluateFleet(words, p.contexts, 0);
  for (let r = 0; r < p.rounds; r++) {
    let t0 = performance.now();
    const a = evaluateFleet(rules, devices, p.contexts, 0);
    evalMs.push(performance.now() - t0);
    t0 = performance.now();
    const b = decodeAndEvaluateFleet(words, p.contexts, 0);
    decodeMs.push(performance.now() - t0);
    if (a !== b || (decisions >= 0 && a !== decisions)) throw new CliError("BENCH_FAILED", `rule evaluation is not deterministic: ${a} and ${b} decisions, ${decisions} before`);
    decisions = a;
  }
  return {
    households: p.households,
    rulesPerHousehold: RULES_PER_HOUSEHOLD,
    slots: p.contexts.length,
    evaluatePerSecond: ratesPerSecond(p.households, evalMs),
    decodeAndEvaluatePerSecond: ratesPerSecond(p.households, decodeMs),
    decisionsPerRound: decisions,
  };
}

/** A consumer address per meter (cheap, no key pair: nobody signs as them). */
function consumerOf(i: number): string {
  return getAddress(dataSlice(id(`sidegrid bench household ${i}`), 12));
}

/**
 * The gateway's DemandResponseAgent with an in-memory DemandResponseSource (rules, the day's prices
 * and the DR event served from maps) and an ApplianceControl that only counts. A meter's first
 * report decides the interval it falls in and the next one; every later report decides one
 * interval ahead. So the agent first sees one unmeasured report of every meter (which also warms
 * the JIT), then `rounds` measured reports of every meter, 15 minutes apart, meters one after the
 * other, deciding the intervals from slot `firstSlot` on. Rules are re-read and decoded at every
 * report (rulesTtlMs 0: a meter reports every 15 minutes of real time, long past the agent's
 * 5-second cache).
 */
export async function measureAgent(p: {
  words: readonly (readonly string[])[];
  pricesPerKwh: readonly number[];
  startMinute: number;
  slotMinutes: number;
  /** The first slot the measured reports decide (≥ 2: two earlier intervals are decided by the first report). */
  firstSlot: number;
  rounds: number;
}): Promise<AgentThroughput> {
  if (!(p.firstSlot >= 2 && p.firstSlot + p.rounds <= p.pricesPerKwh.length)) throw new CliError("BENCH_FAILED", `the agent's reports must decide slots 2..${p.pricesPerKwh.length - 1}, not ${p.firstSlot}..${p.firstSlot + p.rounds - 1}`);
  const slotMs = p.slotMinutes * 60_000;
  const slot0Ms = AGENT_DAY_MS + p.startMinute * 60_000;
  const consumers = p.words.map((_, i) => consumerOf(i));
  const wordsOf = new Map(consumers.map((c, i) => [c.toLowerCase(), p.words[i]!]));
  const pricesMilli = p.pricesPerKwh.map((x) => Math.round(x * 1000));
  let sent = 0;
  const agent = new DemandResponseAgent({
    source: {
      rulesOf: async (account) => ({ rules: wordsOf.get(account.toLowerCase()) ?? [], version: 1n }),
      priceAt: async (t) => {
        const k = Math.floor((t * 1000 - slot0Ms) / slotMs);
        return k >= 0 && k < pricesMilli.length ? { known: true, priceMilli: pricesMilli[k]! } : { known: false, priceMilli: 0 };
      },
      eventAt: async (t) => {
        const minute = Math.floor((t % 86_400) / 60);
        return minute >= BENCH_DR_EVENT.fromMinute && minute < BENCH_DR_EVENT.toMinute ? { id: 1n } : undefined;
      },
    },
    control: { command: async () => void sent++ },
    accountsOf: async (consumer) => [consumer],
    rulesTtlMs: 0,
  });
  // A report at the end of slot k - 1 (clock at slot k's start) decides slot k + 1 ahead.
  const reportAll = async (clockSlot: number) => {
    const clockMs = slot0Ms + clockSlot * slotMs;
    for (let i = 0; i < consumers.length; i++) await agent.onReport(i + 1, consumers[i]!, clockMs);
  };
  await reportAll(p.firstSlot - 2); // decides firstSlot - 2 and firstSlot - 1
  const ms: number[] = [];
  const commandsByRound: number[] = [];
  for (let r = 0; r < p.rounds; r++) {
    const before = sent;
    const t0 = performance.now();
    await reportAll(p.firstSlot - 1 + r);
    ms.push(performance.now() - t0);
    commandsByRound.push(sent - before);
  }
  if (agent.stats.errors > 0) throw new CliError("BENCH_FAILED", `the demand-response agent failed ${agent.stats.errors} reports: ${agent.stats.lastError}`);
  const expected = consumers.length * (p.rounds + 2);
  if (agent.stats.evaluations !== expected) throw new CliError("BENCH_FAILED", `the demand-response agent evaluated ${agent.stats.evaluations} times, not ${expected}`);
  return {
    meters: p.words.length,
    rounds: p.rounds,
    firstIntervalMinute: (p.startMinute + p.firstSlot * p.slotMinutes) % 1440,
    reportsPerSecond: ratesPerSecond(p.words.length, ms),
    commandsByRound,
  };
}

/** A day-ahead run and what the chain part needs of it. */
export interface DayAheadResult {
  run: DayAheadRun;
  game: BestResponseGameReturnType;
  householdIds: string[];
}

/** The figures of one game (pure: the ms of each round are given). */
export function dayAheadFigures(p: { households: number; flexibleLoads: number; seed: number; startMinute: number; slotMinutes: number; game: BestResponseGameReturnType; gameMs: readonly number[] }): DayAheadRun {
  const g = p.game;
  return {
    households: p.households,
    flexibleLoads: p.flexibleLoads,
    seed: p.seed,
    startMinute: p.startMinute,
    slotMinutes: p.slotMinutes,
    converged: g.converged,
    iterations: g.iterations,
    moves: g.moves,
    parBefore: round(g.before.par, 3),
    parAfter: round(g.after.par, 3),
    parReductionPercent: round(100 * g.parReduction, 1),
    peakKwBefore: round(g.before.peakKw, 1),
    peakKwAfter: round(g.after.peakKw, 1),
    averageKw: round(g.after.averageKw, 1),
    totalCostBefore: Math.round(g.before.totalCost),
    totalCostAfter: Math.round(g.after.totalCost),
    gameMs: spread(p.gameMs.map((ms) => round(ms, 1))),
    loadBeforeKw: g.before.loadKw.map((x) => round(x, 2)),
    loadAfterKw: g.after.loadKw.map((x) => round(x, 2)),
  };
}

/** syntheticHouseholds + bestResponseGame on the paper's quadratic price (Mohsenian-Rad et al.), timed over `rounds`. */
export function runDayAhead(households: number, rounds: number, seed = DR_BENCH_SEED): DayAheadResult {
  const pop = syntheticHouseholds({ count: households, seed });
  const pricing = mohsenianRadPricing({ households, startMinute: pop.startMinute, slotMinutes: pop.slotMinutes });
  const play = () => bestResponseGame({ base: pop.base, flexible: pop.flexible, pricing, slotMinutes: pop.slotMinutes });
  // Three warm-up games (the JIT; the first runs take several times longer), then the timed ones. The game is deterministic.
  let game = play();
  for (let i = 0; i < 2; i++) game = play();
  const gameMs: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const t0 = performance.now();
    game = play();
    gameMs.push(performance.now() - t0);
  }
  const run = dayAheadFigures({ households, flexibleLoads: pop.flexible.length, seed, startMinute: pop.startMinute, slotMinutes: pop.slotMinutes, game, gameMs });
  return { run, game, householdIds: pop.base.map((b) => b.household) };
}

/** What the CPU part measured, and the day the chain part settles. */
export interface DemandResponseCpu {
  rules: RuleThroughput;
  agent: AgentThroughput;
  dayAhead: DayAheadRun[];
  /** The first day-ahead run (its prices are the rules' prices and what is published on chain). */
  settled: DayAheadResult;
  /** The first household's rules (setRules' gas). */
  sampleRules: Rule[];
}

const fmtRate = (s: RoundSpread) => `${s.median.toLocaleString("en-US")}/s (min ${s.min.toLocaleString("en-US")}, max ${s.max.toLocaleString("en-US")}, ${s.rounds} rounds)`;

/** The day-ahead runs first (their prices feed the rules), then rule throughput, then the agent. Pure CPU, one core. */
export async function measureDemandResponseCpu(plan: DemandResponsePlan, log: (l: string) => void): Promise<DemandResponseCpu> {
  const runs = plan.dayAhead.map((n) => runDayAhead(n, plan.dayAheadRounds));
  for (const { run: d } of runs) {
    log(
      `  day-ahead DSM, ${d.households} households (${d.flexibleLoads} flexible loads): PAR ${d.parBefore} → ${d.parAfter} (−${d.parReductionPercent} %), ` +
        `peak ${d.peakKwBefore} → ${d.peakKwAfter} kW, ${d.iterations} passes (converged ${d.converged}), game ${d.gameMs.median} ms`,
    );
  }
  const settled = runs[0]!;
  const prices = settled.game.after.pricePerKwh;
  const contexts = slotContexts(prices, settled.run.startMinute, settled.run.slotMinutes);
  const rules = measureRuleThroughput({ households: plan.households, rounds: plan.ruleRounds, contexts });
  log(`  evaluateRules, ${rules.households.toLocaleString("en-US")} households × ${rules.rulesPerHousehold} rules: ${fmtRate(rules.evaluatePerSecond)} evaluations`);
  log(`  decodeRule × ${rules.rulesPerHousehold} + evaluateRules: ${fmtRate(rules.decodeAndEvaluatePerSecond)} households; ${rules.decisionsPerRound.toLocaleString("en-US")} decisions per round`);
  // The measured reports decide intervals from before the 18:00 event into it (and past it in the full plan).
  const eventSlot = contexts.findIndex((c) => c.minuteOfDay === BENCH_DR_EVENT.fromMinute);
  const firstSlot = Math.max(2, eventSlot - Math.floor(plan.agentRounds / 2));
  const words = ruleWords(benchRules(plan.agentMeters));
  const agent = await measureAgent({ words, pricesPerKwh: prices, startMinute: settled.run.startMinute, slotMinutes: settled.run.slotMinutes, firstSlot, rounds: plan.agentRounds });
  log(`  DemandResponseAgent.onReport, ${agent.meters.toLocaleString("en-US")} meters × ${agent.rounds} reports: ${fmtRate(agent.reportsPerSecond)} reports; commands per round ${agent.commandsByRound.join(", ")}`);
  return { rules, agent, dayAhead: runs.map((r) => r.run), settled, sampleRules: benchRules(1)[0]! };
}

/** A deterministic address for a synthetic household id (h0001, …): nobody signs as it. */
export function householdAddress(householdId: string): string {
  return getAddress(dataSlice(id(`sidegrid bench dsm household ${householdId}`), 12));
}

/**
 * Deploys DemandResponse on the bench's BlockTST (for the bench's SGT) from a fresh funded account
 * holding its three roles, and sends each operation: the day-ahead run's 96 prices, an event, a
 * household's 4 rules, funding the pool from the SGT faucet, the day's settlement and efficiency
 * rewards for DR_GAS_HOUSEHOLDS households, first to addresses holding no SGT, then to holders.
 */
export async function measureDemandResponseGas(w: BenchWorld, cpu: DemandResponseCpu, log: (l: string) => void): Promise<{ deployGas: number; rows: DemandResponseGasRow[] }> {
  const rows: DemandResponseGasRow[] = [];
  const g = (r: TxReceipt) => Number(r.gasUsed);
  const add = (operation: string, gas: number, households?: number, note?: string) => {
    const row: DemandResponseGasRow = { operation, gas, ...(households ? { households, gasPerHousehold: Math.round(gas / households) } : {}), ...(note ? { note } : {}) };
    rows.push(row);
    log(`  gas ${operation.padEnd(58)} ${String(gas).padStart(9)}${row.gasPerHousehold ? ` (${row.gasPerHousehold} per household)` : ""}`);
  };
  const fresh = async () => {
    const wallet = Wallet.createRandom().connect(w.tst.provider) as unknown as Wallet;
    await w.admins.tst.sendAndWait({ to: wallet.address, value: parseEther("10") });
    return TxSender.create(wallet, w.tst.provider, { network: "blocktst" });
  };
  const operator = await fresh();
  const { address } = await deployDemandResponse({ sender: operator, token: w.tstApps.token, clockLagSeconds: CLOCK_LAG_SECONDS, deployments: w.deployments.tst });
  const deployGas = Number(w.deployments.tst.read().contracts.DemandResponse?.gasUsed ?? NaN);
  log(`  deploy DemandResponse (BlockTST) ${String(deployGas).padStart(9)}`);
  const dr = new DemandResponseClient({ sender: operator, address, token: w.tstApps.token });

  const { run, game, householdIds } = cpu.settled;
  const now = BigInt(await latestTimestamp(w.tst.provider));
  const tomorrow = (now / 86_400n + 1n) * 86_400n;
  const firstSlotStart = tomorrow + BigInt(run.startMinute * 60);
  const pricesMilli = game.after.pricePerKwh.map((x) => Math.round(x * 1000));
  add(`publishPrices (${pricesMilli.length} slots)`, g((await dr.publishPrices({ firstSlotStart, slotSeconds: run.slotMinutes * 60, pricesMilli })).receipt), undefined, `the ${run.households}-household run's day-ahead price, thousandths of a cent per kWh`);
  const evening = tomorrow + BigInt(BENCH_DR_EVENT.fromMinute * 60);
  const announce = (start: bigint, end: bigint) => dr.announceEvent({ start, end, reduceWatts: 1_500, rewardPerKwhWei: ONE / 2n });
  add("announceEvent", g((await announce(evening, tomorrow + BigInt(BENCH_DR_EVENT.toMinute * 60))).receipt), undefined, "tomorrow 18:00–19:00, 1.5 kW less, 0.5 SGT per kWh saved");
  const household = new DemandResponseClient({ sender: await fresh(), address });
  add(`setRules (${cpu.sampleRules.length} rules, first)`, g((await household.setRules(cpu.sampleRules)).receipt));
  add(`setRules (${cpu.sampleRules.length} rules, replacing ${cpu.sampleRules.length})`, g((await household.setRules([...cpu.sampleRules].reverse())).receipt));

  const tst = new BlockTstClient({ sender: operator, addresses: { token: w.tstApps.token, mirror: w.tstApps.mirror, market: w.tstApps.market, auction: w.tstApps.auction } });
  const pool = 500n * ONE;
  await tst.faucet(pool);
  add("fund", g(await dr.fund(pool, { approve: true })), undefined, "500 SGT from the operator (approve sent before, not counted)");

  const n = Math.min(DR_GAS_HOUSEHOLDS, householdIds.length);
  const first = householdIds.slice(0, n).map(householdAddress);
  const strangers = Array.from({ length: n }, (_, i) => householdAddress(`other-${i}`));
  const scheduleRoot = id(JSON.stringify(game.schedule.map((s) => [s.household, s.device, s.startSlot])));
  const settle = async (dayStart: bigint, households: string[]) =>
    g(
      (
        await dr.settleDayAhead({
          dayStart,
          scheduleRoot,
          parBeforeMilli: Math.round(game.before.par * 1000),
          parAfterMilli: Math.round(game.after.par * 1000),
          rewards: households.map((h, i) => ({ household: h, amount: ONE / 100n + BigInt(i) })),
        })
      ).receipt,
    );
  add(`settleDayAhead (${n} households, new holders)`, await settle(tomorrow, first), n, "households holding no SGT yet: a new balance slot each");
  add(`settleDayAhead (${n} households, holders)`, await settle(tomorrow + 86_400n, first), n, "the same households a day later");
  // An event that already ended (the last whole hour), announced within the clock lag, so its
  // savings can be paid now without moving BlockTST's clock under the federation members.
  const hour = (now / 3_600n) * 3_600n;
  const ended = await announce(hour - 3_600n, hour);
  const pay = async (households: string[]) =>
    g((await dr.payEfficiencyRewards({ eventId: ended.eventId, evidenceRoot: id("anchored readings of the event window"), savings: households.map((h, i) => ({ household: h, savedWh: 400n + BigInt((i * 37) % 800) })) })).receipt);
  add(`payEfficiencyRewards (${n} households, holders)`, await pay(first), n, "paid by the settlements above");
  add(`payEfficiencyRewards (${n} households, new holders)`, await pay(strangers), n, "households holding no SGT yet");
  const left = await dr.pool();
  if (left <= 0n) throw new CliError("BENCH_FAILED", "the DemandResponse pool is empty after the rewards");
  return { deployGas, rows };
}

const clock = (minute: number) => `${String(Math.floor(minute / 60)).padStart(2, "0")}:${String(minute % 60).padStart(2, "0")}`;

/** The report's section from both parts. */
export function demandResponseSection(cpu: DemandResponseCpu, gas: { deployGas: number; rows: DemandResponseGasRow[] }, plan: DemandResponsePlan): DemandResponseSection {
  const d = cpu.settled.run;
  return {
    rules: cpu.rules,
    agent: cpu.agent,
    dayAhead: cpu.dayAhead,
    deployGas: gas.deployGas,
    gas: gas.rows,
    notes: [
      `Rules: ${cpu.rules.households.toLocaleString("en-US")} households × 4 rules (seeded; an appliance on below a price and off in a DR event; an EV charging 22:00–07:00 below a price with the heat pump off 17:00–21:00 when dear, or a battery charging when cheap and discharging when dear). Each round evaluates every household once, household i at slot i of the ${d.households}-household run's day-ahead price (noon to noon, cents per kWh), with a DR event 18:00–19:00. One evaluation = evaluateRules over one household's list (validation included).`,
      "decode + evaluate: decodeRule of each 0x-hex bytes32 word (what DemandResponse.rulesOf returns) before evaluating; the rates are households per second (×4 for words per second). Both paths run interleaved round by round, after one warm-up round, on one core before any chain starts.",
      `Agent: meter-gateway's DemandResponseAgent.onReport for ${cpu.agent.meters.toLocaleString("en-US")} meters, one after the other, ${cpu.agent.rounds} measured 15-minute reports each, deciding the intervals from ${clock(cpu.agent.firstIntervalMinute)} on (the DR event starts at 18:00), after one unmeasured first report of every meter (a first report decides two intervals). Each report: reading the household's words (from memory) and decoding them (rulesTtlMs 0), the price and event lookups (cached per interval, as the agent does), evaluateRules for the next interval, the comparison with the last decision and a command per change (the control only counts). Excluded: the BlockTST reads, the HTTP command to the simulator's control API and the LevelDB action log.`,
      `Day-ahead DSM: @sidegrid/dsm's syntheticHouseholds (seed ${DR_BENCH_SEED}, 15-minute slots, noon to noon) and bestResponseGame on mohsenianRadPricing (the paper's a_h, scaled to the households); "before" is every flexible load at its earliest start. Game time excludes generating the population (${plan.dayAheadRounds} rounds after three warm-up games). The chart shows the ${cpu.dayAhead[cpu.dayAhead.length - 1]!.households}-household run. The PAR reduction is far above the ~27 % of seed 003 because half the energy here is flexible and the uncoordinated baseline is a worst case (packages/dsm/README.md, "Measured figures").`,
      `Gas: receipts on the bench's BlockTST, DemandResponse deployed for its SGT by a fresh account holding the three roles, with the 3-day clock lag \`sidegrid up\` uses locally (the event paid for ended in the last hour, announced within the lag, so BlockTST's clock is not moved). publishPrices carries the ${d.households}-household run's prices; settleDayAhead its PAR and a digest of its schedule; amounts do not change the gas (any non-zero amount). Per-household figures divide the transaction's gas by the households paid.`,
    ],
  };
}
