// Consent read on real chains, with a preference change landing between the gateway's reads.
// Asked resolution by resolution, the answer could straddle the change and name a resolution the
// household never granted (CI saw a backlog granted at 15 minutes stored as daily aggregates).
import { BlockSecPolicySource } from "./blocksec";
import { CachedPolicy, type ConsentSnapshot, type PolicySource } from "./policy";
import { Resolution } from "./resolution";
import { startSidegridFixture, type SidegridFixture } from "./test-utils/fixture";

let fx: SidegridFixture;

beforeAll(async () => {
  fx = await startSidegridFixture({ priChainId: 31741, secChainId: 31742 });
}, 120_000);
afterAll(() => fx?.stop());

/** Forwards every read to the chain and runs `afterFirst` once, right after the first read returned. */
function landingAfterFirstRead(inner: BlockSecPolicySource, afterFirst: () => Promise<void>): PolicySource & { reads: number } {
  let landed: Promise<void> | undefined;
  const wrapped = {
    reads: 0,
    bindingOfMeter: (m: number) => inner.bindingOfMeter(m),
    subscribe: (cb: Parameters<PolicySource["subscribe"]>[0]) => inner.subscribe(cb),
    isPermitted: (...a: Parameters<PolicySource["isPermitted"]>) => after(inner.isPermitted(...a)),
    preferencesVersion: (c: string) => after(inner.preferencesVersion(c)),
    consentOf: (c: string, u: string) => after(inner.consentOf(c, u)),
  };
  async function after<T>(read: Promise<T>): Promise<T> {
    const v = await read;
    wrapped.reads++;
    landed ??= afterFirst();
    await landed;
    return v;
  }
  return wrapped;
}

describe("CachedPolicy.consent", () => {
  it("never answers a resolution that was not granted when preferences land between reads", async () => {
    const [alice] = await fx.addConsumers([1]);
    expect(await fx.relay()).toBe(1); // registered, no preferences yet
    const u = fx.utility.address;
    const grant = async () => {
      await fx.setPreferences(1, [{ utility: u, category: "CONSUMPTION", allowed: true, resolution: "QUARTER_HOURLY" }]);
      expect(await fx.relay()).toBe(1);
    };
    const source = new BlockSecPolicySource(fx.secAdmin, { fromBlock: (await fx.sec.provider.getBlockNumber()) + 1 });
    const wrapped = landingAfterFirstRead(source, grant);
    const policy = new CachedPolicy(wrapped, { utility: u });
    try {
      const first: ConsentSnapshot = await policy.consent(alice.address);
      // Before her grant landed (undecided, nothing) — one read, never HOURLY/DAILY/MONTHLY.
      expect(first).toEqual({ finest: Resolution.NONE, preferencesVersion: 0 });
      expect(await policy.decided(alice.address)).toBe(false);
      expect(wrapped.reads).toBe(1);
      // The mirror's event reaches the cache; the next answer is her grant.
      await source.poll();
      expect(await policy.consent(alice.address)).toEqual({ finest: Resolution.QUARTER_HOURLY, preferencesVersion: expect.any(Number) });
      expect(await policy.decided(alice.address)).toBe(true);
      expect(await policy.storageResolution(alice.address)).toBe(Resolution.QUARTER_HOURLY);
    } finally {
      policy.close();
      source.close();
    }
  }, 120_000);

  it("without a one-read source, reads the version first so a landing shows as permitted, never as 'decided, nothing'", async () => {
    const [bob] = await fx.addConsumers([2]);
    expect(await fx.relay()).toBe(1);
    const u = fx.utility.address;
    const source = new BlockSecPolicySource(fx.secAdmin);
    const wrapped = landingAfterFirstRead(source, async () => {
      await fx.setPreferences(2, [{ utility: u, category: "CONSUMPTION", allowed: true, resolution: "DAILY" }]);
      expect(await fx.relay()).toBe(1);
    });
    const { consentOf: _unused, ...withoutOneRead } = wrapped;
    const policy = new CachedPolicy(withoutOneRead, { utility: u });
    try {
      const c = await policy.consent(bob.address);
      // Version 0 was read before the landing: undecided, whatever the resolution reads found.
      expect(c.preferencesVersion).toBe(0);
      expect(await policy.decided(bob.address)).toBe(false);
    } finally {
      policy.close();
      source.close();
    }
  }, 120_000);
});
