// Who is who in a Sidegrid system: the accounts `up` and `demo` act as. On local chains these are
// anvil's public dev keys (fixed indices, so every command agrees without sharing a secret); as
// soon as one network is remote every role key must come from the environment.
import { Wallet, hexlify } from "ethers";
import type nacl from "tweetnacl";
import { walletBoxKeys } from "@sidegrid/blocksec";
import { NETWORK_NAMES, devPrivateKey, operatorKey, type SidegridConfig } from "@sidegrid/chain";
import { CliError } from "./errors";

/** The X25519 key pair of a wallet, from its signature of BOX_KEY_MESSAGE (see docs/key-custody.md). */
export { walletBoxKeys };

export const ROLES = ["utility", "company", "court", "gateway", "prosumer", "trader", "installer"] as const;
export type RoleName = (typeof ROLES)[number];

/** anvil mnemonic index per role (0 is the operator; 20.. are federation members). */
const ROLE_INDEX: Record<RoleName, number> = { utility: 1, company: 2, court: 3, gateway: 4, prosumer: 5, trader: 6, installer: 7 };
/** Consumer of simulated meter n: index CONSUMER_BASE + n; its meter's signing key: METER_BASE + n. */
const CONSUMER_BASE = 30;
const METER_BASE = 60;

const cache = new Map<number, string>();
function dev(index: number): string {
  let k = cache.get(index);
  if (!k) {
    k = devPrivateKey(index);
    cache.set(index, k);
  }
  return k;
}

export function allLocal(cfg: SidegridConfig): boolean {
  return NETWORK_NAMES.every((n) => cfg.networks[n].local);
}

function fromEnv(name: string, env: NodeJS.ProcessEnv): string | undefined {
  const v = env[name];
  if (v === undefined) return undefined;
  if (!/^(0x)?[0-9a-fA-F]{64}$/.test(v)) throw new CliError("CONFIG", `${name} is not a 32-byte hex private key`);
  return v.startsWith("0x") ? v : `0x${v}`;
}

/** The private key of a role: `SIDEGRID_<ROLE>_PRIVATE_KEY`, or the dev key when every network is local. */
export function roleKey(cfg: SidegridConfig, role: RoleName, env: NodeJS.ProcessEnv = process.env): string {
  const name = `SIDEGRID_${role.toUpperCase()}_PRIVATE_KEY`;
  const k = fromEnv(name, env);
  if (k) return k;
  if (allLocal(cfg)) return dev(ROLE_INDEX[role]);
  throw new CliError("CONFIG", `a network is remote: set ${name} to the ${role}'s private key`);
}

export function operatorPrivateKey(cfg: SidegridConfig): string {
  return operatorKey(cfg, "blocksec");
}

export interface ConsumerKeys {
  meter: number;
  /** The consumer's wallet. */
  privateKey: string;
  address: string;
  /** The meter's device key: commissioned on BlockPRI, signs bindings and delivery confirmations. */
  meterKey: string;
  meterSigner: string;
  /** X25519 key pair the gateway encrypts this consumer's readings to. */
  box: nacl.BoxKeyPair;
}

/** The demo consumer owning simulated meter `meter` (local chains only: the keys are public). */
export function consumerKeys(meter: number): ConsumerKeys {
  const privateKey = dev(CONSUMER_BASE + meter);
  const meterKey = dev(METER_BASE + meter);
  const box = walletBoxKeys(privateKey);
  return { meter, privateKey, address: new Wallet(privateKey).address, meterKey, meterSigner: new Wallet(meterKey).address, box };
}


export function boxPublicKeyHex(k: ConsumerKeys): string {
  return hexlify(k.box.publicKey);
}

/** Federation member keys: `SIDEGRID_MEMBER_KEY_<k>` or, all networks local, anvil indices 20.. */
export function memberKeys(cfg: SidegridConfig, count: number, env: NodeJS.ProcessEnv = process.env): { keys: string[]; fromEnv: boolean } {
  const keys: string[] = [];
  let envCount = 0;
  for (let i = 0; i < count; i++) {
    const k = fromEnv(`SIDEGRID_MEMBER_KEY_${i}`, env);
    if (k) {
      keys.push(k);
      envCount++;
    } else if (allLocal(cfg)) keys.push(dev(20 + i));
    else throw new CliError("CONFIG", `a network is remote: set SIDEGRID_MEMBER_KEY_${i} to federation member ${i}'s private key`);
  }
  return { keys, fromEnv: envCount > 0 };
}
