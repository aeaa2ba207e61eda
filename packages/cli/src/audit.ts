// `sidegrid audit`: a court's view of one consumer's access history on BlockSEC, verified against
// the hash chain the AccessLedger holds. With --record the court's own read is logged too. Where the
// federation checkpoints the AccessLedger on BlockPRI, every BlockSEC node named by --rpc (default:
// the configured one) is also compared against the latest checkpoint: a node serving a trimmed or
// forked log passes the per-node check but not this one.
import fs from "node:fs";
import { getAddress, isAddress } from "ethers";
import { connectNetwork, makeProvider, type SidegridConfig } from "@sidegrid/chain";
import { BlockSecClient, auditConsumer, parseAuditReport, type AccessCheckpointClaim, type AuditReport, type ReportCheck } from "@sidegrid/blocksec";
import { AccessCheckpointsClient } from "@sidegrid/federation";
import { roleKey } from "./accounts";
import { readDeployment, type SystemDeployment } from "./deploy-system";
import { CliError } from "./errors";

export interface AuditCommandParameters {
  consumer: string;
  /** Record the court's read on the ledger (a transaction by the court's key). */
  record: boolean;
  /** BlockSEC RPC endpoints to compare against the federation's checkpoint (default: the configured node). */
  rpcs?: readonly string[];
}

export async function runAudit(cfg: SidegridConfig, p: AuditCommandParameters): Promise<AuditReport> {
  if (!isAddress(p.consumer)) throw new CliError("BAD_ARGUMENT", `--consumer must be an address (0x and 40 hex digits), got "${p.consumer}"`);
  for (const url of p.rpcs ?? []) if (!/^https?:\/\/\S+$/.test(url)) throw new CliError("BAD_ARGUMENT", `--rpc must be an http(s) URL, got "${url}"`);
  const d = readDeployment(cfg);
  const net = await connectNetwork({ config: cfg, network: "blocksec", privateKey: roleKey(cfg, "court"), requireFunds: p.record });
  const endpoints = (p.rpcs ?? []).map((url) => ({ label: url, provider: makeProvider(url, d.networks.blocksec.chainId) }));
  try {
    const court = new BlockSecClient({
      sender: net.sender,
      addresses: { policyMirror: d.blocksec.policyMirror, meterDataLedger: d.blocksec.meterDataLedger, accessLedger: d.blocksec.accessLedger, tradeLog: d.blocksec.tradeLog },
    });
    const checkpoint = await latestCheckpoint(cfg, d);
    return await auditConsumer({
      provider: net.provider,
      accessLedger: d.blocksec.accessLedger,
      consumer: getAddress(p.consumer),
      fromBlock: d.blocksec.startBlock,
      ...(p.record ? { recordWith: court } : {}),
      ...(d.blocksec.keyCustody ? { keyCustody: d.blocksec.keyCustody } : {}),
      ...(checkpoint !== undefined ? { checkpoint } : {}),
      ...(endpoints.length > 0 ? { endpoints } : {}),
    });
  } finally {
    net.provider.destroy();
    for (const e of endpoints) e.provider.destroy();
  }
}

/** The federation's latest checkpoint on BlockPRI; null when none yet, undefined when this deployment has no AccessCheckpoints. */
async function latestCheckpoint(cfg: SidegridConfig, d: SystemDeployment): Promise<AccessCheckpointClaim | null | undefined> {
  if (!d.checkpoints) return undefined;
  const provider = makeProvider(cfg.networks.blockpri.rpcUrl, d.networks.blockpri.chainId);
  try {
    const client = new AccessCheckpointsClient({ address: d.checkpoints.accessCheckpoints, provider });
    const cp = await client.latest();
    if (!cp) return null;
    // The members the court knows from the deployment: a BlockPRI node cannot forge their signatures.
    const a = await client.attest(cp, d.federation.members, d.federation.threshold);
    return { ...cp, attestation: { ...a, threshold: d.federation.threshold } };
  } finally {
    provider.destroy();
  }
}

/** A saved report file: its text (checked later, against a fresh audit) and the consumer it names. */
export function readSavedReport(file: string): { text: string; consumer: string } {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (e) {
    throw new CliError("BAD_ARGUMENT", `--report ${file}: ${(e as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : (e as Error).message}`);
  }
  try {
    return { text, consumer: parseAuditReport(text).consumer };
  } catch (e) {
    throw new CliError("BAD_ARGUMENT", `--report ${file} is not an audit report: ${(e as Error).message}`);
  }
}

export function formatReportCheck(file: string, c: ReportCheck): string {
  if (c.ok) return `\nReport ${file}: ACCEPTED — its ${c.matched} entries are the ledger's, hash for hash${c.newer > 0 ? ` (the ledger holds ${c.newer} newer entries)` : ""}.`;
  return `\nReport ${file}: REJECTED — ${c.problems.length} problem(s):\n${c.problems.map((p) => `  - ${p}`).join("\n")}`;
}
