// DLMS meters read by the real gateway and anchored on BlockSEC like OSGP ones (anvil × 2, Redis):
// one meter over the IP wrapper (a G3-PLC or cellular node), one over HDLC (a serial meter behind a
// TCP bridge), one HAN meter pushing to the gateway's listener. Consent decides as for OSGP; the
// anchored payload opens to the meter's registers.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Resolution as SecResolution, type MeterRecord } from "@sidegrid/blocksec";
import { SimClock } from "@sidegrid/pi-meter";
import { startGateway, type Gateway } from "../gateway";
import { SimulatedMeter } from "@sidegrid/pi-meter";
import { CONTENT_RAW_RECORD, openReadingPayload } from "../payload";
import { startSidegridFixture, type SidegridFixture } from "../test-utils/fixture";
import { DLMS_HDLC_PROTOCOL, DLMS_UDP_PROTOCOL, DLMS_WRAPPER_PROTOCOL } from "./adapter";
import { freePort } from "@sidegrid/chain";
import { DLMS_PUSH_PROTOCOL } from "./pushAdapter";
import { startDlmsMeter, type DlmsMeterServer } from "@sidegrid/pi-meter";
import { startDlmsPushMeter, type DlmsPushMeter } from "@sidegrid/pi-meter";

const T0 = Date.UTC(2025, 6, 1, 12, 0);
const INTERVAL = 900_000;
const REDIS = process.env.SIDEGRID_TEST_REDIS_URL!;
const ctxOf = (r: MeterRecord) => ({ meterId: Number(BigInt(r.meterId)), sequence: Number(r.sequence), resolution: SecResolution[r.resolution] });

describe("gateway reading DLMS meters (anvil × 2, Redis, DLMS over wrapper and HDLC)", () => {
  let fx: SidegridFixture;
  let gw: Gateway;
  let clock: SimClock;
  let dataDir: string;
  const meters = new Map<number, SimulatedMeter>();
  const servers: DlmsMeterServer[] = [];
  let pushPort: number;
  let pusher: DlmsPushMeter | undefined;

  beforeAll(async () => {
    fx = await startSidegridFixture({ priChainId: 31521, secChainId: 31522 });
    clock = new SimClock({ simStartMs: T0, manual: true });
    for (const [meterId, transport] of [[21, "wrapper"], [22, "hdlc"], [23, "wrapper"], [25, "udp"]] as const) {
      const meter = new SimulatedMeter({ meterId, seed: "dlms-e2e", clock, masterKey: new Uint8Array(16), installedAtMs: T0 - 2 * 3600_000 });
      meters.set(meterId, meter);
      servers.push(await startDlmsMeter({ meter, transport, ...(meterId === 22 ? { maxPduSize: 256, hdlcMaxInfo: 64 } : {}) }));
    }
    meters.set(24, new SimulatedMeter({ meterId: 24, seed: "dlms-e2e", clock, masterKey: new Uint8Array(16), installedAtMs: T0 - 2 * 3600_000 }));
    pushPort = await freePort();
    await fx.addConsumers([21, 22, 23, 24, 25]);
    const u = fx.utility.address;
    for (const id of [21, 22, 24, 25]) await fx.setPreferences(id, [{ utility: u, category: "CONSUMPTION", allowed: true, resolution: "QUARTER_HOURLY" }]);
    // Meter 23's household has given no consent.
    expect(await fx.relay()).toBe(5 + 4);
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "mg-dlms-"));
    gw = await startGateway({
      clock,
      config: {
        dataDir,
        redisUrl: REDIS,
        queuePrefix: `test-dlms-${process.pid}`,
        blocksec: { rpcUrl: fx.sec.node.url, chainId: 31522, addresses: fx.addresses, privateKey: fx.gatewayKey, startBlock: fx.startBlock },
        meters: [
          ...servers.map((s) => ({ meterId: s.physicalAddress, protocol: s.transport === "hdlc" ? DLMS_HDLC_PROTOCOL : s.transport === "udp" ? DLMS_UDP_PROTOCOL : DLMS_WRAPPER_PROTOCOL, host: s.host, port: s.port })),
          { meterId: 24, protocol: DLMS_PUSH_PROTOCOL, host: "127.0.0.1", port: pushPort },
        ],
        poll: { intervalMs: 3_600_000, timeoutMs: 2000 },
        policy: { pollMs: 100 },
        anchor: { flushIntervalMs: 50 },
      },
      log: (l) => process.env.MG_DEBUG && console.log(l),
    });
  }, 120_000);
  afterAll(async () => {
    await gw?.poller.obliterate().catch(() => undefined);
    await pusher?.close();
    await gw?.stop();
    for (const s of servers) await s.close();
    await fx?.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it.each([21, 22, 24, 25])("anchors meter %i's intervals on BlockSEC, each payload opening to the meter's registers", async (meterId) => {
    let stored = 0;
    if (meterId === 24) {
      // The HAN meter pushes to the listener the gateway opened at start; a poll takes what has arrived.
      pusher = await startDlmsPushMeter({ meter: meters.get(24)!, target: { host: "127.0.0.1", port: pushPort }, transport: "hdlc" });
      expect(await pusher.pushLogged()).toBe(8);
      for (let i = 0; i < 100 && stored < 8; i++) {
        const { outcome } = await gw.pollNow(meterId);
        expect(outcome.notPermitted).toBe(0);
        stored += outcome.stored;
        if (stored < 8) await new Promise((r) => setTimeout(r, 100));
      }
    } else {
      const { outcome } = await gw.pollNow(meterId);
      expect(outcome.notPermitted).toBe(0);
      stored = outcome.stored;
    }
    expect(stored).toBe(8);
    expect(await gw.anchorer.drain()).toBe(true);
    const c = fx.consumers.get(meterId)!;
    const onChain = await fx.secAdmin.storedRecords({ consumer: c.address, fromBlock: fx.startBlock });
    const first = (T0 - 2 * 3600_000) / INTERVAL + 1; // the interval index of the first row's end
    expect(onChain.map((s) => Number(s.record.sequence))).toEqual([0, 1, 2, 3, 4, 5, 6, 7].map((i) => first + i));
    const model = meters.get(meterId)!.loggedReadings();
    for (const s of onChain) {
      const opened = openReadingPayload(Buffer.from(s.record.payload.slice(2), "hex"), { secretKey: c.keys.secretKey }, ctxOf(s.record));
      expect(opened.contentType).toBe(CONTENT_RAW_RECORD);
      if (opened.contentType !== CONTENT_RAW_RECORD) continue;
      const m = model.find((x) => x.clockMs === opened.reading.clockMs)!;
      expect(opened.reading).toMatchObject({ meterId, sequence: Number(s.record.sequence), activeEnergyImportWh: m.activeEnergyImportWh, activeEnergyExportWh: m.activeEnergyExportWh });
    }
  });

  it("reads on from where it stored after time passes, without a row twice", async () => {
    clock.advance(3600_000);
    const { outcome } = await gw.pollNow(21);
    expect(outcome).toMatchObject({ stored: 4, duplicates: 0 });
    expect(await gw.anchorer.drain()).toBe(true);
    const seqs = (await fx.secAdmin.storedRecords({ consumer: fx.consumers.get(21)!.address, fromBlock: fx.startBlock })).map((s) => Number(s.record.sequence));
    expect(seqs.length).toBe(12);
    expect(new Set(seqs).size).toBe(12);
  });

  it("anchors nothing of a DLMS meter whose household has not consented", async () => {
    const { outcome } = await gw.pollNow(23);
    expect(outcome.stored).toBe(0);
    // Registered, no preferences yet: its rows wait (ingest.holdUndecidedMs), neither stored nor written off.
    expect(outcome.undecided).toBeGreaterThan(0);
    expect(outcome.notPermitted).toBe(0);
    expect(await gw.anchorer.drain()).toBe(true);
    expect(await fx.secAdmin.storedRecords({ consumer: fx.consumers.get(23)!.address, fromBlock: fx.startBlock })).toEqual([]);
  });
});
