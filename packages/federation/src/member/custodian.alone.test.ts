// The custodian alone, in this process: three custodians (one per member key, each with its own
// LevelDB and sender) against one anvil that keeps the state of past blocks, as an archive node
// does (the other tests' nodes run with --prune-history and cannot answer for a past block). What
// must hold: consent is judged at the grant's own block; a share that does not open is left out
// and the rest released; a custody section naming other contracts than KeyCustody trusts stops it.
import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { SigningKey, Wallet, hexlify, parseEther, randomBytes, type JsonRpcProvider } from "ethers";
import { ANVIL_MNEMONIC, Deployments, TxSender, anvilBinary, devPrivateKey as devKey, freePort, makeProvider, rpcCall, sleep, stopPid } from "@sidegrid/chain";
import { encodePreferencesPayload, encodeRegistrationPayload } from "@sidegrid/blockpri";
import {
  AccessLedger__factory,
  BlockSecClient,
  KeyCustodyClient,
  PolicyMirror__factory,
  combineShares,
  deriveCustodyKeyPair,
  entryFromLog,
  newEpochDataKey,
  openReleasedShares,
  sealEpochKey,
  type AccessEntry,
  type KeyPublication,
} from "@sidegrid/blocksec";
import { deployFederation } from "../deploy";
import { CustodyMisconfiguredError } from "../errors";
import { TEST_PPC, deployCustodyApps, tmpDir, type CustodyApps } from "../test-utils/world";
import { localMemberKeys, type FederationCustodyConfig } from "./config";
import { Custodian } from "./custodian";
import { MemberStore } from "./store";
import { RelaySender } from "./wire";

const CHAIN_ID = 31771;
const DAY = 86_400;
const day0 = Math.floor(Date.now() / 1000 / DAY) * DAY - 3 * DAY;

interface Running {
  custodian: Custodian;
  store: MemberStore;
  logs: { level: string; msg: string }[];
  errors: unknown[];
}

let dir: string;
let anvil: { url: string; pid: number };
let provider: JsonRpcProvider;
let admin: TxSender;
let utilitySender: TxSender;
let sec: BlockSecClient;
let apps: CustodyApps;
let custody: KeyCustodyClient;
let alice: string;
let utility: string;
let version = 0n;
const memberKeys = localMemberKeys(3);
const members = memberKeys.map((k) => new Wallet(k).address);
const running: Running[] = [];
const requester = deriveCustodyKeyPair(randomBytes(32));
const dataKeys = new Map<number, { dataKey: Uint8Array; commitment: string }>();

/** anvil without --prune-history (and FIFO mempool order, so a block's order is the order sent). */
async function startArchiveNode(): Promise<{ url: string; pid: number }> {
  const port = await freePort();
  const child = spawn(anvilBinary(), ["--port", String(port), "--chain-id", String(CHAIN_ID), "--mnemonic", ANVIL_MNEMONIC, "--order", "fifo"], { stdio: "ignore" });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    try {
      await rpcCall(url, "eth_chainId", [], 500);
      return { url, pid: child.pid! };
    } catch (e) {
      if (i > 200) throw e;
      await sleep(50);
    }
  }
}

async function startCustodian(i: number, key: string, overrides: Partial<FederationCustodyConfig> = {}, minBlockAgeMs?: number): Promise<Running> {
  const store = await MemberStore.open(path.join(dir, `member-${i}-${running.length}`));
  const address = new Wallet(key).address;
  const sender = await RelaySender.create(new SigningKey(key), address, { send: (m, p) => rpcCall(anvil.url, m, p, 15_000) }, BigInt(CHAIN_ID));
  const r: Running = { store, logs: [], errors: [], custodian: undefined as never };
  r.custodian = new Custodian({
    config: { keyCustody: apps.keyCustody, accessLedger: apps.addresses.accessLedger, policyMirror: apps.addresses.policyMirror, startBlock: apps.startBlock, pollMs: 50, ...overrides },
    chainConfirmations: 0,
    ...(minBlockAgeMs !== undefined ? { chainMinBlockAgeMs: minBlockAgeMs } : {}),
    provider,
    privateKey: key,
    address,
    store,
    sender: () => sender,
    log: (level, msg) => r.logs.push({ level, msg }),
    onError: (e) => r.errors.push(e),
  });
  await r.custodian.start();
  running.push(r);
  return r;
}

async function waitFor<T>(what: string, f: () => Promise<T | undefined | false>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await f();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(running.map((r) => r.custodian.stats))}`);
    await sleep(25);
  }
}

async function prefs(allowed: boolean): Promise<void> {
  await sec.deliverPreferences(TEST_PPC.chainId, TEST_PPC.address, prefsPayload(allowed));
}

function prefsPayload(allowed: boolean): string {
  return encodePreferencesPayload({ consumer: alice, version: ++version, prefs: [{ utility, category: "CONSUMPTION", allowed, resolution: allowed ? "QUARTER_HOURLY" : "NONE", expiresAt: 0 }] });
}

beforeAll(async () => {
  dir = tmpDir("custodian-alone");
  anvil = await startArchiveNode();
  provider = makeProvider(anvil.url, CHAIN_ID);
  admin = await TxSender.create(devKey(0), provider);
  utilitySender = await TxSender.create(devKey(1), provider);
  utility = utilitySender.address;
  alice = new Wallet(devKey(3)).address;
  const deployments = Deployments.forNetwork(dir, "blocksec", CHAIN_ID);
  const fed = await deployFederation({ chains: [{ name: "blocksec", sender: admin, deployments }], members, threshold: 2, fundMembers: parseEther("10") });
  apps = await deployCustodyApps({ sender: admin, deployments, inbox: fed.chains[0]!.inbox, utility, gateway: new Wallet(devKey(2)).address });
  sec = new BlockSecClient({ sender: admin, addresses: apps.addresses });
  custody = new KeyCustodyClient({ address: apps.keyCustody, provider });
  await sec.deliverPreferences(TEST_PPC.chainId, TEST_PPC.address, encodeRegistrationPayload({ registration: { consumer: alice, meterId: hexlify(new Uint8Array(32).fill(1)), meterSigner: alice, encryptionKey: hexlify(randomBytes(32)) }, version: ++version }));
  await prefs(true);
  for (const [i, k] of memberKeys.entries()) await startCustodian(i, k);
  const set = await waitFor("custody keys registered", async () => {
    const s = await custody.custodySet();
    return s.keys.every((k) => !/^0x0{64}$/.test(k)) && s;
  });

  // Keys 100 and 101 (DAILY, days 0 and 1) sealed to the registered keys; key 300 (DAILY, day 0)
  // sealed with a stranger's key in member 0's place.
  const gateway = new KeyCustodyClient({ address: apps.keyCustody, provider, sender: await TxSender.create(devKey(2), provider) });
  const pubs: KeyPublication[] = [];
  for (const [keyId, day, keys] of [
    [100, 0, set.keys],
    [101, 1, set.keys],
    [300, 0, [hexlify(deriveCustodyKeyPair(randomBytes(32)).publicKey), ...set.keys.slice(1)]],
  ] as const) {
    const dataKey = newEpochDataKey();
    const { envelope, commitment } = await sealEpochKey({ dataKey, context: { consumer: alice, keyId }, consumerKey: randomBytes(32), custodyKeys: keys, threshold: 2 });
    dataKeys.set(keyId, { dataKey, commitment });
    pubs.push({ consumer: alice, keyId, resolution: "DAILY", epochStart: day0 + day * DAY, epochEnd: day0 + (day + 1) * DAY, commitment, envelope: hexlify(envelope) });
  }
  await gateway.publishKeys(set.setIndex, pubs);
}, 60_000);

afterAll(async () => {
  for (const r of running) {
    await r.custodian.stop();
    await r.store.close();
  }
  provider?.destroy();
  if (anvil) await stopPid(anvil.pid);
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

/** Waits until every custodian in `rs` has scanned past `block`. */
function scannedPast(rs: readonly Running[], block: number): Promise<true> {
  return waitFor(`custodians past block ${block}`, async () => rs.every((r) => r.custodian.stats.cursor >= block) || undefined);
}

describe("custodian, in process, on an archive node", () => {
  it("leaves out a key whose share does not open with its custody key, and releases the rest", async () => {
    const g = await new BlockSecClient({ sender: utilitySender, addresses: apps.addresses }).requestAccess({
      consumer: alice,
      category: "CONSUMPTION",
      resolution: "DAILY",
      from: day0,
      to: day0 + 2 * DAY - 1,
      requesterKey: hexlify(requester.publicKey),
    });
    const e = g.entry;
    const rel = await waitFor("three releases", async () => {
      const r = await custody.releases({ consumer: alice, entryIndex: e.index });
      return r.length === 3 && r;
    });
    const ids = Object.fromEntries(rel.map((r) => [r.member, [...r.keyIds].sort()]));
    expect(ids).toEqual({ [members[0]!]: [100, 101], [members[1]!]: [100, 101, 300], [members[2]!]: [100, 101, 300] });
    expect(running[0]!.logs.some((l) => l.level === "warn" && /does not open/.test(l.msg))).toBe(true);
    // Members 1 and 2 suffice for key 300.
    const shares = rel
      .filter((r) => r.keyIds.includes(300))
      .map((r) => openReleasedShares({ consumer: alice, entryIndex: e.index, keyIds: r.keyIds, shares: r.shares, secretKey: requester.secretKey }).get(300)!);
    expect(await combineShares(shares, 2, dataKeys.get(300)!.commitment)).toEqual(dataKeys.get(300)!.dataKey);
    // A custodian counts its release once it has seen the receipt, which may come after the chain has it.
    await waitFor("each custodian's count of its release", async () => running.slice(0, 3).every((r) => r.custodian.stats.released >= 1) || undefined);
    expect(running.slice(0, 3).map((r) => r.custodian.stats.released)).toEqual([1, 1, 1]);
  });

  it("judges consent at the grant's own block: revoked later in that block, nothing is released", async () => {
    const ledger = AccessLedger__factory.createInterface();
    const mirror = PolicyMirror__factory.createInterface();
    await provider.send("evm_setAutomine", [false]);
    let entry: AccessEntry;
    let revokedAt: { blockNumber: number; index: number };
    try {
      const req = await utilitySender.send({
        to: apps.addresses.accessLedger,
        data: ledger.encodeFunctionData("requestAccess", [alice, 0, 2, day0, day0 + DAY - 1, hexlify(requester.publicKey)]),
        gasLimit: 600_000n,
      });
      const revoke = await admin.send({
        to: apps.addresses.policyMirror,
        data: mirror.encodeFunctionData("onFederatedMessage", [TEST_PPC.chainId, TEST_PPC.address, prefsPayload(false)]),
        gasLimit: 600_000n,
      });
      await provider.send("evm_mine", []);
      const [a, b] = await Promise.all([req.wait(), revoke.wait()]);
      const log = a.logs.find((l) => l.topics[0] === ledger.getEvent("AccessGranted").topicHash)!;
      entry = entryFromLog({ ...log, index: log.logIndex });
      // Same block, the revocation after the grant (log order = transaction order).
      revokedAt = { blockNumber: b.blockNumber, index: b.logs[0]!.logIndex };
      expect(revokedAt.index).toBeGreaterThan(log.logIndex);
    } finally {
      await provider.send("evm_setAutomine", [true]);
    }
    expect(entry.granted).toBe(true);
    expect(revokedAt.blockNumber).toBe(entry.blockNumber);
    const three = running.slice(0, 3);
    await scannedPast(three, entry.blockNumber);
    for (const r of three) expect(r.custodian.stats.lastSkip).toEqual({ consumer: alice, entryIndex: entry.index, reason: "no-consent-at-grant" });
    expect(await custody.releases({ consumer: alice, entryIndex: entry.index })).toEqual([]);
    // The node answered for the past block: no fallback to the ledger's decision.
    expect(three.every((r) => r.logs.every((l) => !/no state of past blocks/.test(l.msg)))).toBe(true);
    await prefs(true);
  });

  it("with minBlockAgeMs, releases nothing for a grant whose block was rolled back before it aged, and releases a grant once its block has aged", async () => {
    // The adversary: a grant that leaves the chain (a reorg, a node restarted from an older state).
    // Shares released for it would open data under a grant no ledger records any more.
    const AGE = 3000;
    for (const r of running.splice(0)) {
      await r.custodian.stop();
      await r.store.close();
    }
    const aged: Awaited<ReturnType<typeof startCustodian>>[] = [];
    for (const [i, k] of memberKeys.entries()) aged.push(await startCustodian(i, k, {}, AGE));
    const head = await provider.getBlockNumber();
    await scannedPast(aged, head); // caught up (that block aged meanwhile), earlier grants handled
    const releasedBefore = aged.map((r) => r.custodian.stats.released);
    const request = async () =>
      new BlockSecClient({ sender: await TxSender.create(devKey(1), provider), addresses: apps.addresses }).requestAccess({
        consumer: alice,
        category: "CONSUMPTION",
        resolution: "DAILY",
        from: day0,
        to: day0 + DAY - 1,
        requesterKey: hexlify(requester.publicKey),
      });

    const snap = await provider.send("evm_snapshot", []);
    const orphan = (await request()).entry;
    await sleep(1500); // half its age: the custodians see it, and wait
    expect(aged.every((r) => r.custodian.stats.cursor < orphan.blockNumber)).toBe(true);
    expect(await provider.send("evm_revert", [snap])).toBe(true);
    // anvil's revert takes its clock back too (later blocks would look 1.5 s older than they are);
    // a reorg's new blocks carry the time they are made: one block at the wall clock sets it right.
    await provider.send("evm_mine", [Math.floor(Date.now() / 1000)]);
    await sleep(AGE + 1500); // past the age the orphan's block would have reached
    expect(await custody.releases({ consumer: alice, entryIndex: orphan.index })).toEqual([]);
    expect(aged.map((r) => r.custodian.stats.released)).toEqual(releasedBefore);

    // The same request again, kept this time: released once its block is AGE old, with no block after it.
    const kept = (await request()).entry;
    expect(kept.index).toBe(orphan.index);
    const minedAt = (await provider.getBlock(kept.blockNumber))!.timestamp * 1000;
    const rel = await waitFor("three releases of the kept grant", async () => {
      const r = await custody.releases({ consumer: alice, entryIndex: kept.index });
      return r.length === 3 && r;
    });
    const releasedIn = await Promise.all(rel.map(async (r) => (await provider.getBlock(r.blockNumber))!.timestamp * 1000));
    for (const t of releasedIn) expect(t - minedAt).toBeGreaterThanOrEqual(AGE - 1000); // whole-second timestamps
    await waitFor("each custodian's count", async () => aged.every((r, i) => r.custodian.stats.released === releasedBefore[i]! + 1) || undefined);
  }, 60_000);

  it("refuses to release when its custody section names another PolicyMirror than KeyCustody's", async () => {
    const wrong = Wallet.createRandom().address;
    const r = await startCustodian(9, memberKeys[0]!, { policyMirror: wrong });
    await waitFor("the misconfiguration reported", async () => r.errors.length > 0);
    const e = r.errors[0] as CustodyMisconfiguredError;
    expect(e).toBeInstanceOf(CustodyMisconfiguredError);
    expect([e.code, e.field, e.configured, e.onChain]).toEqual(["CUSTODY_MISCONFIGURED", "policyMirror", wrong, apps.addresses.policyMirror]);
    expect(r.custodian.stats).toMatchObject({ released: 0, alreadyReleased: 0, skipped: 0, cursor: apps.startBlock - 1, lastError: e.shortMessage });
    expect(r.logs.filter((l) => l.level === "error")).toHaveLength(1);
  });
});
