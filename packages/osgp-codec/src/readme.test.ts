// The README's CLI block, run as written from the repository root (through pnpm and the root
// script, as a user types it), each output checked against what the README shows beside it.
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";

const root = path.resolve(__dirname, "..", "..", "..");
const readme = fs.readFileSync(path.join(__dirname, "..", "README.md"), "utf8");
const block = /```sh\n(K=[\s\S]*?)```/.exec(readme)![1]!.split("\n");
const k = /^K=([0-9a-f]+)/.exec(block[0]!)![1]!;

interface Example {
  command: string;
  expected: string;
}

/** Commands with the output the README gives: a trailing `# …` or a `# …` line right below. */
function examples(): Example[] {
  const out: Example[] = [];
  for (let i = 1; i < block.length; i++) {
    const line = block[i]!;
    if (!line.startsWith("pnpm -s osgp ") || line.includes("<")) continue;
    const [command, trailing] = line.split(/\s+#\s+/, 2) as [string, string | undefined];
    const below = /^# (.+)$/.exec(block[i + 1] ?? "")?.[1];
    out.push({ command: command.trim(), expected: (trailing ?? below ?? "").trim() });
  }
  return out;
}

function run(command: string): string {
  return execFileSync("bash", ["-c", `K=${k}; ${command}`], { cwd: root, encoding: "utf8" }).trim();
}

describe("the osgp-codec README's CLI block, from the repository root", () => {
  const all = examples();

  it("has the commands the README shows", () => {
    expect(all.length).toBe(10);
  });

  it.each(all.filter((e) => /^[0-9a-f]+$/.test(e.expected)))("$command prints $expected", ({ command, expected }) => {
    expect(run(command)).toBe(expected);
  });

  it("decodes the request frame with a valid digest, and the response given its request", () => {
    const decodes = all.filter((e) => e.command.startsWith("pnpm -s osgp decode"));
    expect(decodes.map((e) => e.expected)).toEqual(['JSON, "digestValid": true', ""]);
    for (const e of decodes) expect(JSON.parse(run(e.command))).toMatchObject({ digestValid: true });
  });
});
