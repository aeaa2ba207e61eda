// The structure the style guide asks for, checked on every run: no import circle inside a package
// (scripts/import-cycles.mjs walks each package's src/ and lists strongly connected components).
import { execFileSync } from "node:child_process";
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
