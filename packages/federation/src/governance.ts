import { SigningKey, getAddress } from "ethers";
import type { TxReceipt, TxSender } from "@sidegrid/chain";
import { FederationInbox__factory } from "./generated";
import { inboxDomain, memberSetDigest, packSignatures, pauseDigest, signDigest } from "./messages";

/** Signer keys as hex private keys or ethers SigningKeys. */
export type SignerKeys = readonly (string | SigningKey)[];

function keysOf(keys: SignerKeys): SigningKey[] {
  return keys.map((k) => (typeof k === "string" ? new SigningKey(k) : k));
}

export interface UpdateMemberSetParameters {
  sender: TxSender;
  inbox: string;
  /** Keys of current members that approve the change (at least the current threshold). */
  approvers: SignerKeys;
  members: readonly string[];
  threshold: number;
  pauseThreshold: number;
  unpauseThreshold: number;
}

/**
 * Replaces an inbox's member set (add, remove or rotate a member, change thresholds): signs the
 * next set index with the approvers' keys and submits. The previous set keeps signing messages for
 * the inbox's grace period.
 *
 * @example
 * await updateMemberSet({ sender, inbox, approvers: [k0, k1], members: [a0, a1, a3], threshold: 2, pauseThreshold: 1, unpauseThreshold: 2 });
 */
export async function updateMemberSet(params: UpdateMemberSetParameters): Promise<TxReceipt> {
  const inbox = FederationInbox__factory.connect(params.inbox, params.sender.provider);
  const setIndex = Number(await inbox.currentSetIndex()) + 1;
  const domain = inboxDomain(params.sender.chainId, params.inbox);
  const update = {
    setIndex,
    members: params.members.map((m) => getAddress(m)),
    threshold: params.threshold,
    pauseThreshold: params.pauseThreshold,
    unpauseThreshold: params.unpauseThreshold,
  };
  const sigs = signAll(params.approvers, memberSetDigest(domain, update));
  params.sender.addAbi(FederationInbox__factory.abi);
  return params.sender.sendAndWait({
    to: params.inbox,
    data: FederationInbox__factory.createInterface().encodeFunctionData("updateMemberSet", [
      setIndex,
      update.members,
      update.threshold,
      update.pauseThreshold,
      update.unpauseThreshold,
      sigs,
    ]),
  });
}

export interface SetInboxPausedParameters {
  sender: TxSender;
  inbox: string;
  /** Keys of current members (pauseThreshold of them to pause, unpauseThreshold to unpause). */
  approvers: SignerKeys;
  /** Source chain to pause or unpause; 0 = every source. */
  srcChainId: bigint;
  paused: boolean;
}

/**
 * Pauses or unpauses delivery from one source chain (or all) on an inbox, with the approvers'
 * signatures over the inbox's current governance nonce.
 *
 * @example
 * await setInboxPaused({ sender, inbox, approvers: [k0], srcChainId: 0n, paused: true });
 */
export async function setInboxPaused(params: SetInboxPausedParameters): Promise<TxReceipt> {
  const inbox = FederationInbox__factory.connect(params.inbox, params.sender.provider);
  const nonce = await inbox.governanceNonce();
  const domain = inboxDomain(params.sender.chainId, params.inbox);
  const sigs = signAll(params.approvers, pauseDigest(domain, { srcChainId: params.srcChainId, paused: params.paused, nonce }));
  params.sender.addAbi(FederationInbox__factory.abi);
  return params.sender.sendAndWait({
    to: params.inbox,
    data: FederationInbox__factory.createInterface().encodeFunctionData("setPaused", [params.srcChainId, params.paused, nonce, sigs]),
  });
}

/**
 * Signs `digest` with every key and packs the signatures for the inbox.
 *
 * @example
 * const sigs = signAll([key0, key1], pauseDigest(domain, { srcChainId: 0n, paused: true, nonce }));
 */
export function signAll(keys: SignerKeys, digest: string): string {
  return packSignatures(keysOf(keys).map((k) => signDigest(k, digest)));
}
