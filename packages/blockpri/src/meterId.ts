import { toBeHex, zeroPadValue } from "ethers";

/**
 * A meter's on-chain id: its 32-bit number as a uint256 in bytes32 (what consumers register).
 * @example
 * meterIdToBytes32(42) // 0x000...002a
 */
export function meterIdToBytes32(meterId: number): string {
  return zeroPadValue(toBeHex(meterId), 32);
}

/** The inverse of {@link meterIdToBytes32}. */
export function meterIdFromBytes32(id: string): number {
  return Number(BigInt(id));
}
