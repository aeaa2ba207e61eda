import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { hexlify, randomBytes, Wallet, zeroPadValue, toBeHex } from "ethers";
import { ContractRevertError, Deployments, type TestChain, type TxSender } from "@sidegrid/chain";
import { encodePreferencesPayload, encodeRegistrationPayload, type Preference } from "@sidegrid/blockpri";
import { BlockSecClient, type BlockSecAddresses } from "../client";
import { deployBlockSec } from "../deploy";
import type { MeterRecord, ResolutionName, CategoryName } from "../types";

/** Stand-in BlockPRI source for tests that do not run a BlockPRI chain. */
export const FAKE_PRI_CHAIN_ID = 31150;
export const FAKE_PPC = "0x00000000000000000000000000000000000fa4e1";

/** Account roles on the test chain. */
export const A = { admin: 0, utilityA: 1, utilityB: 2, alice: 3, bob: 4, gatewayA: 5, gatewayB: 6, court: 7, stranger: 8, carol: 9 } as const;

export interface SecWorld {
  chain: TestChain;
  deployments: Deployments;
  admin: TxSender;
  addresses: BlockSecAddresses;
  startBlock: number;
  /** The BlockSEC client writing from dev account `i`. */
  as(i: number): Promise<BlockSecClient>;
  addr(i: number): Promise<string>;
  /** Per-consumer version counter, like BlockPRI's. */
  versions: Map<string, bigint>;
  /** Delivers a registration of `meterId` for `consumer` as the relayer would. */
  register(consumer: string, meterId: string): Promise<bigint>;
  /** Delivers `consumer`'s complete preference list as the relayer would. */
  setPrefs(consumer: string, prefs: Partial<Preference>[]): Promise<bigint>;
}

export async function setupSec(chain: TestChain): Promise<SecWorld> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "blocksec-"));
  const admin = (await chain.account(A.admin)).sender;
  const deployments = Deployments.forNetwork(dir, "blocksec", Number(admin.chainId));
  const addr = async (i: number) => (await chain.account(i)).wallet.address;
  const d = await deployBlockSec({
    sender: admin,
    deployments,
    preferenceSource: { chainId: FAKE_PRI_CHAIN_ID, address: FAKE_PPC },
    distributors: [await addr(A.utilityA), await addr(A.utilityB)],
    auditors: [await addr(A.court)],
    gateways: [
      { gateway: await addr(A.gatewayA), utility: await addr(A.utilityA) },
      { gateway: await addr(A.gatewayB), utility: await addr(A.utilityB) },
    ],
  });
  const addresses: BlockSecAddresses = { policyMirror: d.policyMirror, meterDataLedger: d.meterDataLedger, accessLedger: d.accessLedger, tradeLog: d.tradeLog };
  const relayer = new BlockSecClient({ sender: admin, addresses });
  const versions = new Map<string, bigint>();
  const bump = (c: string) => {
    const v = (versions.get(c) ?? 0n) + 1n;
    versions.set(c, v);
    return v;
  };
  return {
    chain,
    deployments,
    admin,
    addresses,
    startBlock: d.startBlock,
    as: async (i) => new BlockSecClient({ sender: (await chain.account(i)).sender, addresses }),
    addr,
    versions,
    async register(consumer, meterId) {
      const v = bump(consumer);
      const payload = encodeRegistrationPayload({
        registration: { consumer, meterId, meterSigner: Wallet.createRandom().address, encryptionKey: hexlify(randomBytes(32)) },
        version: v,
      });
      await relayer.deliverPreferences(FAKE_PRI_CHAIN_ID, FAKE_PPC, payload);
      return v;
    },
    async setPrefs(consumer, prefs) {
      const v = bump(consumer);
      const full: Preference[] = prefs.map((p) => ({
        utility: p.utility ?? "0x0000000000000000000000000000000000000000",
        category: p.category ?? "CONSUMPTION",
        allowed: p.allowed ?? true,
        resolution: p.resolution ?? "NONE",
        expiresAt: p.expiresAt ?? 0,
      }));
      await relayer.deliverPreferences(FAKE_PRI_CHAIN_ID, FAKE_PPC, encodePreferencesPayload({ consumer, version: v, prefs: full }));
      return v;
    },
  };
}

/** A meter id from a small number (readable in failures). */
export function meterId(n: number): string {
  return zeroPadValue(toBeHex(0x4d000000 + n), 32);
}

/** `n` readings of one meter with random payloads, sequences from `first`. */
export function readings(p: {
  consumer: string;
  meter: string;
  first?: bigint;
  n: number;
  resolution?: ResolutionName;
  category?: CategoryName;
  payloadSize?: number;
  periodStart?: number;
}): MeterRecord[] {
  const step = p.resolution === "DAILY" ? 86400 : p.resolution === "HOURLY" ? 3600 : 900;
  return Array.from({ length: p.n }, (_, i) => ({
    consumer: p.consumer,
    meterId: p.meter,
    sequence: (p.first ?? 1n) + BigInt(i),
    periodStart: (p.periodStart ?? 1_750_000_000) + i * step,
    resolution: p.resolution ?? "QUARTER_HOURLY",
    category: p.category ?? "CONSUMPTION",
    payload: hexlify(randomBytes(p.payloadSize ?? 144)),
  }));
}

/** Awaits a rejection and returns it as ContractRevertError (fails the test otherwise). */
export async function revertOf(p: Promise<unknown>): Promise<ContractRevertError> {
  const e = await p.then(
    () => undefined,
    (x: unknown) => x,
  );
  if (!(e instanceof ContractRevertError)) throw new Error(`expected a ContractRevertError, got ${e === undefined ? "success" : String(e)}`);
  return e;
}
