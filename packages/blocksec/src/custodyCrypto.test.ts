import fc from "fast-check";
import nacl from "tweetnacl";
import {
  CONSUMER_BOX_SIZE,
  EPK_SIZE,
  SHARE_BOX_SIZE,
  boxSharesForRequester,
  combineShares,
  deriveCustodyKeyPair,
  envelopeMembers,
  keyCommitment,
  newEpochDataKey,
  openConsumerEnvelope,
  openMemberShare,
  openReleasedShares,
  sealEpochKey,
} from "./custodyCrypto";
import { CustodyCryptoError, InvalidArgumentError } from "./errors";

const consumer = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";
const household = nacl.box.keyPair();
const members = [0, 1, 2, 3, 4].map((i) => deriveCustodyKeyPair(`0x${(i + 1).toString(16).padStart(64, "0")}`));

async function sealed(n: number, m: number, keyId = 7) {
  const dataKey = newEpochDataKey();
  const { envelope, commitment } = await sealEpochKey({ dataKey, context: { consumer, keyId }, consumerKey: household.publicKey, custodyKeys: members.slice(0, n).map((k) => k.publicKey), threshold: m });
  return { dataKey, envelope, commitment };
}

describe("key custody crypto", () => {
  it("an envelope is epk + consumer box + one share box per member", async () => {
    const { envelope } = await sealed(3, 2);
    expect(envelope.length).toBe(EPK_SIZE + CONSUMER_BOX_SIZE + 3 * SHARE_BOX_SIZE);
    expect(envelope.length).toBe(227);
    expect(envelopeMembers(envelope)).toBe(3);
  });

  it("imported keys are cached by content: an array refilled with another secret is the other key", async () => {
    const other = nacl.box.keyPair();
    const { dataKey, envelope } = await sealed(3, 2);
    const { envelope: theirs } = await sealEpochKey({ dataKey, context: { consumer, keyId: 7 }, consumerKey: other.publicKey, custodyKeys: members.slice(0, 3).map((k) => k.publicKey), threshold: 2 });
    const secret = Uint8Array.from(household.secretKey);
    expect(openConsumerEnvelope(envelope, { consumer, keyId: 7 }, secret)).toEqual(dataKey);
    secret.set(other.secretKey);
    expect(openConsumerEnvelope(theirs, { consumer, keyId: 7 }, secret)).toEqual(dataKey);
    expect(() => openConsumerEnvelope(envelope, { consumer, keyId: 7 }, secret)).toThrow(CustodyCryptoError);
  });

  it("the consumer opens her box; nobody else's key opens it", async () => {
    const { dataKey, envelope } = await sealed(3, 2);
    expect(openConsumerEnvelope(envelope, { consumer, keyId: 7 }, household.secretKey)).toEqual(dataKey);
    expect(() => openConsumerEnvelope(envelope, { consumer, keyId: 7 }, members[0]!.secretKey)).toThrow(CustodyCryptoError);
    // Bound to its key id: the same box under another id does not open.
    expect(() => openConsumerEnvelope(envelope, { consumer, keyId: 8 }, household.secretKey)).toThrow(CustodyCryptoError);
  });

  it("any m shares reconstruct the key, m − 1 do not (3-of-5)", async () => {
    const { dataKey, envelope, commitment } = await sealed(5, 3);
    const shares = members.map((k, i) => openMemberShare(envelope, { consumer, keyId: 7 }, i, k.secretKey));
    expect(await combineShares([shares[0]!, shares[2]!, shares[4]!], 3, commitment)).toEqual(dataKey);
    expect(await combineShares([shares[1]!, shares[3]!, shares[4]!], 3, commitment)).toEqual(dataKey);
    await expect(combineShares([shares[0]!, shares[1]!], 3, commitment)).rejects.toThrow(CustodyCryptoError);
    // Two shares fed to the combiner as if they were enough make some key, never this one.
    const { combine } = await import("shamir-secret-sharing");
    expect(keyCommitment(await combine([shares[0]!, shares[1]!]))).not.toBe(commitment);
  });

  it("a member opens only its own share", async () => {
    const { envelope } = await sealed(3, 2);
    expect(() => openMemberShare(envelope, { consumer, keyId: 7 }, 1, members[0]!.secretKey)).toThrow(CustodyCryptoError);
    expect(() => openMemberShare(envelope, { consumer, keyId: 7 }, 3, members[0]!.secretKey)).toThrow(InvalidArgumentError);
  });

  it("released shares open only with the requester's key, for that entry", async () => {
    const { dataKey, envelope, commitment } = await sealed(3, 2);
    const requester = nacl.box.keyPair();
    const releases = [0, 2].map((i) =>
      boxSharesForRequester({ consumer, entryIndex: 4, requesterKey: requester.publicKey, shares: [{ keyId: 7, share: openMemberShare(envelope, { consumer, keyId: 7 }, i, members[i]!.secretKey) }] }),
    );
    const got = releases.map((r) => openReleasedShares({ consumer, entryIndex: 4, keyIds: [7], shares: r, secretKey: requester.secretKey }).get(7)!);
    expect(await combineShares(got, 2, commitment)).toEqual(dataKey);
    expect(() => openReleasedShares({ consumer, entryIndex: 5, keyIds: [7], shares: releases[0]!, secretKey: requester.secretKey })).toThrow(CustodyCryptoError);
    expect(() => openReleasedShares({ consumer, entryIndex: 4, keyIds: [7], shares: releases[0]!, secretKey: household.secretKey })).toThrow(CustodyCryptoError);
    expect(() => boxSharesForRequester({ consumer, entryIndex: 4, requesterKey: new Uint8Array(32), shares: [] })).toThrow(InvalidArgumentError);
  });

  it("a wrong share among more than m is outvoted by the commitment", async () => {
    const { dataKey, envelope, commitment } = await sealed(3, 2);
    const shares = members.slice(0, 3).map((k, i) => openMemberShare(envelope, { consumer, keyId: 7 }, i, k.secretKey));
    const bad = Uint8Array.from(shares[0]!);
    bad[3] = bad[3]! ^ 0xff;
    expect(await combineShares([bad, shares[1]!, shares[2]!], 2, commitment)).toEqual(dataKey);
    await expect(combineShares([bad, shares[1]!], 2, commitment)).rejects.toThrow(/reconstruct the committed key/);
  });

  it("a 1-of-n set holds the key itself in each share", async () => {
    const { dataKey, envelope, commitment } = await sealed(2, 1);
    const share = openMemberShare(envelope, { consumer, keyId: 7 }, 1, members[1]!.secretKey);
    expect(await combineShares([share], 1, commitment)).toEqual(dataKey);
  });

  it("any threshold up to n works (property)", async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 5 }).chain((n) => fc.tuple(fc.constant(n), fc.integer({ min: 1, max: n }))), async ([n, m]) => {
        const { dataKey, envelope, commitment } = await sealed(n, m, n * 10 + m);
        const shares = members.slice(0, n).map((k, i) => openMemberShare(envelope, { consumer, keyId: n * 10 + m }, i, k.secretKey));
        expect(await combineShares(shares.slice(n - m), m, commitment)).toEqual(dataKey);
      }),
      { numRuns: 25 },
    );
  });

  it("custody keys are derived from the member's key, deterministically", () => {
    const a = deriveCustodyKeyPair(`0x${"11".repeat(32)}`);
    expect(deriveCustodyKeyPair(`0x${"11".repeat(32)}`).publicKey).toEqual(a.publicKey);
    expect(deriveCustodyKeyPair(`0x${"12".repeat(32)}`).publicKey).not.toEqual(a.publicKey);
    expect(() => deriveCustodyKeyPair("0x1234")).toThrow(InvalidArgumentError);
  });
});
