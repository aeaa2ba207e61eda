// The README's CLI block, run as written from the repository root (through pnpm and the root
// script, as a user types it), each output checked against what the README shows beside it.
// Needs the package built (dist/), as the bin does.
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";

const root = path.resolve(__dirname, "..", "..", "..");
const readme = fs.readFileSync(path.join(__dirname, "..", "README.md"), "utf8");
const block = /## CLI[\s\S]*?```sh\n([\s\S]*?)```/.exec(readme)![1]!.split("\n").filter((l) => l.startsWith("pnpm -s dlms "));

function run(command: string): string {
  return execFileSync("bash", ["-c", command], { cwd: root, encoding: "utf8" }).trim();
}

describe("the dlms README's CLI block, from the repository root", () => {
  const withHex = block.map((l) => l.split(/\s+#\s+/, 2) as [string, string | undefined]).filter((p): p is [string, string] => p[1] !== undefined);

  it("has the commands the README shows", () => {
    expect(block.length).toBe(12);
    expect(withHex.length).toBe(9);
  });

  it.each(withHex)("%s prints %s", (command, expected) => {
    expect(run(command.trim())).toBe(expected.trim());
  });

  it("decodes the Kaifa push, the ciphered UDP push and the Green Book glo-get-request", () => {
    const decodes = block.filter((l) => l.startsWith("pnpm -s dlms decode"));
    const [kaifa, udp, glo] = decodes.map((c) => JSON.parse(run(c)));
    expect(kaifa.registers["1.0.1.7.0.255"]).toMatchObject({ value: 1320, unit: "W" });
    expect(udp).toMatchObject({ wrapper: { length: 70 }, apdu: { type: "general-glo-ciphering" }, plain: { type: "data-notification" } });
    expect(glo.plain).toMatchObject({ type: "get-request-normal", attribute: { classId: 8, obis: "0.0.1.0.0.255", attribute: 2 } });
  });
});
