import { getAddress, isAddress, isHexString, ZeroAddress } from "ethers";
import { InvalidArgumentError } from "./errors";

/** SidegridMessages.Category: what a utility may monitor. */
export const Category = { CONSUMPTION: 0, TRADES: 1 } as const;
export type CategoryName = keyof typeof Category;

/** SidegridMessages.Resolution, coarse to fine: a grant at one level permits every coarser one. */
export const Resolution = { NONE: 0, MONTHLY: 1, DAILY: 2, HOURLY: 3, QUARTER_HOURLY: 4 } as const;
export type ResolutionName = keyof typeof Resolution;

/** The address that stands for "any distributor" in a preference entry. */
export const ANY_DISTRIBUTOR = ZeroAddress;

/** One preference entry (SidegridMessages.Preference). */
export interface Preference {
  /** The distributor this entry is for; {@link ANY_DISTRIBUTOR} = the default. */
  utility: string;
  category: CategoryName;
  allowed: boolean;
  /** Finest consumption resolution allowed; NONE for TRADES. */
  resolution: ResolutionName;
  /** Unix seconds after which the entry no longer permits; 0 = never. */
  expiresAt: number;
}

/** A consumer's meter binding (SidegridMessages.Registration). */
export interface Registration {
  consumer: string;
  /** bytes32 meter identifier. */
  meterId: string;
  /** The meter's secp256k1 signing key as an address. */
  meterSigner: string;
  /** The consumer's X25519 public key, bytes32. */
  encryptionKey: string;
}

const CATEGORY_NAMES = Object.keys(Category) as CategoryName[];
const RESOLUTION_NAMES = Object.keys(Resolution) as ResolutionName[];

/**
 * The name of a Category value as the chain returns it.
 *
 * @example
 * categoryName(1n); // "TRADES"
 */
export function categoryName(value: number | bigint): CategoryName {
  const name = CATEGORY_NAMES[Number(value)];
  if (name === undefined) throw new InvalidArgumentError("category", value, "is not a Category (0 CONSUMPTION, 1 TRADES)");
  return name;
}

/**
 * The name of a Resolution value as the chain returns it.
 *
 * @example
 * resolutionName(2); // "DAILY"
 */
export function resolutionName(value: number | bigint): ResolutionName {
  const name = RESOLUTION_NAMES[Number(value)];
  if (name === undefined) throw new InvalidArgumentError("resolution", value, "is not a Resolution (0 NONE .. 4 QUARTER_HOURLY)");
  return name;
}

/**
 * True if `pref` permits `category` at resolution `wanted` at unix time `at`: the same rule as
 * `SidegridMessages.permits` on chain.
 *
 * @example
 * permits({ utility, category: "CONSUMPTION", allowed: true, resolution: "DAILY", expiresAt: 0 }, "CONSUMPTION", "HOURLY", now); // false
 */
export function permits(pref: Preference, category: CategoryName, wanted: ResolutionName, at: number): boolean {
  if (!pref.allowed || pref.category !== category) return false;
  if (pref.expiresAt !== 0 && at >= pref.expiresAt) return false;
  if (category === "CONSUMPTION") return wanted !== "NONE" && Resolution[wanted] <= Resolution[pref.resolution];
  return true;
}

/** Checks an address argument and returns it checksummed. */
export function checkAddress(argument: string, value: string): string {
  if (typeof value !== "string" || !isAddress(value)) throw new InvalidArgumentError(argument, value, "is not an address");
  return getAddress(value);
}

/** Checks a bytes32 argument and returns it lower-case. */
export function checkBytes32(argument: string, value: string): string {
  if (typeof value !== "string" || !isHexString(value, 32)) throw new InvalidArgumentError(argument, value, "is not 32 bytes of hex");
  return value.toLowerCase();
}

/** Checks a preference entry the way the contract will, so a bad one fails before sending. */
export function checkPreference(p: Preference, now?: number): Preference {
  const utility = checkAddress("utility", p.utility);
  if (!(p.category in Category)) throw new InvalidArgumentError("category", p.category, "is not CONSUMPTION or TRADES");
  if (!(p.resolution in Resolution)) throw new InvalidArgumentError("resolution", p.resolution, "is not a Resolution name");
  if (p.category === "CONSUMPTION" && p.allowed && p.resolution === "NONE") {
    throw new InvalidArgumentError("resolution", p.resolution, "must be MONTHLY or finer when consumption is allowed");
  }
  if (p.category === "TRADES" && p.resolution !== "NONE") {
    throw new InvalidArgumentError("resolution", p.resolution, "must be NONE for TRADES");
  }
  if (!Number.isSafeInteger(p.expiresAt) || p.expiresAt < 0) throw new InvalidArgumentError("expiresAt", p.expiresAt, "must be unix seconds or 0");
  if (now !== undefined && p.expiresAt !== 0 && p.expiresAt <= now) throw new InvalidArgumentError("expiresAt", p.expiresAt, `must be after now (${now})`);
  return { utility, category: p.category, allowed: Boolean(p.allowed), resolution: p.resolution, expiresAt: p.expiresAt };
}
