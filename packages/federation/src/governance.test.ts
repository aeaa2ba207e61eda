// Attack 2 of issue 12: the deployer's admin key bypasses the federation. After the handover the
// timelock (proposed to only by m-of-n members) is the only admin on every chain.
import { Interface, SigningKey, Wallet, ZeroHash, id, parseEther } from "ethers";
import { ContractRevertError, Deployments, startTestChain, type TestChain, type TxSender } from "@sidegrid/chain";
import { PPC__factory, deployBlockPri } from "@sidegrid/blockpri";
import { MeterDataLedger__factory, PolicyMirror__factory, TradeLog__factory, deployBlockSec } from "@sidegrid/blocksec";
import { EnergyAuction__factory, EnergyMarket__factory, MarketMirror__factory, SmartGridToken__factory, deployBlockTst } from "@sidegrid/blocktst";
import { FederationGovernor__factory, SidegridTimelock__factory, TokenPeg__factory, WrappedToken__factory } from "./generated";
import {
  GOVERNANCE_ROLES,
  adminRoles,
  cancelGovernance,
  executeGovernance,
  handOverAdmin,
  proposeGovernance,
  signAll,
  updateMemberSet,
  type GovernanceCall,
} from "./governance";
import { localMemberKeys } from "./member/config";
import { cancelDigest, governorDomain, scheduleDigest } from "./messages";
import { ALL_ABIS, preferencePayload, tmpDir } from "./test-utils/world";
import { wireSidegrid, type WireSidegridReturnType } from "./wiring";

const IDS = [31361, 31362, 31363] as const; // BlockPRI, BlockSEC, BlockTST
const NAMES = ["blockpri", "blocksec", "blocktst"] as const;
const ACCESS = new Interface([
  "function grantRole(bytes32 role, address account)",
  "function hasRole(bytes32 role, address account) view returns (bool)",
]);
const APP_ABIS = [PPC__factory, PolicyMirror__factory, TradeLog__factory, MeterDataLedger__factory, SmartGridToken__factory, MarketMirror__factory, EnergyMarket__factory, EnergyAuction__factory, FederationGovernor__factory, SidegridTimelock__factory, WrappedToken__factory].map((f) => f.abi);

let chains: TestChain[];
let admins: TxSender[];
let keys: SigningKey[];
let fed: WireSidegridReturnType;
let contracts: { name: string; address: string }[][];
let sec: Awaited<ReturnType<typeof deployBlockSec>>;
let tst: Awaited<ReturnType<typeof deployBlockTst>>;
let pri: Awaited<ReturnType<typeof deployBlockPri>>;

async function expectRevert(p: Promise<unknown>, name: string, args: unknown[]): Promise<void> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ContractRevertError);
  const e = err as ContractRevertError;
  const norm = (a: unknown) => (typeof a === "string" ? a.toLowerCase() : a);
  expect({ name: e.errorName, args: e.args.map(norm) }).toEqual({ name, args: args.map(norm) });
}

const gov = (i: number) => fed.governance[i]!;

beforeAll(async () => {
  chains = await Promise.all(IDS.map((chainId) => startTestChain({ chainId })));
  admins = await Promise.all(chains.map(async (c) => (await c.account(0)).sender));
  for (const s of admins) for (const abi of [...ALL_ABIS, ...APP_ABIS]) s.addAbi(abi as never);
  const dir = tmpDir("governance");
  const deps = IDS.map((chainId, i) => Deployments.forNetwork(dir, NAMES[i]!, chainId));
  pri = await deployBlockPri({ sender: admins[0]!, deployments: deps[0]! });
  sec = await deployBlockSec({ sender: admins[1]!, deployments: deps[1]! });
  tst = await deployBlockTst({ sender: admins[2]!, deployments: deps[2]! });
  keys = localMemberKeys(4).map((k) => new SigningKey(k));
  fed = await wireSidegrid({
    blockpri: { sender: admins[0]!, deployments: deps[0]!, ppc: pri.ppc },
    blocksec: { sender: admins[1]!, deployments: deps[1]!, policyMirror: sec.policyMirror, tradeLog: sec.tradeLog },
    blocktst: { sender: admins[2]!, deployments: deps[2]!, market: tst.market, marketMirror: tst.mirror, sgt: tst.token },
    members: keys.slice(0, 3).map((k) => new Wallet(k.privateKey).address),
    threshold: 2,
    fundMembers: parseEther("10"),
    governanceDelaySec: 60,
  });
  contracts = [
    [{ name: "PPC", address: pri.ppc }],
    [
      { name: "PolicyMirror", address: sec.policyMirror },
      { name: "TradeLog", address: sec.tradeLog },
      { name: "MeterDataLedger", address: sec.meterDataLedger },
      { name: "AccessLedger", address: sec.accessLedger },
    ],
    [
      { name: "SmartGridToken", address: tst.token },
      { name: "MarketMirror", address: tst.mirror },
      { name: "EnergyMarket", address: tst.market },
      { name: "EnergyAuction", address: tst.auction },
    ],
  ];
  for (const [i, c] of fed.chains.entries()) {
    contracts[i]!.push({ name: "FederationOutbox", address: c.outbox }, { name: "FederationInbox", address: c.inbox });
    if (c.peg) contracts[i]!.push({ name: "TokenPeg", address: c.peg });
  }
  for (let i = 0; i < 3; i++) {
    const r = await handOverAdmin({ sender: admins[i]!, timelock: gov(i).timelock, contracts: contracts[i]!.map((c) => c.address) });
    expect(r.filter((x) => x.accessControl).every((x) => x.renounced)).toBe(true);
  }
}, 180_000);

afterAll(async () => {
  await Promise.all((chains ?? []).map((c) => c.stop()));
});

describe("handover", () => {
  it("leaves the timelock the only admin everywhere, the deployer regulator only; a second handover sends nothing", async () => {
    const nonces = await Promise.all(chains.map((c, i) => c.provider.getTransactionCount(admins[i]!.address)));
    for (let i = 0; i < 3; i++) await handOverAdmin({ sender: admins[i]!, timelock: gov(i).timelock, contracts: contracts[i]!.map((c) => c.address) });
    expect(await Promise.all(chains.map((c, i) => c.provider.getTransactionCount(admins[i]!.address)))).toEqual(nonces);

    for (let i = 0; i < 3; i++) {
      const rows = await adminRoles({
        provider: chains[i]!.provider,
        contracts: contracts[i]!,
        accounts: { operator: admins[i]!.address, timelock: gov(i).timelock, inbox: fed.chains[i]!.inbox },
      });
      for (const r of rows) {
        expect([r.name, r.holders.DEFAULT_ADMIN_ROLE]).toEqual([r.name, ["timelock"]]);
        // Nobody but the inbox writes consent or mints through the federation role.
        if (r.holders.FEDERATION_ROLE) expect([r.name, r.holders.FEDERATION_ROLE]).toEqual([r.name, ["inbox"]]);
      }
      const regulated = rows.filter((r) => r.holders.REGULATOR_ROLE).map((r) => [r.name, r.holders.REGULATOR_ROLE]);
      expect(regulated).toEqual(
        [
          [["PPC", ["operator"]]],
          [
            ["PolicyMirror", ["operator"]],
            ["MeterDataLedger", ["operator"]],
          ],
          [["EnergyMarket", ["operator"]]],
        ][i],
      );
    }
  });

  it("refuses the former admin's consent write, source change, wSGT mint and MINTER self-grant; the regulator still admits", async () => {
    const [, secAdmin, tstAdmin] = admins as [TxSender, TxSender, TxSender];
    const me = secAdmin.address;
    const send = (s: TxSender, to: string, data: string) => s.sendAndWait({ to, data });
    // PolicyMirror: FEDERATION_ROLE for itself, then "Carol allows QUARTER_HOURLY".
    await expectRevert(send(secAdmin, sec.policyMirror, ACCESS.encodeFunctionData("grantRole", [GOVERNANCE_ROLES.FEDERATION_ROLE, me])), "AccessControlUnauthorizedAccount", [me, ZeroHash]);
    const carol = Wallet.createRandom().address;
    const mirror = PolicyMirror__factory.createInterface();
    await expectRevert(
      send(secAdmin, sec.policyMirror, mirror.encodeFunctionData("onFederatedMessage", [BigInt(IDS[0]), pri.ppc, preferencePayload(carol, 99n, me, true, 4)])),
      "AccessControlUnauthorizedAccount",
      [me, GOVERNANCE_ROLES.FEDERATION_ROLE],
    );
    await expectRevert(send(secAdmin, sec.policyMirror, mirror.encodeFunctionData("setPreferenceSource", [1n, me])), "AccessControlUnauthorizedAccount", [me, ZeroHash]);
    // wSGT on BlockSEC: the peg mints only on a federation message, the token only for the peg.
    const peg = fed.chains[1]!.peg!;
    const wsgt = fed.chains[1]!.wrappedToken!;
    await expectRevert(send(secAdmin, peg, ACCESS.encodeFunctionData("grantRole", [GOVERNANCE_ROLES.FEDERATION_ROLE, me])), "AccessControlUnauthorizedAccount", [me, ZeroHash]);
    await expectRevert(
      send(secAdmin, peg, TokenPeg__factory.createInterface().encodeFunctionData("onFederatedMessage", [BigInt(IDS[2]), fed.chains[2]!.peg!, "0x"])),
      "PegUnauthorizedFederation",
      [me],
    );
    await expectRevert(send(secAdmin, wsgt, WrappedToken__factory.createInterface().encodeFunctionData("mint", [me, 1n])), "WrappedUnauthorized", [me]);
    // SGT: no MINTER_ROLE for itself.
    await expectRevert(send(tstAdmin, tst.token, ACCESS.encodeFunctionData("grantRole", [GOVERNANCE_ROLES.MINTER_ROLE, tstAdmin.address])), "AccessControlUnauthorizedAccount", [tstAdmin.address, ZeroHash]);
    // The regulator still admits a distributor and a gateway (which writes no consent).
    const util = Wallet.createRandom().address;
    await send(secAdmin, sec.policyMirror, mirror.encodeFunctionData("grantRole", [id("DISTRIBUTOR_ROLE"), util]));
    expect(await PolicyMirror__factory.connect(sec.policyMirror, chains[1]!.provider).isDistributor(util)).toBe(true);
    await send(secAdmin, sec.meterDataLedger, MeterDataLedger__factory.createInterface().encodeFunctionData("grantGateway", [Wallet.createRandom().address, util]));
  });
});

describe("FederationGovernor", () => {
  const newMinter = Wallet.createRandom().address;
  const calls = (): GovernanceCall[] => [{ target: tst.token, data: ACCESS.encodeFunctionData("grantRole", [GOVERNANCE_ROLES.MINTER_ROLE, newMinter]) }];

  it("refuses fewer than m members and non-members; m schedule, the timelock waits, then anyone executes; no replay", async () => {
    const s = admins[2]!;
    const g = gov(2);
    const proposal = { targets: [tst.token], values: [0n], payloads: calls().map((c) => c.data), predecessor: ZeroHash, salt: id("grant-minter"), delay: 60n };
    const digest = scheduleDigest(governorDomain(IDS[2], g.governor), proposal);
    const gi = FederationGovernor__factory.createInterface();
    await expectRevert(s.sendAndWait({ to: g.governor, data: gi.encodeFunctionData("schedule", [proposal, signAll([keys[0]!], digest)]) }), "GovernorInsufficientSignatures", [digest, 1n, 2n]);
    const outsider = new Wallet(keys[3]!.privateKey).address;
    await expectRevert(s.sendAndWait({ to: g.governor, data: gi.encodeFunctionData("schedule", [proposal, signAll([keys[0]!, keys[3]!], digest)]) }), "GovernorNotMember", [outsider, 0n]);
    await expectRevert(
      s.sendAndWait({ to: g.governor, data: gi.encodeFunctionData("schedule", [{ ...proposal, delay: 59n }, signAll([keys[0]!, keys[1]!], scheduleDigest(governorDomain(IDS[2], g.governor), { ...proposal, delay: 59n }))]) }),
      "TimelockInsufficientDelay",
      [59n, 60n],
    );

    const p = await proposeGovernance({ sender: s, governor: g.governor, approvers: [keys[0]!, keys[1]!], calls: calls(), salt: proposal.salt });
    expect(p.proposal).toEqual(proposal);
    await expectRevert(executeGovernance({ sender: s, governor: g.governor, proposal: p.proposal }), "TimelockUnexpectedOperationState", [p.id, `0x${"0".repeat(63)}4`]);
    await chains[2]!.increaseTime(61);
    // Executed by a stranger: execution is open, the authority was the signatures.
    const stranger = (await chains[2]!.account(9)).sender;
    stranger.addAbi(SidegridTimelock__factory.abi);
    await executeGovernance({ sender: stranger, governor: g.governor, proposal: p.proposal });
    expect(await SmartGridToken__factory.connect(tst.token, chains[2]!.provider).hasRole(GOVERNANCE_ROLES.MINTER_ROLE, newMinter)).toBe(true);
    // The same signatures cannot schedule again.
    await expectRevert(s.sendAndWait({ to: g.governor, data: gi.encodeFunctionData("schedule", [proposal, signAll([keys[0]!, keys[1]!], digest)]) }), "GovernorDigestUsed", [digest]);
  });

  it("cancels a pending operation only with m signatures", async () => {
    const s = admins[1]!;
    const g = gov(1);
    const evil: GovernanceCall[] = [{ target: sec.policyMirror, data: ACCESS.encodeFunctionData("grantRole", [GOVERNANCE_ROLES.FEDERATION_ROLE, s.address]) }];
    const p = await proposeGovernance({ sender: s, governor: g.governor, approvers: [keys[1]!, keys[2]!], calls: evil });
    const timelock = SidegridTimelock__factory.connect(g.timelock, chains[1]!.provider);
    expect(await timelock.isOperationPending(p.id)).toBe(true);
    const cd = cancelDigest(governorDomain(IDS[1], g.governor), p.id);
    await expectRevert(cancelGovernance({ sender: s, governor: g.governor, approvers: [keys[0]!], id: p.id }), "GovernorInsufficientSignatures", [cd, 1n, 2n]);
    const r = await cancelGovernance({ sender: s, governor: g.governor, approvers: [keys[0]!, keys[2]!], id: p.id });
    const ev = r.logs.map((l) => FederationGovernor__factory.createInterface().parseLog(l)).find((e) => e?.name === "ProposalCancelled");
    expect(ev?.args.toArray()).toEqual([p.id, cd, 2n]);
    expect(await timelock.isOperation(p.id)).toBe(false);
    // The same cancel signatures cannot be used again.
    await expectRevert(cancelGovernance({ sender: s, governor: g.governor, approvers: [keys[0]!, keys[2]!], id: p.id }), "GovernorDigestUsed", [cd]);
    await chains[1]!.increaseTime(61);
    await expectRevert(executeGovernance({ sender: s, governor: g.governor, proposal: p.proposal }), "TimelockUnexpectedOperationState", [p.id, `0x${"0".repeat(63)}4`]);
    expect(await PolicyMirror__factory.connect(sec.policyMirror, chains[1]!.provider).hasRole(GOVERNANCE_ROLES.FEDERATION_ROLE, s.address)).toBe(false);
  });

  it("follows the inbox's member set: after a rotation a removed member's signature no longer counts", async () => {
    const s = admins[0]!;
    const g = gov(0);
    const addr = (k: SigningKey) => new Wallet(k.privateKey).address;
    await updateMemberSet({ sender: s, inbox: fed.chains[0]!.inbox, approvers: [keys[0]!, keys[1]!], members: [addr(keys[0]!), addr(keys[1]!), addr(keys[3]!)], threshold: 2, pauseThreshold: 1, unpauseThreshold: 2 });
    const call: GovernanceCall[] = [{ target: pri.ppc, data: ACCESS.encodeFunctionData("grantRole", [id("AUDITOR_ROLE"), Wallet.createRandom().address]) }];
    await expectRevert(proposeGovernance({ sender: s, governor: g.governor, approvers: [keys[0]!, keys[2]!], calls: call }), "GovernorNotMember", [addr(keys[2]!), 1n]);
    const p = await proposeGovernance({ sender: s, governor: g.governor, approvers: [keys[3]!, keys[0]!], calls: call });
    expect(await SidegridTimelock__factory.connect(g.timelock, chains[0]!.provider).isOperationPending(p.id)).toBe(true);
  });
});
