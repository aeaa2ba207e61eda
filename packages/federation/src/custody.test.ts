// KeyCustody's rules on a real anvil chain with BlockSEC's contracts and the federation's real
// inbox (3 members, threshold 2). The adversaries: an outsider, a gateway-less account, a member
// that releases for a denied, altered, revoked, non-consumption or uncovered grant, or twice.
// Every revert is checked for its error and its arguments.
import fs from "node:fs";
import { Wallet, hexlify, parseEther, randomBytes, type JsonRpcProvider } from "ethers";
import { ContractRevertError, Deployments, TxSender, startTestChain, type TestChain } from "@sidegrid/chain";
import { encodePreferencesPayload, encodeRegistrationPayload, type Preference } from "@sidegrid/blockpri";
import {
  AccessDeniedError,
  BlockSecClient,
  KeyCustodyClient,
  boxSharesForRequester,
  combineShares,
  deriveCustodyKeyPair,
  keyCoveredByGrant,
  newEpochDataKey,
  openMemberShare,
  openReleasedShares,
  sealEpochKey,
  type AccessEntry,
  type KeyPublication,
} from "@sidegrid/blocksec";
import { deployFederation } from "./deploy";
import { localMemberKeys } from "./member/config";
import { TEST_PPC, deployCustodyApps, tmpDir } from "./test-utils/world";

const DAY = 86_400;
const A = { admin: 0, utility: 1, gateway: 2, alice: 3, carol: 4, outsider: 5 } as const;

let chain: TestChain;
let provider: JsonRpcProvider;
let admin: TxSender;
let sec: BlockSecClient;
let utilitySec: BlockSecClient;
let custodyAddress: string;
let memberKeys: string[];
let members: string[];
const custodyKeys = () => memberKeys.map((k) => deriveCustodyKeyPair(k));
const as = async (i: number) => new KeyCustodyClient({ address: custodyAddress, provider, sender: (await chain.account(i)).sender });
let memberClients: KeyCustodyClient[];
let alice: string;
let carol: string;
let utility: string;
// Any X25519 pair will do for the requester.
const requester = deriveCustodyKeyPair(randomBytes(32));
const day0 = Math.floor(Date.now() / 1000 / DAY) * DAY - 3 * DAY;
let version = 0n;
let dir: string;
let outsiderAddress: string;

async function revertOf(p: Promise<unknown>): Promise<ContractRevertError> {
  const e = await p.then(
    () => undefined,
    (x: unknown) => x,
  );
  if (!(e instanceof ContractRevertError)) throw new Error(`expected a revert, got ${e === undefined ? "success" : String(e)}`);
  return e;
}

/** A preference version is a whole snapshot: `trades` adds the trade-monitoring choice to it. */
async function prefs(consumer: string, resolution: "QUARTER_HOURLY" | "DAILY" | "NONE", allowed = true, trades = false) {
  const all: Preference[] = [{ utility, category: "CONSUMPTION", allowed, resolution, expiresAt: 0 }];
  if (trades) all.push({ utility, category: "TRADES", allowed: true, resolution: "NONE", expiresAt: 0 });
  await sec.deliverPreferences(TEST_PPC.chainId, TEST_PPC.address, encodePreferencesPayload({ consumer, version: ++version, prefs: all }));
}

const keys: { pub: KeyPublication; dataKey: Uint8Array }[] = [];
async function makeKey(consumer: string, keyId: number, resolution: "QUARTER_HOURLY" | "DAILY" | "NONE", epochStart: number, n = 3): Promise<{ pub: KeyPublication; dataKey: Uint8Array }> {
  const dataKey = newEpochDataKey();
  const { envelope, commitment } = await sealEpochKey({ dataKey, context: { consumer, keyId }, consumerKey: randomBytes(32), custodyKeys: custodyKeys().slice(0, n).map((k) => k.publicKey), threshold: 2 });
  return { pub: { consumer, keyId, resolution, epochStart, epochEnd: epochStart + DAY, commitment, envelope: hexlify(envelope) }, dataKey };
}

function release(member: number, entry: AccessEntry, ids: number[]) {
  const shares = ids.map((keyId) => {
    const k = keys.find((x) => x.pub.keyId === keyId)!;
    return { keyId, share: openMemberShare(k.pub.envelope, { consumer: k.pub.consumer, keyId }, member, custodyKeys()[member]!.secretKey) };
  });
  return memberClients[member]!.releaseShares(entry, ids, boxSharesForRequester({ consumer: entry.consumer, entryIndex: entry.index, requesterKey: requester.publicKey, shares }));
}

beforeAll(async () => {
  chain = await startTestChain({ chainId: 31761 });
  provider = chain.provider;
  admin = (await chain.account(A.admin)).sender;
  const addr = async (i: number) => (await chain.account(i)).wallet.address;
  [utility, alice, carol, outsiderAddress] = [await addr(A.utility), await addr(A.alice), await addr(A.carol), await addr(A.outsider)];
  dir = tmpDir("custody");
  const deployments = Deployments.forNetwork(dir, "blocksec", Number(admin.chainId));
  memberKeys = localMemberKeys(3);
  members = memberKeys.map((k) => new Wallet(k).address);
  const fed = await deployFederation({ chains: [{ name: "blocksec", sender: admin, deployments }], members, threshold: 2, gracePeriodSec: 600, appGasLimit: 300_000n, fundMembers: parseEther("10") });
  const apps = await deployCustodyApps({ sender: admin, deployments, inbox: fed.chains[0]!.inbox, utility, gateway: await addr(A.gateway) });
  sec = new BlockSecClient({ sender: admin, addresses: apps.addresses });
  utilitySec = sec.withSender((await chain.account(A.utility)).sender);
  custodyAddress = apps.keyCustody;
  memberClients = await Promise.all(memberKeys.map(async (k) => new KeyCustodyClient({ address: custodyAddress, provider, sender: await TxSender.create(k, provider) })));
  for (const [c, m] of [
    [alice, 1],
    [carol, 2],
  ] as const) {
    await sec.deliverPreferences(TEST_PPC.chainId, TEST_PPC.address, encodeRegistrationPayload({ registration: { consumer: c, meterId: hexlify(new Uint8Array(32).fill(m)), meterSigner: c, encryptionKey: hexlify(randomBytes(32)) }, version: ++version }));
  }
  await prefs(alice, "QUARTER_HOURLY");
}, 60_000);

afterAll(async () => {
  await chain?.stop();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

/** A revert as [error name, ...arguments], numbers as numbers, for one `toEqual`. */
const shape = (e: ContractRevertError) => [e.errorName, ...e.args.map((a) => (typeof a === "bigint" ? Number(a) : a))];

describe("custody keys", () => {
  it("only a member of the current set registers one, and not a zero key", async () => {
    const outsider = await as(A.outsider);
    expect(shape(await revertOf(outsider.registerCustodyKey(custodyKeys()[0]!.publicKey)))).toEqual(["CustodyNotMember", outsiderAddress, 0]);
    expect(shape(await revertOf(memberClients[0]!.registerCustodyKey(new Uint8Array(32))))).toEqual(["CustodyInvalidKey", `0x${"00".repeat(32)}`]);
    await memberClients[0]!.registerCustodyKey(custodyKeys()[0]!.publicKey);
    await memberClients[1]!.registerCustodyKey(custodyKeys()[1]!.publicKey);
    const set = await memberClients[0]!.custodySet();
    expect(set).toEqual({ setIndex: 0, members, keys: [hexlify(custodyKeys()[0]!.publicKey), hexlify(custodyKeys()[1]!.publicKey), `0x${"00".repeat(32)}`], threshold: 2 });
    expect(await memberClients[0]!.custodyKeyOf(members[1]!)).toBe(hexlify(custodyKeys()[1]!.publicKey));
  });
});

describe("publishing keys", () => {
  it("needs a gateway, every member's custody key, the current set and a well-formed record", async () => {
    const k = await makeKey(alice, 11, "QUARTER_HOURLY", day0);
    const gw = await as(A.gateway);
    expect(shape(await revertOf((await as(A.outsider)).publishKeys(0, [k.pub])))).toEqual(["CustodyNotGateway", outsiderAddress]);
    expect(shape(await revertOf(gw.publishKeys(0, [k.pub])))).toEqual(["CustodyMissingCustodyKey", members[2]]);
    await memberClients[2]!.registerCustodyKey(custodyKeys()[2]!.publicKey);
    expect(shape(await revertOf(gw.publishKeys(1, [k.pub])))).toEqual(["CustodyStaleSet", 1, 0]);
    // An envelope made for two members where the set has three: 32 + 48 + 2·49 bytes, 3·49 expected.
    const short = await makeKey(alice, 12, "QUARTER_HOURLY", day0, 2);
    expect(shape(await revertOf(gw.publishKeys(0, [short.pub])))).toEqual(["CustodyEnvelopeLength", alice, 12, 227, 178]);
    expect(shape(await revertOf(gw.publishKeys(0, [{ ...k.pub, epochEnd: k.pub.epochStart }])))).toEqual(["CustodyInvalidKeyRecord", alice, 11]);
    // Key 17 seals her trades of day0 (resolution NONE: the TRADES category has none).
    keys.push(k, await makeKey(alice, 13, "QUARTER_HOURLY", day0 + DAY), await makeKey(alice, 14, "DAILY", day0), await makeKey(alice, 17, "NONE", day0));
    await gw.publishKeys(0, keys.map((x) => x.pub));
    expect(shape(await revertOf(gw.publishKeys(0, [k.pub])))).toEqual(["CustodyKeyExists", alice, 11]);
    // The same id twice in one publication is refused as well: a key is never replaced.
    const twice = await makeKey(alice, 15, "DAILY", day0 + DAY);
    expect(shape(await revertOf(gw.publishKeys(0, [twice.pub, twice.pub])))).toEqual(["CustodyKeyExists", alice, 15]);
    const info = await memberClients[0]!.contract.keyOf(alice, 13);
    expect([info.resolution, info.epochStart, info.epochEnd, info.setIndex]).toEqual([4n, BigInt(day0 + DAY), BigInt(day0 + 2 * DAY), 0n]);
    expect((await gw.publishedKeys({ consumer: alice })).map((x) => x.keyId)).toEqual([11, 13, 14, 17]);
  });
});

describe("releasing shares", () => {
  let grant: AccessEntry;

  beforeAll(async () => {
    grant = (await utilitySec.requestAccess({ consumer: alice, category: "CONSUMPTION", resolution: "QUARTER_HOURLY", from: day0, to: day0 + DAY - 1, requesterKey: hexlify(requester.publicKey) })).entry;
  });

  it("m members' shares of a covered key reach the requester and make the key; m − 1 shares do not", async () => {
    await release(0, grant, [11]);
    await release(2, grant, [11]);
    const rel = await memberClients[0]!.releases({ consumer: alice, entryIndex: grant.index });
    expect(rel.map((r) => [r.member, r.requester, r.keyIds])).toEqual([
      [members[0], utility, [11]],
      [members[2], utility, [11]],
    ]);
    const shares = rel.map((r) => openReleasedShares({ consumer: alice, entryIndex: grant.index, keyIds: r.keyIds, shares: r.shares, secretKey: requester.secretKey }).get(11)!);
    const k = keys.find((x) => x.pub.keyId === 11)!;
    expect(await combineShares(shares, 2, k.pub.commitment)).toEqual(k.dataKey);
    // One share is no key: not as it stands, not combined as if it were enough, and it does not contain it.
    const one = shares.slice(0, 1);
    await expect(combineShares(one, 2, k.pub.commitment)).rejects.toThrow(/1 share\(s\), 2 needed/);
    await expect(combineShares(one, 1, k.pub.commitment)).rejects.toThrow(/no share opens to the committed key/);
    expect(Buffer.from(one[0]!).includes(Buffer.from(k.dataKey))).toBe(false);
    // Nor is anybody else's key good for the boxes: they are the requester's alone.
    expect(() => openReleasedShares({ consumer: alice, entryIndex: grant.index, keyIds: [11], shares: rel[0]!.shares, secretKey: custodyKeys()[0]!.secretKey })).toThrow(/does not open/);
    expect(await memberClients[0]!.isReleased(alice, grant.index, members[0]!)).toBe(true);
    expect(await memberClients[0]!.isReleased(alice, grant.index, members[1]!)).toBe(false);
  });

  it("once per entry and member", async () => {
    expect(shape(await revertOf(release(0, grant, [11])))).toEqual(["ReleaseDuplicate", alice, grant.index, members[0]]);
  });

  it("never a key outside the granted days, or finer than granted, or unknown, and shares must match the keys", async () => {
    expect(shape(await revertOf(release(1, grant, [11, 13])))).toEqual(["ReleaseOutsideGrant", alice, grant.index, 13]);
    const daily = (await utilitySec.requestAccess({ consumer: alice, category: "CONSUMPTION", resolution: "DAILY", from: day0, to: day0 + DAY - 1, requesterKey: hexlify(requester.publicKey) })).entry;
    expect(shape(await revertOf(release(1, daily, [11])))).toEqual(["ReleaseOutsideGrant", alice, daily.index, 11]);
    expect(shape(await revertOf(memberClients[1]!.releaseShares(daily, [99], new Uint8Array(32 + 49))))).toEqual(["ReleaseUnknownKey", alice, 99]);
    expect(shape(await revertOf(memberClients[1]!.releaseShares(daily, [14], new Uint8Array(32 + 48))))).toEqual(["ReleaseSharesLength", 81, 80]);
    await release(1, daily, [14]);
    // A range reaching into the future ends at the grant's own time: tomorrow's key stays shut.
    const tomorrow = await makeKey(alice, 16, "QUARTER_HOURLY", Math.floor(Date.now() / 1000 / DAY) * DAY + DAY);
    keys.push(tomorrow);
    await (await as(A.gateway)).publishKeys(0, [tomorrow.pub]);
    const open = (await utilitySec.requestAccess({ consumer: alice, category: "CONSUMPTION", resolution: "QUARTER_HOURLY", from: day0, to: tomorrow.pub.epochEnd + 10 * DAY, requesterKey: hexlify(requester.publicKey) })).entry;
    expect(open.to).toBe(open.timestamp);
    expect(shape(await revertOf(release(1, open, [11, 16])))).toEqual(["ReleaseOutsideGrant", alice, open.index, 16]);
    expect(keyCoveredByGrant(tomorrow.pub, open)).toBe(false);
    // The custodian's own filter agrees with the contract.
    const byId = (id: number) => ({ ...keys.find((x) => x.pub.keyId === id)!.pub });
    expect([11, 13, 14, 17].map((id) => keyCoveredByGrant(byId(id), daily))).toEqual([false, false, true, false]);
    expect([11, 13, 14, 17].map((id) => keyCoveredByGrant(byId(id), grant))).toEqual([true, false, true, false]);
    // No consumption grant opens a trade key, however fine.
    expect(shape(await revertOf(release(1, open, [17])))).toEqual(["ReleaseOutsideGrant", alice, open.index, 17]);
  });

  it("never for a denied entry, an altered or unknown entry, a grant of another kind, or by a non-member", async () => {
    let denied: AccessEntry | undefined;
    await utilitySec.requestAccess({ consumer: carol, category: "CONSUMPTION", resolution: "DAILY", from: day0, to: day0 + DAY, requesterKey: hexlify(requester.publicKey) }).catch((e: unknown) => {
      if (e instanceof AccessDeniedError) denied = e.entry;
      else throw e;
    });
    expect(denied?.reason).toBe("NOT_PERMITTED");
    expect(shape(await revertOf(memberClients[1]!.releaseShares(denied!, [], new Uint8Array(32))))).toEqual(["ReleaseNotGranted", carol, denied!.index]);
    // The same granted entry naming another requester key is not the one the ledger hashed.
    const altered = { ...grant, requesterKey: hexlify(deriveCustodyKeyPair(randomBytes(32)).publicKey) };
    expect(shape(await revertOf(release(1, altered, [11])))).toEqual(["ReleaseUnknownEntry", alice, grant.index]);
    expect(shape(await revertOf(release(1, { ...grant, index: 999 }, [11])))).toEqual(["ReleaseUnknownEntry", alice, 999]);
    // The real-time view is granted to any distributor and releases nothing stored.
    const current = (await utilitySec.getCurrentEnergyUsage(alice)).entry;
    expect([current.granted, current.category]).toEqual([true, "CURRENT_CONSUMPTION"]);
    expect(shape(await revertOf(release(1, current, [])))).toEqual(["ReleaseNotGranted", alice, current.index]);
    const outsider = await as(A.outsider);
    expect(shape(await revertOf(outsider.releaseShares(grant, [11], new Uint8Array(32 + 49))))).toEqual(["CustodyNotMember", outsiderAddress, 0]);
  });

  it("her trades: a TRADES grant opens her trade keys in range and no reading key, and stops when she withdraws", async () => {
    const noTrades = (await utilitySec.requestAccess({ consumer: alice, category: "TRADES", resolution: "NONE", from: day0, to: day0 + DAY - 1, requesterKey: hexlify(requester.publicKey) }).catch((e: unknown) => e)) as AccessDeniedError;
    expect([noTrades instanceof AccessDeniedError, noTrades.entry.reason]).toEqual([true, "NOT_PERMITTED"]);
    expect(shape(await revertOf(release(1, noTrades.entry, [17])))).toEqual(["ReleaseNotGranted", alice, noTrades.entry.index]);
    await prefs(alice, "QUARTER_HOURLY", true, true);
    const trades = (await utilitySec.requestAccess({ consumer: alice, category: "TRADES", resolution: "NONE", from: day0, to: day0 + DAY - 1, requesterKey: hexlify(requester.publicKey) })).entry;
    expect([trades.granted, trades.category, trades.resolution]).toEqual([true, "TRADES", "NONE"]);
    expect(shape(await revertOf(release(1, trades, [11])))).toEqual(["ReleaseOutsideGrant", alice, trades.index, 11]);
    const byId = (id: number) => ({ ...keys.find((x) => x.pub.keyId === id)!.pub });
    expect([11, 13, 14, 17].map((id) => keyCoveredByGrant(byId(id), trades))).toEqual([false, false, false, true]);
    await release(0, trades, [17]);
    await release(1, trades, [17]);
    const rel = await memberClients[0]!.releases({ consumer: alice, entryIndex: trades.index });
    const shares = rel.map((r) => openReleasedShares({ consumer: alice, entryIndex: trades.index, keyIds: r.keyIds, shares: r.shares, secretKey: requester.secretKey }).get(17)!);
    const k = keys.find((x) => x.pub.keyId === 17)!;
    expect(await combineShares(shares, 2, k.pub.commitment)).toEqual(k.dataKey);
    // Her trade key of another day stays shut to this grant.
    const later = await makeKey(alice, 18, "NONE", day0 + DAY);
    keys.push(later);
    await (await as(A.gateway)).publishKeys(0, [later.pub]);
    const again = (await utilitySec.requestAccess({ consumer: alice, category: "TRADES", resolution: "NONE", from: day0, to: day0 + DAY - 1, requesterKey: hexlify(requester.publicKey) })).entry;
    expect(shape(await revertOf(release(1, again, [18])))).toEqual(["ReleaseOutsideGrant", alice, again.index, 18]);
    // Trade monitoring withdrawn (consumption still allowed): no more releases on the standing grant.
    await prefs(alice, "QUARTER_HOURLY");
    expect(shape(await revertOf(release(2, trades, [17])))).toEqual(["ReleaseConsentWithdrawn", alice, trades.index]);
  });

  it("never after the consumer withdrew her consent, though the grant stands in the ledger", async () => {
    await prefs(alice, "NONE", false);
    expect(shape(await revertOf(release(1, grant, [11])))).toEqual(["ReleaseConsentWithdrawn", alice, grant.index]);
    await prefs(alice, "QUARTER_HOURLY");
    await release(1, grant, [11]);
  });
});
