// Demand response end to end on real parts: a household's rules on BlockTST's DemandResponse
// (anvil), the price and a demand-response event published there, the gateway running her rules at
// each 15-minute report of her meter, the simulator's appliances switched through its control API,
// and her next readings moving by the appliance's energy. A neighbour without rules is left alone.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Deployments, TxSender, startTestChain, type TestChain } from "@sidegrid/chain";
import { DemandResponseClient, deployBlockTst, deployDemandResponse } from "@sidegrid/blocktst";
import { parseEther, Wallet } from "ethers";
import { signRequest } from "./api/auth";
import { demandResponseActions } from "./demandResponseLog";
import { startConsentingFleet, type ConsentingFleet } from "./test-utils/fleet";

const REDIS = process.env.SIDEGRID_TEST_REDIS_URL!;
const TST_CHAIN = 31575;
const Q = 900_000;
const H = 3_600_000;

let tst: TestChain;
let fleet: ConsentingFleet;
let dir: string;
let day: number; // UTC midnight of the simulated day (ms)
let oracle: DemandResponseClient;

beforeAll(async () => {
  tst = await startTestChain({ chainId: TST_CHAIN });
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "mg-dr-"));
  const admin = await tst.account(0);
  const deployments = Deployments.forNetwork(dir, "blocktst", TST_CHAIN);
  const bt = await deployBlockTst({ sender: admin.sender, deployments, blockpri: { chainId: 31573, ppc: Wallet.createRandom().address } });
  const drAddress = (await deployDemandResponse({ sender: admin.sender, token: bt.token, deployments })).address;
  oracle = new DemandResponseClient({ sender: admin.sender, address: drAddress });
  // The simulated day lies ahead of the chain's clock: events must end in the future when announced.
  const block = await tst.provider.getBlock("latest");
  day = (Math.floor(block!.timestamp / 86_400) + 2) * 86_400_000;
  const tokenFile = path.join(dir, "control.token");
  fleet = await startConsentingFleet({
    chainIds: [31573, 31574],
    meters: [1, 2],
    seed: "dr",
    startMs: day + 17 * H,
    redisUrl: REDIS,
    queuePrefix: `test-dr-${process.pid}`,
    control: true,
    config: (sim) => {
      fs.writeFileSync(tokenFile, sim.controlToken!, { mode: 0o600 });
      return {
        poll: { intervalMs: 3_600_000 },
        anchor: { flushIntervalMs: 50 },
        demandResponse: { blocktst: { rpcUrl: tst.node.url, chainId: TST_CHAIN, demandResponse: drAddress }, control: { url: sim.controlUrl!, tokenFile }, rulesTtlMs: 1 },
      };
    },
  });
  // Her rules, set by her own wallet on BlockTST: charge the EV when power is cheap, stop the washer during an event.
  const her = fleet.fx.consumers.get(1)!.wallet;
  await admin.sender.sendAndWait({ to: her.address, value: parseEther("1") });
  const herTst = await TxSender.create(new Wallet(her.privateKey, tst.provider), tst.provider, { network: "blocktst" });
  await new DemandResponseClient({ sender: herTst, address: drAddress }).setRules([
    { id: 1, device: "ev", when: { priceBelow: 3 }, action: "on" },
    // The washer's slot from a day-ahead schedule, 17:30–17:45: a time-window rule runs it.
    { id: 3, device: "washer", when: { fromMinute: 17 * 60 + 30, toMinute: 17 * 60 + 45 }, action: "on" },
    { id: 2, device: "washer", when: { drEvent: true }, action: "off" },
  ]);
  // The day's prices (cents/kWh in thousandths): cheap 17:00–19:00, dear otherwise; an event 18:00–19:00.
  await oracle.publishPrices({ firstSlotStart: day / 1000, slotSeconds: 900, pricesMilli: Array.from({ length: 96 }, (_, i) => (i >= 68 && i < 76 ? 2_000 : 8_000)) });
  await oracle.announceEvent({ start: (day + 18 * H) / 1000, end: (day + 19 * H) / 1000, reduceWatts: 1_000, rewardPerKwhWei: 10n ** 17n });
}, 180_000);

afterAll(async () => {
  await fleet?.stop();
  await tst?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

/** Moves the manual clock to `ms` and polls both meters (each poll is a report). */
async function reportAt(ms: number) {
  fleet.clock.advance(ms - fleet.clock.now());
  await fleet.gw.pollNow(1);
  await fleet.gw.pollNow(2);
}

/** Meter 1's import register as the gateway last accepted it (Wh). */
const importWh = async () => (await fleet.gw.pipeline.state(1)).lastAccepted!.importWh;

describe("demand response at the meter", () => {
  it("runs her rules at each report: the EV charges while power is cheap, the washer stops during the event, both return to her own behaviour after", async () => {
    const consumer = fleet.fx.consumers.get(1)!.address;
    await reportAt(day + 17 * H + Q); // report of 17:00–17:15: price 2 < 3
    // Newest first: the washer's slot (17:30, decided ahead), then the EV for the interval that began.
    expect((await demandResponseActions(fleet.gw.store, consumer)).map((a) => [a.device, a.action, a.ruleId, a.price, a.drEventId])).toEqual([
      ["washer", "on", 3, 2, null],
      ["ev", "on", 1, 2, null],
    ]);
    const ev = fleet.sim.appliances(1).find((a) => a.device === "ev")!;
    expect(ev.mode).toBe("on");

    const before = await importWh();
    await reportAt(day + 17 * H + 2 * Q);
    // The EV drew its power over the whole next interval: the registers the gateway read moved by it.
    const evW = fleet.sim.appliances(1).find((a) => a.device === "ev")!.powerW;
    expect(evW).toBeGreaterThan(3_000);
    expect((await fleet.gw.pipeline.state(1)).lastAccepted!.clockMs).toBe(day + 17 * H + 2 * Q);
    expect((await importWh()) - before).toBeGreaterThanOrEqual(Math.floor((evW * 0.25) * 0.99));

    await reportAt(day + 18 * H); // 18:00: the event starts, the price is still low
    await reportAt(day + 19 * H); // 19:00: the event is over, the price dear
    const actions = (await demandResponseActions(fleet.gw.store, consumer)).reverse();
    // Each interval is decided one report ahead (the washer's 17:30 start was sent at the 17:15
    // report); an interval no earlier report covered (18:00, 19:00: reports skipped) at once.
    expect(actions.map((a) => [new Date(a.atMs).toISOString().slice(11, 16), a.device, a.action, a.ruleId, a.drEventId])).toEqual([
      ["17:15", "ev", "on", 1, null],
      ["17:30", "washer", "on", 3, null],
      ["17:45", "washer", "auto", null, null],
      ["18:00", "washer", "off", 2, "1"],
      ["19:00", "ev", "auto", null, null],
      ["19:00", "washer", "auto", null, null],
    ]);
    expect(fleet.gw.demandResponse!.agent.stats).toMatchObject({ actions: 6, errors: 0 });
    // The simulator holds the washer's command at its slot's start, sent a quarter of an hour ahead.
    const washer = fleet.sim.appliances(1).find((a) => a.device === "washer")!;
    expect(washer.commands.map((c) => [new Date(c.atMs).toISOString().slice(11, 16), c.action])).toEqual([
      ["17:30", "on"],
      ["17:45", "auto"],
      ["18:00", "off"],
      ["19:00", "auto"],
    ]);
    // The neighbour set no rule: nothing was sent to her appliances.
    expect(fleet.sim.appliances(2).every((a) => a.commands.length === 0)).toBe(true);
    expect(await demandResponseActions(fleet.gw.store, fleet.fx.consumers.get(2)!.address)).toEqual([]);
  });

  it("shows the household her own actions through the signed API, and nobody else", async () => {
    const her = fleet.fx.consumers.get(1)!;
    const p = `/v1/consumers/${her.address}/demand-response`;
    const res = await fetch(fleet.gw.url + p, { headers: await signRequest({ signer: her.wallet, method: "GET", path: p }) });
    const body = (await res.json()) as { actions: { device: string; action: string }[] };
    expect(body.actions.map((a) => `${a.device}:${a.action}`)).toEqual(["washer:auto", "ev:auto", "washer:off", "washer:auto", "washer:on", "ev:on"]);
    const other = fleet.fx.consumers.get(2)!;
    const refused = await fetch(fleet.gw.url + p, { headers: await signRequest({ signer: other.wallet, method: "GET", path: p }) });
    expect(refused.status).toBe(403);
  });
});
