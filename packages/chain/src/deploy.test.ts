import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Deployments, deployContract } from "./deploy";
import { compileSample } from "./test-fixtures";
import { startTestChain, type TestChain } from "./testing";
import type { ContractArtifact } from "./compile";

describe("deployContract", () => {
  let chain: TestChain;
  let artifact: ContractArtifact;
  let dir: string;
  beforeAll(async () => {
    chain = await startTestChain({ chainId: 31902 });
    ({ artifact } = await compileSample());
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "sidegrid-deploy-"));
  });
  afterAll(() => chain.stop());

  it("records the address in deployments/<network>.json and does not redeploy on a second run", async () => {
    const { sender } = await chain.account(0);
    const deployments = Deployments.forNetwork(dir, "blockpri", 31902);
    const first = await deployContract({ sender, deployments, artifact, args: [7n] });
    const nonceAfterFirst = await chain.provider.getTransactionCount(sender.address);
    const second = await deployContract({ sender, deployments, artifact, args: [7n] });
    expect(first.deployed).toBe(true);
    expect(second.deployed).toBe(false);
    expect(second.address).toBe(first.address);
    expect(await chain.provider.getTransactionCount(sender.address)).toBe(nonceAfterFirst);
    const file = JSON.parse(fs.readFileSync(path.join(dir, "blockpri.json"), "utf8"));
    expect(file).toMatchObject({ network: "blockpri", chainId: 31902, contracts: { SampleToken: { address: first.address, args: ["7"] } } });
  });

  it("redeploys when the constructor arguments change or the recorded code is gone", async () => {
    const { sender } = await chain.account(0);
    const deployments = Deployments.forNetwork(dir, "other", 31902);
    const a = await deployContract({ sender, deployments, artifact, args: [1n] });
    const b = await deployContract({ sender, deployments, artifact, args: [2n] });
    expect(b.deployed).toBe(true);
    expect(b.address).not.toBe(a.address);
    // A record from a chain that was reset (no code at the address) is not trusted.
    deployments.set("SampleToken", { ...b.record, address: "0x000000000000000000000000000000000000dEaD" });
    const c = await deployContract({ sender, deployments, artifact, args: [2n] });
    expect(c.deployed).toBe(true);
  });
});
