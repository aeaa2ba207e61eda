import { Signature, Wallet } from "ethers";
import { BOX_KEY_MESSAGE, boxKeysFromSignature, walletBoxKeys } from "./walletKeys";
import { InvalidArgumentError } from "./errors";

const KEY = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";

describe("a wallet's X25519 key", () => {
  it("is the key of the wallet's signature, the same every time", async () => {
    const w = new Wallet(KEY);
    const viaWallet = boxKeysFromSignature(await w.signMessage(BOX_KEY_MESSAGE));
    expect(Buffer.from(walletBoxKeys(KEY).publicKey).toString("hex")).toBe(Buffer.from(viaWallet.publicKey).toString("hex"));
    expect(Buffer.from(walletBoxKeys(KEY).secretKey)).toEqual(Buffer.from(walletBoxKeys(KEY).secretKey));
    // Pinned: a change of message or of derivation changes every registered key.
    expect(Buffer.from(walletBoxKeys(KEY).publicKey).toString("hex")).toBe(PINNED);
  });

  it("differs between wallets", () => {
    const other = Wallet.createRandom().privateKey;
    expect(Buffer.from(walletBoxKeys(other).publicKey)).not.toEqual(Buffer.from(walletBoxKeys(KEY).publicKey));
  });

  it("is the same for the high-s twin of the signature", async () => {
    const sig = Signature.from(await new Wallet(KEY).signMessage(BOX_KEY_MESSAGE));
    const n = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
    const highS = `0x${sig.r.slice(2)}${(n - BigInt(sig.s)).toString(16).padStart(64, "0")}${(sig.v === 27 ? 28 : 27).toString(16)}`;
    expect(Buffer.from(boxKeysFromSignature(highS).publicKey)).toEqual(Buffer.from(walletBoxKeys(KEY).publicKey));
  });

  it("refuses what is not a signature or a key, with a typed error", () => {
    expect(() => boxKeysFromSignature("0x1234")).toThrow(InvalidArgumentError);
    expect(() => walletBoxKeys("not a key")).toThrow(/32-byte secp256k1 private key/);
  });
});

const PINNED = "f0e74c1166627038ef96d134f894c7e1476b076a4fbf5258ecfc1ec849fdc00f";
