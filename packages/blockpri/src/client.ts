// The typed client of BlockPRI's PPC: every function of the contract, its events and its errors.
// Longer than 500 lines on purpose: one class per contract, so a PPC call is always found here;
// the EIP-712 meter binding it signs and checks lives in binding.ts.
import { getAddress, id, type JsonRpcProvider } from "ethers";
import { getLogs, latestTimestamp, type RawLog, revertData, type TxReceipt, type TxSender, uncachedRunner } from "@sidegrid/chain";
import { checkMeterBinding, signMeterBinding, type MeterBinding } from "./binding";
import { InvalidArgumentError, MissingEventError } from "./errors";
import { PPC__factory, type PPC } from "./generated";
import { MessageKind, type MessageKindName } from "./messages";
import {
  ANY_DISTRIBUTOR,
  Category,
  Resolution,
  categoryName,
  checkAddress,
  checkBytes32,
  checkPreference,
  resolutionName,
  type CategoryName,
  type Preference,
  type Registration,
  type ResolutionName,
} from "./types";

const iface = PPC__factory.createInterface();
const RELAY_TOPIC = iface.getEvent("RelayPayload").topicHash;
const CHANGED_TOPIC = iface.getEvent("PreferencesChanged").topicHash;
const CLEARED_TOPIC = iface.getEvent("PreferenceCleared").topicHash;
const REGISTERED_TOPIC = iface.getEvent("ConsumerRegistered").topicHash;

/** keccak256("DISTRIBUTOR_ROLE"). */
export const DISTRIBUTOR_ROLE = id("DISTRIBUTOR_ROLE");
/** keccak256("AUDITOR_ROLE"). */
export const AUDITOR_ROLE = id("AUDITOR_ROLE");
/** keccak256("REGULATOR_ROLE"): admits installers. */
export const REGULATOR_ROLE = id("REGULATOR_ROLE");
/** keccak256("INSTALLER_ROLE"): commissions meters, may sign bindings. */
export const INSTALLER_ROLE = id("INSTALLER_ROLE");

export interface ConsumerRegisterParameters {
  /** The binding the meter (or an installer) signed for this consumer. */
  binding: MeterBinding;
  /** The 65-byte signature over the binding (see signMeterBinding). */
  signature: string;
  /** The consumer's X25519 public key, bytes32. */
  encryptionKey: string;
}

/** A meter as PPC holds it. */
export interface MeterRecord {
  /** The device signing key; undefined if not commissioned. */
  deviceKey: string | undefined;
  /** The nonce the meter's next binding must carry. */
  nextNonce: bigint;
  /** The household it is bound to; undefined if none. */
  consumer: string | undefined;
}

/** One {RelayPayload} event: the bytes the federation carries for one change. */
export interface RelayPayloadEvent {
  consumer: string;
  version: bigint;
  kind: MessageKindName;
  payload: string;
  blockNumber: number;
  transactionHash: string;
  logIndex: number;
}

/** What a consumer's change returns: the new version, the relay payload(s) it emitted, the receipt. */
export interface ChangeResult {
  version: bigint;
  payloads: RelayPayloadEvent[];
  receipt: TxReceipt;
}

export interface BlockPriClientParameters {
  /** Sends every write; its account is the consumer (or the regulator, for admin calls). */
  sender: TxSender;
  /** The PPC contract. */
  address: string;
}

/** One preference change as the client takes it; omitted fields take the defaults noted. */
export interface SetPreferenceParameters {
  /** Default {@link ANY_DISTRIBUTOR}. */
  utility?: string;
  category: CategoryName;
  allowed: boolean;
  /** Default: NONE for TRADES and for a forbidden category; required for allowed consumption. */
  resolution?: ResolutionName;
  /** Unix seconds; default 0 = never. */
  expiresAt?: number;
}

export interface IsPermittedParameters {
  consumer: string;
  utility: string;
  category: CategoryName;
  /** Default NONE (right for TRADES). */
  resolution?: ResolutionName;
  /** Unix seconds; default the latest block's timestamp. */
  at?: number;
}

/** The paper's ConsumerPref struct (Figure A1), derived from the current state. */
export interface ConsumerPref {
  isDistributor: boolean;
  canMonitorTransf: boolean;
  canMonitorCons: boolean;
}

/**
 * Typed client of BlockPRI's Privacy Preference Contract: writes go through a TxSender (the
 * consumer's or the regulator's account), reads through the sender's provider.
 *
 * @example
 * const pri = new BlockPriClient({ sender: consumer, address: ppc });
 * const binding = await pri.meterBinding({ meterId, consumer });
 * await pri.consumerRegister({ binding, signature: await signMeterBinding({ signer: device, chainId, ppc, binding }), encryptionKey });
 * await pri.setPreference({ utility, category: "CONSUMPTION", allowed: true, resolution: "DAILY" });
 */
export class BlockPriClient {
  readonly sender: TxSender;
  readonly address: string;
  readonly contract: PPC;

  constructor(params: BlockPriClientParameters) {
    this.sender = params.sender;
    this.address = getAddress(params.address);
    // Reads bypass ethers' request cache (a read right after a write must see it).
    this.contract = PPC__factory.connect(this.address, uncachedRunner(params.sender.provider));
    this.sender.addAbi(PPC__factory.abi as never);
  }

  get provider(): JsonRpcProvider {
    return this.sender.provider;
  }

  get chainId(): bigint {
    return this.sender.chainId;
  }

  /** The same contract, writing from another account. */
  withSender(sender: TxSender): BlockPriClient {
    return new BlockPriClient({ sender, address: this.address });
  }

  // ------------------------------------------------------------ consumer writes

  /**
   * Binds the meter named in a signed binding, its device key and the caller's X25519 key to the
   * caller (`consumerRegister`). The binding must name the caller and carry the meter's next nonce.
   */
  async consumerRegister(params: ConsumerRegisterParameters): Promise<ChangeResult> {
    const b = checkMeterBinding(params.binding);
    const data = iface.encodeFunctionData("consumerRegister", [
      { meterId: b.meterId, consumer: b.consumer, nonce: b.nonce, expiry: b.expiry },
      params.signature,
      checkBytes32("encryptionKey", params.encryptionKey),
    ]);
    return this.change(data);
  }

  /** Replaces the caller's X25519 key, keeping the meter (`rotateEncryptionKey`). */
  async rotateEncryptionKey(encryptionKey: string): Promise<ChangeResult> {
    return this.change(iface.encodeFunctionData("rotateEncryptionKey", [checkBytes32("encryptionKey", encryptionKey)]));
  }

  /** Releases the caller's meter when moving out (`releaseMeter`). */
  async releaseMeter(): Promise<ChangeResult> {
    return this.change(iface.encodeFunctionData("releaseMeter"));
  }

  /** Sets one preference entry of the caller (`setPreference`). */
  async setPreference(params: SetPreferenceParameters): Promise<ChangeResult> {
    const p = toPreference(params);
    return this.change(iface.encodeFunctionData("setPreference", [p.utility, Category[p.category], p.allowed, Resolution[p.resolution], p.expiresAt]));
  }

  /** Sets several entries of the caller as one change, one version (`setPreferences`). */
  async setPreferences(prefs: readonly SetPreferenceParameters[]): Promise<ChangeResult> {
    const list = prefs.map(toPreference);
    return this.change(
      iface.encodeFunctionData("setPreferences", [
        list.map((p) => ({ utility: p.utility, category: Category[p.category], allowed: p.allowed, resolution: Resolution[p.resolution], expiresAt: p.expiresAt })),
      ]),
    );
  }

  /** Removes the caller's entry for (utility, category); the default applies again (`clearPreference`). */
  async clearPreference(params: { utility: string; category: CategoryName }): Promise<ChangeResult> {
    return this.change(iface.encodeFunctionData("clearPreference", [checkAddress("utility", params.utility), Category[params.category]]));
  }

  /** The paper's `setMonitorConsPref`: any distributor may (not) monitor consumption, finest resolution. */
  async setMonitorConsPref(pref: boolean): Promise<ChangeResult> {
    return this.change(iface.encodeFunctionData("setMonitorConsPref", [pref]));
  }

  /** The paper's `setMonitorTransfPref`: any distributor may (not) monitor trades. */
  async setMonitorTransfPref(pref: boolean): Promise<ChangeResult> {
    return this.change(iface.encodeFunctionData("setMonitorTransfPref", [pref]));
  }

  /** Emits (and sends through the outbox) `consumer`'s current registration and preferences again. */
  async republish(consumer: string): Promise<{ payloads: RelayPayloadEvent[]; receipt: TxReceipt }> {
    const receipt = await this.sender.sendAndWait({ to: this.address, data: iface.encodeFunctionData("republish", [checkAddress("consumer", consumer)]) });
    return { payloads: relayPayloadsIn(receipt, this.address), receipt };
  }

  // ------------------------------------------------------------ regulator writes

  /** Admits `account` as a distributor (utility). Regulator only. */
  grantDistributor(account: string): Promise<TxReceipt> {
    return this.send("grantRole", [DISTRIBUTOR_ROLE, checkAddress("account", account)]);
  }

  /** Withdraws the distributor role. Regulator only. */
  revokeDistributor(account: string): Promise<TxReceipt> {
    return this.send("revokeRole", [DISTRIBUTOR_ROLE, checkAddress("account", account)]);
  }

  /** Admits `account` as an auditor (court). Regulator only. */
  grantAuditor(account: string): Promise<TxReceipt> {
    return this.send("grantRole", [AUDITOR_ROLE, checkAddress("account", account)]);
  }

  /** Withdraws the auditor role. Regulator only. */
  revokeAuditor(account: string): Promise<TxReceipt> {
    return this.send("revokeRole", [AUDITOR_ROLE, checkAddress("account", account)]);
  }

  /** Admits `account` as an installer. Regulator (REGULATOR_ROLE) only. */
  grantInstaller(account: string): Promise<TxReceipt> {
    return this.send("grantRole", [INSTALLER_ROLE, checkAddress("account", account)]);
  }

  /** Withdraws the installer role. Regulator only. */
  revokeInstaller(account: string): Promise<TxReceipt> {
    return this.send("revokeRole", [INSTALLER_ROLE, checkAddress("account", account)]);
  }

  // ------------------------------------------------------------ installer writes

  /** Records an installed meter and its device signing key (`commissionMeter`). Installer only. */
  commissionMeter(params: { meterId: string; deviceKey: string }): Promise<TxReceipt> {
    return this.send("commissionMeter", [checkBytes32("meterId", params.meterId), checkAddress("deviceKey", params.deviceKey)]);
  }

  /**
   * Commissions the meters among `meters` that are not yet (idempotent), in batches of 100.
   * Refuses (before sending) a meter already commissioned with another device key.
   */
  async commissionMeters(meters: readonly { meterId: string; deviceKey: string }[]): Promise<TxReceipt[]> {
    const todo: { meterId: string; deviceKey: string }[] = [];
    for (const m of meters) {
      const have = await this.meterOf(m.meterId);
      if (!have.deviceKey) todo.push({ meterId: checkBytes32("meterId", m.meterId), deviceKey: checkAddress("deviceKey", m.deviceKey) });
      else if (have.deviceKey !== getAddress(m.deviceKey)) {
        throw new InvalidArgumentError("deviceKey", m.deviceKey, `differs from the key ${have.deviceKey} meter ${m.meterId} is commissioned with`);
      }
    }
    const receipts: TxReceipt[] = [];
    for (let i = 0; i < todo.length; i += 100) {
      const batch = todo.slice(i, i + 100);
      receipts.push(await this.send("commissionMeters", [batch.map((b) => b.meterId), batch.map((b) => b.deviceKey)]));
    }
    return receipts;
  }

  /** Removes a replaced meter (and releases its household) (`decommissionMeter`). Installer only. */
  decommissionMeter(meterId: string): Promise<TxReceipt> {
    return this.send("decommissionMeter", [checkBytes32("meterId", meterId)]);
  }

  /** Sets the federation outbox payloads are sent through (address(0) = off). Regulator only. */
  setOutbox(outbox: string): Promise<TxReceipt> {
    return this.send("setOutbox", [checkAddress("outbox", outbox)]);
  }

  /** Adds a destination (chain id, receiving contract) for every payload. Regulator only. */
  addRoute(chainId: bigint | number, target: string): Promise<TxReceipt> {
    return this.send("addRoute", [chainId, checkAddress("target", target)]);
  }

  /** Removes a destination. Regulator only. */
  removeRoute(chainId: bigint | number, target: string): Promise<TxReceipt> {
    return this.send("removeRoute", [chainId, checkAddress("target", target)]);
  }

  // ------------------------------------------------------------ reads

  /** The paper's `getConsumer`: the consumer registered `index`-th. */
  async getConsumer(index: number): Promise<string> {
    return getAddress(await this.read(() => this.contract.getConsumer(index)));
  }

  async consumerCount(): Promise<number> {
    return Number(await this.contract.consumerCount());
  }

  /** The paper's `getConsumerPrefs`. */
  async getConsumerPrefs(addr: string): Promise<ConsumerPref> {
    const r = await this.contract.getConsumerPrefs(checkAddress("addr", addr));
    return { isDistributor: r.isDistributor, canMonitorTransf: r.canMonitorTransf, canMonitorCons: r.canMonitorCons };
  }

  async isRegistered(consumer: string): Promise<boolean> {
    return this.contract.isRegistered(checkAddress("consumer", consumer));
  }

  /** `consumer`'s meter binding, or undefined if not registered. */
  async registrationOf(consumer: string): Promise<Registration | undefined> {
    const r = await this.contract.registrationOf(checkAddress("consumer", consumer));
    if (r.consumer === ANY_DISTRIBUTOR) return undefined;
    return { consumer: getAddress(r.consumer), meterId: r.meterId, meterSigner: getAddress(r.meterSigner), encryptionKey: r.encryptionKey };
  }

  /** The consumer bound to `meterId`, or undefined. */
  async consumerOfMeter(meterId: string): Promise<string | undefined> {
    const a = await this.contract.consumerOfMeter(checkBytes32("meterId", meterId));
    return a === ANY_DISTRIBUTOR ? undefined : getAddress(a);
  }

  /** `meterId`'s device key, next binding nonce and household. */
  async meterOf(meterId: string): Promise<MeterRecord> {
    const [deviceKey, nextNonce, consumer] = await this.contract.meterOf(checkBytes32("meterId", meterId));
    return {
      deviceKey: deviceKey === ANY_DISTRIBUTOR ? undefined : getAddress(deviceKey),
      nextNonce,
      consumer: consumer === ANY_DISTRIBUTOR ? undefined : getAddress(consumer),
    };
  }

  /**
   * An unsigned binding of `meterId` to `consumer` with the meter's next nonce, valid for
   * `ttlSeconds` (default 600) from the latest block: what a device or installer then signs.
   */
  async meterBinding(params: { meterId: string; consumer: string; ttlSeconds?: number }): Promise<MeterBinding> {
    const { nextNonce } = await this.meterOf(params.meterId);
    const now = await latestTimestamp(this.provider);
    return { meterId: checkBytes32("meterId", params.meterId), consumer: checkAddress("consumer", params.consumer), nonce: nextNonce, expiry: now + (params.ttlSeconds ?? 600) };
  }

  async isInstaller(account: string): Promise<boolean> {
    return this.contract.hasRole(INSTALLER_ROLE, checkAddress("account", account));
  }

  async versionOf(consumer: string): Promise<bigint> {
    return this.contract.versionOf(checkAddress("consumer", consumer));
  }

  /** `consumer`'s entry for (utility, category), or undefined if none is set. */
  async getPreference(consumer: string, utility: string, category: CategoryName): Promise<Preference | undefined> {
    const [set, p] = await this.contract.getPreference(checkAddress("consumer", consumer), checkAddress("utility", utility), Category[category]);
    return set ? fromTuple(p) : undefined;
  }

  /** Every entry `consumer` has set (what a preferences payload carries). */
  async getPreferences(consumer: string): Promise<Preference[]> {
    const list = await this.contract.getPreferences(checkAddress("consumer", consumer));
    return list.map(fromTuple);
  }

  /** True if `utility` may monitor `consumer`'s category at the resolution, at time `at`. */
  async isPermitted(params: IsPermittedParameters): Promise<boolean> {
    const at = params.at ?? (await latestTimestamp(this.provider));
    return this.contract.isPermitted(
      checkAddress("consumer", params.consumer),
      checkAddress("utility", params.utility),
      Category[params.category],
      Resolution[params.resolution ?? "NONE"],
      at,
    );
  }

  async isDistributor(account: string): Promise<boolean> {
    return this.contract.hasRole(DISTRIBUTOR_ROLE, checkAddress("account", account));
  }

  async isAuditor(account: string): Promise<boolean> {
    return this.contract.hasRole(AUDITOR_ROLE, checkAddress("account", account));
  }

  async outbox(): Promise<string> {
    return getAddress(await this.contract.outbox());
  }

  async routes(): Promise<{ chainId: bigint; target: string }[]> {
    return (await this.contract.routes()).map((r) => ({ chainId: r.chainId, target: getAddress(r.target) }));
  }

  /**
   * The {RelayPayload} events in a block range, oldest first: what a relayer forwards.
   * @param params.consumer Only this consumer's payloads.
   */
  async relayPayloads(params: { fromBlock?: number; toBlock?: number | "latest"; consumer?: string } = {}): Promise<RelayPayloadEvent[]> {
    const topics: (string | null)[] = [RELAY_TOPIC];
    if (params.consumer) topics.push(zeroPad(checkAddress("consumer", params.consumer)));
    const logs = await getLogs(this.provider, { address: this.address, topics, fromBlock: params.fromBlock ?? 0, toBlock: params.toBlock ?? "latest" });
    return logs.map(parseRelayLog);
  }

  /**
   * `consumer`'s history of registrations and preference changes, oldest first, from events.
   */
  async history(consumer: string, fromBlock = 0): Promise<PreferenceHistoryEntry[]> {
    const c = zeroPad(checkAddress("consumer", consumer));
    const logs = await getLogs(this.provider, {
      address: this.address,
      topics: [[CHANGED_TOPIC, CLEARED_TOPIC, REGISTERED_TOPIC], c],
      fromBlock,
      toBlock: "latest",
    });
    return logs.map((l) => {
      const ev = iface.parseLog(l)!;
      const base = { blockNumber: l.blockNumber, transactionHash: l.transactionHash };
      if (ev.name === "PreferencesChanged") {
        return { ...base, type: "changed" as const, version: ev.args.version as bigint, prefs: (ev.args.changed as unknown as PrefTuple[]).map(fromTuple) };
      }
      if (ev.name === "PreferenceCleared") {
        return { ...base, type: "cleared" as const, version: ev.args.version as bigint, utility: getAddress(ev.args.utility as string), category: categoryName(ev.args.category as bigint) };
      }
      return {
        ...base,
        type: "registered" as const,
        version: ev.args.version as bigint,
        registration: {
          consumer: getAddress(ev.args.consumer as string),
          meterId: ev.args.meterId as string,
          meterSigner: getAddress(ev.args.meterSigner as string),
          encryptionKey: ev.args.encryptionKey as string,
        },
      };
    });
  }

  // ------------------------------------------------------------ internals

  /** Runs a view call, turning a revert into ContractRevertError like the sender does for writes. */
  private async read<T>(call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (e) {
      const data = revertData(e);
      if (data) throw this.sender.decodeRevert(data);
      throw e;
    }
  }

  private async send(fn: "grantRole" | "revokeRole" | "setOutbox" | "addRoute" | "removeRoute" | "commissionMeter" | "commissionMeters" | "decommissionMeter", args: unknown[]): Promise<TxReceipt> {
    return this.sender.sendAndWait({ to: this.address, data: iface.encodeFunctionData(fn as "grantRole", args as [string, string]) });
  }

  private async change(data: string): Promise<ChangeResult> {
    const receipt = await this.sender.sendAndWait({ to: this.address, data });
    const payloads = relayPayloadsIn(receipt, this.address);
    const last = payloads[payloads.length - 1];
    if (!last) throw new MissingEventError("RelayPayload", receipt.transactionHash);
    return { version: last.version, payloads, receipt };
  }
}

/** One entry of {@link BlockPriClient.history}. */
export type PreferenceHistoryEntry = { blockNumber: number; transactionHash: string; version: bigint } & (
  | { type: "changed"; prefs: Preference[] }
  | { type: "cleared"; utility: string; category: CategoryName }
  | { type: "registered"; registration: Registration }
);

type PrefTuple = { utility: string; category: bigint; allowed: boolean; resolution: bigint; expiresAt: bigint };

function fromTuple(p: PrefTuple): Preference {
  return {
    utility: getAddress(p.utility),
    category: categoryName(p.category),
    allowed: p.allowed,
    resolution: resolutionName(p.resolution),
    expiresAt: Number(p.expiresAt),
  };
}

function toPreference(p: SetPreferenceParameters): Preference {
  return checkPreference({
    utility: p.utility ?? ANY_DISTRIBUTOR,
    category: p.category,
    allowed: p.allowed,
    resolution: p.resolution ?? "NONE",
    expiresAt: p.expiresAt ?? 0,
  });
}

function zeroPad(address: string): string {
  return `0x${address.slice(2).toLowerCase().padStart(64, "0")}`;
}

function parseRelayLog(l: Pick<RawLog, "topics" | "data" | "blockNumber" | "transactionHash" | "index">): RelayPayloadEvent {
  const ev = iface.parseLog({ topics: [...l.topics], data: l.data })!;
  const kind = Number(ev.args.kind);
  return {
    consumer: getAddress(ev.args.consumer as string),
    version: ev.args.version as bigint,
    kind: kind === MessageKind.PREFERENCES ? "PREFERENCES" : kind === MessageKind.REGISTRATION ? "REGISTRATION" : "TRADE",
    payload: ev.args.payload as string,
    blockNumber: l.blockNumber,
    transactionHash: l.transactionHash,
    logIndex: l.index,
  };
}

function relayPayloadsIn(receipt: TxReceipt, address: string): RelayPayloadEvent[] {
  return receipt.logs
    .filter((l) => l.address.toLowerCase() === address.toLowerCase() && l.topics[0] === RELAY_TOPIC)
    .map((l) => parseRelayLog({ topics: l.topics, data: l.data, blockNumber: l.blockNumber, transactionHash: l.transactionHash, index: l.logIndex }));
}

export interface RegisterWithInstallerParameters {
  /** PPC as the installer (holds INSTALLER_ROLE; its wallet signs the binding). */
  installer: BlockPriClient;
  /** PPC as the household. */
  consumer: BlockPriClient;
  meterId: string;
  /** The meter's device signing key; the meter is commissioned with it if it is not yet. */
  deviceKey: string;
  /** The household's X25519 public key, bytes32. */
  encryptionKey: string;
}

/**
 * The installer's on-site flow: commissions the meter (if needed), signs a binding for the household
 * and the household registers with it.
 *
 * @example
 * await registerWithInstaller({ installer, consumer: alice, meterId, deviceKey: meter.address, encryptionKey });
 */
export async function registerWithInstaller(params: RegisterWithInstallerParameters): Promise<ChangeResult> {
  const { installer, consumer, meterId } = params;
  const m = await installer.meterOf(meterId);
  if (!m.deviceKey) await installer.commissionMeter({ meterId, deviceKey: params.deviceKey });
  else if (m.deviceKey !== getAddress(params.deviceKey)) {
    throw new InvalidArgumentError("deviceKey", params.deviceKey, `differs from the commissioned key ${m.deviceKey}`);
  }
  const binding = await installer.meterBinding({ meterId, consumer: consumer.sender.address });
  const signature = await signMeterBinding({ signer: installer.sender.wallet, chainId: installer.chainId, ppc: installer.address, binding });
  return consumer.consumerRegister({ binding, signature, encryptionKey: params.encryptionKey });
}
