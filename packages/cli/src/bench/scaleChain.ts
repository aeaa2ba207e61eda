// What `sidegrid bench --scale` reads back from BlockSEC: the gateway's anchor transactions mined in a
// range of blocks, and the ledger storage slots one of them wrote for the first time.
import { MeterDataLedger__factory } from "@sidegrid/blocksec";
import type { BenchWorld } from "./world";

const ledgerIface = MeterDataLedger__factory.createInterface();

interface RpcTx {
  hash: string;
  from: string;
  to: string | null;
  input: string;
}
interface RpcReceipt {
  transactionHash: string;
  gasUsed: string;
  status: string;
  logs: { address: string; topics: string[]; data: string }[];
}

/** The gateway's anchor transactions mined in blocks (from, to], with what they stored. */
export async function anchorTxs(w: BenchWorld, gateway: string, from: number, to: number): Promise<{ hash: string; gas: number; calldata: number; stored: number; skipped: number }[]> {
  const out: { hash: string; gas: number; calldata: number; stored: number; skipped: number }[] = [];
  const ledger = w.secAddresses.meterDataLedger.toLowerCase();
  for (let n = from + 1; n <= to; n++) {
    const hex = `0x${n.toString(16)}`;
    const [block, receipts] = await Promise.all([
      w.sec.provider.send("eth_getBlockByNumber", [hex, true]) as Promise<{ transactions: RpcTx[] }>,
      w.sec.provider.send("eth_getBlockReceipts", [hex]) as Promise<RpcReceipt[]>,
    ]);
    const byHash = new Map(receipts.map((r) => [r.transactionHash, r]));
    for (const tx of block.transactions) {
      if (tx.from.toLowerCase() !== gateway || tx.to?.toLowerCase() !== ledger) continue;
      const r = byHash.get(tx.hash);
      if (!r || Number(r.status) !== 1) continue;
      let stored = 0;
      let skipped = 0;
      for (const l of r.logs) {
        if (l.address.toLowerCase() !== ledger) continue;
        const ev = ledgerIface.parseLog(l);
        if (ev?.name === "BatchAnchored") {
          stored += Number(ev.args.getValue("stored"));
          skipped += Number(ev.args.getValue("skipped")) + Number(ev.args.getValue("rejected"));
        }
      }
      out.push({ hash: tx.hash, gas: Number(BigInt(r.gasUsed)), calldata: (tx.input.length - 2) / 2, stored, skipped });
    }
  }
  return out;
}

/** Ledger storage slots a transaction took from zero to non-zero (prestateTracer diff); null if the node has no tracer. */
export async function freshSlots(w: BenchWorld, hash: string): Promise<number | null> {
  try {
    const d = (await w.sec.provider.send("debug_traceTransaction", [hash, { tracer: "prestateTracer", tracerConfig: { diffMode: true } }])) as {
      pre: Record<string, { storage?: Record<string, string> }>;
      post: Record<string, { storage?: Record<string, string> }>;
    };
    const key = Object.keys(d.post).find((a) => a.toLowerCase() === w.secAddresses.meterDataLedger.toLowerCase());
    if (!key) return 0;
    const pre = Object.entries(d.pre).find(([a]) => a.toLowerCase() === key.toLowerCase())?.[1]?.storage ?? {};
    let n = 0;
    for (const [slot, v] of Object.entries(d.post[key]!.storage ?? {})) if (BigInt(pre[slot] ?? 0) === 0n && BigInt(v) !== 0n) n++;
    return n;
  } catch {
    return null;
  }
}

