// `sidegrid compose deploy`: the one-shot `deploy` service of docker/compose.yaml. It deploys and
// wires the contracts on the Besu networks (as `up` does) but starts nothing: it writes the files
// the member and gateway services read, with the compose network's host names in them.
import fs from "node:fs";
import path from "node:path";
import { NETWORK_NAMES, type SidegridConfig } from "@sidegrid/chain";
import { writeMemberConfigs } from "@sidegrid/federation";
import { validateGatewayConfig, type GatewayConfig } from "@sidegrid/meter-gateway";
import type { FederationConfigFile } from "@sidegrid/federation";
import { ROLES, memberKeys, roleKey } from "../accounts";
import { checkRemoteNetworks, deploySystem, type SystemDeployment } from "../deploy-system";
import { CliError } from "../errors";
import type { Ui } from "../ui";

/** Every member listens on this port in its own container (reached as `member-<k>:7301`). */
export const COMPOSE_MEMBER_PORT = 7301;
/** The meter simulator's addressed OSGP port and the gateway's HTTP port inside the compose network. */
export const COMPOSE_METERS_PORT = 4059;
export const COMPOSE_GATEWAY_PORT = 8080;
/** Where each member container mounts its own volume (its LevelDB). */
export const COMPOSE_MEMBER_DATA = "/member-data";

export interface ComposeAppFilesParameters {
  config: SidegridConfig;
  deployment: SystemDeployment;
  /** Member keys in order (their addresses must be the deployed members'). */
  memberKeys: readonly string[];
  /** Where to write federation.json and gateway.json. */
  outDir: string;
  /** Meters the simulator service runs (its `--count`). */
  meters: number;
  /** The simulator's OSGP master key (hex), which the gateway needs to read it. */
  metersMasterKeyHex: string;
}

/**
 * The federation file (members as `http://member-<k>:7301`, each key from its own secret's
 * variable, each LevelDB on its own volume) and the gateway's config, written 0600.
 *
 * @example
 * writeComposeAppFiles({ config, deployment, memberKeys, outDir: "/data/compose", meters: 10, metersMasterKeyHex });
 */
export function writeComposeAppFiles(p: ComposeAppFilesParameters): { federation: FederationConfigFile; gateway: GatewayConfig; files: string[] } {
  const d = p.deployment;
  const federationFile = path.join(p.outDir, "federation.json");
  const networks: Record<string, { rpcUrl: string; confirmations: number }> = {};
  for (const n of NETWORK_NAMES) networks[n] = { rpcUrl: p.config.networks[n].rpcUrl, confirmations: p.config.networks[n].confirmations };
  const written = writeMemberConfigs({
    file: federationFile,
    deployment: d.federation,
    networks,
    memberKeys: p.memberKeys,
    urls: p.memberKeys.map((_, i) => `http://member-${i}:${COMPOSE_MEMBER_PORT}`),
    keyEnvPrefix: "SIDEGRID_MEMBER_KEY_",
    custody: { keyCustody: d.blocksec.keyCustody, accessLedger: d.blocksec.accessLedger, policyMirror: d.blocksec.policyMirror, startBlock: d.blocksec.startBlock, pollMs: 30_000 },
    ...(d.checkpoints
      ? { checkpointer: { accessCheckpoints: d.checkpoints.accessCheckpoints, accessLedger: d.blocksec.accessLedger, startBlock: d.blocksec.startBlock, intervalBlocks: d.checkpoints.intervalBlocks, pollMs: 30_000 } }
      : {}),
  });
  // Containers bind every interface; each member's store lives on its own volume, not the shared one.
  const federation: FederationConfigFile = {
    ...written,
    members: written.members.map((m) => ({ ...m, listen: `0.0.0.0:${COMPOSE_MEMBER_PORT}`, dataDir: COMPOSE_MEMBER_DATA })),
  };
  writeSecret(federationFile, JSON.stringify(federation, null, 2));

  const gateway = validateGatewayConfig({
    dataDir: "/gateway-data",
    redisUrl: p.config.redis.url,
    blocksec: {
      rpcUrl: p.config.networks.blocksec.rpcUrl,
      chainId: d.networks.blocksec.chainId,
      addresses: { policyMirror: d.blocksec.policyMirror, meterDataLedger: d.blocksec.meterDataLedger, accessLedger: d.blocksec.accessLedger, tradeLog: d.blocksec.tradeLog, keyCustody: d.blocksec.keyCustody },
      // The key stays in the gateway container's own secret.
      privateKeyEnv: "SIDEGRID_GATEWAY_PRIVATE_KEY",
      startBlock: d.blocksec.startBlock,
    },
    blockpri: { rpcUrl: p.config.networks.blockpri.rpcUrl, chainId: d.networks.blockpri.chainId, ppc: d.blockpri.ppc },
    masterKeyHex: p.metersMasterKeyHex,
    simulator: { host: "meters", port: COMPOSE_METERS_PORT, count: p.meters, firstMeterId: 1 },
    operators: [d.accounts.operator],
    http: { host: "0.0.0.0", port: COMPOSE_GATEWAY_PORT },
    ...(d.checkpoints ? { checkpoints: { accessCheckpoints: d.checkpoints.accessCheckpoints, members: [...d.federation.members], threshold: d.federation.threshold } } : {}),
  });
  const gatewayFile = path.join(p.outDir, "gateway.json");
  writeSecret(gatewayFile, JSON.stringify(gateway, null, 2));
  return { federation, gateway, files: [federationFile, gatewayFile] };
}

export interface ComposeDeployParameters {
  config: SidegridConfig;
  outDir: string;
  meters: number;
  env?: NodeJS.ProcessEnv;
}

/**
 * Checks the networks, deploys (idempotently, as `up`) and writes the app files; starts no process.
 *
 * @example
 * await composeDeploy({ config, outDir: "/data/compose", meters: 10 }, ui);
 */
export async function composeDeploy(p: ComposeDeployParameters, ui: Ui): Promise<{ deployment: SystemDeployment; files: string[] }> {
  const env = p.env ?? process.env;
  const master = env.SIDEGRID_METERS_MASTER_KEY?.trim().replace(/^0x/, "");
  if (!master || !/^([0-9a-fA-F]{32}|[0-9a-fA-F]{64})$/.test(master)) {
    throw new CliError("CONFIG", "set SIDEGRID_METERS_MASTER_KEY to the meter simulator's OSGP master key (16 bytes hex), the same secret the meters service reads");
  }
  await checkRemoteNetworks(p.config, ui);
  for (const role of ROLES) roleKey(p.config, role, env);
  const { keys } = memberKeys(p.config, p.config.services.members, env);
  const deployment = await deploySystem(p.config, ui);
  const { files } = writeComposeAppFiles({ config: p.config, deployment, memberKeys: keys, outDir: p.outDir, meters: p.meters, metersMasterKeyHex: master });
  return { deployment, files };
}

function writeSecret(file: string, text: string): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, `${text}\n`, { mode: 0o600 });
  fs.chmodSync(file, 0o600);
}
