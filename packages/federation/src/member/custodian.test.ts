// The custodian in real member processes: three anvil chains (chain 1 holds BlockSEC's contracts and
// KeyCustody), three members 2-of-3 spawned from the built package, a gateway that published a
// household's epoch keys for four days at two resolutions, a utility that asks for her data. What
// must hold: a grant releases exactly the keys it covers, once per member; a denied request, a grant
// without a requester key or a grant whose consent ended releases nothing; two members suffice; a
// member killed with -9 around its release completes after a restart and never releases twice.
import fs from "node:fs";
import { hexlify, randomBytes } from "ethers";
import { sleep } from "@sidegrid/chain";
import { encodePreferencesPayload, encodeRegistrationPayload } from "@sidegrid/blockpri";
import {
  AccessDeniedError,
  BlockSecClient,
  KeyCustodyClient,
  combineShares,
  deriveCustodyKeyPair,
  newEpochDataKey,
  openReleasedShares,
  sealEpochKey,
  type AccessEntry,
  type KeyPublication,
  type ResolutionName,
  type ShareRelease,
} from "@sidegrid/blocksec";
import { MockPreferenceMirror__factory, MockPreferenceSource__factory } from "../generated";
import { startMemberProcesses, type MemberProcesses } from "../test-utils/members";
import { CUSTODY_ACCOUNTS, TEST_PPC, sourceIface, startWorld, type World } from "../test-utils/world";
import type { MemberHealth } from "./node";

const DAY = 86_400;
/** Four whole UTC days in the past: day i has a DAILY key 100 + i and a QUARTER_HOURLY key 200 + i. */
const day0 = Math.floor(Date.now() / 1000 / DAY) * DAY - 5 * DAY;
const dayStart = (i: number) => day0 + i * DAY;

let w: World;
let members: MemberProcesses;
let sec: BlockSecClient;
let utilitySec: BlockSecClient;
let custody: KeyCustodyClient;
let alice: string;
let carol: string;
let utility: string;
let version = 0n;
const dataKeys = new Map<number, { dataKey: Uint8Array; commitment: string }>();
const requester = deriveCustodyKeyPair(randomBytes(32));
const rpc = (method: string, params: unknown[] = []) => w.chains[1]!.provider.send(method, params);
const memberAddress = (i: number) => w.fed.members[i]!;

async function prefs(consumer: string, allowed: boolean): Promise<void> {
  const payload = encodePreferencesPayload({ consumer, version: ++version, prefs: [{ utility, category: "CONSUMPTION", allowed, resolution: allowed ? "QUARTER_HOURLY" : "NONE", expiresAt: 0 }] });
  await sec.deliverPreferences(TEST_PPC.chainId, TEST_PPC.address, payload);
}

async function grant(resolution: ResolutionName, fromDay: number, toDay: number): Promise<AccessEntry> {
  const r = await utilitySec.requestAccess({ consumer: alice, category: "CONSUMPTION", resolution, from: dayStart(fromDay), to: dayStart(toDay + 1) - 1, requesterKey: hexlify(requester.publicKey) });
  expect(r.entry.granted).toBe(true);
  return r.entry;
}

async function health(i: number): Promise<MemberHealth> {
  return (await (await fetch(`${members.urls[i]}/health`)).json()) as MemberHealth;
}

async function waitFor<T>(what: string, f: () => Promise<T | undefined | false>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let v: T | undefined | false;
    try {
      v = await f();
    } catch {
      v = undefined; // anvil --prune-history answers a read at "latest" now and then while it mines
    }
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) {
      const logs = [0, 1, 2].map((i) => `--- member ${i}\n${fs.existsSync(members.logFile(i)) ? fs.readFileSync(members.logFile(i), "utf8").split("\n").slice(-12).join("\n") : ""}`).join("\n");
      throw new Error(`timed out waiting for ${what}\n${logs}`);
    }
    await sleep(50);
  }
}

const releasesOf = (e: AccessEntry) => custody.releases({ consumer: e.consumer, entryIndex: e.index, fromBlock: e.blockNumber });

/** Waits until each of `by` has released for `e`; returns every release of `e`. */
function releasedBy(e: AccessEntry, by: number[]): Promise<ShareRelease[]> {
  return waitFor(`releases of entry ${e.index} by members ${by.join(", ")}`, async () => {
    const rel = await releasesOf(e);
    return by.every((i) => rel.some((r) => r.member === memberAddress(i))) && rel;
  });
}

/** Waits until member `i`'s custodian has scanned past `block`. */
function scannedPast(i: number, block: number): Promise<true> {
  return waitFor(`member ${i} scanned block ${block}`, async () => ((await health(i)).custody?.cursor ?? -1) >= block || undefined);
}

/** The data keys the requester makes of these releases (each key from `threshold` shares). */
async function reconstruct(e: AccessEntry, rel: readonly ShareRelease[]): Promise<Map<number, Uint8Array>> {
  const byKey = new Map<number, Uint8Array[]>();
  for (const r of rel) {
    for (const [keyId, share] of openReleasedShares({ consumer: e.consumer, entryIndex: e.index, keyIds: r.keyIds, shares: r.shares, secretKey: requester.secretKey })) {
      byKey.set(keyId, [...(byKey.get(keyId) ?? []), share]);
    }
  }
  const out = new Map<number, Uint8Array>();
  for (const [keyId, shares] of byKey) out.set(keyId, await combineShares(shares, 2, dataKeys.get(keyId)!.commitment));
  return out;
}

function perMember(rel: readonly ShareRelease[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of rel) out[r.member] = (out[r.member] ?? 0) + 1;
  return out;
}

beforeAll(async () => {
  w = await startWorld({ chainIds: [31791, 31792, 31793], custody: true });
  const c = w.custody!;
  const account = (i: number) => w.chains[1]!.account(i);
  sec = new BlockSecClient({ sender: w.admins[1]!, addresses: c.addresses });
  utilitySec = sec.withSender((await account(CUSTODY_ACCOUNTS.utility)).sender);
  custody = new KeyCustodyClient({ address: c.keyCustody, provider: w.chains[1]!.provider });
  [utility, alice, carol] = [(await account(CUSTODY_ACCOUNTS.utility)).wallet.address, (await account(CUSTODY_ACCOUNTS.alice)).wallet.address, (await account(CUSTODY_ACCOUNTS.carol)).wallet.address];
  for (const [who, meter] of [
    [alice, 1],
    [carol, 2],
  ] as const) {
    await sec.deliverPreferences(TEST_PPC.chainId, TEST_PPC.address, encodeRegistrationPayload({ registration: { consumer: who, meterId: hexlify(new Uint8Array(32).fill(meter)), meterSigner: who, encryptionKey: hexlify(randomBytes(32)) }, version: ++version }));
  }
  await prefs(alice, true); // carol never consents
  members = await startMemberProcesses(w, { pollIntervalMs: 20, takeoverMs: 1000, batchDelayMs: 5, resendMs: 1000 });

  // Each member registers its custody key on start; the gateway seals to them.
  const set = await waitFor("custody keys registered", async () => {
    const s = await custody.custodySet();
    return s.keys.every((k) => !/^0x0{64}$/.test(k)) && s;
  });
  const gateway = new KeyCustodyClient({ address: c.keyCustody, provider: w.chains[1]!.provider, sender: (await account(CUSTODY_ACCOUNTS.gateway)).sender });
  const pubs: KeyPublication[] = [];
  for (let i = 0; i < 4; i++) {
    for (const [keyId, resolution] of [
      [100 + i, "DAILY"],
      [200 + i, "QUARTER_HOURLY"],
    ] as const) {
      const dataKey = newEpochDataKey();
      const { envelope, commitment } = await sealEpochKey({ dataKey, context: { consumer: alice, keyId }, consumerKey: randomBytes(32), custodyKeys: set.keys, threshold: set.threshold });
      dataKeys.set(keyId, { dataKey, commitment });
      pubs.push({ consumer: alice, keyId, resolution, epochStart: dayStart(i), epochEnd: dayStart(i + 1), commitment, envelope: hexlify(envelope) });
    }
  }
  await gateway.publishKeys(set.setIndex, pubs);
}, 120_000);

afterAll(async () => {
  await rpc("evm_setAutomine", [true]).catch(() => undefined);
  await members?.stopAll();
  await w?.stop();
});

describe("custodian (3 member processes, threshold 2)", () => {
  it("registers each member's custody key, derived from its signing key, once", async () => {
    const set = await custody.custodySet();
    expect(set.keys).toEqual(w.memberKeys.map((k) => hexlify(deriveCustodyKeyPair(k).publicKey)));
    expect((await custody.registeredKeys(w.custody!.startBlock)).size).toBe(3);
    for (const i of [0, 1, 2]) expect((await health(i)).custody).toMatchObject({ registered: true, lastError: null });
  });

  it("releases a DAILY grant over two days: those days' DAILY keys, once per member, nothing finer or outside — while the same members relay", async () => {
    // Relaying on the same chain at the same time: the release and the deliveries share each member's nonces.
    const app = (await w.chains[0]!.account(5)).sender;
    app.addAbi(MockPreferenceSource__factory.abi);
    const relayed = (async () => {
      for (let i = 0; i < 10; i++) await app.sendAndWait({ to: w.source, data: sourceIface.encodeFunctionData("setPreference", [utility, i % 2 === 0, 3]) });
    })();
    const e = await grant("DAILY", 1, 2);
    await relayed;
    const rel = await releasedBy(e, [0, 1, 2]);
    const mirror = MockPreferenceMirror__factory.connect(w.mirrors[0], w.chains[1]!.provider);
    await waitFor("preferences relayed to chain 1", async () => (await mirror.version(app.address)) === 10n);

    expect(perMember(rel)).toEqual({ [memberAddress(0)]: 1, [memberAddress(1)]: 1, [memberAddress(2)]: 1 });
    for (const r of rel) expect([r.requester, [...r.keyIds].sort()]).toEqual([utility, [101, 102]]);
    const keys = await reconstruct(e, rel);
    expect([...keys.keys()].sort()).toEqual([101, 102]);
    for (const [keyId, key] of keys) expect(key).toEqual(dataKeys.get(keyId)!.dataKey);
    // One member's shares (m − 1) make no key.
    const one = openReleasedShares({ consumer: alice, entryIndex: e.index, keyIds: rel[0]!.keyIds, shares: rel[0]!.shares, secretKey: requester.secretKey });
    await expect(combineShares([one.get(101)!], 2, dataKeys.get(101)!.commitment)).rejects.toThrow(/needed/);
    // A member counts its release once its own receipt is in, which may be just after the log is visible.
    for (const i of [0, 1, 2]) await waitFor(`member ${i}'s custody stats`, async () => ((await health(i)).custody?.released ?? 0) >= 1);
    for (const i of [0, 1, 2]) expect((await health(i)).custody).toMatchObject({ released: 1, keysReleased: 2, lastError: null });
  });

  it("releases a QUARTER_HOURLY grant of one day: both resolutions of that day", async () => {
    const e = await grant("QUARTER_HOURLY", 0, 0);
    const rel = await releasedBy(e, [0, 1, 2]);
    for (const r of rel) expect([...r.keyIds].sort()).toEqual([100, 200]);
    const keys = await reconstruct(e, rel);
    expect(keys.get(200)).toEqual(dataKeys.get(200)!.dataKey);
  });

  it("releases nothing on a denied request or on a grant that names no requester key", async () => {
    let denied: AccessEntry | undefined;
    await utilitySec.requestAccess({ consumer: carol, category: "CONSUMPTION", resolution: "DAILY", from: dayStart(0), to: dayStart(4) - 1, requesterKey: hexlify(requester.publicKey) }).catch((x: unknown) => {
      if (x instanceof AccessDeniedError) denied = x.entry;
      else throw x;
    });
    expect(denied?.granted).toBe(false);
    // The paper's getEnergyUsage: a logged DAILY grant, but with nobody's key to box shares to.
    const keyless = (await utilitySec.getEnergyUsage(alice)).entry;
    expect([keyless.granted, keyless.requesterKey]).toEqual([true, `0x${"00".repeat(32)}`]);
    for (const i of [0, 1, 2]) await scannedPast(i, keyless.blockNumber);
    expect(await custody.releases({ consumer: carol, fromBlock: w.custody!.startBlock })).toEqual([]);
    expect(await releasesOf(keyless)).toEqual([]);
    for (const i of [0, 1, 2]) expect((await health(i)).custody?.lastSkip).toEqual({ consumer: alice, entryIndex: keyless.index, reason: "no-requester-key" });
    const metrics = await (await fetch(`${members.urls[0]}/metrics`)).text();
    expect(metrics).toMatch(/federation_custody_grants_total\{outcome="skipped",reason="no-requester-key",member="0"\} 1/);
    expect(metrics).toMatch(/federation_custody_grants_total\{outcome="released",reason="",member="0"\} 2/);
  });

  it("with one member stopped, the other two release and the requester makes the keys; the third catches up", async () => {
    await members.kill(2);
    const e = await grant("QUARTER_HOURLY", 3, 3);
    const two = await releasedBy(e, [0, 1]);
    expect(two.map((r) => r.member).sort()).toEqual([memberAddress(0), memberAddress(1)].sort());
    const keys = await reconstruct(e, two);
    expect(keys.get(103)).toEqual(dataKeys.get(103)!.dataKey);
    expect(keys.get(203)).toEqual(dataKeys.get(203)!.dataKey);
    await members.start(2);
    const all = await releasedBy(e, [0, 1, 2]);
    expect(perMember(all)).toEqual({ [memberAddress(0)]: 1, [memberAddress(1)]: 1, [memberAddress(2)]: 1 });
  });

  it("re-checks consent when it gets to a grant: revoked meanwhile, the late member releases nothing", async () => {
    await members.kill(2);
    const e = await grant("QUARTER_HOURLY", 2, 2);
    await releasedBy(e, [0, 1]);
    await prefs(alice, false);
    await members.start(2);
    await scannedPast(2, e.blockNumber);
    expect((await releasesOf(e)).map((r) => r.member).sort()).toEqual([memberAddress(0), memberAddress(1)].sort());
    expect((await health(2)).custody).toMatchObject({ released: 0, lastSkip: { consumer: alice, entryIndex: e.index, reason: "consent-withdrawn" } });
    await prefs(alice, true);
  });

  /** Stops member 2, grants, lets 0 and 1 release, then restarts 2 with mining off and kills it once its release is in the mempool. */
  async function killWithReleasePending(): Promise<AccessEntry> {
    await members.kill(2);
    const e = await grant("QUARTER_HOURLY", 1, 1);
    await releasedBy(e, [0, 1]);
    await rpc("evm_setAutomine", [false]);
    try {
      await members.start(2);
      const count = async (tag: string) => Number(BigInt(await rpc("eth_getTransactionCount", [memberAddress(2), tag])));
      await waitFor("member 2's release in the mempool", async () => (await count("pending")) > (await count("latest")));
      await members.kill(2);
    } catch (x) {
      await rpc("evm_setAutomine", [true]);
      throw x;
    }
    return e;
  }

  it("kill -9 after the release was sent: mined meanwhile, the restarted member does not release again", async () => {
    const e = await killWithReleasePending();
    await rpc("evm_mine", []);
    await rpc("evm_setAutomine", [true]);
    expect(await custody.isReleased(alice, e.index, memberAddress(2))).toBe(true);
    await members.start(2);
    await waitFor("member 2 found its release", async () => (await health(2)).custody?.alreadyReleased === 1);
    await sleep(300);
    expect(perMember(await releasesOf(e))).toEqual({ [memberAddress(0)]: 1, [memberAddress(1)]: 1, [memberAddress(2)]: 1 });
    expect((await health(2)).custody).toMatchObject({ released: 0, alreadyReleased: 1, lastError: null });
  });

  it("kill -9 after the release was sent: lost with the mempool, the restarted member sends it again, once", async () => {
    const e = await killWithReleasePending();
    await rpc("anvil_dropAllTransactions", []);
    await rpc("evm_setAutomine", [true]);
    expect(await custody.isReleased(alice, e.index, memberAddress(2))).toBe(false);
    await members.start(2);
    const rel = await releasedBy(e, [0, 1, 2]);
    await sleep(300);
    expect(perMember(await releasesOf(e))).toEqual({ [memberAddress(0)]: 1, [memberAddress(1)]: 1, [memberAddress(2)]: 1 });
    expect((await reconstruct(e, rel)).get(201)).toEqual(dataKeys.get(201)!.dataKey);
    await waitFor("member 2's custody stats", async () => ((await health(2)).custody?.released ?? 0) >= 1);
    expect((await health(2)).custody).toMatchObject({ released: 1, keysReleased: 2, lastError: null });
  });

  it("released each grant at most once per member over the whole run", async () => {
    const all = await custody.releases({ fromBlock: w.custody!.startBlock });
    const seen = new Set<string>();
    for (const r of all) {
      const k = `${r.consumer}/${r.entryIndex}/${r.member}`;
      expect(seen.has(k)).toBe(false);
      seen.add(k);
    }
    expect(all.length).toBe(3 + 3 + 3 + 2 + 3 + 3);
  });
});
