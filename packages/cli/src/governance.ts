// `sidegrid status`: who holds which admin role on each contract `up` deployed.
import fs from "node:fs";
import { JsonRpcProvider } from "ethers";
import { NETWORK_NAMES, type SidegridConfig } from "@sidegrid/chain";
import { adminRoles, type GovernanceRoleName } from "@sidegrid/federation";
import { deploymentFile, readDeployment } from "./deploy-system";
import { label } from "./system";

export interface AdminRoleRow {
  network: string;
  contract: string;
  address: string;
  /** Role → labels ("operator", "timelock", "inbox", "utility", ...) of the known accounts holding it. */
  holders: Partial<Record<GovernanceRoleName, string[]>>;
}

/**
 * Reads, per deployed contract, which known account (operator, timelock, inbox, governor, the role
 * accounts) holds DEFAULT_ADMIN_ROLE, REGULATOR_ROLE and FEDERATION_ROLE; [] when nothing was deployed.
 *
 * @example
 * for (const r of await probeAdminRoles(cfg)) console.log(r.contract, r.holders.DEFAULT_ADMIN_ROLE);
 */
export async function probeAdminRoles(cfg: SidegridConfig): Promise<AdminRoleRow[]> {
  if (!fs.existsSync(deploymentFile(cfg))) return [];
  const d = readDeployment(cfg);
  const out: AdminRoleRow[] = [];
  for (const network of NETWORK_NAMES) {
    const provider = new JsonRpcProvider(cfg.networks[network].rpcUrl, undefined, { staticNetwork: true });
    try {
      const fed = d.federation.chains.find((c) => c.name === network);
      const gov = d.governance?.find((g) => g.network === network);
      const accounts: Record<string, string> = { operator: d.accounts.operator, utility: d.accounts.utility, company: d.accounts.company, court: d.accounts.court };
      if (gov) Object.assign(accounts, { timelock: gov.timelock, governor: gov.governor });
      if (fed) accounts.inbox = fed.inbox;
      const rows = await adminRoles({ provider, contracts: d.contracts.filter((c) => c.network === network), accounts });
      out.push(...rows.map((r) => ({ network: label(network), contract: r.name, address: r.address, holders: r.holders })));
    } finally {
      provider.destroy();
    }
  }
  return out;
}

/** The admin-role table `status` prints. */
export function adminRoleTable(rows: readonly AdminRoleRow[]): string[][] {
  const cell = (v: string[] | undefined) => (v && v.length > 0 ? v.join(", ") : "-");
  return [
    ["chain", "contract", "DEFAULT_ADMIN_ROLE", "REGULATOR_ROLE", "FEDERATION_ROLE"],
    ...rows.map((r) => [r.network, r.contract, cell(r.holders.DEFAULT_ADMIN_ROLE), cell(r.holders.REGULATOR_ROLE), cell(r.holders.FEDERATION_ROLE)]),
  ];
}
