// The structure the style guide asks for, checked on every run: no import circle inside a package
// (scripts/import-cycles.mjs walks each package's src/ and lists strongly connected components),
// and no source file over 500 lines that does not say why.
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";

it("has no import circle inside any package", () => {
  const root = path.resolve(__dirname, "..");
  let out: string;
  try {
    out = execFileSync("node", [path.join(root, "scripts", "import-cycles.mjs"), "--json"], { encoding: "utf8" });
  } catch (e) {
    out = (e as { stdout: string }).stdout;
  }
  expect(JSON.parse(out)).toEqual({});
});

// The style guide's size limit: a source file over 500 lines says in its header why it is one file.
it("has no source file over 500 lines without a reason in its header", () => {
  const root = path.resolve(__dirname, "..", "packages");
  const over: string[] = [];
  for (const pkg of fs.readdirSync(root)) {
    const src = path.join(root, pkg, "src");
    if (!fs.existsSync(src)) continue;
    const walk = (dir: string): void => {
      for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
        const p = path.join(dir, e.name);
        if (e.isDirectory()) {
          if (e.name !== "generated") walk(p); // typechain output
        } else if (/\.tsx?$/.test(e.name) && !/\.test\.tsx?$/.test(e.name)) {
          const lines = fs.readFileSync(p, "utf8").split("\n");
          if (lines.length > 500 && !/Longer than 500 lines/.test(lines.slice(0, 8).map((l) => l.replace(/^\s*\/\/\s?/, "")).join(" "))) over.push(`${path.relative(root, p)} (${lines.length})`);
        }
      }
    };
    walk(src);
  }
  expect(over).toEqual([]);
});
