// deployBlockTst: idempotent, wires every role, and changes only what differs on a re-run.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Wallet, getAddress } from "ethers";
import { Deployments, devPrivateKey, startTestChain, type TestChain } from "@sidegrid/chain";
import { ONE, ROLES } from "./constants";
import { BLOCKTST_DEFAULTS, deployBlockTst } from "./deploy";
import { EnergyAuction__factory, EnergyMarket__factory, MarketMirror__factory, SmartGridToken__factory } from "./generated";
import { DEFAULT_PRICE_PARAMS } from "./price";

let chain: TestChain;
let dir: string;

beforeAll(async () => {
  chain = await startTestChain({ chainId: 31207 });
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "blocktst-deploy-"));
});

afterAll(async () => {
  await chain.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

const addr = (i: number) => new Wallet(devPrivateKey(i)).address;

describe("deployBlockTst", () => {
  it("deploys the four contracts and makes the deployer admin, oracle and relayer on a local chain", async () => {
    const { sender } = await chain.account(0);
    const deployments = Deployments.forNetwork(dir, "blocktst", 31207);
    const r = await deployBlockTst({ sender, deployments, distributors: [addr(1)], blockpri: { chainId: 31001, ppc: addr(8) } });
    expect(r.deployed).toEqual({ token: true, mirror: true, market: true, auction: true });
    const p = chain.provider;
    const market = EnergyMarket__factory.connect(r.market, p);
    const mirror = MarketMirror__factory.connect(r.mirror, p);
    const token = SmartGridToken__factory.connect(r.token, p);
    const auction = EnergyAuction__factory.connect(r.auction, p);
    expect(await market.hasRole(ROLES.AUCTION, r.auction)).toBe(true);
    expect(await market.hasRole(ROLES.ORACLE, sender.address)).toBe(true);
    expect(await market.hasRole(ROLES.DISTRIBUTOR, addr(1))).toBe(true);
    expect(await mirror.hasRole(ROLES.FEDERATION, sender.address)).toBe(true);
    expect(await mirror.source()).toEqual([31001n, addr(8)]);
    expect(await token.faucetCap()).toBe(BLOCKTST_DEFAULTS.localFaucetCap);
    expect(await token.hasRole(ROLES.MINTER, sender.address)).toBe(false);
    expect([await market.token(), await market.mirror(), await auction.market()]).toEqual([r.token, r.mirror, r.market]);
    const pp = await market.priceParams();
    expect([pp.base, pp.k, pp.discount]).toEqual([DEFAULT_PRICE_PARAMS.base, DEFAULT_PRICE_PARAMS.k, DEFAULT_PRICE_PARAMS.discount]);
    expect(await auction.gridTariff()).toEqual([BLOCKTST_DEFAULTS.gridPrice, sender.address]);
    expect(getAddress(deployments.address("EnergyMarket"))).toBe(r.market);

    const again = await deployBlockTst({ sender, deployments, distributors: [addr(1)], blockpri: { chainId: 31001, ppc: addr(8) } });
    expect(again).toMatchObject({ token: r.token, mirror: r.mirror, market: r.market, auction: r.auction, configured: 0 });
    expect(again.deployed).toEqual({ token: false, mirror: false, market: false, auction: false });
  });

  it("changes parameters in place on a re-run without redeploying", async () => {
    const { sender } = await chain.account(0);
    const deployments = Deployments.forNetwork(dir, "blocktst", 31207);
    const r = await deployBlockTst({
      sender,
      deployments,
      distributors: [addr(1)],
      blockpri: { chainId: 31001, ppc: addr(8) },
      priceParams: { ...DEFAULT_PRICE_PARAMS, k: ONE / 4n },
      gridPrice: ONE,
      gridAccount: addr(9),
      minters: [addr(7)],
    });
    expect(r.deployed).toEqual({ token: false, mirror: false, market: false, auction: false });
    expect(r.configured).toBe(3);
    expect((await EnergyMarket__factory.connect(r.market, chain.provider).priceParams()).k).toBe(ONE / 4n);
    expect(await EnergyAuction__factory.connect(r.auction, chain.provider).gridTariff()).toEqual([ONE, addr(9)]);
    expect(await SmartGridToken__factory.connect(r.token, chain.provider).hasRole(ROLES.MINTER, addr(7))).toBe(true);
  });

  it("leaves the faucet off on a non-local network and hands admin to the regulator", async () => {
    const { sender } = await chain.account(5);
    const deployments = Deployments.forNetwork(dir, "prod-like", 31207);
    const r = await deployBlockTst({ sender, deployments, local: false, admin: addr(6), oracle: addr(4), relayer: addr(3) });
    const p = chain.provider;
    expect(await SmartGridToken__factory.connect(r.token, p).faucetCap()).toBe(0n);
    const market = EnergyMarket__factory.connect(r.market, p);
    expect(await market.hasRole(ROLES.DEFAULT_ADMIN, getAddress(addr(6)))).toBe(true);
    expect(await market.hasRole(ROLES.ORACLE, addr(4))).toBe(true);
    expect(await market.hasRole(ROLES.ORACLE, sender.address)).toBe(false);
    expect(await MarketMirror__factory.connect(r.mirror, p).hasRole(ROLES.FEDERATION, addr(3))).toBe(true);
    expect(await EnergyAuction__factory.connect(r.auction, p).gridTariff()).toEqual([BLOCKTST_DEFAULTS.gridPrice, addr(6)]);
  });
});
