// Shared setup for the anvil tests: one chain per test file, BlockTST deployed by deployBlockTst,
// a client per dev account, a meter key per account registered through the mirror as BlockPRI
// would relay it.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Wallet, getAddress, id, toBeHex, zeroPadValue } from "ethers";
import { Deployments, startTestChain, type TestChain } from "@sidegrid/chain";
import { BlockTstClient } from "../client";
import { ONE } from "../constants";
import { deployBlockTst, type DeployBlockTstParameters, type DeployBlockTstReturnType } from "../deploy";
import { encodePreferencesPayload, encodeRegistrationPayload, type Preference } from "../messages";

/** The stand-in for BlockPRI's PPC that the mirror accepts messages from. */
export const BLOCKPRI = { chainId: 31001n, ppc: getAddress("0x00000000000000000000000000000000000b10c1") } as const;

export interface Fixture {
  chain: TestChain;
  chainId: bigint;
  addresses: DeployBlockTstReturnType;
  /** Client of dev account i (0 = admin, oracle, relayer, grid account). */
  client(i: number): Promise<BlockTstClient>;
  /** Deterministic meter private key of dev account i. */
  meterKey(i: number): string;
  /** Relays account i's meter registration (meterSigner = meterKey(i)) at `version`. */
  register(i: number, version?: bigint): Promise<void>;
  /** Relays account i's complete preference set at `version`. */
  setPreferences(i: number, prefs: readonly Preference[], version: bigint): Promise<void>;
  /** Draws `amount` SGT for each listed account from the faucet. */
  fund(accounts: readonly number[], amount?: bigint): Promise<void>;
  stop(): Promise<void>;
}

export async function setupFixture(chainId: number, deploy: Partial<Omit<DeployBlockTstParameters, "sender" | "deployments">> = {}): Promise<Fixture> {
  const chain = await startTestChain({ chainId });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "blocktst-"));
  const { sender } = await chain.account(0);
  const addresses = await deployBlockTst({
    sender,
    deployments: Deployments.forNetwork(dir, "blocktst", chainId),
    blockpri: BLOCKPRI,
    ...deploy,
  });
  const clients = new Map<number, Promise<BlockTstClient>>();
  const client = (i: number): Promise<BlockTstClient> => {
    let c = clients.get(i);
    if (!c) {
      c = chain.account(i).then((a) => new BlockTstClient({ sender: a.sender, addresses }));
      clients.set(i, c);
    }
    return c;
  };
  const meterKey = (i: number) => id(`sidegrid meter key ${i}`);
  const admin = await client(0);
  return {
    chain,
    chainId: BigInt(chainId),
    addresses,
    client,
    meterKey,
    async register(i, version = 1n) {
      const c = await client(i);
      const payload = encodeRegistrationPayload(
        { consumer: c.address, meterId: zeroPadValue(toBeHex(1000 + i), 32), meterSigner: new Wallet(meterKey(i)).address, encryptionKey: id(`enc ${i}`) },
        version,
      );
      await admin.relayMessage(BLOCKPRI.chainId, BLOCKPRI.ppc, payload);
    },
    async setPreferences(i, prefs, version) {
      const c = await client(i);
      await admin.relayMessage(BLOCKPRI.chainId, BLOCKPRI.ppc, encodePreferencesPayload(c.address, version, prefs));
    },
    async fund(accounts, amount = 1000n * ONE) {
      await Promise.all(accounts.map(async (i) => (await client(i)).faucet(amount)));
    },
    async stop() {
      await chain.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Runs `fn` and returns the ContractRevertError it threw (fails the test if it did not throw). */
export async function revertOf(fn: () => Promise<unknown>): Promise<{ errorName: string | undefined; args: readonly unknown[] }> {
  try {
    await fn();
  } catch (e) {
    const err = e as { errorName?: string; args?: readonly unknown[]; code?: string };
    if (err.code !== "CONTRACT_REVERT") throw e;
    return { errorName: err.errorName, args: [...(err.args ?? [])] };
  }
  throw new Error("expected a revert, the call succeeded");
}

/** Timestamp of the latest block, read raw (ethers caches `getBlock("latest")` briefly). */
export async function latestTimestamp(chain: TestChain): Promise<bigint> {
  const block = (await chain.provider.send("eth_getBlockByNumber", ["latest", false])) as { timestamp: string };
  return BigInt(block.timestamp);
}
