// Test harness: real member processes (spawned from the built package) on a deployed federation.
import type { EventSourceConfig, MemberTuning } from "../member/config";
import { spawnFederation, type MemberProcesses } from "../member/processes";
import type { World } from "./world";

export { spawnFederation };
export type { MemberProcesses, SpawnFederationParameters } from "../member/processes";

/** {@link spawnFederation} on a test World. */
export function startMemberProcesses(w: World, tuning: Partial<MemberTuning> = {}, eventSources?: EventSourceConfig[]): Promise<MemberProcesses> {
  const rpcUrls: Record<string, string> = {};
  w.fed.chains.forEach((c, i) => (rpcUrls[c.name] = w.chains[i]!.node.url));
  // A world with KeyCustody gets custodians too.
  return spawnFederation({
    dir: w.dir,
    deployment: w.fed,
    rpcUrls,
    memberKeys: w.memberKeys,
    tuning,
    ...(eventSources ? { eventSources } : {}),
    ...(w.custody ? { custody: w.custody.config } : {}),
  });
}
