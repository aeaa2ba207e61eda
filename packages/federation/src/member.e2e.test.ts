// End to end with real processes: three anvil chains, three member processes (2-of-3) spawned from
// the built package, mock apps in the roles of BlockPRI (source), BlockSEC and BlockTST (mirrors).
import fs from "node:fs";
import { MaxUint256, parseEther } from "ethers";
import { sleep, type TxReceipt, type TxSender } from "@sidegrid/chain";
import {
  FederationInbox__factory,
  FederationOutbox__factory,
  MockPreferenceMirror__factory,
  MockPreferenceSource__factory,
  TestToken__factory,
  WrappedToken__factory,
} from "./generated";
import { MessageBatch } from "./merkle";
import { domainSeparator, messageDigest, signDigest, type FederationMessage } from "./messages";
import { createMemberMetrics } from "./member/metrics";
import type { MemberHealth } from "./member/node";
import { PeerExchange } from "./member/peers";
import { EVENT_NONCE_FLAG, eventNonce } from "./member/watcher";
import { setInboxPaused, updateMemberSet } from "./governance";
import { startMemberProcesses, type MemberProcesses } from "./test-utils/members";
import { ALL_ABIS, inboxIface, pegIface, preferencePayload, sentMessages, sourceIface, startWorld, tokenIface, type World } from "./test-utils/world";

let w: World;
let members: MemberProcesses;
let consumer: TxSender;
const utility = "0x0000000000000000000000000000000000007711";

/** Every MessageExecuted/MessageFailed of an inbox, as "src/nonce" → count. */
async function executions(d: number, fromBlock = 0, toBlock?: number): Promise<Map<string, number>> {
  // Raw eth_getLogs: ethers resolves "latest" through its 250 ms block-number cache.
  const logs = (await w.chains[d]!.provider.send("eth_getLogs", [
    {
      address: w.fed.chains[d]!.inbox,
      fromBlock: `0x${fromBlock.toString(16)}`,
      toBlock: toBlock === undefined ? "latest" : `0x${toBlock.toString(16)}`,
      topics: [[inboxIface.getEvent("MessageExecuted").topicHash, inboxIface.getEvent("MessageFailed").topicHash]],
    },
  ])) as { topics: string[] }[];
  const out = new Map<string, number>();
  for (const l of logs) {
    const k = `${BigInt(l.topics[1]!)}/${BigInt(l.topics[2]!)}`;
    out.set(k, (out.get(k) ?? 0) + 1);
  }
  return out;
}

/**
 * Anvil with --prune-history sometimes answers an eth_call at "latest" with BlockOutOfRangeError
 * while it mines the next block; reads retry.
 */
async function read<T>(f: () => Promise<T>): Promise<T> {
  for (let i = 0; ; i++) {
    try {
      return await f();
    } catch (e) {
      if (i >= 5) throw e;
      await sleep(20);
    }
  }
}

async function waitFor<T>(what: string, f: () => Promise<T | undefined | false>, timeoutMs = 20000, everyMs = 10): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await read(f);
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) {
      const logs = [0, 1, 2].map((i) => `--- member ${i}\n${fs.existsSync(members.logFile(i)) ? fs.readFileSync(members.logFile(i), "utf8").split("\n").slice(-15).join("\n") : ""}`).join("\n");
      throw new Error(`timed out waiting for ${what}\n${logs}`);
    }
    await sleep(everyMs);
  }
}

function setPreference(allowed: boolean): Promise<TxReceipt> {
  return consumer.sendAndWait({ to: w.source, data: sourceIface.encodeFunctionData("setPreference", [utility, allowed, 3]) });
}

function mirror(i: 0 | 1) {
  return MockPreferenceMirror__factory.connect(w.mirrors[i], w.chains[i + 1]!.provider);
}

async function consumerVersion(): Promise<bigint> {
  return MockPreferenceSource__factory.connect(w.source, w.chains[0]!.provider).version(consumer.address);
}

function areExecuted(d: number, nonces: bigint[]): Promise<boolean[]> {
  return FederationInbox__factory.connect(w.fed.chains[d]!.inbox, w.chains[d]!.provider)
    .areExecuted(nonces.map(() => w.ids[0]!), nonces)
    .then((r) => [...r]);
}

beforeAll(async () => {
  w = await startWorld({ chainIds: [31331, 31332, 31333] });
  consumer = (await w.chains[0]!.account(3)).sender;
  consumer.addAbi(MockPreferenceSource__factory.abi);
  members = await startMemberProcesses(w, { pollIntervalMs: 20, takeoverMs: 1000, batchDelayMs: 5, resendMs: 1000 }, [
    {
      chain: "chain0",
      contract: w.source,
      event: "RelayPayload(uint256 indexed dstChainId, address indexed dstContract, bytes payload)",
      payloadArg: "payload",
      dstChainIdArg: "dstChainId",
      dstContractArg: "dstContract",
    },
  ]);
}, 60000);

afterAll(async () => {
  await members?.stopAll();
  await w?.stop();
});

describe("federation members (3 processes, threshold 2)", () => {
  it("serves health and metrics", async () => {
    const res = await fetch(`${members.urls[0]}/health`);
    const h = (await res.json()) as MemberHealth;
    expect(res.status).toBe(200);
    expect(h.ok).toBe(true);
    expect(h.chains.map((c) => c.chainId)).toEqual(w.ids.map(Number));
    expect(h.chains.every((c) => c.lag >= 0 && c.error === null)).toBe(true);
    const m = await (await fetch(`${members.urls[1]}/metrics`)).text();
    expect(m).toMatch(/federation_chain_lag_blocks\{chain="chain0",member="1"\} \d+/);
    expect(m).toMatch(/federation_pending_messages/);
    expect(m).toMatch(/federation_signatures_total/);
  });

  it("relays a revocation so the destinations refuse within one relay round, and reports the p99 latency", async () => {
    await setPreference(true);
    await waitFor("grant mirrored", async () => (await mirror(0).permits(consumer.address, utility, 3)) && (await mirror(1).permits(consumer.address, utility, 3)));
    const t0 = Date.now();
    await setPreference(false);
    await waitFor("revocation mirrored", async () => !(await mirror(0).permits(consumer.address, utility, 3)) && !(await mirror(1).permits(consumer.address, utility, 3)));
    const revokeMs = Date.now() - t0;
    expect(await mirror(0).permits(consumer.address, utility, 3)).toBe(false);
    expect(await mirror(1).permits(consumer.address, utility, 3)).toBe(false);

    // Latency distribution: 60 changes, 40 ms apart, each relayed to both mirrors.
    const sent = new Map<string, number>();
    const seen = new Map<string, number>();
    let stop = false;
    const watcher = (async () => {
      const from = [0, 0, 0];
      while (!stop) {
        for (const d of [1, 2]) {
          // Raw call: ethers caches getBlockNumber for 250 ms.
          const head = Number(await w.chains[d]!.provider.send("eth_blockNumber", []));
          if (head < from[d]!) continue;
          for (const k of (await executions(d, from[d]!, head)).keys()) if (!seen.has(`${d}:${k}`)) seen.set(`${d}:${k}`, Date.now());
          from[d] = head + 1;
        }
        await sleep(5);
      }
    })();
    for (let i = 0; i < 60; i++) {
      const r = await setPreference(i % 2 === 0);
      const at = Date.now();
      for (const m of sentMessages(r, w.ids[0]!, w.fed.chains[0]!.outbox)) sent.set(`${w.ids.indexOf(m.dstChainId)}:${m.srcChainId}/${m.nonce}`, at);
      await sleep(40);
    }
    await waitFor("all relayed", async () => [...sent.keys()].every((k) => seen.has(k)), 30000, 50);
    stop = true;
    await watcher;
    const lat = [...sent].map(([k, at]) => seen.get(k)! - at).sort((a, b) => a - b);
    const p = (q: number) => lat[Math.min(lat.length - 1, Math.ceil(q * lat.length) - 1)]!;
    console.log(`relay latency over ${lat.length} messages (send receipt → executed on destination): p50 ${p(0.5)} ms, p99 ${p(0.99)} ms, max ${lat[lat.length - 1]} ms; revocation refused after ${revokeMs} ms`);
    expect(lat.length).toBe(120);
    expect(mirror(0).version(consumer.address)).resolves.toBe(62n);
  });

  /** Sends `n` preference changes; returns their lane nonces per destination chain index. */
  async function sendChanges(n: number): Promise<Record<1 | 2, bigint[]>> {
    const nonces: Record<1 | 2, bigint[]> = { 1: [], 2: [] };
    for (let i = 0; i < n; i++) {
      const r = await setPreference(i % 2 === 1);
      const ms = sentMessages(r, w.ids[0]!, w.fed.chains[0]!.outbox);
      expect(ms.map((m) => m.dstChainId)).toEqual([w.ids[1], w.ids[2]]);
      nonces[1].push(ms[0]!.nonce);
      nonces[2].push(ms[1]!.nonce);
    }
    return nonces;
  }

  async function expectExactlyOnce(): Promise<void> {
    const lane = FederationOutbox__factory.connect(w.fed.chains[0]!.outbox, w.chains[0]!.provider);
    for (const d of [1, 2]) {
      const sentCount = Number(await lane.laneNonce(w.ids[d]!));
      const ex = new Map([...(await executions(d))].filter(([k]) => BigInt(k.split("/")[1]!) < EVENT_NONCE_FLAG));
      expect(ex.size).toBe(sentCount);
      for (let n = 1; n <= sentCount; n++) expect([n, ex.get(`${w.ids[0]}/${n}`)]).toEqual([n, 1]);
    }
  }

  it("keeps relaying with one of three members killed", async () => {
    await members.kill(2);
    const nonces = await sendChanges(20);
    await waitFor("relays without member 2", async () => {
      const [a, b] = await Promise.all([areExecuted(1, nonces[1]), areExecuted(2, nonces[2])]);
      return [...a, ...b].every(Boolean);
    });
    await expectExactlyOnce();
    const version = await consumerVersion();
    expect(await mirror(0).version(consumer.address)).toBe(version);
    expect(await mirror(1).version(consumer.address)).toBe(version);
  });

  it("executes nothing with two members killed, and every message exactly once after they restart", async () => {
    await members.kill(1);
    const before = await mirror(0).version(consumer.address);
    const nonces = await sendChanges(10);
    // Longer than two takeover rounds: the survivor alone has no quorum.
    await sleep(2500);
    expect([...(await read(() => areExecuted(1, nonces[1]))), ...(await read(() => areExecuted(2, nonces[2])))].some(Boolean)).toBe(false);
    expect(await read(() => mirror(0).version(consumer.address))).toBe(before);
    const h0 = (await (await fetch(`${members.urls[0]}/health`)).json()) as MemberHealth;
    expect(h0.pending).toBe(20);
    expect(h0.ready).toBe(0);

    await Promise.all([members.start(1), members.start(2)]);
    await waitFor("relays after restart", async () => {
      const [a, b] = await Promise.all([areExecuted(1, nonces[1]), areExecuted(2, nonces[2])]);
      return [...a, ...b].every(Boolean);
    });
    await expectExactlyOnce();
    const version = await consumerVersion();
    expect(await mirror(0).version(consumer.address)).toBe(version);
    expect(await mirror(1).version(consumer.address)).toBe(version);
    await waitFor("members drained", async () => {
      const hs = await Promise.all(members.urls.map(async (u) => (await (await fetch(`${u}/health`)).json()) as MemberHealth));
      return hs.every((h) => h.pending === 0);
    });
  });

  it("moves SGT through the peg both ways", async () => {
    const user = (await w.chains[2]!.account(4)).sender;
    const remote = (await w.chains[0]!.account(4)).sender;
    for (const s of [user, remote]) for (const abi of ALL_ABIS) s.addAbi(abi as never);
    const amount = parseEther("25");
    await user.sendAndWait({ to: w.token, data: tokenIface.encodeFunctionData("mint", [user.address, amount]) });
    await user.sendAndWait({ to: w.token, data: tokenIface.encodeFunctionData("approve", [w.fed.chains[2]!.peg!, MaxUint256]) });
    await user.sendAndWait({ to: w.fed.chains[2]!.peg!, data: pegIface.encodeFunctionData("lock", [amount, w.ids[0]!, user.address]) });
    const wsgt = WrappedToken__factory.connect(w.fed.chains[0]!.wrappedToken!, w.chains[0]!.provider);
    await waitFor("wSGT minted", async () => (await wsgt.balanceOf(user.address)) === amount);
    await remote.sendAndWait({ to: w.fed.chains[0]!.peg!, data: pegIface.encodeFunctionData("burn", [amount, user.address]) });
    const sgt = TestToken__factory.connect(w.token, w.chains[2]!.provider);
    await waitFor("SGT released", async () => (await sgt.balanceOf(user.address)) === amount);
    expect(await wsgt.totalSupply()).toBe(0n);
  });

  it("follows governance: a paused inbox receives nothing until unpaused, and a raised threshold is honoured", async () => {
    const inbox2 = w.fed.chains[2]!.inbox;
    const gov = (await w.chains[2]!.account(7)).sender;
    await setInboxPaused({ sender: gov, inbox: inbox2, approvers: [w.signers[0]!], srcChainId: 0n, paused: true });
    const paused = await sendChanges(2);
    await waitFor("relayed to the unpaused chain", async () => (await areExecuted(1, paused[1])).every(Boolean));
    await sleep(500);
    expect((await read(() => areExecuted(2, paused[2]))).some(Boolean)).toBe(false);
    await setInboxPaused({ sender: gov, inbox: inbox2, approvers: [w.signers[0]!, w.signers[1]!], srcChainId: 0n, paused: false });
    await waitFor("relayed after unpause", async () => (await areExecuted(2, paused[2])).every(Boolean));

    // One member's pause ends by itself: the members see the chain's clock pass it and relay again.
    await setInboxPaused({ sender: gov, inbox: inbox2, approvers: [w.signers[2]!], srcChainId: 0n, paused: true });
    const held = await sendChanges(2);
    await waitFor("relayed to the unpaused chain", async () => (await areExecuted(1, held[1])).every(Boolean));
    await sleep(500);
    expect((await read(() => areExecuted(2, held[2]))).some(Boolean)).toBe(false);
    await w.chains[2]!.increaseTime(3601);
    await waitFor("relayed after the one-member pause expired", async () => (await areExecuted(2, held[2])).every(Boolean));

    // Chain 1 now wants all three signatures (once the old set's grace period is over); with
    // member 2 down only chain 2 gets the messages.
    const gov1 = (await w.chains[1]!.account(7)).sender;
    await updateMemberSet({ sender: gov1, inbox: w.fed.chains[1]!.inbox, approvers: w.signers.slice(0, 2), members: w.fed.members, threshold: 3, pauseThreshold: 1, unpauseThreshold: 3 });
    await w.chains[1]!.increaseTime(3601);
    await members.kill(2);
    const strict = await sendChanges(2);
    await waitFor("relayed to the 2-of-3 chain", async () => (await areExecuted(2, strict[2])).every(Boolean));
    await sleep(1500);
    expect((await read(() => areExecuted(1, strict[1]))).some(Boolean)).toBe(false);
    await members.start(2);
    await waitFor("relayed with all three", async () => (await areExecuted(1, strict[1])).every(Boolean));
    await expectExactlyOnce();
  });

  it("relays an app that only emits RelayPayload events, through the adapter, exactly once", async () => {
    const before = await consumerVersion();
    const r = await consumer.sendAndWait({ to: w.source, data: sourceIface.encodeFunctionData("setPreferenceViaEvent", [utility, true, 4]) });
    expect(sentMessages(r, w.ids[0]!, w.fed.chains[0]!.outbox)).toEqual([]);
    const events = r.logs.filter((l) => l.topics[0] === sourceIface.getEvent("RelayPayload").topicHash);
    const nonces = events.map((l) => eventNonce(r.blockNumber, l.logIndex, 0));
    await waitFor("event relayed", async () => (await mirror(0).version(consumer.address)) === before + 1n && (await mirror(1).version(consumer.address)) === before + 1n);
    expect(await mirror(0).permits(consumer.address, utility, 4)).toBe(true);
    for (const d of [1, 2]) {
      const ex = await executions(d);
      expect(ex.get(`${w.ids[0]}/${nonces[d - 1]}`)).toBe(1);
    }
    await expectExactlyOnce();
  });

  // Adversary: a minority member signs a root over a batch with a forged message and pushes it.
  it("counts no root over a forged message a byzantine member pushes, and relays the honest one", async () => {
    // Member 2 turns byzantine: its process is gone, its key signs a root over a forged preference
    // under the next nonce of lane 0 → 2 and pushes it, authenticated, to members 0 and 1.
    await members.kill(2);
    const next = (await read(() => FederationOutbox__factory.connect(w.fed.chains[0]!.outbox, w.chains[0]!.provider).laneNonce(w.ids[2]!))) + 1n;
    const sep = domainSeparator(w.ids[2]!, w.fed.chains[2]!.inbox);
    const forged: FederationMessage = { srcChainId: w.ids[0]!, srcSender: w.source, nonce: next, dstChainId: w.ids[2]!, dstContract: w.mirrors[1], payload: preferencePayload(consumer.address, (await consumerVersion()) + 1n, utility, true) };
    const evil = new MessageBatch(sep, [forged]);
    const byzantine = new PeerExchange(w.fed.members[2]!, [0, 1].map((i) => ({ address: w.fed.members[i]!, url: members.urls[i]! })), w.signers[2]!, createMemberMetrics(2));
    byzantine.enqueue([[w.ids[2]!.toString(), w.ids[0]!.toString(), next.toString(), evil.digest, signDigest(w.signers[2]!, evil.digest)]]);
    await waitFor("forged root pushed", async () => byzantine.peerStatus().every((p) => p.up && p.queued === 0));
    byzantine.stop();

    const r = await setPreference(false);
    const honest = sentMessages(r, w.ids[0]!, w.fed.chains[0]!.outbox).find((m) => m.dstChainId === w.ids[2])!;
    expect(honest.nonce).toBe(next);
    await waitFor("the honest root relayed by members 0 and 1", async () => (await areExecuted(2, [next]))[0]);
    const logs = (await w.chains[2]!.provider.send("eth_getLogs", [
      { address: w.fed.chains[2]!.inbox, fromBlock: "0x0", toBlock: "latest", topics: [inboxIface.getEvent("MessageExecuted").topicHash, null, `0x${next.toString(16).padStart(64, "0")}`] },
    ])) as { topics: string[]; data: string }[];
    expect(logs.map((l) => inboxIface.parseLog(l)!.args.digest)).toEqual([messageDigest(sep, honest)]);
    expect(await read(() => mirror(1).permits(consumer.address, utility, 3))).toBe(false);
    for (const u of members.urls.slice(0, 2)) {
      const m = await (await fetch(`${u}/metrics`)).text();
      expect(m).toMatch(/federation_signatures_rejected_total\{[^}]*reason="digest_mismatch"[^}]*\} [1-9]/);
    }
    // Chain 1 wants all three (governance test above): it gets the change once member 2 is back.
    await members.start(2);
    await waitFor("relayed with all three", async () => (await areExecuted(1, [sentMessages(r, w.ids[0]!, w.fed.chains[0]!.outbox).find((m) => m.dstChainId === w.ids[1])!.nonce]))[0]);
    await expectExactlyOnce();
  });
});
