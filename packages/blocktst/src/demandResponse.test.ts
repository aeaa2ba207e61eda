// DemandResponse on a real chain: prices, events, rules (round-tripped through the dsm package's
// bytes32 encoding), day-ahead settlement and efficiency rewards from the SGT pool, with every role
// check and every refusal naming its custom error and arguments.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Wallet, getAddress, hexlify, id } from "ethers";
import { Deployments, devPrivateKey } from "@sidegrid/chain";
import { decodeRule, efficiencyReward, encodeRule, isDsmError, type Rule } from "@sidegrid/dsm";
import { BlockTstClient } from "./client";
import { ONE, ROLES } from "./constants";
import { DEMAND_RESPONSE_LIMITS, DemandResponseClient, deployDemandResponse } from "./demandResponse";
import { InvalidArgumentError, isBlockTstError } from "./errors";
import { DemandResponse__factory } from "./generated";
import { latestTimestamp, revertOf, setupFixture, type Fixture } from "./test-utils/fixture";

const CHAIN_ID = 31671;
const DAY = 86_400n;
const ORACLE = 1;
const UTILITY = 2;
const REWARDER = 3;
const HOUSEHOLDS = [4, 5, 6, 7];
const OUTSIDER = 9;
const iface = DemandResponse__factory.createInterface();

let f: Fixture;
let dir: string;
let drAddress: string;
let admin: DemandResponseClient;
let oracle: DemandResponseClient;
let utility: DemandResponseClient;
let rewarder: DemandResponseClient;
let outsider: DemandResponseClient;
const home: DemandResponseClient[] = [];
let tst: BlockTstClient;

beforeAll(async () => {
  f = await setupFixture(CHAIN_ID);
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "blocktst-dr-"));
  const a0 = await f.chain.account(0);
  const addr = (i: number) => new Wallet(devPrivateKey(i)).address;
  const r = await deployDemandResponse({
    sender: a0.sender,
    token: f.addresses.token,
    priceOracle: addr(ORACLE),
    operator: addr(UTILITY),
    rewarder: addr(REWARDER),
    deployments: Deployments.forNetwork(dir, "blocktst", CHAIN_ID),
  });
  drAddress = r.address;
  const client = async (i: number) => new DemandResponseClient({ sender: (await f.chain.account(i)).sender, address: drAddress });
  [admin, oracle, utility, rewarder, outsider] = await Promise.all([0, ORACLE, UTILITY, REWARDER, OUTSIDER].map(client));
  for (const i of HOUSEHOLDS) home.push(await client(i));
  tst = await f.client(0);
});

afterAll(async () => {
  await f.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

/** Sends raw calldata to the contract from `c` (to reach the contract's own checks past the client's). */
const raw = (c: DemandResponseClient, fn: string, args: unknown[]) => c.sender.sendAndWait({ to: drAddress, data: iface.encodeFunctionData(fn as "fund", args as [bigint]) });

/** The client refused before sending: InvalidArgumentError for `argument`, and the nonce did not move. */
async function refusedBeforeSending(c: DemandResponseClient, argument: string, fn: () => Promise<unknown>): Promise<InvalidArgumentError> {
  const nonce = await f.chain.provider.getTransactionCount(c.address, "pending");
  const e = await fn().then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(isBlockTstError(e, "INVALID_ARGUMENT")).toBe(true);
  expect((e as InvalidArgumentError).argument).toBe(argument);
  expect(await f.chain.provider.getTransactionCount(c.address, "pending")).toBe(nonce);
  return e as InvalidArgumentError;
}

/** Start of the UTC day after tomorrow (in the future whatever the tests did to the clock). */
async function futureDay(offsetDays = 2n): Promise<bigint> {
  const now = await latestTimestamp(f.chain);
  return (now / DAY + offsetDays) * DAY;
}

/** Event windows never reused, so no test's event overlaps another's. */
let cursor = 0n;
async function window(lengthSec: bigint, leadSec = 600n): Promise<{ start: bigint; end: bigint }> {
  const now = await latestTimestamp(f.chain);
  const start = (cursor > now ? cursor : now) + leadSec;
  cursor = start + lengthSec + 1n;
  return { start, end: start + lengthSec };
}

describe("deployDemandResponse", () => {
  it("grants the three roles, keeps the deployer admin, and reuses an identical recorded deployment", async () => {
    const addr = (i: number) => new Wallet(devPrivateKey(i)).address;
    expect(await admin.hasRole("PRICE_ORACLE", addr(ORACLE))).toBe(true);
    expect(await admin.hasRole("DR_OPERATOR", addr(UTILITY))).toBe(true);
    expect(await admin.hasRole("REWARDER", addr(REWARDER))).toBe(true);
    expect(await admin.hasRole("DEFAULT_ADMIN", admin.address)).toBe(true);
    expect(await admin.hasRole("REWARDER", admin.address)).toBe(false);
    expect(getAddress(await admin.contract.token())).toBe(f.addresses.token);
    const again = await deployDemandResponse({
      sender: admin.sender,
      token: f.addresses.token,
      priceOracle: addr(ORACLE),
      operator: addr(UTILITY),
      rewarder: addr(REWARDER),
      deployments: Deployments.forNetwork(dir, "blocktst", CHAIN_ID),
    });
    expect(again).toEqual({ address: drAddress, token: f.addresses.token, deployed: false, configured: 0 });
  });

  it("without a deployments record deploys a fresh contract; defaults every role to the deployer; hands admin over", async () => {
    const r = await deployDemandResponse({ sender: admin.sender, token: f.addresses.token, admin: outsider.address });
    expect(r.deployed).toBe(true);
    expect(r.address).not.toBe(drAddress);
    expect(r.configured).toBe(4);
    const other = new DemandResponseClient({ sender: admin.sender, address: r.address });
    for (const role of ["PRICE_ORACLE", "DR_OPERATOR", "REWARDER", "DEFAULT_ADMIN"] as const) expect(await other.hasRole(role, admin.address)).toBe(true);
    expect(await other.hasRole("DEFAULT_ADMIN", outsider.address)).toBe(true);
  });

  it("checks inputs against the same limits the contract enforces", async () => {
    const c = admin.contract;
    const onChain = await Promise.all([c.MAX_SLOTS(), c.MIN_SLOT_SECONDS(), c.MAX_SLOT_SECONDS(), c.MAX_EVENT_SECONDS(), c.MAX_RULES(), c.MAX_DAY_AHEAD_HOUSEHOLDS(), c.MAX_EFFICIENCY_HOUSEHOLDS()]);
    const L = DEMAND_RESPONSE_LIMITS;
    expect(onChain.map(Number)).toEqual([L.maxSlots, L.minSlotSeconds, L.maxSlotSeconds, L.maxEventSeconds, L.maxRules, L.maxDayAheadHouseholds, L.maxEfficiencyHouseholds]);
    expect(await Promise.all([c.PRICE_ORACLE_ROLE(), c.DR_OPERATOR_ROLE(), c.REWARDER_ROLE()])).toEqual([ROLES.PRICE_ORACLE, ROLES.DR_OPERATOR, ROLES.REWARDER]);
  });

  it("lets only the admin grant roles", async () => {
    expect(await revertOf(() => outsider.grantRole("REWARDER", outsider.address))).toEqual({
      errorName: "AccessControlUnauthorizedAccount",
      args: [outsider.address, ROLES.DEFAULT_ADMIN],
    });
  });
});

describe("prices", () => {
  let D: bigint;
  const day = Array.from({ length: 96 }, (_, i) => (i % 7 === 3 ? -1250 - i : 8000 + 137 * i)); // a few negative slots

  it("publishes 96 quarter-hour slots and answers priceAt before, inside, at slot edges and after the schedule", async () => {
    D = await futureDay();
    const p = await oracle.publishPrices({ firstSlotStart: D, slotSeconds: 900, pricesMilli: day });
    expect([p.version, p.firstSlotStart, p.slotSeconds, p.pricesMilli]).toEqual([1n, D, 900, day]);
    expect(await oracle.priceAt(D - 1n)).toEqual({ known: false, priceMilli: 0 });
    expect(await oracle.priceAt(D)).toEqual({ known: true, priceMilli: day[0] });
    expect(await oracle.priceAt(D + 899n)).toEqual({ known: true, priceMilli: day[0] });
    expect(await oracle.priceAt(D + 900n)).toEqual({ known: true, priceMilli: day[1] });
    expect(await oracle.priceAt(D + 3n * 900n + 450n)).toEqual({ known: true, priceMilli: day[3] });
    expect(day[3]).toBeLessThan(0);
    expect(await oracle.priceAt(D + 96n * 900n - 1n)).toEqual({ known: true, priceMilli: day[95] });
    expect(await oracle.priceAt(D + 96n * 900n)).toEqual({ known: false, priceMilli: 0 });
    expect(await oracle.publicationOf(1n)).toEqual({ version: 1n, firstSlotStart: D, slotSeconds: 900, pricesMilli: day });
    expect(await oracle.publicationOf(7n)).toBeNull();
  });

  it("lets a later publication overwrite the slots it covers, whatever its slot length, and nothing else", async () => {
    const hourly = [-5000, 0, 2_147_483_647, -2_147_483_648];
    const p = await oracle.publishPrices({ firstSlotStart: D + 3600n, slotSeconds: 3600, pricesMilli: hourly });
    expect(p.version).toBe(2n);
    expect((await oracle.priceAt(D + 3599n)).priceMilli).toBe(day[3]); // still version 1
    expect(await oracle.priceAt(D + 3600n)).toEqual({ known: true, priceMilli: -5000 });
    expect(await oracle.priceAt(D + 2n * 3600n + 1800n)).toEqual({ known: true, priceMilli: 0 });
    expect(await oracle.priceAt(D + 3n * 3600n)).toEqual({ known: true, priceMilli: 2_147_483_647 });
    expect(await oracle.priceAt(D + 5n * 3600n - 1n)).toEqual({ known: true, priceMilli: -2_147_483_648 });
    expect(await oracle.priceAt(D + 5n * 3600n)).toEqual({ known: true, priceMilli: day[20] }); // version 1 again
    // A correction of one quarter-hour inside the hourly publication wins there only.
    await oracle.publishPrices({ firstSlotStart: D + 3600n + 900n, slotSeconds: 900, pricesMilli: [42] });
    expect((await oracle.priceAt(D + 3600n + 899n)).priceMilli).toBe(-5000);
    expect((await oracle.priceAt(D + 3600n + 900n)).priceMilli).toBe(42);
    expect((await oracle.priceAt(D + 3600n + 1800n)).priceMilli).toBe(-5000);
    expect(await oracle.priceVersion()).toBe(3n);
  });

  it("covers a schedule that crosses midnight", async () => {
    const start = D + DAY - 2n * 900n;
    await oracle.publishPrices({ firstSlotStart: start, slotSeconds: 900, pricesMilli: [1, 2, 3, 4] });
    expect((await oracle.priceAt(D + DAY - 1n)).priceMilli).toBe(2);
    expect((await oracle.priceAt(D + DAY)).priceMilli).toBe(3);
    expect((await oracle.priceAt(D + DAY + 1799n)).priceMilli).toBe(4);
    expect((await oracle.priceAt(D + DAY + 1800n)).known).toBe(false);
  });

  it("emits one PricesPublished per call with its version, decoded by prices()", async () => {
    const all = await admin.prices();
    expect(all.map((p) => [p.version, p.firstSlotStart, p.slotSeconds, p.pricesMilli.length])).toEqual([
      [1n, D, 900, 96],
      [2n, D + 3600n, 3600, 4],
      [3n, D + 4500n, 900, 1],
      [4n, D + DAY - 1800n, 900, 4],
    ]);
    expect(all[0]!.pricesMilli).toEqual(day);
    const later = await admin.prices({ fromBlock: all[2]!.blockNumber });
    expect(later.map((p) => p.version)).toEqual([3n, 4n]);
  });

  it("refuses bad schedules in the client and in the contract, and anyone without PRICE_ORACLE_ROLE", async () => {
    const first = D + 10n * DAY;
    await refusedBeforeSending(oracle, "pricesMilli.length", () => oracle.publishPrices({ firstSlotStart: first, slotSeconds: 900, pricesMilli: [] }));
    await refusedBeforeSending(oracle, "pricesMilli.length", () => oracle.publishPrices({ firstSlotStart: first, slotSeconds: 900, pricesMilli: Array(97).fill(1) }));
    await refusedBeforeSending(oracle, "slotSeconds", () => oracle.publishPrices({ firstSlotStart: first, slotSeconds: 59, pricesMilli: [1] }));
    await refusedBeforeSending(oracle, "pricesMilli[1]", () => oracle.publishPrices({ firstSlotStart: first, slotSeconds: 900, pricesMilli: [1, 2 ** 31] }));
    await refusedBeforeSending(oracle, "pricesMilli[0]", () => oracle.publishPrices({ firstSlotStart: first, slotSeconds: 900, pricesMilli: [1.5] }));
    expect(await revertOf(() => raw(oracle, "publishPrices", [first, 3601, [1]]))).toEqual({ errorName: "DRInvalidSchedule", args: [first, 3601n, 1n] });
    expect(await revertOf(() => raw(oracle, "publishPrices", [first, 900, Array(97).fill(1)]))).toEqual({ errorName: "DRInvalidSchedule", args: [first, 900n, 97n] });
    expect(await revertOf(() => raw(oracle, "publishPrices", [2n ** 64n - 100n, 60, [1, 2]]))).toEqual({ errorName: "DRInvalidSchedule", args: [2n ** 64n - 100n, 60n, 2n] });
    expect(await revertOf(() => outsider.publishPrices({ firstSlotStart: first, slotSeconds: 900, pricesMilli: [1] }))).toEqual({
      errorName: "AccessControlUnauthorizedAccount",
      args: [outsider.address, ROLES.PRICE_ORACLE],
    });
    expect(await oracle.priceVersion()).toBe(4n);
  });
});

describe("demand-response events", () => {
  it("announces an event, reads it back by id and by time, edges included", async () => {
    const { start, end } = await window(7200n);
    const r = await utility.announceEvent({ start, end, reduceWatts: 1500, rewardPerKwhWei: ONE / 2n });
    const expected = { eventId: r.eventId, start, end, reduceWatts: 1500, rewardPerKwhWei: ONE / 2n, cancelled: false };
    expect(r.event).toEqual(expected);
    expect(await utility.eventOf(r.eventId)).toEqual(expected);
    expect(await utility.eventCount()).toBe(r.eventId);
    expect(await utility.eventAt(start - 1n)).toBeNull();
    expect(await utility.eventAt(start)).toEqual(expected);
    expect(await utility.eventAt(end - 1n)).toEqual(expected);
    expect(await utility.eventAt(end)).toBeNull();
  });

  it("refuses an event overlapping a live one, and accepts one right after it", async () => {
    const first = await utility.eventOf(await utility.eventCount());
    expect(await revertOf(() => utility.announceEvent({ start: first.end - 1n, end: first.end + 600n, reduceWatts: 100, rewardPerKwhWei: 1n }))).toEqual({
      errorName: "DREventOverlap",
      args: [first.eventId],
    });
    const next = await utility.announceEvent({ start: first.end, end: first.end + 600n, reduceWatts: 100, rewardPerKwhWei: 1n });
    expect(next.eventId).toBe(first.eventId + 1n);
    expect((await utility.eventAt(first.end))!.eventId).toBe(next.eventId);
    cursor = first.end + 601n;
  });

  it("cancels an event before it starts: eventAt stops answering, the window is free again, a second cancel is refused", async () => {
    const { start, end } = await window(3600n);
    const { eventId } = await utility.announceEvent({ start, end, reduceWatts: 800, rewardPerKwhWei: ONE });
    const r = await utility.cancelEvent(eventId);
    expect(r.logs.map((l) => iface.parseLog(l)!.name)).toEqual(["DemandResponseCancelled"]);
    expect((await utility.eventOf(eventId)).cancelled).toBe(true);
    expect(await utility.eventAt(start)).toBeNull();
    expect(await revertOf(() => utility.cancelEvent(eventId))).toEqual({ errorName: "DREventCancelled", args: [eventId] });
    const again = await utility.announceEvent({ start, end, reduceWatts: 900, rewardPerKwhWei: ONE });
    expect((await utility.eventAt(start))!.eventId).toBe(again.eventId);
    const log = await admin.events();
    expect(log.filter((e) => e.eventId === eventId || e.eventId === again.eventId).map((e) => [e.eventId, e.reduceWatts, e.cancelled])).toEqual([
      [eventId, 800, true],
      [again.eventId, 900, false],
    ]);
  });

  it("refuses to cancel an event that started (households may already have cut their load)", async () => {
    const { start, end } = await window(1800n, 30n);
    const { eventId } = await utility.announceEvent({ start, end, reduceWatts: 500, rewardPerKwhWei: ONE });
    await f.chain.increaseTime(Number(start - (await latestTimestamp(f.chain))) + 1);
    const r = await revertOf(() => utility.cancelEvent(eventId));
    expect(r.errorName).toBe("DREventStarted");
    expect(r.args.slice(0, 2)).toEqual([eventId, start]);
    expect(r.args[2] as bigint).toBeGreaterThanOrEqual(start);
  });

  it("validates events in the client and in the contract; unknown ids are named", async () => {
    const now = await latestTimestamp(f.chain);
    await refusedBeforeSending(utility, "end", () => utility.announceEvent({ start: now + 100n, end: now + 100n, reduceWatts: 1, rewardPerKwhWei: 1n }));
    await refusedBeforeSending(utility, "end", () => utility.announceEvent({ start: now + 100n, end: now + 100n + DAY + 1n, reduceWatts: 1, rewardPerKwhWei: 1n }));
    await refusedBeforeSending(utility, "reduceWatts", () => utility.announceEvent({ start: now + 100n, end: now + 200n, reduceWatts: 0, rewardPerKwhWei: 1n }));
    await refusedBeforeSending(utility, "eventId", () => utility.cancelEvent(0n));
    // End in the past; too long; zero reduction: the contract's own checks.
    const past = await revertOf(() => raw(utility, "announceEvent", [now - 7200n, now - 3600n, 100, 1n]));
    expect([past.errorName, ...past.args.slice(0, 3)]).toEqual(["DRInvalidEvent", now - 7200n, now - 3600n, 100n]);
    const long = await revertOf(() => raw(utility, "announceEvent", [now + 100n * DAY, now + 101n * DAY + 1n, 100, 1n]));
    expect([long.errorName, ...long.args.slice(0, 3)]).toEqual(["DRInvalidEvent", now + 100n * DAY, now + 101n * DAY + 1n, 100n]);
    const zero = await revertOf(() => raw(utility, "announceEvent", [now + 100n * DAY, now + 100n * DAY + 60n, 0, 1n]));
    expect(zero.errorName).toBe("DRInvalidEvent");
    expect(await revertOf(() => utility.eventOf(99n))).toEqual({ errorName: "DRUnknownEvent", args: [99n] });
    expect(await revertOf(() => utility.cancelEvent(99n))).toEqual({ errorName: "DRUnknownEvent", args: [99n] });
  });

  it("with a clock lag (a simulated fleet behind real time) accepts an event that ended within the lag, and no earlier", async () => {
    const lagged = await deployDemandResponse({ sender: admin.sender, token: f.addresses.token, clockLagSeconds: 2 * 86_400 });
    const dr = new DemandResponseClient({ sender: admin.sender, address: lagged.address });
    expect(await dr.contract.clockLag()).toBe(2n * DAY);
    const now = await latestTimestamp(f.chain);
    const r = await dr.announceEvent({ start: now - DAY - 3600n, end: now - DAY, reduceWatts: 500, rewardPerKwhWei: 1n });
    expect((await dr.eventOf(r.eventId)).end).toBe(now - DAY);
    const tooOld = await revertOf(() => dr.announceEvent({ start: now - 3n * DAY, end: now - 3n * DAY + 3600n, reduceWatts: 500, rewardPerKwhWei: 1n }));
    expect(tooOld.errorName).toBe("DRInvalidEvent");
    // The lag itself is bounded: a week at most.
    await expect(deployDemandResponse({ sender: admin.sender, token: f.addresses.token, clockLagSeconds: 8 * 86_400 })).rejects.toThrow(/clockLagSeconds = 691200: an integer from 0 to 604800/);
  });

  it("lets only DR_OPERATOR_ROLE announce and cancel", async () => {
    const { start, end } = await window(600n);
    const unauthorized = { errorName: "AccessControlUnauthorizedAccount", args: [outsider.address, ROLES.DR_OPERATOR] };
    expect(await revertOf(() => outsider.announceEvent({ start, end, reduceWatts: 1, rewardPerKwhWei: 1n }))).toEqual(unauthorized);
    const { eventId } = await utility.announceEvent({ start, end, reduceWatts: 1, rewardPerKwhWei: 1n });
    expect(await revertOf(() => outsider.cancelEvent(eventId))).toEqual(unauthorized);
    expect(await revertOf(() => rewarder.cancelEvent(eventId))).toEqual({ errorName: "AccessControlUnauthorizedAccount", args: [rewarder.address, ROLES.DR_OPERATOR] });
  });
});

describe("household rules", () => {
  const rules: Rule[] = [
    { id: 1, device: "washer", when: { priceBelow: 3 }, action: "on" },
    { id: 2, device: "washer", when: { drEvent: true }, action: "off" },
    { id: 3, device: "ev", when: { fromMinute: 1320, toMinute: 360, priceBelow: -0.5 }, action: "charge" },
    { id: 4, device: "battery", when: { priceAbove: 12.345, drEvent: false }, action: "discharge" },
  ];

  it("stores a household's dsm-encoded rules and round-trips them through encodeRule/decodeRule", async () => {
    const [alice] = home;
    const r = await alice!.setRules(rules);
    const words = rules.map((x) => hexlify(encodeRule(x)));
    expect([r.version, r.rules]).toEqual([1n, words]);
    const back = await admin.rulesOf(alice!.address);
    expect(back).toEqual({ household: alice!.address, version: 1n, rules: words, decoded: rules });
    expect(back.rules.map((w) => decodeRule(w))).toEqual(rules);
    const ev = r.receipt.logs.map((l) => iface.parseLog(l)!).find((e) => e.name === "RulesSet")!;
    expect([ev.args.household, ev.args.version, [...ev.args.rules]]).toEqual([alice!.address, 1n, words]);
  });

  it("replaces the list and bumps the version on every change; an empty list clears it; others are untouched", async () => {
    const [alice, bob] = home;
    const asHex = hexlify(encodeRule(rules[3]!));
    const asBytes = encodeRule(rules[0]!);
    const r = await alice!.setRules([asHex, asBytes]);
    expect(r.version).toBe(2n);
    expect(await alice!.rulesOf()).toEqual({ household: alice!.address, version: 2n, rules: [asHex, hexlify(asBytes)], decoded: [rules[3], rules[0]] });
    expect((await alice!.setRules([])).version).toBe(3n);
    expect(await alice!.rulesOf()).toEqual({ household: alice!.address, version: 3n, rules: [], decoded: [] });
    expect(await alice!.rulesOf(bob!.address)).toEqual({ household: bob!.address, version: 0n, rules: [], decoded: [] });
  });

  it("keeps words it does not understand (opaque), decoding them as null", async () => {
    const [, bob] = home;
    const odd = `0x${"ff".repeat(32)}`;
    await bob!.setRules([encodeRule(rules[1]!), odd]);
    const back = await bob!.rulesOf();
    expect(back.rules).toEqual([hexlify(encodeRule(rules[1]!)), odd]);
    expect(back.decoded).toEqual([rules[1], null]);
  });

  it("refuses more than 32 rules, a zero word and an unencodable rule", async () => {
    const [, , carol] = home;
    const w = hexlify(encodeRule(rules[0]!));
    await refusedBeforeSending(carol!, "rules.length", () => carol!.setRules(Array(33).fill(w)));
    await refusedBeforeSending(carol!, "rules[1]", () => carol!.setRules([w, `0x${"00".repeat(32)}`]));
    await refusedBeforeSending(carol!, "rules[0]", () => carol!.setRules(["0x1234"]));
    const e = await refusedBeforeSending(carol!, "rules[0]", () => carol!.setRules([{ id: 9, device: "sauna", when: {}, action: "on" }]));
    expect(isDsmError(e.cause, "INVALID_RULE")).toBe(true);
    expect(await revertOf(() => raw(carol!, "setRules", [Array(33).fill(w)]))).toEqual({ errorName: "DRTooManyRules", args: [33n, 32n] });
    expect(await revertOf(() => raw(carol!, "setRules", [[w, `0x${"00".repeat(32)}`]]))).toEqual({ errorName: "DRZeroRule", args: [1n] });
    expect((await carol!.setRules(Array(32).fill(w))).version).toBe(1n);
    expect((await carol!.rulesOf()).rules).toHaveLength(DEMAND_RESPONSE_LIMITS.maxRules);
  });
});

describe("pool and day-ahead settlement", () => {
  let D: bigint;
  const root = id("schedule of the day");

  it("takes funding from anyone (transferFrom) into the pool", async () => {
    await tst.faucet(2_000n * ONE);
    const r = await admin.fund(1_000n * ONE, { approve: true });
    const ev = r.logs.map((l) => iface.parseLog(l)).find((e) => e?.name === "PoolFunded")!;
    expect([ev.args.funder, ev.args.amount]).toEqual([admin.address, 1_000n * ONE]);
    expect(await admin.pool()).toBe(1_000n * ONE);
    await refusedBeforeSending(admin, "amount", () => admin.fund(0n));
    expect(await revertOf(() => raw(admin, "fund", [0n]))).toEqual({ errorName: "DRZeroAmount", args: [] });
  });

  it("records the day once and pays each household its reward, sorted by address", async () => {
    D = await futureDay(0n);
    const rewards = home.slice(0, 3).map((h, i) => ({ household: h.address, amount: BigInt(i + 1) * ONE + 7n }));
    const before = await Promise.all(home.map((h) => tst.balanceOf(h.address)));
    const pool = await admin.pool();
    const r = await rewarder.settleDayAhead({ dayStart: D, scheduleRoot: root, parBeforeMilli: 1820, parAfterMilli: 1365, rewards: [...rewards].reverse() });
    const total = 6n * ONE + 21n;
    expect(r.total).toBe(total);
    const sorted = [...rewards].sort((a, b) => (BigInt(a.household) < BigInt(b.household) ? -1 : 1));
    expect(r.paid).toEqual(sorted);
    const after = await Promise.all(home.map((h) => tst.balanceOf(h.address)));
    expect(after.map((b, i) => b - before[i]!)).toEqual([ONE + 7n, 2n * ONE + 7n, 3n * ONE + 7n, 0n]);
    expect(await admin.pool()).toBe(pool - total);
    expect(await admin.daySettlementOf(D)).toEqual({ dayStart: D, scheduleRoot: root, total, parBeforeMilli: 1820, parAfterMilli: 1365, households: 3 });
    const settled = r.receipt.logs.map((l) => iface.parseLog(l)).find((e) => e?.name === "DayAheadSettled")!;
    expect([...settled.args]).toEqual([D, root, 1820n, 1365n, total]);
    const logged = await admin.rewards({ fromBlock: r.receipt.blockNumber });
    expect(logged.map((x) => (x.kind === "dayAhead" ? [x.dayStart, x.household, x.amount] : null))).toEqual(sorted.map((s) => [D, s.household, s.amount]));
    expect(await admin.daySettlementOf(D + DAY)).toBeNull();
  });

  it("refuses a second settlement of the same day", async () => {
    expect(await revertOf(() => rewarder.settleDayAhead({ dayStart: D, scheduleRoot: root, parBeforeMilli: 1, parAfterMilli: 1, rewards: [] }))).toEqual({
      errorName: "DRDayAlreadySettled",
      args: [D],
    });
  });

  it("reverts when the pool is short and pays no one", async () => {
    const pool = await admin.pool();
    const rewards = [
      { household: home[0]!.address, amount: 1n },
      { household: home[3]!.address, amount: pool },
    ];
    const before = await Promise.all(home.map((h) => tst.balanceOf(h.address)));
    expect(await revertOf(() => rewarder.settleDayAhead({ dayStart: D + DAY, scheduleRoot: root, parBeforeMilli: 1500, parAfterMilli: 1400, rewards }))).toEqual({
      errorName: "DRPoolShort",
      args: [pool + 1n, pool],
    });
    expect(await Promise.all(home.map((h) => tst.balanceOf(h.address)))).toEqual(before);
    expect(await admin.daySettlementOf(D + DAY)).toBeNull();
    expect(await admin.pool()).toBe(pool);
  });

  it("validates the lists in the client and in the contract, and refuses anyone without REWARDER_ROLE", async () => {
    const [a, b] = [home[0]!.address, home[1]!.address].sort((x, y) => (BigInt(x) < BigInt(y) ? -1 : 1)) as [string, string];
    const day = D + 2n * DAY;
    const base = { dayStart: day, scheduleRoot: root, parBeforeMilli: 1500, parAfterMilli: 1400 };
    await refusedBeforeSending(rewarder, "rewards[1].household", () => rewarder.settleDayAhead({ ...base, rewards: [{ household: a, amount: 1n }, { household: a, amount: 1n }] }));
    await refusedBeforeSending(rewarder, "rewards[0].amount", () => rewarder.settleDayAhead({ ...base, rewards: [{ household: a, amount: 0n }] }));
    await refusedBeforeSending(rewarder, "rewards[0].household", () => rewarder.settleDayAhead({ ...base, rewards: [{ household: "0x1234", amount: 1n }] }));
    await refusedBeforeSending(rewarder, "scheduleRoot", () => rewarder.settleDayAhead({ ...base, scheduleRoot: `0x${"00".repeat(32)}`, rewards: [] }));
    await refusedBeforeSending(rewarder, "parAfterMilli", () => rewarder.settleDayAhead({ ...base, parAfterMilli: -1, rewards: [] }));
    const tooMany = Array.from({ length: DEMAND_RESPONSE_LIMITS.maxDayAheadHouseholds + 1 }, (_, i) => ({ household: new Wallet(id(`h${i}`)).address, amount: 1n }));
    await refusedBeforeSending(rewarder, "rewards.length", () => rewarder.settleDayAhead({ ...base, rewards: tooMany }));
    const call = (hs: string[], amounts: bigint[], r = root) => revertOf(() => raw(rewarder, "settleDayAhead", [day, r, 1500, 1400, hs, amounts]));
    expect(await call([b, a], [1n, 1n])).toEqual({ errorName: "DRInvalidHousehold", args: [1n, a] });
    expect(await call([a, a], [1n, 1n])).toEqual({ errorName: "DRInvalidHousehold", args: [1n, a] });
    expect(await call(["0x0000000000000000000000000000000000000000"], [1n])).toEqual({ errorName: "DRInvalidHousehold", args: [0n, "0x0000000000000000000000000000000000000000"] });
    expect(await call([a, b], [1n])).toEqual({ errorName: "DRLengthMismatch", args: [2n, 1n] });
    expect(await call([a], [0n])).toEqual({ errorName: "DRZeroReward", args: [a] });
    expect(await call([a], [1n], `0x${"00".repeat(32)}`)).toEqual({ errorName: "DRZeroRoot", args: [] });
    const hs = tooMany.map((t) => t.household).sort((x, y) => (BigInt(x) < BigInt(y) ? -1 : 1));
    expect(await call(hs, hs.map(() => 1n))).toEqual({ errorName: "DRTooManyHouseholds", args: [401n, 400n] });
    expect(await revertOf(() => outsider.settleDayAhead({ ...base, rewards: [{ household: a, amount: 1n }] }))).toEqual({
      errorName: "AccessControlUnauthorizedAccount",
      args: [outsider.address, ROLES.REWARDER],
    });
    expect(await admin.daySettlementOf(day)).toBeNull();
  });
});

describe("efficiency rewards", () => {
  const evidence = id("merkle root of the anchored readings");
  const RATE = ONE / 2n + 1n; // per kWh; 333 Wh → floor(333 × RATE / 1000)
  let eventId: bigint;
  let end: bigint;

  it("refuses to pay for an event that has not ended", async () => {
    const w = await window(600n, 30n);
    end = w.end;
    eventId = (await utility.announceEvent({ start: w.start, end, reduceWatts: 2000, rewardPerKwhWei: RATE })).eventId;
    const r = await revertOf(() => rewarder.payEfficiencyRewards({ eventId, evidenceRoot: evidence, savings: [{ household: home[0]!.address, savedWh: 1000n }] }));
    expect(r.errorName).toBe("DREventNotEnded");
    expect(r.args.slice(0, 2)).toEqual([eventId, end]);
  });

  it("pays savedWh × rate / 1000 (rounded down) to each household once the event ended, with the evidence root", async () => {
    const now = await latestTimestamp(f.chain);
    await f.chain.increaseTime(Number(end - now) + 1);
    const savings = [
      { household: home[0]!.address, savedWh: 1500n },
      { household: home[1]!.address, savedWh: 333n },
      { household: home[2]!.address, savedWh: 2500n },
    ];
    const amounts = savings.map((s) => efficiencyReward(Number(s.savedWh), RATE)); // the dsm package's rule
    expect(amounts).toEqual(savings.map((s) => (s.savedWh * RATE) / 1000n));
    expect(amounts[1]).toBe(166_500_000_000_000_000n); // 333 × (0.5 SGT + 1 wei) / 1000, the 0.333 wei dropped
    const before = await Promise.all(home.map((h) => tst.balanceOf(h.address)));
    const pool = await admin.pool();
    const r = await rewarder.payEfficiencyRewards({ eventId, evidenceRoot: evidence, savings });
    const total = amounts.reduce((a, b) => a + b, 0n);
    expect(r.total).toBe(total);
    expect(r.rewards).toEqual(savings.map((s, i) => ({ eventId, household: s.household, savedWh: s.savedWh, amount: amounts[i], evidenceRoot: evidence })));
    const after = await Promise.all(home.map((h) => tst.balanceOf(h.address)));
    expect(after.map((b, i) => b - before[i]!)).toEqual([...amounts, 0n]);
    expect(await admin.pool()).toBe(pool - total);
    expect(await admin.efficiencyRewardOf(eventId, home[1]!.address)).toEqual({ paid: true, savedWh: 333n, amount: amounts[1] });
    expect(await admin.efficiencyRewardOf(eventId, home[3]!.address)).toEqual({ paid: false, savedWh: 0n, amount: 0n });
    const mine = await admin.rewards({ household: home[1]!.address });
    expect(mine.filter((x) => x.kind === "efficiency")).toEqual([{ kind: "efficiency", eventId, household: home[1]!.address, savedWh: 333n, amount: amounts[1], evidenceRoot: evidence, blockNumber: r.receipt.blockNumber, transactionHash: r.receipt.transactionHash }]);
    expect(mine.filter((x) => x.kind === "dayAhead")).toHaveLength(1);
    expect(mine.every((x) => x.household === home[1]!.address)).toBe(true);
  });

  it("pays each (event, household) at most once: a repeat reverts and pays no one in that call", async () => {
    const before = await Promise.all(home.map((h) => tst.balanceOf(h.address)));
    const savings = [
      { household: home[3]!.address, savedWh: 100n },
      { household: home[0]!.address, savedWh: 100n },
    ];
    expect(await revertOf(() => rewarder.payEfficiencyRewards({ eventId, evidenceRoot: evidence, savings }))).toEqual({
      errorName: "DRAlreadyRewarded",
      args: [eventId, home[0]!.address],
    });
    expect(await revertOf(() => raw(rewarder, "payEfficiencyRewards", [eventId, evidence, [home[3]!.address, home[3]!.address], [1n, 1n]]))).toEqual({
      errorName: "DRAlreadyRewarded",
      args: [eventId, home[3]!.address],
    });
    expect(await Promise.all(home.map((h) => tst.balanceOf(h.address)))).toEqual(before);
    expect((await admin.efficiencyRewardOf(eventId, home[3]!.address)).paid).toBe(false);
    // A later call for someone not yet paid works: rewards may come in several calls.
    const r = await rewarder.payEfficiencyRewards({ eventId, evidenceRoot: evidence, savings: [savings[0]!] });
    expect(r.rewards.map((x) => [x.household, x.amount])).toEqual([[home[3]!.address, (100n * RATE) / 1000n]]);
  });

  it("refuses cancelled and unknown events", async () => {
    const w = await window(600n);
    const { eventId: cancelled } = await utility.announceEvent({ start: w.start, end: w.end, reduceWatts: 1, rewardPerKwhWei: ONE });
    await utility.cancelEvent(cancelled);
    const now = await latestTimestamp(f.chain);
    await f.chain.increaseTime(Number(w.end - now) + 1);
    const savings = [{ household: home[0]!.address, savedWh: 1n }];
    expect(await revertOf(() => rewarder.payEfficiencyRewards({ eventId: cancelled, evidenceRoot: evidence, savings }))).toEqual({ errorName: "DREventCancelled", args: [cancelled] });
    expect(await revertOf(() => rewarder.payEfficiencyRewards({ eventId: 999n, evidenceRoot: evidence, savings }))).toEqual({ errorName: "DRUnknownEvent", args: [999n] });
  });

  it("reverts when the pool is short and marks no one paid", async () => {
    const w = await window(300n, 10n);
    const pool = await admin.pool();
    // 2 kWh at (pool / 2 + 1) per kWh: one or two wei more than the pool holds.
    const rate = pool / 2n + 1n;
    const { eventId: big } = await utility.announceEvent({ start: w.start, end: w.end, reduceWatts: 1, rewardPerKwhWei: rate });
    const now = await latestTimestamp(f.chain);
    await f.chain.increaseTime(Number(w.end - now) + 1);
    const before = await Promise.all(home.map((h) => tst.balanceOf(h.address)));
    const savings = [
      { household: home[0]!.address, savedWh: 1000n },
      { household: home[1]!.address, savedWh: 1000n },
    ];
    expect(await revertOf(() => rewarder.payEfficiencyRewards({ eventId: big, evidenceRoot: evidence, savings }))).toEqual({ errorName: "DRPoolShort", args: [2n * rate, pool] });
    expect(await Promise.all(home.map((h) => tst.balanceOf(h.address)))).toEqual(before);
    expect((await admin.efficiencyRewardOf(big, home[0]!.address)).paid).toBe(false);
    // Once funded, the same payment goes through.
    await tst.faucet(2n);
    await admin.fund(2n, { approve: true });
    const r = await rewarder.payEfficiencyRewards({ eventId: big, evidenceRoot: evidence, savings });
    expect(r.total).toBe(2n * rate);
    expect(await admin.pool()).toBe(pool + 2n - 2n * rate);
  });

  it("validates inputs in the client and in the contract, and refuses anyone without REWARDER_ROLE", async () => {
    const h = home[2]!.address;
    await refusedBeforeSending(rewarder, "evidenceRoot", () => rewarder.payEfficiencyRewards({ eventId, evidenceRoot: `0x${"00".repeat(32)}`, savings: [] }));
    await refusedBeforeSending(rewarder, "savings[0].savedWh", () => rewarder.payEfficiencyRewards({ eventId, evidenceRoot: evidence, savings: [{ household: h, savedWh: 0n }] }));
    await refusedBeforeSending(rewarder, "savings[1].household", () =>
      rewarder.payEfficiencyRewards({ eventId, evidenceRoot: evidence, savings: [{ household: h, savedWh: 1n }, { household: h.toLowerCase(), savedWh: 1n }] }),
    );
    await refusedBeforeSending(rewarder, "eventId", () => rewarder.payEfficiencyRewards({ eventId: 0n, evidenceRoot: evidence, savings: [] }));
    const tooMany = Array.from({ length: DEMAND_RESPONSE_LIMITS.maxEfficiencyHouseholds + 1 }, (_, i) => ({ household: new Wallet(id(`e${i}`)).address, savedWh: 1n }));
    await refusedBeforeSending(rewarder, "savings.length", () => rewarder.payEfficiencyRewards({ eventId, evidenceRoot: evidence, savings: tooMany }));
    const call = (hs: string[], wh: bigint[], r = evidence) => revertOf(() => raw(rewarder, "payEfficiencyRewards", [eventId, r, hs, wh]));
    expect(await call(tooMany.map((t) => t.household), tooMany.map(() => 1n))).toEqual({ errorName: "DRTooManyHouseholds", args: [251n, 250n] });
    expect(await call([h], [0n])).toEqual({ errorName: "DRZeroSavings", args: [h] });
    expect(await call([h], [1n, 2n])).toEqual({ errorName: "DRLengthMismatch", args: [1n, 2n] });
    expect(await call(["0x0000000000000000000000000000000000000000"], [1n])).toEqual({ errorName: "DRInvalidHousehold", args: [0n, "0x0000000000000000000000000000000000000000"] });
    expect(await call([h], [1n], `0x${"00".repeat(32)}`)).toEqual({ errorName: "DRZeroRoot", args: [] });
    expect(await revertOf(() => outsider.payEfficiencyRewards({ eventId, evidenceRoot: evidence, savings: [{ household: home[3]!.address, savedWh: 1n }] }))).toEqual({
      errorName: "AccessControlUnauthorizedAccount",
      args: [outsider.address, ROLES.REWARDER],
    });
    expect(await revertOf(() => utility.payEfficiencyRewards({ eventId, evidenceRoot: evidence, savings: [{ household: home[3]!.address, savedWh: 1n }] }))).toEqual({
      errorName: "AccessControlUnauthorizedAccount",
      args: [utility.address, ROLES.REWARDER],
    });
  });
});
