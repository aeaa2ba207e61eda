// Figure 9 side by side: N readings of 144 bytes stored (a) through the paper's storage design and
// (b) through Sidegrid's ingest path, on the same chain (BlockSEC's) in the same run, N ascending,
// the three measurements of one N back to back from the same chain state. The federation members
// must be stopped meanwhile (the caller does it): the baseline runs are rolled back with
// evm_revert, and a member watching BlockSEC would see its head move backwards.
import path from "node:path";
import { startIngestBench } from "@sidegrid/meter-gateway";
import { freshConsumer, paperRecords, storeBaseline } from "./baseline";
import { PAPER_FIGURE9_SECONDS } from "./paper";
import { speedup } from "./stats";
import type { Figure9Row } from "./types";
import { BENCH_CHAIN_IDS, type BenchWorld } from "./world";

/** Meters the Sidegrid side reads: N/10 records each (every Figure 9 N is a multiple of 10). */
export const FIGURE9_METERS = 10;

export async function measureFigure9(w: BenchWorld, p: { ns: readonly number[]; firstMeterId: number; dir: string; log: (l: string) => void }): Promise<Figure9Row[]> {
  const bench = await startIngestBench({
    blocksec: { rpcUrl: w.sec.node.url, chainId: BENCH_CHAIN_IDS.blocksec, addresses: w.gatewayAddresses, gatewayKey: w.key("figure9Gateway") },
    firstMeterId: p.firstMeterId,
    meters: FIGURE9_METERS,
    dir: path.join(p.dir, "figure9-gateway"),
  });
  const rows: Figure9Row[] = [];
  try {
    p.log(`  ${"N".padStart(5)} ${"one by one".padStart(12)} ${"(a) pipelined".padStart(14)} ${"(b) Sidegrid".padStart(13)} ${"(a) r/s".padStart(8)} ${"(b) r/s".padStart(8)} ${"speed-up".padStart(9)} ${"paper".padStart(7)}`);
    for (const n of p.ns) {
      const records = paperRecords(n);
      // Each baseline run starts from the same chain state and is undone afterwards: anvil's time
      // per block grows with the chain (measured: 1,000 setTransLog at 164 tx/s on a fresh chain,
      // at 82 tx/s right after another 1,000), so without this every run would be slowed by the
      // baseline runs before it. The consumer is fresh (an empty array, as in the paper's test).
      const baselineRun = async (mode: "sequential" | "pipelined") => {
        const snapshot = await w.sec.snapshot();
        try {
          return await storeBaseline({ consumer: await freshConsumer(w.admins.sec, w.sec.provider), storage: w.paperStorage.address, records, mode, transDest: w.utility.address });
        } finally {
          await w.sec.revert(snapshot);
        }
      };
      const baselineSequential = await baselineRun("sequential");
      const baseline = await baselineRun("pipelined");
      const b = await bench.run(n);
      const sidegrid = { seconds: b.seconds, readingsPerSecond: b.readingsPerSecond, txs: b.txs, gasUsed: b.gasUsed };
      const row: Figure9Row = {
        n,
        baselineSequential,
        baseline,
        sidegrid,
        speedup: speedup(baseline.seconds, sidegrid.seconds),
        speedupVsSequential: speedup(baselineSequential.seconds, sidegrid.seconds),
        paperSeconds: PAPER_FIGURE9_SECONDS[n] ?? null,
      };
      rows.push(row);
      p.log(
        `  ${String(n).padStart(5)} ${`${baselineSequential.seconds.toFixed(3)} s`.padStart(12)} ${`${baseline.seconds.toFixed(3)} s`.padStart(14)} ${`${sidegrid.seconds.toFixed(3)} s`.padStart(13)} ` +
          `${String(baseline.readingsPerSecond).padStart(8)} ${String(sidegrid.readingsPerSecond).padStart(8)} ${`${row.speedup}×`.padStart(9)} ${(row.paperSeconds === null ? "—" : `${row.paperSeconds} s`).padStart(7)}`,
      );
    }
  } finally {
    await bench.stop();
  }
  return rows;
}
