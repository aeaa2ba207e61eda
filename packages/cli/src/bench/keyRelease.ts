// Grant → plaintext: a utility asks for one day of a household's 15-minute readings, the
// federation members release their shares of the covered epoch keys, the utility combines them,
// opens every record and proves it against its anchored root. Timed end to end, per read.
import { BlockSecClient, KeyCustodyClient } from "@sidegrid/blocksec";
import { readGranted } from "@sidegrid/meter-gateway";
import { walletBoxKeys } from "../accounts";
import { latencyStats } from "./stats";
import type { KeyReleaseSection } from "./types";
import { ACCOUNTS, type BenchWorld } from "./world";

const DAY = 86_400;

export async function measureKeyRelease(w: BenchWorld, consumer: string, reads: number, log: (l: string) => void): Promise<KeyReleaseSection> {
  const utility = await w.sec.account(ACCOUNTS.utility);
  // The API figure signed this account's requests with its own wallet: learn the nonce again.
  await utility.sender.sync();
  const sec = new BlockSecClient({ sender: utility.sender, addresses: w.secAddresses });
  const custody = new KeyCustodyClient({ address: w.keyCustody, provider: utility.sender.provider });
  const secretKey = walletBoxKeys(w.key("utility")).secretKey;
  const total: number[] = [];
  const release: number[] = [];
  const open: number[] = [];
  let readings = 0;
  let keys = 0;
  let proven = true;
  for (let i = 0; i < reads; i++) {
    const now = Math.floor(Date.now() / 1000);
    const t0 = performance.now();
    const r = await readGranted({ sec, custody, secretKey, consumer, from: now - DAY, to: now, resolution: "QUARTER_HOURLY", fromBlock: w.secStartBlock, timeoutMs: 30_000, pollMs: 20 });
    total.push(performance.now() - t0);
    release.push(r.timings.releaseMs);
    open.push(r.timings.openMs);
    readings = r.readings.length;
    keys = r.keys.length;
    proven &&= r.readings.length > 0 && r.readings.every((x) => x.proven) && r.unopened === 0;
  }
  const out: KeyReleaseSection = {
    reads,
    readingsPerRead: readings,
    keysPerRead: keys,
    allProven: proven,
    grantToPlaintextMs: latencyStats(total),
    releaseMs: latencyStats(release),
    openMs: latencyStats(open),
    notes: [
      "readGranted (meter-gateway) as the utility: AccessLedger.requestAccess for the last 24 h at 15-minute resolution, wait until 2 of the 3 member processes released their shares of every covered epoch key (KeyCustody.SharesReleased, read every 20 ms), combine, open every record, prove each leaf against its batch root on the MeterDataLedger.",
      "The household's day was anchored by the API figure's gateway (payload v2, epoch keys of one UTC day: a 24 h range covers two).",
      "The members' custodians poll BlockSEC for grants every 200 ms.",
    ],
  };
  log(`  grant → plaintext (${readings} readings, ${keys} key(s), all proven: ${proven}): p50 ${out.grantToPlaintextMs.p50} ms, p99 ${out.grantToPlaintextMs.p99} ms; key release alone p50 ${out.releaseMs.p50} ms`);
  return out;
}
