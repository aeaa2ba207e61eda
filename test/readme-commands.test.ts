// Every command a README or a design note shows is run somewhere: by a test, or by a CI step
// (.ci/run → scripts/test.sh, then scripts/readme-commands.sh). The registry below says where;
// this test fails when a page gains a command the registry does not place, when a registry entry
// points at a file that does not exist or does not contain the command, and when a page mentions
// a path outside the repository.
import fs from "node:fs";
import path from "node:path";

const root = path.resolve(__dirname, "..");
const read = (f: string) => fs.readFileSync(path.join(root, f), "utf8");

/** The pages users read. */
function pages(): string[] {
  const out = ["README.md", "docker/README.md"];
  for (const p of fs.readdirSync(path.join(root, "packages"))) if (fs.existsSync(path.join(root, "packages", p, "README.md"))) out.push(`packages/${p}/README.md`);
  for (const d of fs.readdirSync(path.join(root, "docs"))) if (d.endsWith(".md")) out.push(`docs/${d}`);
  return out.sort();
}

interface Shown {
  page: string;
  command: string;
}

/** Command lines in shell code blocks (a trailing `# comment` removed); `cd` and `export` are context, not commands. */
function commands(): Shown[] {
  const out: Shown[] = [];
  for (const page of pages()) {
    let fence: string | null = null;
    for (const line of read(page).split("\n")) {
      const t = line.trim();
      if (t.startsWith("```")) {
        fence = fence === null ? t.slice(3) : null;
        continue;
      }
      if (fence === null || !["sh", "bash", "shell", "console", ""].includes(fence)) continue;
      const command = t.replace(/^\$ /, "").split(/\s+#\s/)[0]!.trim();
      if (!/^(pnpm|node|npx|bash|sidegrid |osgp |dlms |SIDEGRID_\w+=\S+ node|CI=)/.test(command)) continue;
      out.push({ page, command });
    }
  }
  return out;
}

interface Exercise {
  /** A test file or a CI script, relative to the repository root. */
  by: string;
  /** What that file must contain for the claim to hold. */
  proof: RegExp;
}

interface Entry {
  command: RegExp;
  exercises: Exercise[];
}

const CI = "scripts/readme-commands.sh";
const literally = (s: string): RegExp => new RegExp(s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"));

const REGISTRY: Entry[] = [
  // Quick start and the README's development commands.
  { command: /^bash scripts\/test\.sh$/, exercises: [{ by: ".ci/run", proof: literally("bash scripts/test.sh") }] },
  { command: /^bash scripts\/start\.sh$/, exercises: [{ by: CI, proof: literally("bash scripts/start.sh") }] },
  { command: /^pnpm test$/, exercises: [{ by: "scripts/test.sh", proof: /^pnpm test$/m }] },
  // `pnpm build` in the root or a package dir is the package's build script, which setup runs for every package.
  { command: /^pnpm build$/, exercises: [{ by: "scripts/setup.sh", proof: /pnpm -r .*run build/ }] },
  { command: /^pnpm --filter @sidegrid\/chain exec jest$/, exercises: [{ by: CI, proof: literally("pnpm --filter @sidegrid/chain exec jest") }] },
  // The root jest runs every package's own jest config as a project: the same tests as `npx jest` in a package dir.
  { command: /^npx jest$/, exercises: [{ by: "jest.config.js", proof: literally("<rootDir>/packages/*/jest.config.js") }, { by: "scripts/test.sh", proof: /^pnpm test$/m }] },
  { command: /^npx jest packages\/dlms$/, exercises: [{ by: CI, proof: literally("npx jest packages/dlms") }] },
  { command: /^npx tsc -p tsconfig\.json$/, exercises: [{ by: "package.json", proof: literally("pnpm -r run typecheck") }, { by: "packages/meter-gateway/package.json", proof: literally('"typecheck": "tsc -p tsconfig.json"') }] },
  { command: /^npx tsc -p tsconfig\.build\.json$/, exercises: [{ by: "packages/osgp-codec/package.json", proof: literally('"build": "tsc -p tsconfig.build.json"') }, { by: "scripts/setup.sh", proof: /pnpm -r .*run build/ }] },
  // @sidegrid/dsm's scripts: its tests are a project of the root jest, its typecheck and build run for every package, its bench in bench:packages.
  { command: /^pnpm --filter @sidegrid\/dsm (test|typecheck|build|bench)$/, exercises: [{ by: "jest.config.js", proof: literally("<rootDir>/packages/*/jest.config.js") }, { by: "package.json", proof: literally("pnpm -r run typecheck") }, { by: "scripts/setup.sh", proof: /pnpm -r .*run build/ }, { by: CI, proof: literally("pnpm bench:packages") }] },
  { command: /^pnpm --filter @sidegrid\/dlms run build$/, exercises: [{ by: "scripts/setup.sh", proof: /pnpm -r .*run build/ }] },
  // The system, as a user drives it.
  { command: /^node packages\/cli\/bin\/sidegrid\.js up$/, exercises: [{ by: "scripts/start.sh", proof: literally("node packages/cli/bin/sidegrid.js up") }, { by: CI, proof: literally("bash scripts/start.sh") }] },
  { command: /^node packages\/cli\/bin\/sidegrid\.js demo --json > demo\.json$/, exercises: [{ by: CI, proof: literally("node packages/cli/bin/sidegrid.js demo --json > demo.json") }] },
  { command: /^node packages\/cli\/bin\/sidegrid\.js down$/, exercises: [{ by: CI, proof: literally("node packages/cli/bin/sidegrid.js down") }] },
  // A remote network: program.test.ts runs `up` on networks configured as remote with every key from the environment; config.test.ts reads SIDEGRID_CONFIG.
  { command: /^SIDEGRID_CONFIG=prod\.json node packages\/cli\/bin\/sidegrid\.js up$/, exercises: [{ by: "packages/cli/src/program.test.ts", proof: literally("up on existing (non-local) networks") }, { by: "packages/chain/src/config.test.ts", proof: literally("SIDEGRID_CONFIG") }] },
  { command: /^pnpm sidegrid audit --consumer \S+ --rpc \S+ --rpc \S+$/, exercises: [{ by: CI, proof: /pnpm sidegrid audit --consumer 0x[0-9a-fA-F]{40} --rpc \S+ --rpc \S+/ }] },
  // Benchmarks and fuzzing.
  { command: /^pnpm bench$/, exercises: [{ by: CI, proof: /^pnpm bench$/m }, { by: CI, proof: literally("pnpm bench:packages") }] },
  { command: /^node packages\/cli\/bin\/sidegrid\.js bench --quick$/, exercises: [{ by: CI, proof: literally("node packages/cli/bin/sidegrid.js bench --quick") }] },
  { command: /^pnpm bench:packages$/, exercises: [{ by: CI, proof: literally("pnpm bench:packages") }] },
  { command: /^pnpm fuzz$/, exercises: [{ by: CI, proof: literally("pnpm --filter @sidegrid/osgp-codec run fuzz") }] },
  { command: /^pnpm --filter @sidegrid\/dlms run (fuzz|bench)$/, exercises: [{ by: CI, proof: literally("pnpm --filter @sidegrid/dlms run fuzz") }, { by: CI, proof: literally("pnpm bench:packages") }] },
  // The codecs' CLIs from the root: each package's readme test runs the README's block as written;
  // the lines with <placeholders> are run with real values by the CLI tests.
  { command: /^pnpm -s osgp .*<.*>/, exercises: [{ by: "packages/osgp-codec/src/cli.test.ts", proof: /--request-frame[\s\S]*"record"/ }] },
  { command: /^pnpm -s osgp /, exercises: [{ by: "packages/osgp-codec/src/readme.test.ts", proof: literally('line.startsWith("pnpm -s osgp ")') }] },
  { command: /^pnpm -s dlms /, exercises: [{ by: "packages/dlms/src/readme.test.ts", proof: /pnpm -s dlms/ }] },
  // The gateway package's bins, as its README starts them (from packages/meter-gateway).
  { command: /^node \.\.\/pi-meter\/bin\/sidegrid-meters\.js /, exercises: [{ by: CI, proof: literally("node ../pi-meter/bin/sidegrid-meters.js --count 10 --speed 60 --control-port 0") }] },
  // docker/README.md: the genesis generator (and `docker-compose config`) run in the compose test.
  { command: /^pnpm sidegrid compose genesis --config docker\/sidegrid\.config\.json --out docker\/generated --validators 4 --block-time 2$/, exercises: [{ by: "packages/cli/src/compose/compose.test.ts", proof: literally('"compose", "genesis", "--config", PROD_CONFIG, "--out", tmpDir(), "--validators", "4", "--block-time", "2"') }] },
  { command: /^node bin\/sidegrid-gateway\.js --config \S+ --progress$/, exercises: [{ by: CI, proof: literally("node bin/sidegrid-gateway.js --config") }] },
];

describe("every command the READMEs and docs show", () => {
  const shown = commands();

  it("finds the commands (the extraction works)", () => {
    expect(shown.length).toBeGreaterThan(40);
    expect(shown.map((s) => s.command)).toEqual(expect.arrayContaining(["bash scripts/start.sh", "bash scripts/test.sh"]));
  });

  it("is placed in the registry", () => {
    const unplaced = shown.filter((s) => !REGISTRY.some((e) => e.command.test(s.command))).map((s) => `${s.page}: ${s.command}`);
    expect(unplaced).toEqual([]);
  });

  it("is exercised where the registry says", () => {
    const wrong: string[] = [];
    for (const e of REGISTRY) {
      if (!shown.some((s) => e.command.test(s.command))) wrong.push(`${e.command}: no page shows it any more`);
      for (const x of e.exercises) {
        if (!fs.existsSync(path.join(root, x.by))) wrong.push(`${e.command}: ${x.by} does not exist`);
        else if (!x.proof.test(read(x.by))) wrong.push(`${e.command}: ${x.by} does not contain ${x.proof}`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it("CI runs the script that runs the rest", () => {
    expect(read(".ci/run")).toMatch(/^bash scripts\/readme-commands\.sh$/m);
  });
});

describe("the pages stand alone", () => {
  it("mention no path outside the repository", () => {
    const outside = pages().flatMap((p) => (/\.\.\/shared|\/work\/|\.\.\/seeds|\/root\//.test(read(p)) ? [p] : []));
    expect(outside).toEqual([]);
  });

  it("link only to files that exist", () => {
    const broken: string[] = [];
    for (const p of pages()) {
      for (const m of read(p).matchAll(/\]\(([^)#\s]+)(#[^)]*)?\)/g)) {
        const target = m[1]!;
        if (/^(https?:|mailto:)/.test(target)) continue;
        if (!fs.existsSync(path.resolve(path.dirname(path.join(root, p)), target))) broken.push(`${p} → ${target}`);
      }
    }
    expect(broken).toEqual([]);
  });
});
