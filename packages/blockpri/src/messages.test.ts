import fc from "fast-check";
import { getAddress, hexlify, ZeroAddress } from "ethers";
import { latestTimestamp, startTestChain, type TestChain } from "@sidegrid/chain";
import type { BlockPriClient } from "./client";
import {
  MessageKind,
  decodePreferencesPayload,
  decodeRegistrationPayload,
  encodePreferencesPayload,
  encodeRegistrationPayload,
  payloadKind,
} from "./messages";
import { randomRegistration, setupPri } from "./test-utils/fixtures";
import { Category, Resolution, permits, type CategoryName, type Preference, type ResolutionName } from "./types";

const address = fc.uint8Array({ minLength: 20, maxLength: 20 }).map((b) => getAddress(hexlify(b)));
const bytes32 = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => hexlify(b));
const categories = Object.keys(Category) as CategoryName[];
const resolutions = Object.keys(Resolution) as ResolutionName[];
const preference: fc.Arbitrary<Preference> = fc.record({
  utility: address,
  category: fc.constantFrom(...categories),
  allowed: fc.boolean(),
  resolution: fc.constantFrom(...resolutions),
  expiresAt: fc.integer({ min: 0, max: 2 ** 40 }),
});

describe("payload codec", () => {
  it("round-trips preferences and registrations", () => {
    fc.assert(
      fc.property(address, fc.bigInt({ min: 1n, max: (1n << 64n) - 1n }), fc.array(preference, { maxLength: 8 }), (consumer, version, prefs) => {
        const p = encodePreferencesPayload({ consumer, version, prefs });
        expect(payloadKind(p)).toBe(MessageKind.PREFERENCES);
        expect(decodePreferencesPayload(p)).toEqual({ consumer, version, prefs });
      }),
    );
    fc.assert(
      fc.property(address, bytes32, address, bytes32, fc.bigInt({ min: 1n, max: 1n << 63n }), (consumer, meterId, meterSigner, encryptionKey, version) => {
        const registration = { consumer, meterId, meterSigner, encryptionKey };
        const p = encodeRegistrationPayload({ registration, version });
        expect(decodeRegistrationPayload(p)).toEqual({ registration, version });
      }),
    );
  });

  it("refuses a payload of the wrong kind with a typed error", () => {
    const reg = encodeRegistrationPayload({ registration: { consumer: ZeroAddress, ...randomRegistration() }, version: 1n });
    expect(() => decodePreferencesPayload(reg)).toThrow(expect.objectContaining({ code: "MALFORMED_PAYLOAD", shortMessage: "malformed relay payload: kind 2 is not PREFERENCES (1)" }));
    expect(() => payloadKind("0x12")).toThrow(expect.objectContaining({ code: "MALFORMED_PAYLOAD" }));
  });
});

describe("permits", () => {
  let chain: TestChain;
  let consumer: BlockPriClient;
  let utility: string;
  beforeAll(async () => {
    chain = await startTestChain({ chainId: 31102 });
    const w = await setupPri(chain);
    consumer = await w.as(3);
    utility = (await chain.account(1)).wallet.address;
    await w.register(consumer);
  });
  afterAll(() => chain.stop());

  it("in TypeScript agrees with SidegridMessages.permits on chain", async () => {
    const now = await latestTimestamp(chain.provider);
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...categories),
        fc.boolean(),
        fc.constantFrom(...resolutions),
        fc.option(fc.integer({ min: 10, max: 10_000 }), { nil: undefined }),
        fc.constantFrom(...resolutions),
        fc.integer({ min: -100, max: 20_000 }),
        async (category, allowed, res, expiresIn, wanted, atOffset) => {
          const resolution: ResolutionName = category === "TRADES" ? "NONE" : allowed && res === "NONE" ? "MONTHLY" : res;
          const pref: Preference = { utility, category, allowed, resolution, expiresAt: expiresIn === undefined ? 0 : now + 1000 + expiresIn };
          await consumer.setPreference(pref);
          const at = now + atOffset;
          const onChain = await consumer.isPermitted({ consumer: consumer.sender.address, utility, category, resolution: wanted, at });
          expect(onChain).toBe(permits(pref, category, wanted, at));
        },
      ),
      { numRuns: 40 },
    );
  });
});
