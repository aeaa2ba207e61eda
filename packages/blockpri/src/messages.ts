import { AbiCoder, getAddress } from "ethers";
import { MalformedPayloadError } from "./errors";
import { Category, Resolution, categoryName, resolutionName, type Preference, type Registration } from "./types";

/** SidegridMessages kinds: the first word of every federation payload. */
export const MessageKind = { PREFERENCES: 1, REGISTRATION: 2, TRADE: 3 } as const;
export type MessageKindName = keyof typeof MessageKind;

const coder = AbiCoder.defaultAbiCoder();
const PREF_TUPLE = "tuple(address utility, uint8 category, bool allowed, uint8 resolution, uint64 expiresAt)";
const REG_TUPLE = "tuple(address consumer, bytes32 meterId, address meterSigner, bytes32 encryptionKey)";

/** A decoded preferences payload: the consumer's complete preference list at `version`. */
export interface PreferencesPayload {
  consumer: string;
  version: bigint;
  prefs: Preference[];
}

/** A decoded registration payload. */
export interface RegistrationPayload {
  registration: Registration;
  version: bigint;
}

/**
 * Encodes `SidegridMessages.encodePreferences(consumer, version, prefs)` byte for byte.
 *
 * @example
 * const payload = encodePreferencesPayload({ consumer, version: 3n, prefs });
 */
export function encodePreferencesPayload(p: PreferencesPayload): string {
  return coder.encode(
    ["uint8", "address", "uint64", `${PREF_TUPLE}[]`],
    [MessageKind.PREFERENCES, p.consumer, p.version, p.prefs.map((x) => [x.utility, Category[x.category], x.allowed, Resolution[x.resolution], x.expiresAt])],
  );
}

/**
 * Encodes `SidegridMessages.encodeRegistration(reg, version)` byte for byte.
 *
 * @example
 * const payload = encodeRegistrationPayload({ registration, version: 1n });
 */
export function encodeRegistrationPayload(p: RegistrationPayload): string {
  const r = p.registration;
  return coder.encode(["uint8", REG_TUPLE, "uint64"], [MessageKind.REGISTRATION, [r.consumer, r.meterId, r.meterSigner, r.encryptionKey], p.version]);
}

/**
 * The kind (first word) of a federation payload.
 *
 * @example
 * if (payloadKind(payload) === MessageKind.PREFERENCES) decodePreferencesPayload(payload);
 */
export function payloadKind(payload: string): number {
  try {
    const [kind] = coder.decode(["uint8"], payload);
    return Number(kind);
  } catch (e) {
    throw new MalformedPayloadError(payload, "no kind word", { cause: e });
  }
}

/**
 * Decodes a preferences payload as BlockPRI emits it.
 *
 * @example
 * const { consumer, version, prefs } = decodePreferencesPayload(ev.payload);
 */
export function decodePreferencesPayload(payload: string): PreferencesPayload {
  const kind = payloadKind(payload);
  if (kind !== MessageKind.PREFERENCES) throw new MalformedPayloadError(payload, `kind ${kind} is not PREFERENCES (1)`);
  try {
    const [, consumer, version, prefs] = coder.decode(["uint8", "address", "uint64", `${PREF_TUPLE}[]`], payload);
    return {
      consumer: getAddress(consumer as string),
      version: version as bigint,
      prefs: (prefs as unknown as [string, bigint, boolean, bigint, bigint][]).map((x) => ({
        utility: getAddress(x[0]),
        category: categoryName(x[1]),
        allowed: x[2],
        resolution: resolutionName(x[3]),
        expiresAt: Number(x[4]),
      })),
    };
  } catch (e) {
    throw new MalformedPayloadError(payload, "does not decode as a preferences message", { cause: e });
  }
}

/**
 * Decodes a registration payload as BlockPRI emits it.
 *
 * @example
 * const { registration, version } = decodeRegistrationPayload(ev.payload);
 */
export function decodeRegistrationPayload(payload: string): RegistrationPayload {
  const kind = payloadKind(payload);
  if (kind !== MessageKind.REGISTRATION) throw new MalformedPayloadError(payload, `kind ${kind} is not REGISTRATION (2)`);
  try {
    const [, reg, version] = coder.decode(["uint8", REG_TUPLE, "uint64"], payload);
    const r = reg as unknown as [string, string, string, string];
    return {
      registration: { consumer: getAddress(r[0]), meterId: r[1], meterSigner: getAddress(r[2]), encryptionKey: r[3] },
      version: version as bigint,
    };
  } catch (e) {
    throw new MalformedPayloadError(payload, "does not decode as a registration message", { cause: e });
  }
}
