// `sidegrid read`: a utility reads a household's readings in plaintext after a logged grant. The
// request goes on BlockSEC's AccessLedger (granted or denied, recorded either way); on a grant
// the federation members release their shares of the covered epoch keys to the utility's X25519
// key, and every opened record is proven against its batch's Merkle root.
import { getAddress, isAddress } from "ethers";
import { connectNetwork, type SidegridConfig } from "@sidegrid/chain";
import { AccessDeniedError, BlockSecClient, KeyCustodyClient, Resolution, type ResolutionName } from "@sidegrid/blocksec";
import { readGranted, type ReadGrantedReturnType } from "@sidegrid/meter-gateway";
import { roleKey, walletBoxKeys, type RoleName } from "./accounts";
import { readDeployment } from "./deploy-system";
import { CliError } from "./errors";

export interface ReadCommandParameters {
  consumer: string;
  from: string;
  to: string;
  resolution: string;
  /** Which role reads (default the utility). */
  as?: RoleName;
  /** Re-read an existing granted entry instead of a new request. */
  entry?: string;
  timeoutSec?: string;
}

/** Unix seconds from "now", a Unix time in seconds, an ISO date or date-time. */
export function parseTime(name: string, v: string, nowSec = Math.floor(Date.now() / 1000)): number {
  if (v === "now") return nowSec;
  const rel = /^-(\d+)([smhd])$/.exec(v);
  if (rel) return nowSec - Number(rel[1]) * { s: 1, m: 60, h: 3600, d: 86400 }[rel[2] as "s" | "m" | "h" | "d"];
  if (/^\d+$/.test(v)) return Number(v);
  const ms = Date.parse(v);
  if (/^\d{4}-\d{2}-\d{2}/.test(v) && Number.isFinite(ms)) return Math.floor(ms / 1000);
  throw new CliError("BAD_ARGUMENT", `--${name} must be "now", -<n>[smhd], Unix seconds or an ISO date, got "${v}"`);
}

export async function runRead(cfg: SidegridConfig, p: ReadCommandParameters): Promise<ReadGrantedReturnType> {
  if (!isAddress(p.consumer)) throw new CliError("BAD_ARGUMENT", `--consumer must be an address (0x and 40 hex digits), got "${p.consumer}"`);
  const resolution = p.resolution.toUpperCase().replace("-", "_") as ResolutionName;
  if (!(resolution in Resolution) || resolution === "NONE") throw new CliError("BAD_ARGUMENT", `--resolution must be one of monthly, daily, hourly, quarter_hourly; got "${p.resolution}"`);
  const from = parseTime("from", p.from);
  const to = parseTime("to", p.to);
  if (from > to) throw new CliError("BAD_ARGUMENT", `--from (${from}) is after --to (${to})`);
  if (p.entry !== undefined && !/^\d+$/.test(p.entry)) throw new CliError("BAD_ARGUMENT", `--entry must be an access entry index, got "${p.entry}"`);
  if (p.timeoutSec !== undefined && !(Number(p.timeoutSec) > 0)) throw new CliError("BAD_ARGUMENT", `--timeout must be a positive number of seconds, got "${p.timeoutSec}"`);
  const d = readDeployment(cfg);
  if (!d.blocksec.keyCustody) throw new CliError("NOT_RUNNING", "this deployment has no KeyCustody: run `sidegrid up` again to deploy it");
  const key = roleKey(cfg, p.as ?? "utility");
  const net = await connectNetwork({ config: cfg, network: "blocksec", privateKey: key, requireFunds: p.entry === undefined });
  try {
    const sec = new BlockSecClient({ sender: net.sender, addresses: d.blocksec });
    const custody = new KeyCustodyClient({ address: d.blocksec.keyCustody, provider: net.provider });
    return await readGranted({
      sec,
      custody,
      secretKey: walletBoxKeys(key).secretKey,
      consumer: getAddress(p.consumer),
      from,
      to,
      resolution,
      fromBlock: d.blocksec.startBlock,
      ...(p.entry !== undefined ? { entryIndex: Number(p.entry) } : {}),
      timeoutMs: Number(p.timeoutSec ?? 30) * 1000,
    });
  } catch (e) {
    if (e instanceof AccessDeniedError) throw new CliError("ACCESS_DENIED", `${e.shortMessage} (recorded as entry ${e.index} of the consumer's access chain)`);
    throw e;
  } finally {
    net.provider.destroy();
  }
}

const CSV_COLUMNS = ["meterId", "sequence", "resolution", "periodStart", "kind", "importWh", "exportWh", "activePowerW", "voltageL1V", "proven", "batchId", "keyId"] as const;

/** One line per reading (registers for raw records, energy for aggregates). */
export function readingsCsv(r: ReadGrantedReturnType): string {
  const rows = r.readings.map((x) => {
    const iso = new Date(x.periodStart * 1000).toISOString();
    const v = x.reading
      ? [x.meterId, x.sequence, x.resolution, iso, "record", x.reading.activeEnergyImportWh, x.reading.activeEnergyExportWh, x.reading.activePowerW, x.reading.phases[0]?.voltageV ?? "", x.proven, x.batchId, x.keyId]
      : [x.meterId, x.sequence, x.resolution, iso, "aggregate", x.aggregate!.importWh, x.aggregate!.exportWh, "", "", x.proven, x.batchId, x.keyId];
    return v.join(",");
  });
  return [CSV_COLUMNS.join(","), ...rows].join("\n");
}

/** The human summary. */
export function formatRead(r: ReadGrantedReturnType): string {
  const e = r.entry;
  const lines = [
    `access entry #${e.index} of ${e.consumer}: GRANTED to ${e.requester} at ${e.resolution} for ${new Date(e.from * 1000).toISOString()} … ${new Date(Math.min(e.to, e.timestamp) * 1000).toISOString()} (block ${e.blockNumber})`,
    `keys covered: ${r.keys.length}, opened: ${r.keys.filter((k) => k.opened).length}; released by ${[...new Set(r.keys.flatMap((k) => k.releasedBy))].length} member(s)`,
    `readings opened: ${r.readings.length}, every one proven against its anchored root: ${r.readings.every((x) => x.proven) ? "yes" : "NO"}; not opened: ${r.unopened}`,
    `timings: request ${r.timings.requestMs} ms, key release ${r.timings.releaseMs} ms, open and prove ${r.timings.openMs} ms`,
    "",
    "period start (UTC)        meter  seq     resolution      import Wh   export Wh",
  ];
  for (const x of r.readings.slice(-20)) {
    const imp = x.reading ? x.reading.activeEnergyImportWh : x.aggregate!.importWh;
    const exp = x.reading ? x.reading.activeEnergyExportWh : x.aggregate!.exportWh;
    lines.push(`${new Date(x.periodStart * 1000).toISOString().padEnd(25)} ${String(x.meterId).padStart(5)}  ${String(x.sequence).padEnd(7)} ${x.resolution.padEnd(15)} ${String(imp).padStart(10)}  ${String(exp).padStart(10)}`);
  }
  if (r.readings.length > 20) lines.push(`(last 20 of ${r.readings.length}; --csv or --json for all)`);
  return lines.join("\n");
}
