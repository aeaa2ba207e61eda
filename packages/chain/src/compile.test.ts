import fs from "node:fs";
import path from "node:path";
import { compileContracts } from "./compile";
import { CompileError } from "./errors";
import { compileSample } from "./test-fixtures";

describe("compileContracts", () => {
  it("compiles a contract importing OpenZeppelin and writes artifacts and TypeChain types", async () => {
    const { artifact, outDir, typesDir } = await compileSample(true);
    expect(artifact.sourceName).toBe("Sample.sol");
    expect(artifact.compiler).toMatch(/^0\.8\.37\+/);
    expect(artifact.bytecode).toMatch(/^0x60[0-9a-f]+$/);
    const names = (artifact.abi as { name?: string; type: string }[]).map((f) => `${f.type}:${f.name ?? ""}`);
    expect(names).toEqual(expect.arrayContaining(["function:transfer", "error:SampleTooMuch", "function:storeMany"]));
    // Only the package's own contracts get artifacts (OZ's ERC20 is compiled but not emitted).
    expect(fs.readdirSync(outDir).filter((f) => f.endsWith(".json") && !f.startsWith(".")).sort()).toEqual(["SampleToken.json"]);
    const factory = fs.readFileSync(path.join(typesDir, "factories", "SampleToken__factory.ts"), "utf8");
    expect(factory).toContain("class SampleToken__factory extends ContractFactory");
  });

  it("serves an unchanged build from its cache and recompiles after a change", async () => {
    const { outDir } = await compileSample();
    const srcDir = path.join(outDir, "..", "src");
    fs.mkdirSync(srcDir);
    fs.writeFileSync(path.join(srcDir, "A.sol"), "// SPDX-License-Identifier: MIT\npragma solidity ^0.8.24;\ncontract A { uint256 public x = 1; }\n");
    const first = await compileContracts({ contractsDir: srcDir, outDir: path.join(outDir, "a") });
    const second = await compileContracts({ contractsDir: srcDir, outDir: path.join(outDir, "a") });
    expect([first.cached, second.cached]).toEqual([false, true]);
    fs.writeFileSync(path.join(srcDir, "A.sol"), "// SPDX-License-Identifier: MIT\npragma solidity ^0.8.24;\ncontract A { uint256 public x = 2; }\n");
    const third = await compileContracts({ contractsDir: srcDir, outDir: path.join(outDir, "a") });
    expect(third.cached).toBe(false);
    expect(third.artifacts[0]!.bytecode).not.toBe(first.artifacts[0]!.bytecode);
  });

  it("reports solc errors as a CompileError with the messages", async () => {
    const { outDir } = await compileSample();
    const srcDir = path.join(outDir, "..", "bad");
    fs.mkdirSync(srcDir);
    fs.writeFileSync(path.join(srcDir, "B.sol"), "pragma solidity ^0.8.24;\ncontract B { function f() public { undefinedThing(); } }\n");
    const err = await compileContracts({ contractsDir: srcDir, outDir: path.join(outDir, "b") }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CompileError);
    expect((err as CompileError).code).toBe("COMPILE_FAILED");
    expect((err as CompileError).errors.join("\n")).toContain("undefinedThing");
  });
});
