// Shared by this package's tests: compiles the Sample fixture once per test file into a temp dir.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { compileContracts, type ContractArtifact } from "./compile";

export async function compileSample(withTypes = false): Promise<{ artifact: ContractArtifact; outDir: string; typesDir: string }> {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "sidegrid-chain-"));
  const outDir = path.join(tmp, "artifacts");
  const typesDir = path.join(tmp, "types");
  const r = await compileContracts({
    contractsDir: path.join(__dirname, "..", "test-contracts"),
    outDir,
    ...(withTypes ? { typesOutDir: typesDir } : {}),
    resolveFrom: path.join(__dirname, ".."),
  });
  const artifact = r.artifacts.find((a) => a.contractName === "SampleToken");
  if (!artifact) throw new Error("SampleToken artifact missing");
  return { artifact, outDir, typesDir };
}
