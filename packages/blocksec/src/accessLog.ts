// AccessLedger events as entries: one consumer's log, or one log line. Below the client and the
// audit, which both read them.
import { getAddress, type JsonRpcProvider } from "ethers";
import { getLogs, type RawLog } from "@sidegrid/chain";
import type { AccessEntry } from "./types";
import { AccessLedger__factory } from "./generated";
import { AccessCategory, DenyReason, Resolution, type AccessCategoryName } from "./types";
import { checkAddress, enumName } from "./validate";

const accessIface = AccessLedger__factory.createInterface();
/** Topics of the two events every access entry is emitted as. */
export const GRANTED_TOPIC = accessIface.getEvent("AccessGranted").topicHash;
export const DENIED_TOPIC = accessIface.getEvent("AccessDenied").topicHash;

/**
 * Parses an AccessGranted / AccessDenied log into an entry.
 *
 * @example
 * const entries = receipt.logs.filter((l) => l.topics[0] === grantedTopic).map((l) => entryFromLog({ ...l, index: l.logIndex }));
 */
export function entryFromLog(l: Pick<RawLog, "topics" | "data" | "blockNumber" | "transactionHash" | "index">): AccessEntry {
  const ev = accessIface.parseLog({ topics: [...l.topics], data: l.data })!;
  const granted = ev.name === "AccessGranted";
  return {
    consumer: getAddress(ev.args.consumer as string),
    index: Number(ev.args.index),
    requester: getAddress(ev.args.requester as string),
    category: enumName(AccessCategory, "AccessCategory", ev.args.category as bigint) as AccessCategoryName,
    resolution: enumName(Resolution, "Resolution", ev.args.resolution as bigint),
    from: Number(ev.args.from),
    to: Number(ev.args.to),
    granted,
    reason: granted ? "NONE" : enumName(DenyReason, "DenyReason", ev.args.reason as bigint),
    blockNumber: l.blockNumber,
    timestamp: Number(ev.args.timestamp),
    requesterKey: ev.args.requesterKey as string,
    prevHash: ev.args.prevHash as string,
    entryHash: ev.args.entryHash as string,
    transactionHash: l.transactionHash,
    logIndex: l.index,
  };
}

/**
 * Reads one consumer's access entries from the AccessLedger's events, in log order.
 *
 * @example
 * const entries = await readAccessLog(provider, accessLedger, consumer);
 */
export async function readAccessLog(
  provider: JsonRpcProvider,
  accessLedger: string,
  consumer: string,
  fromBlock = 0,
  toBlock: number | "latest" = "latest",
): Promise<AccessEntry[]> {
  const logs = await getLogs(provider, {
    address: getAddress(accessLedger),
    topics: [[GRANTED_TOPIC, DENIED_TOPIC], zeroPad(checkAddress("consumer", consumer))],
    fromBlock,
    toBlock,
  });
  logs.sort((a, b) => a.blockNumber - b.blockNumber || a.index - b.index);
  return logs.map(entryFromLog);
}

function zeroPad(address: string): string {
  return `0x${address.slice(2).toLowerCase().padStart(64, "0")}`;
}
