// `sidegrid audit`: a court's view of one consumer's access history on BlockSEC, verified against
// the hash chain the AccessLedger holds. With --record the court's own read is logged too.
import { getAddress, isAddress } from "ethers";
import { connectNetwork, type SidegridConfig } from "@sidegrid/chain";
import { BlockSecClient, type AuditReport } from "@sidegrid/blocksec";
import { roleKey } from "./accounts";
import { readDeployment } from "./deploy-system";
import { CliError } from "./errors";

export interface AuditCommandParameters {
  consumer: string;
  /** Record the court's read on the ledger (a transaction by the court's key). */
  record: boolean;
}

export async function runAudit(cfg: SidegridConfig, p: AuditCommandParameters): Promise<AuditReport> {
  if (!isAddress(p.consumer)) throw new CliError("BAD_ARGUMENT", `--consumer must be an address (0x and 40 hex digits), got "${p.consumer}"`);
  const d = readDeployment(cfg);
  const net = await connectNetwork({ config: cfg, network: "blocksec", privateKey: roleKey(cfg, "court"), requireFunds: p.record });
  try {
    const court = new BlockSecClient({
      sender: net.sender,
      addresses: { policyMirror: d.blocksec.policyMirror, meterDataLedger: d.blocksec.meterDataLedger, accessLedger: d.blocksec.accessLedger, tradeLog: d.blocksec.tradeLog },
    });
    return await court.audit(getAddress(p.consumer), { fromBlock: d.blocksec.startBlock, record: p.record, ...(d.blocksec.keyCustody ? { keyCustody: d.blocksec.keyCustody } : {}) });
  } finally {
    net.provider.destroy();
  }
}
