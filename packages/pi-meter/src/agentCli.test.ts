// The agent's executable: bad arguments refused with one line, and a real run against a DLMS
// meter on TCP that prints where it answers and answers OSGP there.
import { spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { deriveMeterKey } from "@sidegrid/osgp-codec";
import { AGENT_BIN } from "./bins";
import { systemClock } from "./clock";
import { startDlmsMeter, type DlmsMeterServer } from "./dlmsMeter";
import { SimulatedMeter } from "./meter";
import { simulatorMasterKey } from "./simulator";

let dir: string;
let dlms: DlmsMeterServer | undefined;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "sidegrid-agent-cli-"));
});
afterEach(async () => {
  await dlms?.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

function run(args: string[]) {
  const r = spawnSync(process.execPath, [AGENT_BIN, ...args], { encoding: "utf8" });
  return { code: r.status, err: r.stderr.trim() };
}

it("refuses bad arguments with one line naming the argument", () => {
  expect(run([])).toEqual({ code: 1, err: "sidegrid-pi-meter: --meter-id = undefined; expected an integer in 0..4294967295" });
  expect(run(["--meter-id", "7", "--serial", "/dev/x", "--tcp", "h:1"]).err).toMatch(/^sidegrid-pi-meter: --serial\/--tcp\/--udp = .*exactly one of/);
  const key = path.join(dir, "meter.key");
  fs.writeFileSync(key, "not a key");
  expect(run(["--meter-id", "7", "--tcp", "127.0.0.1:1", "--log-dir", dir, "--meter-key-file", key]).err).toBe('sidegrid-pi-meter: --meter-key-file = "(hidden)"; expected a file with a 16-byte hex key');
});

it("reads a DLMS meter and answers OSGP on the port it prints", async () => {
  const masterKey = simulatorMasterKey("agent-cli");
  const meter = new SimulatedMeter({ meterId: 31, seed: "agent-cli", clock: systemClock, masterKey, installedAtMs: Date.now() - 2 * 3600_000 });
  dlms = await startDlmsMeter({ meter, transport: "hdlc" });
  const key = path.join(dir, "meter.key");
  fs.writeFileSync(key, Buffer.from(deriveMeterKey({ masterKey, meterId: 31 })).toString("hex"), { mode: 0o600 });
  const child = spawn(process.execPath, [AGENT_BIN, "--meter-id", "31", "--tcp", `${dlms.host}:${dlms.port}`, "--transport", "hdlc", "--meter-key-file", key, "--log-dir", path.join(dir, "log")], { stdio: ["ignore", "pipe", "pipe"] });
  try {
    const line = await new Promise<string>((resolve, reject) => {
      let buf = "";
      child.stdout.on("data", (d: Buffer) => {
        buf += d.toString();
        if (buf.includes("\n")) resolve(buf.split("\n")[0]!);
      });
      child.once("exit", (code) => reject(new Error(`exited with ${code}`)));
    });
    const info = JSON.parse(line) as { meterId: number; host: string; port: number; meter: string };
    expect(info).toMatchObject({ meterId: 31, host: "127.0.0.1", meter: `tcp://${dlms.host}:${dlms.port}` });
    // An address frame for meter 31 is echoed, for another one refused with NK.
    const ask = (id: number) =>
      new Promise<string>((resolve, reject) => {
        const s = net.connect(info.port, "127.0.0.1", () => s.write(Buffer.from([0x00, 0x06, 0x53, 0x47, 0, 0, 0, id])));
        s.once("data", (d) => {
          s.destroy();
          resolve(d.toString("hex"));
        });
        s.once("error", reject);
      });
    expect(await ask(31)).toBe("000653470000001f");
    expect(await ask(32)).toBe("00024e4b");
  } finally {
    child.kill("SIGTERM");
  }
});
