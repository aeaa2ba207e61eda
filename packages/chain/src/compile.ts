import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { CompileError } from "./errors";

// solc-js has no type declarations; this is the slice of its API we use.
interface SolcModule {
  compile(input: string, callbacks?: { import: (p: string) => { contents: string } | { error: string } }): string;
  version(): string;
}

/** Compiler settings are pinned so every build of a source produces the same bytecode. */
export const SOLC_SETTINGS = {
  optimizer: { enabled: true, runs: 200 },
  viaIR: false,
  evmVersion: "cancun",
} as const;

export interface ContractArtifact {
  contractName: string;
  sourceName: string;
  abi: unknown[];
  bytecode: string;
  deployedBytecode: string;
  compiler: string;
}

export interface CompileContractsParameters {
  /** Folder holding the package's own `.sol` files (searched recursively). */
  contractsDir: string;
  /** Where `<Contract>.json` artifacts are written. */
  outDir: string;
  /** Where TypeChain (ethers-v6 target) writes typed contract classes; omitted = no types. */
  typesOutDir?: string;
  /** Folder from which `node_modules` imports (OpenZeppelin, sibling packages) are resolved. */
  resolveFrom?: string;
  /** Skip the cache and compile even if nothing changed. */
  force?: boolean;
}

export interface CompileContractsReturnType {
  artifacts: ContractArtifact[];
  cached: boolean;
  solcVersion: string;
}

let solcInstance: SolcModule | undefined;
function solc(): SolcModule {
  // Loaded lazily: requiring solc-js costs ~0.3 s and most callers only read artifacts.
  solcInstance ??= require("solc") as SolcModule;
  return solcInstance;
}

function listSol(dir: string): string[] {
  const out: string[] = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...listSol(p));
    else if (e.name.endsWith(".sol")) out.push(p);
  }
  return out.sort();
}

/** Finds `import "pkg/path.sol"` in the nearest node_modules above `from`. */
export function resolveImport(importPath: string, from: string): string | undefined {
  let dir = path.resolve(from);
  for (;;) {
    const candidate = path.join(dir, "node_modules", importPath);
    if (fs.existsSync(candidate)) return candidate;
    const parent = path.dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

/**
 * Compiles every contract under `contractsDir` with the pinned solc-js through the standard JSON
 * interface, writes one artifact per contract and, optionally, TypeChain ethers-v6 types.
 * Results are cached by a hash of all sources read (imports included) and the settings.
 *
 * @example
 * await compileContracts({ contractsDir: "contracts", outDir: "artifacts", typesOutDir: "src/generated" });
 */
export async function compileContracts(params: CompileContractsParameters): Promise<CompileContractsReturnType> {
  const contractsDir = path.resolve(params.contractsDir);
  const outDir = path.resolve(params.outDir);
  const resolveFrom = path.resolve(params.resolveFrom ?? path.dirname(contractsDir));
  const files = listSol(contractsDir);
  if (files.length === 0) throw new CompileError([`no .sol files under ${contractsDir}`]);

  const sources: Record<string, { content: string }> = {};
  for (const f of files) {
    sources[path.relative(contractsDir, f).split(path.sep).join("/")] = { content: fs.readFileSync(f, "utf8") };
  }
  const input = {
    language: "Solidity",
    sources,
    settings: {
      ...SOLC_SETTINGS,
      outputSelection: { "*": { "*": ["abi", "evm.bytecode.object", "evm.deployedBytecode.object"] } },
    },
  };

  // Cache key: our sources + every imported file's content + settings + compiler version.
  const hash = createHash("sha256");
  hash.update(JSON.stringify(input));
  const imported = new Map<string, string>();
  const findImports = (p: string): { contents: string } | { error: string } => {
    const local = path.join(contractsDir, p);
    const resolved = fs.existsSync(local) ? local : resolveImport(p, resolveFrom);
    if (!resolved) return { error: `import not found: ${p} (looked in node_modules above ${resolveFrom})` };
    const contents = fs.readFileSync(resolved, "utf8");
    imported.set(p, contents);
    return { contents };
  };
  // Pre-scan imports transitively so the cache key covers them without running solc.
  const scanQueue = Object.entries(sources).map(([name, s]) => [name, s.content] as const);
  const seen = new Set(Object.keys(sources));
  while (scanQueue.length > 0) {
    const [name, content] = scanQueue.pop()!;
    for (const m of content.matchAll(/import\s+(?:[^"']*from\s+)?["']([^"']+)["']/g)) {
      const raw = m[1]!;
      const spec = raw.startsWith(".") ? path.posix.normalize(path.posix.join(path.posix.dirname(name), raw)) : raw;
      if (seen.has(spec)) continue;
      seen.add(spec);
      const r = findImports(spec);
      if ("contents" in r) scanQueue.push([spec, r.contents]);
    }
  }
  for (const k of [...imported.keys()].sort()) hash.update(k).update(imported.get(k)!);
  const key = hash.digest("hex");
  const cacheFile = path.join(outDir, ".cache.json");

  if (!params.force && fs.existsSync(cacheFile)) {
    const cache = JSON.parse(fs.readFileSync(cacheFile, "utf8")) as { key: string; contracts: string[]; solcVersion: string };
    const typesOk = !params.typesOutDir || fs.existsSync(path.join(params.typesOutDir, "index.ts"));
    if (cache.key === key && typesOk) {
      const artifacts = cache.contracts.map(
        (c) => JSON.parse(fs.readFileSync(path.join(outDir, `${c}.json`), "utf8")) as ContractArtifact,
      );
      return { artifacts, cached: true, solcVersion: cache.solcVersion };
    }
  }

  const compiler = solc();
  const output = JSON.parse(compiler.compile(JSON.stringify(input), { import: findImports })) as {
    errors?: { severity: string; formattedMessage: string }[];
    contracts?: Record<string, Record<string, { abi: unknown[]; evm: { bytecode: { object: string }; deployedBytecode: { object: string } } }>>;
  };
  const errors = (output.errors ?? []).filter((e) => e.severity === "error").map((e) => e.formattedMessage);
  if (errors.length > 0) throw new CompileError(errors);

  const artifacts: ContractArtifact[] = [];
  for (const [sourceName, contracts] of Object.entries(output.contracts ?? {})) {
    if (!(sourceName in sources)) continue; // only the package's own contracts get artifacts
    for (const [contractName, c] of Object.entries(contracts)) {
      artifacts.push({
        contractName,
        sourceName,
        abi: c.abi,
        bytecode: `0x${c.evm.bytecode.object}`,
        deployedBytecode: `0x${c.evm.deployedBytecode.object}`,
        compiler: compiler.version(),
      });
    }
  }
  fs.rmSync(outDir, { recursive: true, force: true });
  fs.mkdirSync(outDir, { recursive: true });
  for (const a of artifacts) fs.writeFileSync(path.join(outDir, `${a.contractName}.json`), JSON.stringify(a, null, 2));

  if (params.typesOutDir) await generateTypes(artifacts, outDir, path.resolve(params.typesOutDir));
  fs.writeFileSync(
    cacheFile,
    JSON.stringify({ key, contracts: artifacts.map((a) => a.contractName), solcVersion: compiler.version() }),
  );
  return { artifacts, cached: false, solcVersion: compiler.version() };
}

async function generateTypes(artifacts: ContractArtifact[], artifactsDir: string, typesOutDir: string): Promise<void> {
  // TypeChain generates the ethers-v6 classes and factories from the ABI, so no ABI is hand-written.
  const { runTypeChain } = require("typechain") as typeof import("typechain");
  fs.rmSync(typesOutDir, { recursive: true, force: true });
  const files = artifacts
    .filter((a) => a.abi.length > 0)
    .map((a) => path.join(artifactsDir, `${a.contractName}.json`));
  await runTypeChain({
    cwd: artifactsDir,
    filesToProcess: files,
    allFiles: files,
    outDir: typesOutDir,
    target: "ethers-v6",
  });
  // Generated code is not ours to lint with our strictest flags.
  for (const f of listTs(typesOutDir)) {
    const src = fs.readFileSync(f, "utf8");
    if (!src.startsWith("// @ts-nocheck")) fs.writeFileSync(f, `// @ts-nocheck -- generated by TypeChain\n${src}`);
  }
}

function listTs(dir: string): string[] {
  const out: string[] = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...listTs(p));
    else if (e.name.endsWith(".ts")) out.push(p);
  }
  return out;
}

/** Reads one artifact written by {@link compileContracts}. */
export function readArtifact(artifactsDir: string, contractName: string): ContractArtifact {
  const file = path.join(artifactsDir, `${contractName}.json`);
  if (!fs.existsSync(file)) throw new CompileError([`artifact ${contractName} not found in ${artifactsDir}; run the package build`]);
  return JSON.parse(fs.readFileSync(file, "utf8")) as ContractArtifact;
}
