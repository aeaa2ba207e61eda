import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { runCli } from "./cli";
import { bytesToHex } from "./hex";
import { encodeReadingRecord } from "./record";
import { GUIDE_EXCHANGES, JN_VECTOR } from "./test-utils/vectors";

const MAK = "01".repeat(16);
const ex1 = GUIDE_EXCHANGES["RC4 Example 1, first read (0x0C reply)"];
const ex1Request = bytesToHex(ex1.request);
const ex1Response = bytesToHex(ex1.response);
const ex1PduSeq = ex1Request.slice(4, -16);

describe("osgp CLI (in-process)", () => {
  it(`digest: the Jovanovic-Neves 96-bit example — ${JN_VECTOR.source}`, async () => {
    const r = await runCli(["digest", "--key", "df".repeat(12), bytesToHex(JN_VECTOR.message)]);
    expect(r).toEqual({ stdout: "dbe5cde507b1cb3d\n", stderr: "", exitCode: 0 });
  });

  it(`digest --request: the response digest of RC4 Example 1 — ${ex1.source}`, async () => {
    const r = await runCli(["digest", "--key", MAK, "--request", ex1PduSeq, "0c77635b90"]);
    expect(r.stdout).toBe("35863c1df5b91482\n");
  });

  it(`frame request / frame response rebuild the guide's frames — ${ex1.source}`, async () => {
    expect((await runCli(["frame", "request", "--key", MAK, "--seq", "0x01020304", "3f0017000000002c"])).stdout).toBe(`${ex1Request}\n`);
    expect((await runCli(["frame", "request", "--key", MAK, "--seq", "16909060", "3f 00 17 00 00 00 00 2c"])).stdout).toBe(`${ex1Request}\n`);
    expect((await runCli(["frame", "response", "--key", MAK, "--request", ex1PduSeq, "0c77635b90"])).stdout).toBe(`${ex1Response}\n`);
  });

  it("encode partial-read / partial-write / procedure give the guide's PDUs", async () => {
    expect((await runCli(["encode", "partial-read", "--table", "BT23", "--offset", "0", "--count", "44"])).stdout).toBe("3f0017000000002c\n");
    expect((await runCli(["encode", "partial-write", "--table", "ET50", "--offset", "0x1e", "01"])).stdout).toBe("4f083200001e000101\n");
    expect((await runCli(["encode", "procedure", "--id", "EP17", "--psn", "7", "00f803"])).stdout).toBe("400007000611080700f803\n");
    expect((await runCli(["encode", "full-read", "--table", "0x0834"])).stdout).toBe("300834\n");
    expect((await runCli(["encode", "full-write", "--table", "7", "0500 05"])).stdout).toBe("4000070003050005\n");
  });

  it("decode: a request frame to JSON with a verified digest", async () => {
    const r = await runCli(["decode", ex1Request, "--key", MAK]);
    expect(r.exitCode).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({
      type: "request",
      length: 20,
      service: "partialRead",
      code: "0x3f",
      fields: { tableId: 23, table: "BT23", offset: 0, count: 44 },
      seq: 0x01020304,
      seqHex: "01020304",
      digest: "74861f6d7658dd56",
      digestValid: true,
      insecure: true,
    });
  });

  it("decode: a response frame with --request or --request-frame", async () => {
    const a = await runCli(["decode", ex1Response, "--key", MAK, "--request", ex1PduSeq]);
    const b = await runCli(["decode", ex1Response, "--key", MAK, "--request-frame", ex1Request]);
    expect(a.stdout).toBe(b.stdout);
    expect(JSON.parse(a.stdout)).toMatchObject({
      type: "response",
      response: "invalidSequenceNumber",
      code: "0x0c",
      fields: { seq: 0x77635b90, seqHex: "77635b90" },
      digestValid: true,
    });
    const noKey = JSON.parse((await runCli(["decode", ex1Response, "--as", "response"])).stdout);
    expect(noKey.digestValid).toBeNull();
  });

  it("decode: a BT07 write shows the procedure, an ET160 read response shows the reading", async () => {
    const proc = JSON.parse((await runCli(["decode", bytesToHex(GUIDE_EXCHANGES["EP17 procedure call through BT07"].request), "--key", MAK])).stdout);
    expect(proc.procedure).toEqual({ procedure: 0x811, responseHandling: 0, psn: 7, params: "00f803", name: "EP17" });

    const record = encodeReadingRecord({
      meterId: 9, sequence: 1, clockMs: 1_000, activeEnergyImportWh: 500, activeEnergyExportWh: 0, reactiveEnergyImportVarh: 0, reactiveEnergyExportVarh: 0,
      activePowerW: 1, reactivePowerVar: 0, frequencyHz: 50, powerFactor: 1,
      phases: [{ voltageV: 230, currentA: 1, activePowerW: 1, reactivePowerVar: 0, powerFactor: 1 }],
      flags: { terminalCoverOpen: false, caseOpen: false, magneticField: false, reverseEnergy: false, phaseLoss: false, clockInvalid: false, batteryLow: false, selfTestFailed: false },
      tamperEvents: 0, powerOutages: 0,
    });
    const req = (await runCli(["frame", "request", "--key", "df".repeat(12), "--seq", "5", "3f08a00000000090"])).stdout.trim();
    const pduSeq = req.slice(4, -16);
    const resp = (await runCli(["frame", "response", "--key", "df".repeat(12), "--request", pduSeq, `000090${bytesToHex(record)}`])).stdout.trim();
    const out = JSON.parse((await runCli(["decode", resp, "--key", "df".repeat(12), "--request", pduSeq])).stdout);
    expect(out).toMatchObject({ response: "okData", digestValid: true, reading: { meterId: 9, activeEnergyImportWh: 500, frequencyHz: 50 } });
    expect(JSON.parse((await runCli(["record", bytesToHex(record)])).stdout).phases).toEqual([{ voltageV: 230, currentA: 1, activePowerW: 1, reactivePowerVar: 0, powerFactor: 1 }]);
  });

  it("decode: a wrong digest still prints JSON but exits 1", async () => {
    const bad = ex1Request.slice(0, -2) + "00";
    const r = await runCli(["decode", bad, "--key", MAK]);
    expect(r.exitCode).toBe(1);
    expect(JSON.parse(r.stdout).digestValid).toBe(false);
  });

  it("bad input exits 2 with a one-line error naming the problem", async () => {
    const cases: [string[], RegExp][] = [
      [["decode", "00043f000000"], /^osgp: error: TRUNCATED_FRAME: truncated at request: needs 13 byte\(s\), 4 left/],
      [["decode", "zz"], /^osgp: error: INVALID_ARGUMENT: frame = "zz"; expected hex bytes \(non-hex character\)/],
      [["decode", ex1Request.slice(0, -2)], /^osgp: error: LENGTH_MISMATCH: request length says 20 byte\(s\), 19 present/],
      [["digest", "--key", "0102", "00"], /^osgp: error: INVALID_KEY: key of 2 byte\(s\)/],
      [["frame", "request", "--key", MAK, "--seq", "-1", "30"], /^osgp: error: INVALID_ARGUMENT: --seq/],
      [["encode", "partial-read", "--table", "XT9", "--offset", "0", "--count", "1"], /^osgp: error: INVALID_ARGUMENT: table/],
      [["decode", ex1Response, "--as", "response", "--key", MAK], /^osgp: error: INVALID_ARGUMENT: --request/],
      [["digest", "00"], /required option '--key <hex>'/],
      [["nonsense"], /unknown command 'nonsense'/],
    ];
    for (const [argv, pattern] of cases) {
      const r = await runCli(argv);
      expect({ argv, exitCode: r.exitCode, lines: r.stderr.trimEnd().split("\n").length }).toEqual({ argv, exitCode: 2, lines: 1 });
      expect(r.stderr).toMatch(pattern);
      expect(r.stdout).toBe("");
    }
  });

  it("--help exits 0 and lists the commands", async () => {
    const r = await runCli(["--help"]);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toMatch(/digest[\s\S]*frame[\s\S]*encode[\s\S]*decode/);
  });
});

describe("osgp CLI (built bin via child_process)", () => {
  const pkg = path.resolve(__dirname, "..");
  const dist = path.join(pkg, "dist", "cli.js");
  const tempDirs: string[] = [];
  afterAll(() => {
    for (const d of tempDirs) fs.rmSync(d, { recursive: true, force: true });
  });

  /** dist/cli.js when it is at least as new as every source file, else a fresh build in a temp dir. */
  function builtCli(): { file: string; env: NodeJS.ProcessEnv } {
    const newestSource = Math.max(...fs.readdirSync(path.join(pkg, "src")).filter((f) => f.endsWith(".ts")).map((f) => fs.statSync(path.join(pkg, "src", f)).mtimeMs));
    if (fs.existsSync(dist) && fs.statSync(dist).mtimeMs >= newestSource) return { file: dist, env: process.env };
    const out = fs.mkdtempSync(path.join(os.tmpdir(), "osgp-cli-"));
    tempDirs.push(out);
    const tsc = require.resolve("typescript/bin/tsc");
    const build = spawnSync(process.execPath, [tsc, "-p", path.join(pkg, "tsconfig.build.json"), "--outDir", out, "--declaration", "false", "--sourceMap", "false"], { encoding: "utf8" });
    if (build.status !== 0) throw new Error(`tsc failed: ${build.stdout}${build.stderr}`);
    // Resolve commander from the package when the bin runs outside it.
    return { file: path.join(out, "cli.js"), env: { ...process.env, NODE_PATH: path.join(pkg, "node_modules") } };
  }

  it("runs as a node executable: digest on stdout, exit 0; bad input on stderr, exit 2", () => {
    const { file, env } = builtCli();
    expect(fs.readFileSync(file, "utf8").startsWith("#!/usr/bin/env node")).toBe(true);
    const ok = spawnSync(process.execPath, [file, "digest", "--key", "df".repeat(12), bytesToHex(JN_VECTOR.message)], { encoding: "utf8", env });
    expect({ status: ok.status, stdout: ok.stdout, stderr: ok.stderr }).toEqual({ status: 0, stdout: "dbe5cde507b1cb3d\n", stderr: "" });
    const bad = spawnSync(process.execPath, [file, "decode", "00"], { encoding: "utf8", env });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/^osgp: error: TRUNCATED_FRAME/);
  });
});
