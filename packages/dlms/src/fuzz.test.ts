import { fuzzCorpus, runFuzz } from "./fuzz";

// A short run of the same fuzz `pnpm --filter @sidegrid/dlms run fuzz` runs with 1M frames.
describe("fuzz (20,000 mutated frames)", () => {
  it("has a corpus of real captures and encoder output", () => {
    expect(fuzzCorpus().length).toBeGreaterThanOrEqual(40);
  });
  it("throws only typed errors, keeps round trips, accepts no forged ciphered APDU", () => {
    const s = runFuzz({ frames: 20_000, seed: 14 });
    expect(s.unexpectedSamples).toEqual([]);
    expect(s).toMatchObject({ frames: 20_000, unexpected: 0, roundTripMismatches: 0, forgeriesAccepted: 0 });
    // The mutations reach past the checks: some frames decode, many fail for different reasons.
    expect(s.decoded).toBeGreaterThan(1000);
    expect(Object.keys(s.typedErrors).length).toBeGreaterThanOrEqual(8);
  }, 120_000);
});
