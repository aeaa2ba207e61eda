// `sidegrid compose genesis`: per chain of the config, the validators' node keys, the QBFT genesis
// and the static-nodes file, laid out the way docker/compose.yaml mounts them.
import fs from "node:fs";
import path from "node:path";
import { Wallet, getAddress } from "ethers";
import { NETWORK_NAMES, type NetworkName, type SidegridConfig } from "@sidegrid/chain";
import { CliError } from "../errors";
import { enodeUrl, newValidatorKey, qbftGenesis, validatorKeyFrom, type QbftGenesis, type ValidatorKey } from "./genesis";

/** The compose network's subnet; validators take fixed addresses below the dynamic range (.128–.255). */
export const COMPOSE_SUBNET_PREFIX = "172.30.41";
export const BESU_P2P_PORT = 30303;
/** compose.yaml has four validators per chain; more need more services there. */
export const MAX_VALIDATORS = 9;

/** The fixed address of validator `index` of the chain at `chainIndex` (0 BlockPRI, 1 BlockSEC, 2 BlockTST). */
export function validatorIp(chainIndex: number, index: number): string {
  return `${COMPOSE_SUBNET_PREFIX}.${110 + 10 * chainIndex + index}`;
}

/** The compose service name of a validator, e.g. `blockpri-validator-0`. */
export function validatorService(network: NetworkName, index: number): string {
  return `${network}-validator-${index}`;
}

export interface GenerateComposeGenesisParameters {
  config: SidegridConfig;
  /** Output directory (docker/generated: gitignored, never committed). */
  outDir: string;
  validators: number;
  blockPeriodSeconds: number;
  /** Extra accounts to fund; the keys found in `<outDir>/secrets/SIDEGRID_*` are funded too. */
  fund?: readonly string[];
}

export interface GeneratedChain {
  network: NetworkName;
  chainId: number;
  genesisFile: string;
  validators: { service: string; address: string; enode: string; keyFile: string; reused: boolean }[];
}

export interface GenerateComposeGenesisReturnType {
  chains: GeneratedChain[];
  funded: string[];
}

/**
 * Writes `<out>/<chain>/genesis.json`, `<out>/<chain>/static-nodes.json` and each validator's key at
 * `<out>/<chain>/validator-<i>/key` (0600). A key file already there is kept, so regenerating never
 * changes a running network's validator set.
 *
 * @example
 * generateComposeGenesis({ config: loadConfig({ file: "docker/sidegrid.config.json" }), outDir: "docker/generated", validators: 4, blockPeriodSeconds: 2 });
 */
export function generateComposeGenesis(p: GenerateComposeGenesisParameters): GenerateComposeGenesisReturnType {
  if (!Number.isSafeInteger(p.validators) || p.validators < 1 || p.validators > MAX_VALIDATORS) {
    throw new CliError("BAD_ARGUMENT", `--validators must be an integer from 1 to ${MAX_VALIDATORS}, got ${p.validators}`);
  }
  if (!Number.isSafeInteger(p.blockPeriodSeconds) || p.blockPeriodSeconds < 1) {
    throw new CliError("BAD_ARGUMENT", `--block-time must be a whole number of seconds ≥ 1, got ${p.blockPeriodSeconds}`);
  }
  const funded = [...new Set([...(p.fund ?? []).map(checkedAddress), ...secretAccounts(path.join(p.outDir, "secrets"))])];
  const chains = NETWORK_NAMES.map((network, chainIndex): GeneratedChain => {
    const dir = path.join(p.outDir, network);
    const keys = Array.from({ length: p.validators }, (_, i) => loadOrCreateKey(path.join(dir, `validator-${i}`, "key")));
    const enodes = keys.map((k, i) => enodeUrl(k.key, validatorIp(chainIndex, i), BESU_P2P_PORT));
    const genesis: QbftGenesis = qbftGenesis({
      chainId: p.config.networks[network].chainId,
      validators: keys.map((k) => k.key.address),
      blockPeriodSeconds: p.blockPeriodSeconds,
      fund: funded,
    });
    const genesisFile = path.join(dir, "genesis.json");
    writeFile(genesisFile, `${JSON.stringify(genesis, null, 2)}\n`, 0o644);
    writeFile(path.join(dir, "static-nodes.json"), `${JSON.stringify(enodes, null, 2)}\n`, 0o644);
    return {
      network,
      chainId: p.config.networks[network].chainId,
      genesisFile,
      validators: keys.map((k, i) => ({ service: validatorService(network, i), address: k.key.address, enode: enodes[i]!, keyFile: k.file, reused: k.reused })),
    };
  });
  return { chains, funded };
}

function loadOrCreateKey(file: string): { key: ValidatorKey; file: string; reused: boolean } {
  if (fs.existsSync(file)) {
    const text = fs.readFileSync(file, "utf8").trim();
    if (!/^(0x)?[0-9a-fA-F]{64}$/.test(text)) throw new CliError("CONFIG", `${file} is not a 32-byte hex key: delete it to have a new one generated`);
    return { key: validatorKeyFrom(text), file, reused: true };
  }
  const key = newValidatorKey();
  writeFile(file, key.privateKey, 0o600);
  return { key, file, reused: false };
}

/** Addresses of the operator, role and member keys placed as compose secrets (`SIDEGRID_*` files). */
function secretAccounts(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  const out: string[] = [];
  for (const name of fs.readdirSync(dir).sort()) {
    if (!/^SIDEGRID_(.*_)?(PRIVATE_KEY|MEMBER_KEY_\d+)$/.test(name)) continue;
    const text = fs.readFileSync(path.join(dir, name), "utf8").trim();
    if (!/^(0x)?[0-9a-fA-F]{64}$/.test(text)) throw new CliError("CONFIG", `secret ${path.join(dir, name)} is not a 32-byte hex private key`);
    out.push(new Wallet(text.startsWith("0x") ? text : `0x${text}`).address);
  }
  return out;
}

function checkedAddress(a: string): string {
  if (!/^0x[0-9a-fA-F]{40}$/.test(a)) throw new CliError("BAD_ARGUMENT", `--fund takes 0x-prefixed 20-byte addresses, got "${a}"`);
  try {
    return getAddress(a);
  } catch (e) {
    throw new CliError("BAD_ARGUMENT", `--fund address ${a} has a wrong checksum`, undefined, { cause: e });
  }
}

function writeFile(file: string, content: string, mode: number): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, content, { mode });
  // writeFileSync keeps an existing file's mode: make a key file 0600 whatever it was.
  fs.chmodSync(file, mode);
}
