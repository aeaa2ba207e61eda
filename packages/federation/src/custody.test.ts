// KeyCustody's rules on a real anvil chain with BlockSEC's contracts and the federation's real
// inbox (3 members, threshold 2). The adversaries: an outsider, a gateway-less account, a member
// that releases for a denied, altered, revoked or uncovered grant, or twice.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Wallet, hexlify, parseEther, randomBytes, type JsonRpcProvider } from "ethers";
import { ContractRevertError, Deployments, TxSender, startTestChain, type TestChain } from "@sidegrid/chain";
import { encodePreferencesPayload, encodeRegistrationPayload } from "@sidegrid/blockpri";
import {
  AccessDeniedError,
  BlockSecClient,
  KeyCustodyClient,
  boxSharesForRequester,
  combineShares,
  deployBlockSec,
  deployKeyCustody,
  deriveCustodyKeyPair,
  newEpochDataKey,
  openMemberShare,
  openReleasedShares,
  sealEpochKey,
  type AccessEntry,
  type KeyPublication,
} from "@sidegrid/blocksec";
import { deployFederation } from "./deploy";
import { covers } from "./member/custodian";
import { localMemberKeys } from "./member/config";

const PRI_CHAIN = 31150;
const PPC = "0x00000000000000000000000000000000000fa4e1";
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

async function revertOf(p: Promise<unknown>): Promise<ContractRevertError> {
  const e = await p.then(
    () => undefined,
    (x: unknown) => x,
  );
  if (!(e instanceof ContractRevertError)) throw new Error(`expected a revert, got ${e === undefined ? "success" : String(e)}`);
  return e;
}

async function prefs(consumer: string, resolution: "QUARTER_HOURLY" | "DAILY" | "NONE", allowed = true) {
  await sec.deliverPreferences(PRI_CHAIN, PPC, encodePreferencesPayload({ consumer, version: ++version, prefs: [{ utility, category: "CONSUMPTION", allowed, resolution, expiresAt: 0 }] }));
}

const keys: { pub: KeyPublication; dataKey: Uint8Array }[] = [];
async function makeKey(consumer: string, keyId: number, resolution: "QUARTER_HOURLY" | "DAILY", epochStart: number, n = 3): Promise<{ pub: KeyPublication; dataKey: Uint8Array }> {
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
  [utility, alice, carol] = [await addr(A.utility), await addr(A.alice), await addr(A.carol)];
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "custody-"));
  const deployments = Deployments.forNetwork(dir, "blocksec", Number(admin.chainId));
  const d = await deployBlockSec({ sender: admin, deployments, preferenceSource: { chainId: PRI_CHAIN, address: PPC }, distributors: [utility], gateways: [{ gateway: await addr(A.gateway), utility }] });
  const addresses = { policyMirror: d.policyMirror, meterDataLedger: d.meterDataLedger, accessLedger: d.accessLedger, tradeLog: d.tradeLog };
  sec = new BlockSecClient({ sender: admin, addresses });
  utilitySec = sec.withSender((await chain.account(A.utility)).sender);
  memberKeys = localMemberKeys(3);
  members = memberKeys.map((k) => new Wallet(k).address);
  const fed = await deployFederation({ chains: [{ name: "blocksec", sender: admin, deployments }], members, threshold: 2, gracePeriodSec: 600, appGasLimit: 300_000n, fundMembers: parseEther("10") });
  custodyAddress = (await deployKeyCustody({ sender: admin, deployments, federationInbox: fed.chains[0]!.inbox, accessLedger: d.accessLedger, meterDataLedger: d.meterDataLedger, policyMirror: d.policyMirror })).keyCustody;
  memberClients = await Promise.all(memberKeys.map(async (k) => new KeyCustodyClient({ address: custodyAddress, provider, sender: await TxSender.create(k, provider) })));
  for (const [c, m] of [
    [alice, 1],
    [carol, 2],
  ] as const) {
    await sec.deliverPreferences(PRI_CHAIN, PPC, encodeRegistrationPayload({ registration: { consumer: c, meterId: hexlify(new Uint8Array(32).fill(m)), meterSigner: c, encryptionKey: hexlify(randomBytes(32)) }, version: ++version }));
  }
  await prefs(alice, "QUARTER_HOURLY");
}, 60_000);

afterAll(async () => {
  await chain.stop();
});

describe("custody keys", () => {
  it("only a member of the current set registers one, and not a zero key", async () => {
    const outsider = await as(A.outsider);
    const e = await revertOf(outsider.registerCustodyKey(custodyKeys()[0]!.publicKey));
    expect([e.errorName, e.args[0], Number(e.args[1])]).toEqual(["CustodyNotMember", await (await chain.account(A.outsider)).wallet.address, 0]);
    const z = await revertOf(memberClients[0]!.registerCustodyKey(new Uint8Array(32)));
    expect(z.errorName).toBe("CustodyInvalidKey");
    await memberClients[0]!.registerCustodyKey(custodyKeys()[0]!.publicKey);
    await memberClients[1]!.registerCustodyKey(custodyKeys()[1]!.publicKey);
    const set = await memberClients[0]!.custodySet();
    expect(set).toEqual({ setIndex: 0, members, keys: [hexlify(custodyKeys()[0]!.publicKey), hexlify(custodyKeys()[1]!.publicKey), `0x${"00".repeat(32)}`], threshold: 2 });
  });
});

describe("publishing keys", () => {
  it("needs a gateway, every member's custody key, the current set and a well-formed record", async () => {
    const k = await makeKey(alice, 11, "QUARTER_HOURLY", day0);
    const gw = await as(A.gateway);
    const notGw = await revertOf((await as(A.outsider)).publishKeys(0, [k.pub]));
    expect(notGw.errorName).toBe("CustodyNotGateway");
    const missing = await revertOf(gw.publishKeys(0, [k.pub]));
    expect([missing.errorName, missing.args[0]]).toEqual(["CustodyMissingCustodyKey", members[2]]);
    await memberClients[2]!.registerCustodyKey(custodyKeys()[2]!.publicKey);
    const stale = await revertOf(gw.publishKeys(1, [k.pub]));
    expect([stale.errorName, Number(stale.args[0]), Number(stale.args[1])]).toEqual(["CustodyStaleSet", 1, 0]);
    const short = await makeKey(alice, 12, "QUARTER_HOURLY", day0, 2);
    const len = await revertOf(gw.publishKeys(0, [short.pub]));
    expect([len.errorName, Number(len.args[2]), Number(len.args[3])]).toEqual(["CustodyEnvelopeLength", 227, 178]);
    const none = await revertOf(gw.publishKeys(0, [{ ...k.pub, resolution: "NONE" }]));
    expect(none.errorName).toBe("CustodyInvalidKeyRecord");
    keys.push(k, await makeKey(alice, 13, "QUARTER_HOURLY", day0 + DAY), await makeKey(alice, 14, "DAILY", day0));
    await gw.publishKeys(0, keys.map((x) => x.pub));
    const dup = await revertOf(gw.publishKeys(0, [k.pub]));
    expect([dup.errorName, dup.args[0], Number(dup.args[1])]).toEqual(["CustodyKeyExists", alice, 11]);
    const info = await memberClients[0]!.contract.keyOf(alice, 13);
    expect([info.resolution, info.epochStart, info.epochEnd, info.setIndex]).toEqual([4n, BigInt(day0 + DAY), BigInt(day0 + 2 * DAY), 0n]);
    expect((await gw.publishedKeys({ consumer: alice })).map((x) => x.keyId)).toEqual([11, 13, 14]);
  });
});

describe("releasing shares", () => {
  let grant: AccessEntry;

  beforeAll(async () => {
    grant = (await utilitySec.requestAccess({ consumer: alice, category: "CONSUMPTION", resolution: "QUARTER_HOURLY", from: day0, to: day0 + DAY - 1, requesterKey: hexlify(requester.publicKey) })).entry;
  });

  it("m members' shares of a covered key reach the requester and make the key; one share does not", async () => {
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
    await expect(combineShares(shares.slice(0, 1), 2, k.pub.commitment)).rejects.toThrow(/needed/);
    expect(await memberClients[0]!.isReleased(alice, grant.index, members[0]!)).toBe(true);
    expect(await memberClients[0]!.isReleased(alice, grant.index, members[1]!)).toBe(false);
  });

  it("once per entry and member", async () => {
    const e = await revertOf(release(0, grant, [11]));
    expect([e.errorName, e.args[0], Number(e.args[1]), e.args[2]]).toEqual(["ReleaseDuplicate", alice, grant.index, members[0]]);
  });

  it("never a key outside the granted days, or finer than granted", async () => {
    const later = await revertOf(release(1, grant, [11, 13]));
    expect([later.errorName, Number(later.args[1]), Number(later.args[2])]).toEqual(["ReleaseOutsideGrant", grant.index, 13]);
    const daily = (await utilitySec.requestAccess({ consumer: alice, category: "CONSUMPTION", resolution: "DAILY", from: day0, to: day0 + DAY - 1, requesterKey: hexlify(requester.publicKey) })).entry;
    const finer = await revertOf(release(1, daily, [11]));
    expect([finer.errorName, Number(finer.args[2])]).toEqual(["ReleaseOutsideGrant", 11]);
    await release(1, daily, [14]);
    // The custodian's own filter agrees with the contract.
    const byId = (id: number) => ({ ...keys.find((x) => x.pub.keyId === id)!.pub });
    expect([11, 13, 14].map((id) => covers(byId(id), daily))).toEqual([false, false, true]);
    expect([11, 13, 14].map((id) => covers(byId(id), grant))).toEqual([true, false, true]);
  });

  it("never for a denied entry, an altered entry, or by a non-member", async () => {
    let denied: AccessEntry | undefined;
    await utilitySec.requestAccess({ consumer: carol, category: "CONSUMPTION", resolution: "DAILY", from: day0, to: day0 + DAY, requesterKey: hexlify(requester.publicKey) }).catch((e: unknown) => {
      if (e instanceof AccessDeniedError) denied = e.entry;
      else throw e;
    });
    expect(denied?.reason).toBe("NOT_PERMITTED");
    const notGranted = await revertOf(memberClients[1]!.releaseShares(denied!, [], new Uint8Array(32)));
    expect(notGranted.errorName).toBe("ReleaseNotGranted");
    // The same granted entry naming another requester key is not the one the ledger hashed.
    const altered = await revertOf(release(1, { ...grant, requesterKey: hexlify(deriveCustodyKeyPair(randomBytes(32)).publicKey) }, [11]));
    expect([altered.errorName, Number(altered.args[1])]).toEqual(["ReleaseUnknownEntry", grant.index]);
    const outsider = await as(A.outsider);
    const nm = await revertOf(outsider.releaseShares(grant, [11], new Uint8Array(32 + 49)));
    expect(nm.errorName).toBe("CustodyNotMember");
  });

  it("never after the consumer withdrew her consent", async () => {
    await prefs(alice, "NONE", false);
    const e = await revertOf(release(1, grant, [11]));
    expect([e.errorName, Number(e.args[1])]).toEqual(["ReleaseConsentWithdrawn", grant.index]);
    await prefs(alice, "QUARTER_HOURLY");
  });
});
