// Test harness (not part of the build): anvil chains with the federation and mock apps deployed.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { AbiCoder, Interface, SigningKey, Wallet, ZeroAddress } from "ethers";
import {
  Deployments,
  deployContract,
  readArtifact,
  startTestChain,
  type TestChain,
  type TxReceipt,
  type TxSender,
} from "@sidegrid/chain";
import { deployBlockSec, deployKeyCustody, type BlockSecAddresses } from "@sidegrid/blocksec";
import { artifactsDir } from "../artifacts";
import { deployFederation, FEDERATION_ROLE, type DeployFederationReturnType } from "../deploy";
import { FederationInbox__factory, FederationOutbox__factory, MockPreferenceMirror__factory, MockPreferenceSource__factory, TestToken__factory, TokenPeg__factory } from "../generated";
import { localMemberKeys, type FederationCustodyConfig } from "../member/config";
import { domainSeparator, messageDigest, packSignatures, signDigest, type FederationMessage } from "../messages";

export const inboxIface = FederationInbox__factory.createInterface();
export const outboxIface = FederationOutbox__factory.createInterface();
export const sourceIface = MockPreferenceSource__factory.createInterface();
export const mirrorIface = MockPreferenceMirror__factory.createInterface();
export const pegIface = TokenPeg__factory.createInterface();
export const tokenIface = TestToken__factory.createInterface();
export const ALL_ABIS = [
  FederationInbox__factory.abi,
  FederationOutbox__factory.abi,
  TokenPeg__factory.abi,
  MockPreferenceMirror__factory.abi,
  MockPreferenceSource__factory.abi,
  TestToken__factory.abi,
  readArtifact(artifactsDir, "WrappedToken").abi,
];

export function tmpDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `sidegrid-fed-${prefix}-`));
}

/** `abi.encode(uint8 1, consumer, version, Preference[])` as SidegridMessages.encodePreferences writes it. */
export function preferencePayload(consumer: string, version: bigint, utility: string, allowed: boolean, resolution = 3): string {
  return AbiCoder.defaultAbiCoder().encode(
    ["uint8", "address", "uint64", "tuple(address,uint8,bool,uint8,uint64)[]"],
    [1, consumer, version, [[utility, 0, allowed, resolution, 0]]],
  );
}

/** Parses the MessageSent events of `outbox` in a receipt into messages. */
export function sentMessages(receipt: TxReceipt, srcChainId: bigint, outbox: string): FederationMessage[] {
  const out: FederationMessage[] = [];
  for (const l of receipt.logs) {
    if (l.address.toLowerCase() !== outbox.toLowerCase()) continue;
    const ev = outboxIface.parseLog(l);
    if (ev?.name !== "MessageSent") continue;
    out.push({
      srcChainId,
      srcSender: ev.args.srcSender as string,
      nonce: BigInt(ev.args.nonce as bigint),
      dstChainId: BigInt(ev.args.dstChainId as bigint),
      dstContract: ev.args.dstContract as string,
      payload: ev.args.payload as string,
    });
  }
  return out;
}

/** Signs `m` for the inbox `inbox` on `chainId` with each key, packed for `deliver`. */
export function sign(keys: readonly SigningKey[], chainId: bigint, inbox: string, m: FederationMessage): string {
  const digest = messageDigest(domainSeparator(chainId, inbox), m);
  return packSignatures(keys.map((k) => signDigest(k, digest)));
}

export function deliverCall(inbox: string, messages: readonly FederationMessage[], signatures: readonly string[]): { to: string; data: string } {
  return { to: inbox, data: inboxIface.encodeFunctionData("deliver", [messages as FederationMessage[], signatures as string[]]) };
}

export interface World {
  chains: TestChain[];
  ids: bigint[];
  admins: TxSender[];
  fed: DeployFederationReturnType;
  memberKeys: string[];
  signers: SigningKey[];
  /** MockPreferenceSource on chain 0 (BlockPRI stand-in) routing to the mirrors. */
  source: string;
  /** MockPreferenceMirror on chains 1 and 2 (BlockSEC / BlockTST stand-ins). */
  mirrors: [string, string];
  /** TestToken on chain 2 (the peg's home, BlockTST stand-in). */
  token: string;
  /** With `custody`: BlockSEC's contracts and KeyCustody on chain 1 (the BlockSEC stand-in). */
  custody?: CustodyApps & { config: FederationCustodyConfig };
  dir: string;
  stop(): Promise<void>;
}

export interface StartWorldParameters {
  chainIds: [number, number, number];
  members?: number;
  threshold?: number;
  gracePeriodSec?: number;
  pegDailyLimit?: bigint;
  gasLimit?: bigint;
  /** Deploy BlockSEC's contracts and KeyCustody on chain 1, wired to its inbox (accounts: {@link CUSTODY_ACCOUNTS}). */
  custody?: boolean;
  /** The address the chains bind (default 127.0.0.1): members on other hosts reach them there. */
  host?: string;
}

/** Anvil account indices of the custody world's roles (on every chain; members use 20+). */
export const CUSTODY_ACCOUNTS = { utility: 1, gateway: 2, alice: 3, carol: 4 } as const;

/** A stand-in BlockPRI PPC: the only preference source the PolicyMirror accepts (the admin delivers as trusted relayer). */
export const TEST_PPC = { chainId: 31150, address: "0x00000000000000000000000000000000000fa4e1" } as const;

/** BlockSEC's contracts and KeyCustody as {@link deployCustodyApps} leaves them. */
export interface CustodyApps {
  addresses: BlockSecAddresses;
  keyCustody: string;
  /** First block of the BlockSEC deployment (where scans start). */
  startBlock: number;
}

/**
 * Deploys BlockSEC's PolicyMirror, TradeLog, MeterDataLedger and AccessLedger (the admin is the
 * mirror's trusted relayer, preferences from {@link TEST_PPC}) and KeyCustody wired to `inbox`.
 */
export async function deployCustodyApps(p: {
  sender: TxSender;
  deployments: Deployments;
  inbox: string;
  utility: string;
  gateway: string;
}): Promise<CustodyApps> {
  const d = await deployBlockSec({
    sender: p.sender,
    deployments: p.deployments,
    preferenceSource: TEST_PPC,
    distributors: [p.utility],
    gateways: [{ gateway: p.gateway, utility: p.utility }],
  });
  const addresses = { policyMirror: d.policyMirror, meterDataLedger: d.meterDataLedger, accessLedger: d.accessLedger, tradeLog: d.tradeLog };
  const { keyCustody } = await deployKeyCustody({ sender: p.sender, deployments: p.deployments, federationInbox: p.inbox, ...addresses });
  return { addresses, keyCustody, startBlock: d.startBlock };
}

/**
 * Three anvil chains: chain 0 has the preference source, chains 1 and 2 a mirror each, chain 2 is
 * the peg's home (TestToken) and chains 0 and 1 hold wrapped tokens. The federation is deployed with
 * members derived from the anvil mnemonic and funded on every chain.
 */
export async function startWorld(params: StartWorldParameters): Promise<World> {
  const chains = await Promise.all(
    params.chainIds.map((chainId) => startTestChain({ chainId, ...(params.host !== undefined ? { host: params.host } : {}), ...(params.gasLimit !== undefined ? { gasLimit: params.gasLimit } : {}) })),
  );
  const admins = await Promise.all(chains.map(async (c) => (await c.account(0)).sender));
  for (const a of admins) for (const abi of ALL_ABIS) a.addAbi(abi as never);
  const dir = tmpDir("world");
  const deployments = params.chainIds.map((id, i) => Deployments.forNetwork(dir, `chain${i}`, id));
  const ids = params.chainIds.map((id) => BigInt(id));

  const src = await deployContract({ sender: admins[0]!, deployments: deployments[0]!, artifact: readArtifact(artifactsDir, "MockPreferenceSource") });
  const mirrors: string[] = [];
  for (const i of [1, 2]) {
    const r = await deployContract({
      sender: admins[i]!,
      deployments: deployments[i]!,
      artifact: readArtifact(artifactsDir, "MockPreferenceMirror"),
      args: [admins[i]!.address],
    });
    mirrors.push(r.address);
    await admins[i]!.sendAndWait({ to: r.address, data: mirrorIface.encodeFunctionData("setSource", [ids[0]!, src.address]) });
  }
  const token = await deployContract({ sender: admins[2]!, deployments: deployments[2]!, artifact: readArtifact(artifactsDir, "TestToken") });

  const n = params.members ?? 3;
  const memberKeys = localMemberKeys(n);
  const fed = await deployFederation({
    chains: [
      { name: "chain0", sender: admins[0]!, deployments: deployments[0]!, senders: [src.address], peg: "remote" },
      { name: "chain1", sender: admins[1]!, deployments: deployments[1]!, receivers: [mirrors[0]!], peg: "remote" },
      { name: "chain2", sender: admins[2]!, deployments: deployments[2]!, receivers: [mirrors[1]!], peg: "home", pegToken: token.address },
    ],
    members: memberKeys.map((k) => new Wallet(k).address),
    threshold: params.threshold ?? 2,
    gracePeriodSec: params.gracePeriodSec ?? 3600,
    pegDailyLimit: params.pegDailyLimit ?? 10n ** 24n,
    fundMembers: 10n ** 21n,
  });
  await admins[0]!.sendAndWait({ to: src.address, data: sourceIface.encodeFunctionData("setOutbox", [fed.chains[0]!.outbox]) });
  await admins[0]!.sendAndWait({ to: src.address, data: sourceIface.encodeFunctionData("addRoute", [ids[1]!, mirrors[0]!]) });
  await admins[0]!.sendAndWait({ to: src.address, data: sourceIface.encodeFunctionData("addRoute", [ids[2]!, mirrors[1]!]) });

  let custody: World["custody"];
  if (params.custody) {
    const addr = async (i: number) => (await chains[1]!.account(i)).wallet.address;
    const apps = await deployCustodyApps({
      sender: admins[1]!,
      deployments: deployments[1]!,
      inbox: fed.chains[1]!.inbox,
      utility: await addr(CUSTODY_ACCOUNTS.utility),
      gateway: await addr(CUSTODY_ACCOUNTS.gateway),
    });
    const { addresses, keyCustody, startBlock } = apps;
    custody = { ...apps, config: { keyCustody, accessLedger: addresses.accessLedger, policyMirror: addresses.policyMirror, startBlock, chain: fed.chains[1]!.name, pollMs: 100 } };
  }

  return {
    chains,
    ids,
    admins,
    fed,
    memberKeys,
    signers: memberKeys.map((k) => new SigningKey(k)),
    source: src.address,
    mirrors: [mirrors[0]!, mirrors[1]!],
    token: token.address,
    ...(custody ? { custody } : {}),
    dir,
    async stop() {
      await Promise.all(chains.map((c) => c.stop()));
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

export const ACCESS = new Interface(["function hasRole(bytes32,address) view returns (bool)"]);
export { FEDERATION_ROLE, ZeroAddress };

/** Delivers every message a source receipt sent, signed by the members `signerIdx`, with `via` on the destination. */
export async function relayReceipt(w: World, srcIdx: number, receipt: TxReceipt, via: TxSender[], signerIdx: number[] = [0, 1]): Promise<TxReceipt[]> {
  const msgs = sentMessages(receipt, w.ids[srcIdx]!, w.fed.chains[srcIdx]!.outbox);
  const out: TxReceipt[] = [];
  for (const m of msgs) {
    const d = w.ids.indexOf(m.dstChainId);
    const keys = signerIdx.map((i) => w.signers[i]!);
    out.push(await via[d]!.sendAndWait(deliverCall(w.fed.chains[d]!.inbox, [m], [sign(keys, m.dstChainId, w.fed.chains[d]!.inbox, m)])));
  }
  return out;
}

/** Parsed events of the given interface in a receipt (other logs skipped). */
export function eventsOf(receipt: TxReceipt, iface: Interface, name?: string): { name: string; args: Record<string, unknown> & unknown[] }[] {
  const out: { name: string; args: Record<string, unknown> & unknown[] }[] = [];
  for (const l of receipt.logs) {
    try {
      const ev = iface.parseLog(l);
      if (ev && (!name || ev.name === name)) out.push({ name: ev.name, args: ev.args as unknown as Record<string, unknown> & unknown[] });
    } catch {
      /* another contract's event */
    }
  }
  return out;
}
