// The chain watcher alone: its decoding of each log kind (no chain), then polling one anvil chain
// with the federation's outbox and inbox: what it hands over, when (confirmations), what happens
// when the handler fails, and how it follows member-set and pause changes.
import { Wallet, getAddress } from "ethers";
import { setInboxPaused, updateMemberSet } from "../governance";
import { messageKey, type FederationMessage } from "../messages";
import { LANE_DST, laneChainConfig, recordingLog, startLane, testMetrics, type Lane } from "../test-utils/lane";
import { inboxIface, outboxIface, sourceIface } from "../test-utils/world";
import { newChainState, type ChainState } from "./state";
import { ChainWatcher, EVENT_NONCE_FLAG, decodeLogs, eventNonce, type Observation, type RawLog } from "./watcher";

const CHAIN_ID = 31811;
const OUTBOX = "0x00000000000000000000000000000000000000b0";
const INBOX = "0x00000000000000000000000000000000000000b1";
const APP = "0x00000000000000000000000000000000000000a9";

function rawLog(address: string, encoded: { topics: readonly string[]; data: string }, block = 7, logIndex = 0): RawLog {
  return { address, topics: [...encoded.topics], data: encoded.data, blockNumber: `0x${block.toString(16)}`, logIndex: `0x${logIndex.toString(16)}` };
}

describe("decodeLogs", () => {
  const cs = newChainState(
    { name: "local", chainId: CHAIN_ID, rpcUrl: "http://127.0.0.1:1", confirmations: 0, outbox: OUTBOX, inbox: INBOX, startBlock: 0 },
    {
      cursor: 0,
      members: [],
      threshold: 2,
      maxBatch: 10,
      eventSources: [
        { chain: "local", contract: APP, event: "RelayPayload(uint256 indexed dstChainId, address indexed dstContract, bytes payload)", payloadArg: "payload", dstChainIdArg: "dstChainId", dstContractArg: "dstContract" },
      ],
    },
  );
  const dstContract = getAddress("0x00000000000000000000000000000000000000d5");
  const sender = getAddress("0x00000000000000000000000000000000000000e5");

  it("reads an outbox message field by field, as the inbox will hash it", () => {
    const l = rawLog(OUTBOX, outboxIface.encodeEventLog("MessageSent", [31812n, 41n, sender, dstContract, "0xdeadbeef01"]));
    const o = decodeLogs(cs, [l]);
    expect(o.sent).toEqual([{ srcChainId: BigInt(CHAIN_ID), srcSender: sender.toLowerCase(), nonce: 41n, dstChainId: 31812n, dstContract: dstContract.toLowerCase(), payload: "0xdeadbeef01" }]);
    expect(o.executed).toEqual([]);
  });

  it("turns an app's RelayPayload event into a message whose nonce is the event's position", () => {
    const l = rawLog(APP, sourceIface.encodeEventLog("RelayPayload", [31812n, dstContract, "0xc0ffee"]), 115, 3);
    const o = decodeLogs(cs, [l]);
    expect(o.sent).toHaveLength(1);
    expect(o.sent[0]!.nonce).toBe(eventNonce(115, 3, 0));
    expect(o.sent[0]!.nonce & EVENT_NONCE_FLAG).toBe(EVENT_NONCE_FLAG);
    expect(o.sent[0]!.srcSender).toBe(APP);
    expect(o.sent[0]!.dstContract).toBe(dstContract);
    expect(o.sent[0]!.payload).toBe("0xc0ffee");
  });

  it("counts an app event that does not decode instead of relaying it", () => {
    const good = sourceIface.encodeEventLog("RelayPayload", [31812n, dstContract, "0xc0ffee"]);
    const o = decodeLogs(cs, [rawLog(APP, { topics: good.topics, data: "0x1234" })]);
    expect(o.sent).toEqual([]);
    expect(o.undecodable).toBe(1);
  });

  it("reads executions, failures, deliveries and governance from the inbox only", () => {
    const digest = `0x${"ab".repeat(32)}`;
    const logs = [
      rawLog(INBOX, inboxIface.encodeEventLog("MessageExecuted", [31812n, 5n, dstContract, digest])),
      rawLog(INBOX, inboxIface.encodeEventLog("MessageFailed", [31812n, 6n, dstContract, digest, "0x"])),
      rawLog(INBOX, inboxIface.encodeEventLog("BatchDelivered", [sender, 2n])),
      rawLog(INBOX, inboxIface.encodeEventLog("PauseChanged", [0n, true, 1n, 99n])),
      // The same events from another contract: ignored.
      rawLog(dstContract, inboxIface.encodeEventLog("MessageExecuted", [31812n, 7n, dstContract, digest])),
      rawLog(dstContract, outboxIface.encodeEventLog("MessageSent", [31812n, 8n, sender, dstContract, "0x"])),
    ];
    const o = decodeLogs(cs, logs);
    expect(o.executed).toEqual([
      { key: messageKey(BigInt(CHAIN_ID), 31812n, 5n), digest, block: 7 },
      { key: messageKey(BigInt(CHAIN_ID), 31812n, 6n), digest, block: 7 },
    ]);
    expect(o.deliveredBy).toEqual([sender]);
    expect(o.pauseChanged).toBe(true);
    expect(o.setsChanged).toBe(false);
    expect(o.sent).toEqual([]);
  });
});

describe("ChainWatcher on a chain", () => {
  let lane: Lane;
  beforeAll(async () => {
    lane = await startLane(CHAIN_ID + 1);
  }, 120_000);
  afterAll(() => lane.stop());

  interface Run {
    cs: ChainState;
    watcher: ChainWatcher;
    seen: { o: Observation; to: number; at: number }[];
    hooks: string[];
  }

  function run(confirmations: number, fail?: () => boolean, ws?: { idlePollMs: number }, minBlockAgeMs?: number): Run {
    const cfg = { ...laneChainConfig(lane, confirmations), ...(ws ? { wsUrl: lane.chain.node.url.replace(/^http/, "ws") } : {}), ...(minBlockAgeMs ? { minBlockAgeMs } : {}) };
    const cs = newChainState(cfg, { cursor: lane.startBlock, members: lane.members, threshold: 2, eventSources: [], maxBatch: 10 });
    const seen: { o: Observation; to: number; at: number }[] = [];
    const hooks: string[] = [];
    const watcher = new ChainWatcher({
      chain: cs,
      chainIds: [cs.id, LANE_DST],
      key: lane.keys[0]!,
      address: lane.members[0]!,
      pollIntervalMs: 20,
      ...(ws ? { idlePollMs: ws.idlePollMs } : {}),
      logRangeBlocks: 2000,
      metrics: testMetrics(),
      log: recordingLog().log,
      hooks: {
        observed: async (_cs, o, to) => {
          if (fail?.()) throw new Error("disk full");
          seen.push({ o, to, at: Date.now() });
        },
        ready: () => hooks.push("ready"),
        membershipChanged: () => hooks.push("membership"),
        polled: (_cs, unpaused) => {
          if (unpaused) hooks.push("unpaused");
        },
      },
    });
    return { cs, watcher, seen, hooks };
  }


  async function until(cond: () => boolean, ms = 30_000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!cond()) {
      if (Date.now() > deadline) throw new Error("timed out");
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  async function send(payload: string): Promise<number> {
    const r = await lane.app.sendAndWait({ to: lane.outbox, data: outboxIface.encodeFunctionData("send", [LANE_DST, lane.mirror, payload]) });
    return r.blockNumber;
  }

  async function mineBlocks(n: number): Promise<void> {
    for (let i = 0; i < n; i++) await lane.chain.provider.send("evm_mine", []);
  }

  const sent = (r: Run): FederationMessage[] => r.seen.flatMap((s) => s.o.sent);

  it("hands over each outbox message once, after `confirmations` blocks, and moves its cursor", async () => {
    const r = run(2);
    r.watcher.start();
    try {
      await until(() => r.cs.ready);
      expect(r.hooks).toContain("ready");
      const block = await send("0x0101");
      await new Promise((res) => setTimeout(res, 300));
      expect(sent(r)).toEqual([]);
      expect(r.cs.cursor).toBeLessThan(block);
      await mineBlocks(2);
      await until(() => sent(r).length === 1);
      expect(sent(r)[0]).toMatchObject({ srcChainId: BigInt(lane.chainId), nonce: 1n, dstChainId: LANE_DST, payload: "0x0101" });
      expect(r.cs.cursor).toBeGreaterThanOrEqual(block);
      await mineBlocks(3);
      await until(() => r.cs.cursor >= block + 3);
      expect(sent(r)).toHaveLength(1);
      // Every handed-over range is contiguous: each starts where the last one ended.
      expect(r.seen.every((s, i) => i === 0 || s.to > r.seen[i - 1]!.to)).toBe(true);
    } finally {
      await r.watcher.stop();
    }
  });

  it("keeps its cursor and retries the range when the handler fails", async () => {
    let failing = true;
    const r = run(0, () => failing);
    r.watcher.start();
    try {
      await until(() => r.cs.ready);
      const cursor = r.cs.cursor;
      const block = await send("0x0202");
      await until(() => r.cs.lastError === "disk full");
      expect(r.cs.cursor).toBe(cursor);
      failing = false;
      await until(() => sent(r).some((m) => m.payload === "0x0202"));
      expect(r.cs.cursor).toBeGreaterThanOrEqual(block);
      await until(() => r.cs.lastError === undefined);
    } finally {
      await r.watcher.stop();
    }
  });

  it("follows a new member set and a pause, and says so", async () => {
    const r = run(0);
    r.watcher.start();
    try {
      await until(() => r.cs.ready);
      expect(r.cs.current.members).toEqual(lane.members);
      const next = [lane.members[0]!, lane.members[1]!, new Wallet(lane.keys[3]!.privateKey).address];
      await updateMemberSet({ sender: lane.admin, inbox: lane.inbox, approvers: lane.keys.slice(0, 2), members: next, threshold: 2, pauseThreshold: 1, unpauseThreshold: 2 });
      await until(() => r.hooks.includes("membership"));
      expect(r.cs.current.members).toEqual(next);
      expect(r.cs.previous?.members).toEqual(lane.members);
      await setInboxPaused({ sender: lane.admin, inbox: lane.inbox, approvers: [lane.keys[0]!], srcChainId: LANE_DST, paused: true });
      await until(() => r.cs.paused.has(LANE_DST));
      expect(r.cs.paused.get(LANE_DST)!).toBeGreaterThan(Date.now() / 1000);
    } finally {
      await r.watcher.stop();
    }
  });

  it("with minBlockAgeMs, never hands over a message whose block was rolled back before it aged; one that ages is handed over with no new block to wake it", async () => {
    const r = run(0, undefined, { idlePollMs: 60_000 }, 2000);
    r.watcher.start();
    try {
      await until(() => r.cs.ready && r.watcher.subscribed);
      const snap = await lane.chain.snapshot();
      await send("0x0a0a");
      await new Promise((res) => setTimeout(res, 1000));
      // What an anvil restarted from an older state dump does: the block is gone.
      await lane.chain.revert(snap);
      const block = await send("0x0b0b");
      const ts = Number(BigInt(((await lane.chain.provider.send("eth_getBlockByNumber", [`0x${block.toString(16)}`, false])) as { timestamp: string }).timestamp));
      await until(() => sent(r).some((m) => m.payload === "0x0b0b"), 10_000);
      // Not before the block was 2 s old (stamped ts: made before ts + 1).
      expect(r.seen.find((s) => s.o.sent.some((m) => m.payload === "0x0b0b"))!.at).toBeGreaterThanOrEqual((ts + 1) * 1000 + 2000);
      expect(sent(r).map((m) => m.payload)).not.toContain("0x0a0a");
      // The rolled-back message's nonce was given again, to the one that stayed.
      expect(sent(r).filter((m) => m.payload === "0x0b0b")).toHaveLength(1);
    } finally {
      await r.watcher.stop();
    }
  });

  it("follows new heads by subscription: a message arrives at once although it polls only once a minute", async () => {
    const r = run(0, undefined, { idlePollMs: 60_000 });
    r.watcher.start();
    try {
      await until(() => r.cs.ready && r.watcher.subscribed);
      const polledAt = r.cs.lastPollAt;
      await send("0x0909");
      const t0 = Date.now();
      await until(() => sent(r).some((m) => m.payload === "0x0909"), 5000);
      expect(Date.now() - t0).toBeLessThan(3000);
      expect(r.cs.lastPollAt).toBeGreaterThan(polledAt);
    } finally {
      await r.watcher.stop();
    }
    expect(r.watcher.subscribed).toBe(false);
  });
});
