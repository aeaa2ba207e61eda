import fs from "node:fs";
import path from "node:path";
import { MaxUint256, parseEther } from "ethers";
import { ContractRevertError, type TxReceipt, type TxSender } from "@sidegrid/chain";
import { TestToken__factory, TokenPeg__factory, WrappedToken__factory } from "./generated";
import { FEDERATION_ROLE } from "./deploy";
import { decodePegPayload } from "./messages";
import {
  ALL_ABIS,
  deliverCall,
  eventsOf,
  inboxIface,
  pegIface,
  relayReceipt,
  sentMessages,
  sign,
  startWorld,
  tokenIface,
  type World,
} from "./test-utils/world";

const LIMIT = parseEther("100");
const HOME = 2;
let w: World;
let users: TxSender[][]; // users[chain][u]
let relayers: TxSender[];
let alice: string;
let bob: string;

async function expectRevert(p: Promise<unknown>, name: string, args: unknown[]): Promise<void> {
  const e = await p.then(() => undefined, (x: unknown) => x);
  expect(e).toBeInstanceOf(ContractRevertError);
  expect((e as ContractRevertError).errorName).toBe(name);
  const norm = (a: unknown) => (typeof a === "string" ? a.toLowerCase() : a);
  expect((e as ContractRevertError).args.map(norm)).toEqual(args.map(norm));
}

function peg(i: number) {
  return TokenPeg__factory.connect(w.fed.chains[i]!.peg!, w.chains[i]!.provider);
}
function wrapped(i: number) {
  return WrappedToken__factory.connect(w.fed.chains[i]!.wrappedToken!, w.chains[i]!.provider);
}
const sgt = () => TestToken__factory.connect(w.token, w.chains[HOME]!.provider);

function lock(u: number, amount: bigint, dst: number, recipient: string): Promise<TxReceipt> {
  return users[HOME]![u]!.sendAndWait({ to: w.fed.chains[HOME]!.peg!, data: pegIface.encodeFunctionData("lock", [amount, w.ids[dst]!, recipient]) });
}
function burn(chain: number, u: number, amount: bigint, recipient: string): Promise<TxReceipt> {
  return users[chain]![u]!.sendAndWait({ to: w.fed.chains[chain]!.peg!, data: pegIface.encodeFunctionData("burn", [amount, recipient]) });
}

beforeAll(async () => {
  w = await startWorld({ chainIds: [31311, 31312, 31313], pegDailyLimit: LIMIT });
  users = await Promise.all(w.chains.map(async (c) => Promise.all([1, 2].map(async (i) => (await c.account(i)).sender))));
  relayers = await Promise.all(w.chains.map(async (c) => (await c.account(9)).sender));
  for (const s of [...users.flat(), ...relayers]) for (const abi of ALL_ABIS) s.addAbi(abi as never);
  alice = users[0]![0]!.address;
  bob = users[0]![1]!.address;
  for (const u of users[HOME]!) {
    await u.sendAndWait({ to: w.token, data: tokenIface.encodeFunctionData("mint", [u.address, parseEther("1000")]) });
    await u.sendAndWait({ to: w.token, data: tokenIface.encodeFunctionData("approve", [w.fed.chains[HOME]!.peg!, MaxUint256]) });
  }
});

afterAll(() => w.stop());

describe("TokenPeg", () => {
  it("is deployed home on BlockTST with wrapped tokens elsewhere, paired and authorised", async () => {
    expect(await peg(HOME).isHome()).toBe(true);
    expect(await peg(0).isHome()).toBe(false);
    expect((await peg(HOME).token()).toLowerCase()).toBe(w.token.toLowerCase());
    expect(await wrapped(0).symbol()).toBe("wSGT");
    expect(await wrapped(1).decimals()).toBe(18n);
    expect(await peg(HOME).peerOf(w.ids[0]!)).toBe(w.fed.chains[0]!.peg);
    expect(await peg(1).peerOf(w.ids[HOME]!)).toBe(w.fed.chains[HOME]!.peg);
    expect(await peg(1).hasRole(FEDERATION_ROLE, w.fed.chains[1]!.inbox)).toBe(true);
    expect(await peg(1).dailyLimit(w.ids[HOME]!)).toBe(LIMIT);
  });

  it("locks at home and mints the same amount for the recipient on the destination", async () => {
    const amount = parseEther("30");
    const r = await lock(0, amount, 0, bob);
    const [ev] = eventsOf(r, pegIface, "Locked");
    expect(ev!.args.amount).toBe(amount);
    const [m] = sentMessages(r, w.ids[HOME]!, w.fed.chains[HOME]!.outbox);
    expect(decodePegPayload(m!.payload)).toEqual({ kind: 16, from: users[HOME]![0]!.address, recipient: bob, amount });
    expect(await peg(HOME).lockedFor(w.ids[0]!)).toBe(amount);
    const [d] = await relayReceipt(w, HOME, r, relayers);
    const paid = eventsOf(d!, pegIface, "InboundPaid");
    expect(paid.map((e) => [e.args.srcChainId, e.args.recipient, e.args.amount, e.args.heldId])).toEqual([[w.ids[HOME], bob, amount, 0n]]);
    expect(await wrapped(0).balanceOf(bob)).toBe(amount);
    expect(await wrapped(0).totalSupply()).toBe(amount);
  });

  it("burns on the remote chain and releases the escrow at home", async () => {
    const before = await sgt().balanceOf(alice);
    const amount = parseEther("10");
    const r = await burn(0, 1, amount, alice);
    expect(await wrapped(0).balanceOf(bob)).toBe(parseEther("20"));
    await relayReceipt(w, 0, r, relayers);
    expect(await sgt().balanceOf(alice)).toBe(before + amount);
    expect(await peg(HOME).lockedFor(w.ids[0]!)).toBe(parseEther("20"));
    expect(await wrapped(0).totalSupply()).toBe(parseEther("20"));
  });

  it("holds transfers above the 24 h window and lets anyone release them once there is room", async () => {
    const r1 = await lock(0, parseEther("60"), 1, alice);
    const r2 = await lock(0, parseEther("60"), 1, alice);
    await relayReceipt(w, HOME, r1, relayers);
    const [d2] = await relayReceipt(w, HOME, r2, relayers);
    const [held] = eventsOf(d2!, pegIface, "InboundHeld");
    const heldId = held!.args.heldId as bigint;
    expect(held!.args.amount).toBe(parseEther("60"));
    expect(await wrapped(1).balanceOf(alice)).toBe(parseEther("60"));
    expect(await peg(1).heldFor(w.ids[HOME]!)).toBe(parseEther("60"));
    expect(await peg(1).available(w.ids[HOME]!)).toBe(parseEther("40"));
    const stranger = relayers[1]!;
    await expectRevert(
      stranger.sendAndWait({ to: w.fed.chains[1]!.peg!, data: pegIface.encodeFunctionData("releaseHeld", [heldId]) }),
      "PegWindowFull",
      [w.ids[HOME], parseEther("60"), parseEther("40")],
    );
    // 23 h later the first transfer still counts; after 24 h it has left the window.
    await w.chains[1]!.increaseTime(23 * 3600);
    expect(await peg(1).available(w.ids[HOME]!)).toBe(parseEther("40"));
    await w.chains[1]!.increaseTime(3600);
    expect(await peg(1).available(w.ids[HOME]!)).toBe(LIMIT);
    const rr = await stranger.sendAndWait({ to: w.fed.chains[1]!.peg!, data: pegIface.encodeFunctionData("releaseHeld", [heldId]) });
    expect(eventsOf(rr, pegIface, "InboundPaid")[0]!.args.heldId).toBe(heldId);
    expect(await wrapped(1).balanceOf(alice)).toBe(parseEther("120"));
    expect(await peg(1).heldFor(w.ids[HOME]!)).toBe(0n);
    expect(await peg(1).available(w.ids[HOME]!)).toBe(parseEther("40"));
    await expectRevert(stranger.sendAndWait({ to: w.fed.chains[1]!.peg!, data: pegIface.encodeFunctionData("releaseHeld", [heldId]) }), "PegUnknownHeldTransfer", [heldId]);
  });

  it("never releases more for a chain than is locked for it, whatever that chain says", async () => {
    // A compromised chain 1 makes the federation sign a burn it never had: the accountant refuses.
    const locked = await peg(HOME).lockedFor(w.ids[1]!);
    const forged = {
      srcChainId: w.ids[1]!,
      srcSender: w.fed.chains[1]!.peg!,
      nonce: 9999n,
      dstChainId: w.ids[HOME]!,
      dstContract: w.fed.chains[HOME]!.peg!,
      payload: pegIface.getAbiCoder().encode(["uint8", "address", "address", "uint256"], [16, alice, alice, locked + 1n]),
    };
    const inbox = w.fed.chains[HOME]!.inbox;
    const r = await relayers[HOME]!.sendAndWait(deliverCall(inbox, [forged], [sign(w.signers.slice(0, 2), w.ids[HOME]!, inbox, forged)]));
    const [failed] = eventsOf(r, inboxIface, "MessageFailed");
    const reason = pegIface.parseError(failed!.args.reason as string);
    expect(reason?.name).toBe("PegAccountantExceeded");
    expect([...reason!.args]).toEqual([w.ids[1], locked + 1n, locked]);
    expect(await peg(HOME).lockedFor(w.ids[1]!)).toBe(locked);
    expect(await sgt().balanceOf(w.fed.chains[HOME]!.peg!)).toBe((await peg(HOME).lockedFor(w.ids[0]!)) + locked);
  });

  it("refuses a message from anything but the peer peg, and callers other than the inbox", async () => {
    const inbox = w.fed.chains[0]!.inbox;
    const fake = {
      srcChainId: w.ids[HOME]!,
      srcSender: alice,
      nonce: 777n,
      dstChainId: w.ids[0]!,
      dstContract: w.fed.chains[0]!.peg!,
      payload: pegIface.getAbiCoder().encode(["uint8", "address", "address", "uint256"], [16, alice, alice, 1n]),
    };
    const r = await relayers[0]!.sendAndWait(deliverCall(inbox, [fake], [sign(w.signers.slice(0, 2), w.ids[0]!, inbox, fake)]));
    const reason = pegIface.parseError(eventsOf(r, inboxIface, "MessageFailed")[0]!.args.reason as string);
    expect(reason?.name).toBe("PegUnknownPeer");
    expect([...reason!.args]).toEqual([w.ids[HOME], alice]);
    await expectRevert(
      users[0]![0]!.sendAndWait({ to: w.fed.chains[0]!.peg!, data: pegIface.encodeFunctionData("onFederatedMessage", [w.ids[HOME]!, w.fed.chains[HOME]!.peg!, fake.payload]) }),
      "PegUnauthorizedFederation",
      [alice],
    );
    await expectRevert(
      users[0]![0]!.sendAndWait({ to: w.fed.chains[0]!.wrappedToken!, data: WrappedToken__factory.createInterface().encodeFunctionData("mint", [alice, 1n]) }),
      "WrappedUnauthorized",
      [alice],
    );
  });

  it("validates lock and burn", async () => {
    await expectRevert(lock(0, LIMIT + 1n, 0, bob), "PegAmountAboveLimit", [LIMIT + 1n, LIMIT]);
    await expectRevert(lock(0, 0n, 0, bob), "PegZeroAmount", []);
    await expectRevert(lock(0, 1n, 0, "0x0000000000000000000000000000000000000000"), "PegInvalidRecipient", ["0x0000000000000000000000000000000000000000"]);
    await expectRevert(lock(0, 1n, HOME, bob), "PegNoPeer", [w.ids[HOME]]);
    await expectRevert(users[0]![0]!.sendAndWait({ to: w.fed.chains[0]!.peg!, data: pegIface.encodeFunctionData("lock", [1n, w.ids[1]!, bob]) }), "PegNotHome", []);
    await expectRevert(users[HOME]![0]!.sendAndWait({ to: w.fed.chains[HOME]!.peg!, data: pegIface.encodeFunctionData("burn", [1n, bob]) }), "PegNotRemote", []);
    await expectRevert(burn(0, 0, parseEther("1"), alice), "ERC20InsufficientBalance", [alice, 0n, parseEther("1")]);
    await expectRevert(
      users[0]![0]!.sendAndWait({ to: w.fed.chains[0]!.peg!, data: pegIface.encodeFunctionData("setPeer", [w.ids[1]!, bob, 1n]) }),
      "PegUnauthorizedAdmin",
      [alice],
    );
    await expectRevert(
      w.admins[0]!.sendAndWait({ to: w.fed.chains[0]!.peg!, data: pegIface.encodeFunctionData("setPeer", [w.ids[1]!, bob, 1n]) }),
      "PegInvalidPeer",
      [w.ids[1], bob],
    );
  });

  it("measures peg gas", async () => {
    const l = await lock(1, parseEther("1"), 0, alice);
    const [mint] = await relayReceipt(w, HOME, l, relayers);
    const b = await burn(0, 0, parseEther("1"), alice);
    const [release] = await relayReceipt(w, 0, b, relayers);
    const figures = { lock: Number(l.gasUsed), burn: Number(b.gasUsed), deliver_mint: Number(mint!.gasUsed), deliver_release: Number(release!.gasUsed) };
    console.log(`peg gas: ${JSON.stringify(figures)}`);
    const file = path.join(__dirname, "..", "bench-results", "gas.json");
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const prev = fs.existsSync(file) ? (JSON.parse(fs.readFileSync(file, "utf8")) as Record<string, unknown>) : {};
    fs.writeFileSync(file, JSON.stringify({ ...prev, peg: figures }, null, 2));
    expect(figures.lock).toBeGreaterThan(0);
  });
});
