// Demo scenario (iv): demand response and day-ahead DSM on the simulated fleet. The operator (the
// price oracle) publishes the day-ahead price from the best-response game of 100 synthetic homes
// and BlockTST settles that day's DSM; Alice and Bob put rules on BlockTST; the utility announces
// a demand-response event; the gateway runs the rules at each 15-minute report and the simulated
// appliances act; after the event the utility computes Alice's saving from her anchored readings
// (through a logged grant) and pays it in SGT, and Alice recomputes it from her own records.
import { AbiCoder, Wallet, formatEther, keccak256 } from "ethers";
import type { ConnectedNetwork, NetworkName } from "@sidegrid/chain";
import { KeyCustodyClient, Resolution as SecResolution, merkleRoot, type BlockSecClient } from "@sidegrid/blocksec";
import { BlockTstClient, DemandResponseClient, ONE } from "@sidegrid/blocktst";
import { bestResponseGame, efficiencyBaseline, efficiencyReward, mohsenianRadPricing, syntheticHouseholds, type IntervalEnergy, type Rule } from "@sidegrid/dsm";
import { consumerDataKeys, openReadingPayload, payloadKeyId, readGranted, signRequest, type DemandResponseAction, type SpawnedMeterSimulator } from "@sidegrid/meter-gateway";
import { SimClock } from "@sidegrid/pi-meter";
import { walletBoxKeys, type ConsumerKeys } from "./accounts";
import type { SystemDeployment } from "./deploy-system";
import { CliError } from "./errors";

const Q = 900_000;
const coder = AbiCoder.defaultAbiCoder();

export interface DemoDemandResponse {
  prices: { firstSlotStart: number; slots: number; minCents: number; maxCents: number; version: string };
  dsm: { households: number; parBefore: number; parAfter: number; peakBeforeKw: number; peakAfterKw: number; settled: "now" | "before"; settleTx: string | null; rewardsSgt: string; dayStart: number };
  rules: { household: string; rules: Rule[]; tx: string }[];
  event: { id: string; start: number; end: number; tx: string };
  /** What the gateway did at the households' meters, as each sees it through the signed API. */
  actions: { household: string; device: string; action: string; at: string; atMs: number; drEventId: string | null }[];
  efficiency: {
    household: string;
    baselineWh: number;
    actualWh: number;
    savedWh: number;
    /** Alice's own recomputation from her records (her keys, her data). */
    independentSavedWh: number;
    rewardSgt: string;
    payTx: string | null;
    evidenceRoot: string;
    balanceDeltaSgt: string;
    grantIndex: number;
  };
  ok: boolean;
}

export interface PlayDemandResponseParameters {
  d: SystemDeployment;
  on(network: NetworkName, key: string): Promise<ConnectedNetwork>;
  operatorKey: string;
  utilityKey: string;
  alice: ConsumerKeys;
  bob: ConsumerKeys;
  simState: SpawnedMeterSimulator;
  gatewayUrl: string;
  utilitySec: BlockSecClient;
  say(line: string): void;
  waitFor(what: string, f: () => Promise<boolean>, timeoutMs: number): Promise<number>;
  timeoutMs: number;
}

/** Energy per 15-minute interval from cumulative import registers (consecutive records of one meter). */
function intervalsOf(rows: { sequence: number; periodStart: number; importWh: number }[]): IntervalEnergy[] {
  const sorted = [...rows].sort((a, b) => a.sequence - b.sequence);
  const out: IntervalEnergy[] = [];
  for (let i = 1; i < sorted.length; i++) {
    const a = sorted[i - 1]!;
    const b = sorted[i]!;
    if (b.sequence !== a.sequence + 1 || b.importWh < a.importWh) continue;
    out.push({ start: b.periodStart, seconds: 900, importWh: b.importWh - a.importWh });
  }
  return out;
}

/**
 * The scenario's event on the meters' clock: the next full hour that starts at least four intervals
 * ahead (Alice charges her battery in the hour before it; a battery an earlier event drained has
 * nothing to give). `readyAtMs`: the wall-clock time the meters report the interval after it. Meters
 * that keep real time (their clock met the wall clock) get there only in real time, over an hour.
 */
export function demandResponseWindow(clock: SimClock): { start: number; end: number; readyAtMs: number } {
  const start = Math.ceil((clock.now() + 4 * Q) / Q) * Q;
  const end = start + 4 * Q;
  return { start, end, readyAtMs: clock.realTimeOf(end + Q) };
}

/**
 * Why scenario (iv) cannot be played within `timeoutMs` (undefined: it can): its meters' clock has
 * met the wall clock (a system that ran longer than their lead at ×speed keeps real time).
 */
export function demandResponseSkip(clock: SimClock, timeoutMs: number, nowMs = Date.now()): { reason: string; waitMs: number } | undefined {
  const waitMs = Math.round(demandResponseWindow(clock).readyAtMs - nowMs);
  return waitMs > timeoutMs ? { reason: "the simulated meters' clock has met the wall clock", waitMs } : undefined;
}

export async function playDemandResponse(p: PlayDemandResponseParameters): Promise<DemoDemandResponse> {
  const { d, say } = p;
  if (!d.blocktst.demandResponse) throw new CliError("DEMO_FAILED", "this deployment has no DemandResponse on BlockTST: run `sidegrid up` again");
  const drAt = async (key: string) => new DemandResponseClient({ sender: (await p.on("blocktst", key)).sender, address: d.blocktst.demandResponse! });
  const oracle = await drAt(p.operatorKey);
  const utility = await drAt(p.utilityKey);
  const clock = new SimClock(p.simState.clock);
  const slotNow = Math.floor(clock.now() / Q) * Q;

  // Day-ahead price: the best-response game of 100 synthetic homes; each published slot gets the
  // game's price for its wall-clock quarter hour (the game's day runs from noon).
  const day = syntheticHouseholds({ count: 100, seed: 1 });
  const game = bestResponseGame({ base: day.base, flexible: day.flexible, pricing: mohsenianRadPricing({ households: 100, startMinute: day.startMinute }) });
  const priceOf = (ms: number) => {
    const minute = Math.floor((ms % 86_400_000) / 60_000);
    return game.after.pricePerKwh[Math.floor(((minute - day.startMinute + 1440) % 1440) / day.slotMinutes)]!;
  };
  const cents = Array.from({ length: 96 }, (_, i) => priceOf(slotNow + i * Q));
  const pub = await oracle.publishPrices({ firstSlotStart: slotNow / 1000, slotSeconds: 900, pricesMilli: cents.map((c) => Math.round(c * 1000)) });
  say(`  the operator (price oracle) publishes 96 day-ahead prices from ${new Date(slotNow).toISOString().slice(0, 16)}Z: ${Math.min(...cents).toFixed(2)}–${Math.max(...cents).toFixed(2)} ¢/kWh (version ${pub.version})`);

  // DSM settlement for the game's day: the four demo homes are paid what four synthetic homes saved.
  const dayStart = Math.floor(slotNow / 86_400_000) * 86_400;
  const homesByAddr = [p.alice.address, p.bob.address];
  const after = new Map(game.after.costByHousehold.map((c) => [c.household, c.cost]));
  const savings = game.before.costByHousehold.slice(0, homesByAddr.length).map((c) => Math.max(0, c.cost - (after.get(c.household) ?? c.cost)));
  // One SGT per 100 cents saved, rounded down to a hundredth.
  const rewards = savings.map((s) => (BigInt(Math.floor(s)) * ONE) / 100n);
  const scheduleRoot = merkleRoot(game.schedule.map((s) => keccak256(coder.encode(["string", "string", "uint32", "uint32"], [s.household, s.device, s.uncoordinatedStartSlot, s.startSlot]))));
  const utilTst = new BlockTstClient({ sender: (await p.on("blocktst", p.utilityKey)).sender, addresses: d.blocktst });
  const need = rewards.reduce((s, x) => s + x, 0n) + 100n * ONE;
  if ((await utility.pool()) < need) {
    if ((await utilTst.balanceOf()) < need) await utilTst.faucet(need);
    await utility.fund(need, { approve: true });
  }
  let settled: "now" | "before" = "before";
  let settleTx: string | null = null;
  if (!(await utility.daySettlementOf(BigInt(dayStart)))) {
    const r = await utility.settleDayAhead({
      dayStart: BigInt(dayStart),
      scheduleRoot,
      parBeforeMilli: Math.round(game.before.par * 1000),
      parAfterMilli: Math.round(game.after.par * 1000),
      rewards: homesByAddr.map((household, i) => ({ household, amount: rewards[i]! })).filter((x) => x.amount > 0n),
    });
    settled = "now";
    settleTx = r.receipt.transactionHash;
  }
  say(`  day-ahead DSM, 100 homes: PAR ${game.before.par.toFixed(2)} → ${game.after.par.toFixed(2)}, peak ${game.before.peakKw.toFixed(0)} → ${game.after.peakKw.toFixed(0)} kW; settled on BlockTST ${settled === "now" ? `(tx ${settleTx!.slice(0, 12)}…)` : "(this day already was)"}`);

  const { start, end } = demandResponseWindow(clock);
  const minuteOf = (ms: number) => Math.floor((ms % 86_400_000) / 60_000);

  // Households' rules, under their own wallets on BlockTST.
  const cheap = [...cents].sort((a, b) => a - b)[24]!; // the day's cheapest quarter of slots
  const aliceRules: Rule[] = [
    { id: 4, device: "battery", when: { fromMinute: minuteOf(start - 4 * Q), toMinute: minuteOf(start) }, action: "charge" },
    { id: 1, device: "battery", when: { drEvent: true }, action: "discharge" },
    { id: 2, device: "ev", when: { priceBelow: Math.round(cheap * 1000) / 1000 }, action: "on" },
    // Later rules win for a device: never charge the EV during an event, however cheap.
    { id: 3, device: "ev", when: { drEvent: true }, action: "off" },
  ];
  // Bob's washer runs in its slot of the day-ahead schedule (the game's washer of one of the 100
  // homes): the schedule is executed by a time-window rule like any other. During an event it waits.
  const slot = game.schedule.find((x) => x.device === "washer")!;
  const washerMinute = (day.startMinute + slot.startSlot * day.slotMinutes) % 1440;
  const bobRules: Rule[] = [
    { id: 2, device: "washer", when: { fromMinute: washerMinute, toMinute: washerMinute + day.slotMinutes }, action: "on" },
    { id: 1, device: "washer", when: { drEvent: true }, action: "off" },
  ];
  const rules: DemoDemandResponse["rules"] = [];
  for (const [name, k, list] of [["Alice", p.alice, aliceRules], ["Bob", p.bob, bobRules]] as const) {
    const r = await (await drAt(k.privateKey)).setRules(list);
    rules.push({ household: name, rules: [...list], tx: r.receipt.transactionHash });
  }
  say(`  Alice's rules: battery charges in the hour before ${new Date(start).toISOString().slice(11, 16)} and discharges during an event; EV charges below ${cheap.toFixed(2)} ¢/kWh, but never during an event. Bob's: washer on at ${String(Math.floor(washerMinute / 60)).padStart(2, "0")}:${String(washerMinute % 60).padStart(2, "0")} (its day-ahead slot), off during an event`);

  const ev = await utility.announceEvent({ start: BigInt(start / 1000), end: BigInt(end / 1000), reduceWatts: 1_000, rewardPerKwhWei: ONE });
  say(`  the utility announces demand-response event #${ev.eventId}: ${new Date(start).toISOString().slice(11, 16)}–${new Date(end).toISOString().slice(11, 16)} (meter time), 1 kW less asked, 1 SGT per kWh saved`);

  // The gateway runs the rules at the reports; each household sees what was done, signed as herself.
  const actionsOf = async (k: ConsumerKeys) => {
    const path = `/v1/consumers/${k.address}/demand-response`;
    const res = await fetch(`${p.gatewayUrl}${path}`, { headers: await signRequest({ signer: new Wallet(k.privateKey), method: "GET", path }) });
    if (!res.ok) throw new CliError("DEMO_FAILED", `gateway answered ${res.status} to ${path}`);
    return ((await res.json()) as { actions: DemandResponseAction[] }).actions;
  };
  const evId = ev.eventId.toString();
  await p.waitFor("the gateway to run the rules at the event's first report", async () => (await actionsOf(p.alice)).some((a) => a.drEventId === evId) && (await actionsOf(p.bob)).some((a) => a.drEventId === evId), p.timeoutMs);
  // The whole event and the report after it, anchored.
  const stored = async () => (await p.utilitySec.storedRecords({ consumer: p.alice.address, fromBlock: d.blocksec.startBlock })).filter((s) => s.record.category === "CONSUMPTION" && s.record.resolution === "QUARTER_HOURLY");
  await p.waitFor("Alice's readings of the whole event to be anchored", async () => (await stored()).some((s) => s.record.periodStart * 1000 >= end), p.timeoutMs + Math.max(0, clock.realTimeOf(end + Q) - Date.now()));
  const actions: DemoDemandResponse["actions"] = [];
  for (const [name, k] of [["Alice", p.alice], ["Bob", p.bob]] as const) {
    for (const a of (await actionsOf(k)).filter((x) => x.atMs >= start - 5 * Q).reverse()) actions.push({ household: name, device: a.device, action: a.action, at: new Date(a.atMs).toISOString().slice(11, 16), atMs: a.atMs, drEventId: a.drEventId });
  }
  for (const a of actions) say(`    ${a.at} ${a.household.padEnd(5)} ${a.device} → ${a.action}${a.drEventId ? ` (event #${a.drEventId})` : ""}`);

  // Efficiency: the utility reads Alice's readings through a logged grant, computes her baseline
  // (the same hour on the previous day) and her use during the event, and pays the saving.
  const secret = walletBoxKeys(p.utilityKey).secretKey;
  const custody = new KeyCustodyClient({ address: d.blocksec.keyCustody, provider: p.utilitySec.provider });
  const nowSec = Math.floor(Date.now() / 1000);
  const read = await readGranted({ sec: p.utilitySec, custody, secretKey: secret, consumer: p.alice.address, from: Math.floor(start / 1000) - 2 * 86_400, to: nowSec, resolution: "QUARTER_HOURLY", fromBlock: d.blocksec.startBlock, timeoutMs: p.timeoutMs });
  const used = read.readings.filter((r) => r.reading && r.proven);
  const mine = intervalsOf(used.map((r) => ({ sequence: r.sequence, periodStart: r.periodStart, importWh: Number(r.reading!.activeEnergyImportWh) })));
  const window = { start: Math.floor(start / 1000), end: Math.floor(end / 1000) };
  const judged = efficiencyBaseline({ intervals: mine, event: window, baselineDays: 1, lookbackDays: 2 });
  const evidenceRoot = merkleRoot(used.map((r) => keccak256(coder.encode(["uint32", "uint64", "bytes32", "uint32"], [r.meterId, r.sequence, r.batchId, r.leafIndex]))));
  // Alice, independently: her own records on BlockSEC, opened with her own keys.
  const aliceKeys = await consumerDataKeys({ custody, consumer: p.alice.address, secretKey: p.alice.box.secretKey, fromBlock: d.blocksec.startBlock });
  const own = (await stored()).flatMap((s) => {
    const payload = Buffer.from(s.record.payload.slice(2), "hex");
    const key = aliceKeys.get(payloadKeyId(payload) ?? -1);
    if (!key) return [];
    const o = openReadingPayload(payload, { dataKey: key }, { meterId: p.alice.meter, sequence: Number(s.record.sequence), resolution: SecResolution[s.record.resolution] });
    return o.contentType === 2 ? [] : [{ sequence: Number(s.record.sequence), periodStart: s.record.periodStart, importWh: Number(o.reading.activeEnergyImportWh) }];
  });
  const independent = efficiencyBaseline({ intervals: intervalsOf(own), event: window, baselineDays: 1, lookbackDays: 2 });
  const aliceTst = new BlockTstClient({ sender: (await p.on("blocktst", p.alice.privateKey)).sender, addresses: d.blocktst });
  const before = await aliceTst.balanceOf();
  let payTx: string | null = null;
  const reward = efficiencyReward(judged.savedWh, ONE);
  if (judged.eligible && judged.savedWh > 0) {
    payTx = (await utility.payEfficiencyRewards({ eventId: ev.eventId, evidenceRoot, savings: [{ household: p.alice.address, savedWh: BigInt(judged.savedWh) }] })).receipt.transactionHash;
  }
  const delta = (await aliceTst.balanceOf()) - before;
  say(`  Alice during the event: ${judged.actualWh} Wh against a baseline of ${judged.baselineWh} Wh → ${judged.savedWh} Wh saved${judged.eligible ? "" : ` (not eligible: ${judged.reason})`}; her own recomputation: ${independent.savedWh} Wh`);
  say(`  the utility pays ${formatEther(reward)} SGT (evidence root ${evidenceRoot.slice(0, 12)}… over ${used.length} anchored records of grant #${read.entry.index})${payTx ? `, tx ${payTx.slice(0, 12)}…` : ""}; Alice's balance +${formatEther(delta)} SGT`);

  const ok =
    actions.some((a) => a.household === "Alice" && a.device === "battery" && a.action === "discharge" && a.drEventId === evId) &&
    actions.some((a) => a.household === "Bob" && a.device === "washer" && a.action === "off" && a.drEventId === evId) &&
    judged.eligible &&
    judged.savedWh > 0 &&
    judged.savedWh === independent.savedWh &&
    delta === reward;
  return {
    prices: { firstSlotStart: slotNow / 1000, slots: 96, minCents: Math.min(...cents), maxCents: Math.max(...cents), version: pub.version.toString() },
    dsm: { households: 100, parBefore: game.before.par, parAfter: game.after.par, peakBeforeKw: game.before.peakKw, peakAfterKw: game.after.peakKw, settled, settleTx, rewardsSgt: formatEther(rewards.reduce((s, x) => s + x, 0n)), dayStart },
    rules,
    event: { id: evId, start: start / 1000, end: end / 1000, tx: ev.receipt.transactionHash },
    actions,
    efficiency: { household: "Alice", baselineWh: judged.baselineWh, actualWh: judged.actualWh, savedWh: judged.savedWh, independentSavedWh: independent.savedWh, rewardSgt: formatEther(reward), payTx, evidenceRoot, balanceDeltaSgt: formatEther(delta), grantIndex: read.entry.index },
    ok,
  };
}
