// SGT: an OpenZeppelin ERC-20 whose supply grows only through the peg's minter role and, on local
// chains, a capped faucet.
import { BlockTstClient } from "./client";
import { ONE, ROLES } from "./constants";
import { revertOf, setupFixture, type Fixture } from "./test-utils/fixture";

let f: Fixture;
let admin: BlockTstClient;
let alice: BlockTstClient;
let peg: BlockTstClient;

beforeAll(async () => {
  f = await setupFixture(31210, { minters: [] });
  [admin, alice, peg] = await Promise.all([f.client(0), f.client(1), f.client(2)]);
});

afterAll(() => f.stop());

describe("SmartGridToken", () => {
  it("is SGT with 18 decimals and starts with no supply", async () => {
    expect([await admin.token.name(), await admin.token.symbol(), await admin.token.decimals()]).toEqual(["Smart Grid Token", "SGT", 18n]);
    expect(await admin.token.totalSupply()).toBe(0n);
  });

  it("lets each account draw up to the faucet cap on a local chain, then refuses with what is left", async () => {
    expect(await admin.token.faucetCap()).toBe(10_000n * ONE);
    await alice.faucet(9_000n * ONE);
    expect(await alice.balanceOf()).toBe(9_000n * ONE);
    expect(await revertOf(() => alice.faucet(2_000n * ONE))).toEqual({ errorName: "SGTFaucetCapExceeded", args: [alice.address, 2_000n * ONE, 1_000n * ONE] });
    await alice.faucet(1_000n * ONE);
    expect(await admin.token.faucetDrawn(alice.address)).toBe(10_000n * ONE);
    expect(await revertOf(() => alice.faucet(0n))).toEqual({ errorName: "SGTZeroAmount", args: [] });
  });

  it("turns the faucet off at cap 0 (the production setting)", async () => {
    const iface = admin.token.interface;
    await admin.sender.sendAndWait({ to: f.addresses.token, data: iface.encodeFunctionData("setFaucetCap", [0n]) });
    expect(await revertOf(() => peg.faucet(ONE))).toEqual({ errorName: "SGTFaucetDisabled", args: [] });
    expect(await revertOf(() => alice.sender.sendAndWait({ to: f.addresses.token, data: iface.encodeFunctionData("setFaucetCap", [ONE]) }))).toEqual({
      errorName: "AccessControlUnauthorizedAccount",
      args: [alice.address, ROLES.DEFAULT_ADMIN],
    });
    await admin.sender.sendAndWait({ to: f.addresses.token, data: iface.encodeFunctionData("setFaucetCap", [10_000n * ONE]) });
  });

  it("mints only for MINTER_ROLE, which the admin grants to the peg", async () => {
    expect(await revertOf(() => peg.mint(alice.address, ONE))).toEqual({ errorName: "AccessControlUnauthorizedAccount", args: [peg.address, ROLES.MINTER] });
    expect(await revertOf(() => admin.mint(alice.address, ONE))).toEqual({ errorName: "AccessControlUnauthorizedAccount", args: [admin.address, ROLES.MINTER] });
    const iface = admin.token.interface;
    await admin.sender.sendAndWait({ to: f.addresses.token, data: iface.encodeFunctionData("grantRole", [ROLES.MINTER, peg.address]) });
    const before = await admin.token.totalSupply();
    const r = await peg.mint(alice.address, 5n * ONE);
    const ev = r.logs.map((l) => iface.parseLog(l)).find((e) => e?.name === "Minted")!;
    expect([...ev.args]).toEqual([peg.address, alice.address, 5n * ONE]);
    expect(await admin.token.totalSupply()).toBe(before + 5n * ONE);
    expect(await revertOf(() => peg.mint(alice.address, 0n))).toEqual({ errorName: "SGTZeroAmount", args: [] });
  });
});
