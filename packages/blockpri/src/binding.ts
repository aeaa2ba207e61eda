import { getAddress, Signature, TypedDataEncoder, verifyTypedData, type TypedDataDomain, type TypedDataField } from "ethers";
import { InvalidArgumentError } from "./errors";
import { checkAddress, checkBytes32 } from "./types";

/**
 * A household's proof that it may bind a meter (PPC's `MeterBinding`): signed by the meter's device
 * key (the meter's button/display) or by an installer, used once (nonce), valid until `expiry`.
 */
export interface MeterBinding {
  /** bytes32 meter identifier. */
  meterId: string;
  /** The household's wallet: the only account that can present the binding. */
  consumer: string;
  /** The meter's next binding nonce (PPC `meterOf(meterId).nextNonce`). */
  nonce: bigint;
  /** Unix seconds; the binding is refused at and after this time. */
  expiry: number;
}

/** The EIP-712 domain name and version PPC signs bindings under. */
export const METER_BINDING_DOMAIN = { name: "PPC", version: "1" } as const;

/** The EIP-712 type of {@link MeterBinding}, as PPC's METER_BINDING_TYPEHASH. */
export const METER_BINDING_TYPES: Record<string, TypedDataField[]> = {
  MeterBinding: [
    { name: "meterId", type: "bytes32" },
    { name: "consumer", type: "address" },
    { name: "nonce", type: "uint256" },
    { name: "expiry", type: "uint64" },
  ],
};

export interface MeterBindingTypedDataParameters {
  /** The chain PPC is deployed on. */
  chainId: bigint | number;
  /** The PPC contract (the domain's verifyingContract). */
  ppc: string;
  binding: MeterBinding;
}

export interface MeterBindingTypedDataReturnType {
  domain: TypedDataDomain;
  types: Record<string, TypedDataField[]>;
  value: { meterId: string; consumer: string; nonce: bigint; expiry: bigint };
}

/**
 * The EIP-712 typed data of a meter binding, for a signer's `signTypedData`.
 *
 * @example
 * const { domain, types, value } = meterBindingTypedData({ chainId: 31001n, ppc, binding });
 */
export function meterBindingTypedData(params: MeterBindingTypedDataParameters): MeterBindingTypedDataReturnType {
  const b = checkMeterBinding(params.binding);
  return {
    domain: { ...METER_BINDING_DOMAIN, chainId: BigInt(params.chainId), verifyingContract: checkAddress("ppc", params.ppc) },
    types: METER_BINDING_TYPES,
    value: { meterId: b.meterId, consumer: b.consumer, nonce: b.nonce, expiry: BigInt(b.expiry) },
  };
}

/** Anything that signs EIP-712 typed data (an ethers Wallet or Signer). */
export interface TypedDataSigner {
  signTypedData(domain: TypedDataDomain, types: Record<string, TypedDataField[]>, value: Record<string, unknown>): Promise<string>;
}

export type SignMeterBindingParameters = MeterBindingTypedDataParameters & {
  /** The meter's device key, or an installer's key. */
  signer: TypedDataSigner;
};

/**
 * Signs a meter binding as the device (or installer) key: what the meter hands the household.
 *
 * @example
 * const signature = await signMeterBinding({ signer: deviceKey, chainId, ppc, binding });
 * await pri.consumerRegister({ binding, signature, encryptionKey });
 */
export async function signMeterBinding(params: SignMeterBindingParameters): Promise<string> {
  const { domain, types, value } = meterBindingTypedData(params);
  return Signature.from(await params.signer.signTypedData(domain, types, value)).serialized;
}

/**
 * The address that signed a binding (what PPC will compare with the device key and installers).
 *
 * @example
 * recoverMeterBindingSigner({ chainId, ppc, binding, signature }) === deviceKey.address;
 */
export function recoverMeterBindingSigner(params: MeterBindingTypedDataParameters & { signature: string }): string {
  const { domain, types, value } = meterBindingTypedData(params);
  return getAddress(verifyTypedData(domain, types, value, params.signature));
}

/** The EIP-712 digest of a binding (equals PPC's `meterBindingDigest`). */
export function meterBindingDigest(params: MeterBindingTypedDataParameters): string {
  const { domain, types, value } = meterBindingTypedData(params);
  return TypedDataEncoder.hash(domain, types, value);
}

export function checkMeterBinding(b: MeterBinding): MeterBinding {
  if (typeof b.nonce !== "bigint" || b.nonce < 0n) throw new InvalidArgumentError("binding.nonce", b.nonce, "must be a non-negative bigint");
  if (!Number.isSafeInteger(b.expiry) || b.expiry < 0) throw new InvalidArgumentError("binding.expiry", b.expiry, "must be unix seconds");
  return { meterId: checkBytes32("binding.meterId", b.meterId), consumer: checkAddress("binding.consumer", b.consumer), nonce: b.nonce, expiry: b.expiry };
}
