// Argument checks over the enums and shapes in types.ts; above errors.ts and types.ts, so that
// neither imports the other.
import { getAddress, isAddress, isHexString } from "ethers";
import { InvalidArgumentError } from "./errors";

export function enumName<T extends Record<string, number>>(table: T, what: string, value: number | bigint): keyof T & string {
  const n = Number(value);
  const name = Object.keys(table).find((k) => table[k] === n);
  if (name === undefined) throw new InvalidArgumentError(what, value, `is not a ${what} value`);
  return name;
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
