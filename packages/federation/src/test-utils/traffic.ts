// Test harness (not part of the build): a steady stream of preference changes on chain 0 of a test
// World (each one a message to each mirror), and the inbox-side accounting that says whether every
// message was delivered exactly once, with the content that was sent from the canonical chain.
import { sleep, type TxSender } from "@sidegrid/chain";
import { MockPreferenceSource__factory } from "../generated";
import { domainSeparator, messageDigest, type FederationMessage } from "../messages";
import { inboxIface, sentMessages, sourceIface, type World } from "./world";

const UTILITY = "0x0000000000000000000000000000000000007711";

export interface SentRecord {
  /** `<dstChainId>/<nonce>` (the source is always chain 0). */
  key: string;
  msg: FederationMessage;
  digest: string;
  at: number;
  phase: string;
}

/**
 * Sends a preference change every `intervalMs` until stopped; records every message (per
 * destination) with its digest and the phase it was sent in. `orphan()` slips a change into a
 * block that is then reverted, between two regular sends.
 */
export class PreferenceTraffic {
  readonly sent = new Map<string, SentRecord>();
  phase = "start";
  errors = 0;
  private running = false;
  private loop: Promise<void> | undefined;
  private injected: { sender: TxSender; done: (m: FederationMessage[]) => void; fail: (e: unknown) => void } | undefined;
  private allowed = false;

  constructor(
    private readonly w: World,
    private readonly sender: TxSender,
    private readonly intervalMs: number,
  ) {
    sender.addAbi(MockPreferenceSource__factory.abi);
  }

  /** One preference change, recorded; returns its messages. */
  async once(): Promise<FederationMessage[]> {
    this.allowed = !this.allowed;
    const r = await this.sender.sendAndWait({ to: this.w.source, data: sourceIface.encodeFunctionData("setPreference", [UTILITY, this.allowed, 3]) });
    const msgs = sentMessages(r, this.w.ids[0]!, this.w.fed.chains[0]!.outbox);
    for (const m of msgs) {
      const d = this.w.ids.indexOf(m.dstChainId);
      const digest = messageDigest(domainSeparator(m.dstChainId, this.w.fed.chains[d]!.inbox), m);
      this.sent.set(`${m.dstChainId}/${m.nonce}`, { key: `${m.dstChainId}/${m.nonce}`, msg: m, digest, at: Date.now(), phase: this.phase });
    }
    return msgs;
  }

  start(): void {
    this.running = true;
    this.loop = (async () => {
      while (this.running) {
        const t = Date.now();
        try {
          if (this.injected) await this.runOrphan();
          await this.once();
        } catch {
          // A send that failed under load is retried on the next tick; it sent nothing.
          this.errors++;
        }
        await sleep(Math.max(0, this.intervalMs - (Date.now() - t)));
      }
    })();
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
  }

  /** Mines `blocks` empty blocks on chain 0, so the last sends reach the members' confirmation depth. */
  async settle(blocks: number): Promise<void> {
    for (let i = 0; i < blocks; i++) await this.w.chains[0]!.provider.send("evm_mine", []);
  }

  /** Messages sent in `phase`. */
  inPhase(phase: string): SentRecord[] {
    return [...this.sent.values()].filter((r) => r.phase === phase);
  }

  /**
   * From the loop, between two sends: snapshot chain 0, make `sender` change its preference (a block
   * with messages), revert. The messages' lane nonces are reused by the next regular send.
   */
  orphan(sender: TxSender): Promise<FederationMessage[]> {
    return new Promise((done, fail) => (this.injected = { sender, done, fail }));
  }

  private async runOrphan(): Promise<void> {
    const job = this.injected!;
    this.injected = undefined;
    const chain = this.w.chains[0]!;
    try {
      const snap = await chain.snapshot();
      job.sender.addAbi(MockPreferenceSource__factory.abi);
      const r = await job.sender.sendAndWait({ to: this.w.source, data: sourceIface.encodeFunctionData("setPreference", [UTILITY, true, 3]) });
      await chain.revert(snap);
      await this.sender.sync();
      await job.sender.sync();
      job.done(sentMessages(r, this.w.ids[0]!, this.w.fed.chains[0]!.outbox));
    } catch (e) {
      job.fail(e);
    }
  }
}

export interface Execution {
  key: string;
  digest: string;
  block: number;
}

/** Every MessageExecuted/MessageFailed from chain 0 on chain `d`'s inbox. */
export async function executionsOn(w: World, d: number): Promise<Execution[]> {
  const logs = (await w.chains[d]!.provider.send("eth_getLogs", [
    { address: w.fed.chains[d]!.inbox, fromBlock: "0x0", toBlock: "latest", topics: [[inboxIface.getEvent("MessageExecuted").topicHash, inboxIface.getEvent("MessageFailed").topicHash], `0x${w.ids[0]!.toString(16).padStart(64, "0")}`] },
  ])) as { topics: string[]; data: string; blockNumber: string }[];
  return logs.map((l) => {
    const ev = inboxIface.parseLog(l)!;
    return { key: `${w.ids[d]}/${BigInt(l.topics[2]!)}`, digest: String(ev.args.digest), block: Number(l.blockNumber) };
  });
}

/** Messages per relayer (address, lower case) in BatchDelivered events on chain `d` from `fromBlock`. */
export async function batchesOn(w: World, d: number, fromBlock = 0): Promise<Map<string, number>> {
  const logs = (await w.chains[d]!.provider.send("eth_getLogs", [
    { address: w.fed.chains[d]!.inbox, fromBlock: `0x${fromBlock.toString(16)}`, toBlock: "latest", topics: [inboxIface.getEvent("BatchDelivered").topicHash] },
  ])) as { topics: string[]; data: string }[];
  const out = new Map<string, number>();
  for (const l of logs) {
    const ev = inboxIface.parseLog(l)!;
    const who = String(ev.args.relayer).toLowerCase();
    out.set(who, (out.get(who) ?? 0) + Number(ev.args.messages));
  }
  return out;
}

export interface DeliveryReport {
  sent: number;
  delivered: number;
  missing: string[];
  /** Executed more than once (impossible on a correct inbox; counted to show it). */
  duplicates: string[];
  /** Executed with another digest than the canonical chain's message (e.g. from an orphaned block). */
  wrongContent: string[];
  /** Executed but never sent on the canonical chain. */
  unknown: string[];
  /** Messages in BatchDelivered events: equals `delivered` when no batch carried a message twice. */
  batched: number;
}

/** Compares what the traffic sent with what chains 1 and 2 executed. */
export async function deliveryReport(w: World, t: PreferenceTraffic): Promise<DeliveryReport> {
  const execs = [...(await executionsOn(w, 1)), ...(await executionsOn(w, 2))];
  const seen = new Map<string, Execution[]>();
  for (const e of execs) seen.set(e.key, [...(seen.get(e.key) ?? []), e]);
  let batched = 0;
  for (const d of [1, 2]) for (const n of (await batchesOn(w, d)).values()) batched += n;
  return {
    sent: t.sent.size,
    delivered: [...t.sent.keys()].filter((k) => seen.has(k)).length,
    missing: [...t.sent.keys()].filter((k) => !seen.has(k)),
    duplicates: [...seen].filter(([, v]) => v.length > 1).map(([k]) => k),
    wrongContent: [...seen].filter(([k, v]) => t.sent.has(k) && v.some((e) => e.digest !== t.sent.get(k)!.digest)).map(([k]) => k),
    unknown: [...seen.keys()].filter((k) => !t.sent.has(k)),
    batched,
  };
}
