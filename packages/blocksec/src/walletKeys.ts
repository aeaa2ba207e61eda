// A wallet's X25519 key pair, derived from a signature rather than from the private key: a browser
// wallet (EIP-1193) never hands out its private key, but it signs. secp256k1 signatures in ethers
// and in wallets are deterministic (RFC 6979), so the same wallet always derives the same key, and
// the gateway or the portal never store it: it is recomputed whenever it is needed.
import { Wallet, getBytes, hashMessage, keccak256 } from "ethers";
import nacl from "tweetnacl";
import { InvalidArgumentError } from "./errors";

/**
 * What the wallet signs (EIP-191 personal_sign) to derive its X25519 key. Changing one character
 * changes every key: the version line is there so that a future derivation can live beside this one.
 */
export const BOX_KEY_MESSAGE = [
  "Sidegrid encryption key",
  "",
  "Signing this derives your X25519 key for reading your Sidegrid data.",
  "It sends no transaction and costs nothing. Sign it only in a Sidegrid portal you trust.",
  "",
  "Version: 1",
].join("\n");

/** secp256k1's group order. */
const N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;

/**
 * The X25519 key pair of a wallet's EIP-191 signature of BOX_KEY_MESSAGE: secret = keccak256(r ‖ s ‖ v).
 * @example
 * const sig = await signer.signMessage(BOX_KEY_MESSAGE);
 * const { publicKey } = boxKeysFromSignature(sig);
 */
export function boxKeysFromSignature(signature: string): nacl.BoxKeyPair {
  if (typeof signature !== "string" || !/^0x[0-9a-fA-F]{130}$/.test(signature)) {
    throw new InvalidArgumentError("signature", signature, "a 65-byte secp256k1 signature (0x + 130 hex digits)");
  }
  // The canonical form (low s, v 27/28): a wallet that returned the high-s twin derives the same key.
  let s = BigInt(`0x${signature.slice(66, 130)}`);
  let v = parseInt(signature.slice(130, 132), 16);
  if (v < 27) v += 27;
  if (s > N / 2n) {
    s = N - s;
    v = v === 27 ? 28 : 27;
  }
  const canonical = `${signature.slice(0, 66)}${s.toString(16).padStart(64, "0")}${v.toString(16)}`;
  return nacl.box.keyPair.fromSecretKey(getBytes(keccak256(canonical)));
}

/**
 * The X25519 key pair of a wallet whose private key is at hand (CLI, tests, services): the same
 * pair its owner's browser wallet derives in the portal.
 * @example
 * walletBoxKeys(privateKey).publicKey; // registered on BlockPRI
 */
export function walletBoxKeys(privateKey: string): nacl.BoxKeyPair {
  let w: Wallet;
  try {
    w = new Wallet(privateKey);
  } catch {
    throw new InvalidArgumentError("privateKey", "(hidden)", "a 32-byte secp256k1 private key");
  }
  return boxKeysFromSignature(w.signingKey.sign(hashMessage(BOX_KEY_MESSAGE)).serialized);
}
