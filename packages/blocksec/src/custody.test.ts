import fc from "fast-check";
import { Interface, Wallet, hexlify } from "ethers";
import { encodePublishKeysCalldata, type KeyPublication } from "./custody";
import { InvalidArgumentError } from "./errors";
import { KeyCustody__factory } from "./generated";
import { Resolution, type ResolutionName } from "./types";

const iface = new Interface(KeyCustody__factory.abi);
const consumers = [Wallet.createRandom().address, Wallet.createRandom().address.toLowerCase(), "0x00000000000000000000000000000000000000aB".toLowerCase()];
const arbKey: fc.Arbitrary<KeyPublication> = fc.record({
  consumer: fc.constantFrom(...consumers),
  keyId: fc.integer({ min: 0, max: 0xffffffff }),
  resolution: fc.constantFrom(...(Object.keys(Resolution) as ResolutionName[])),
  epochStart: fc.integer({ min: 0, max: 2 ** 40 - 1 }),
  epochEnd: fc.integer({ min: 0, max: 2 ** 40 - 1 }),
  commitment: fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => hexlify(b)),
  envelope: fc.uint8Array({ minLength: 0, maxLength: 300 }).map((b) => hexlify(b)),
});

const byEthers = (setIndex: number, keys: readonly KeyPublication[]) =>
  iface.encodeFunctionData("publishKeys", [setIndex, keys.map((k) => [k.consumer, k.keyId, Resolution[k.resolution], k.epochStart, k.epochEnd, k.commitment, k.envelope])]);

describe("publishKeys calldata", () => {
  it("is byte for byte what ethers' ABI encoder makes (random keys, 0-20 of them, envelopes of any length)", () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 0xffffffff }), fc.array(arbKey, { maxLength: 20 }), (setIndex, keys) => encodePublishKeysCalldata(setIndex, keys) === byEthers(setIndex, keys)), { numRuns: 300 });
  });

  it("refuses what the ABI cannot carry, naming the field", () => {
    const ok: KeyPublication = { consumer: consumers[0]!, keyId: 1, resolution: "DAILY", epochStart: 0, epochEnd: 86_400, commitment: `0x${"11".repeat(32)}`, envelope: "0x1234" };
    const bad: [Partial<KeyPublication>, string][] = [
      [{ consumer: "0x1234" }, "consumer"],
      [{ keyId: 2 ** 32 }, "keys[0].keyId"],
      [{ resolution: "toString" as ResolutionName }, "keys[0].resolution"],
      [{ epochEnd: 2 ** 40 }, "keys[0].epochEnd"],
      [{ commitment: "0x11" }, "keys[0].commitment"],
      [{ envelope: "0x123" }, "keys[0].envelope"],
    ];
    for (const [patch, field] of bad) {
      let caught: unknown;
      try {
        encodePublishKeysCalldata(0, [{ ...ok, ...patch }]);
      } catch (e) {
        caught = e;
      }
      expect({ field, error: caught instanceof InvalidArgumentError && (caught as InvalidArgumentError).message.includes(field) }).toEqual({ field, error: true });
    }
    expect(encodePublishKeysCalldata(0, [ok])).toBe(byEthers(0, [ok]));
  });
});
