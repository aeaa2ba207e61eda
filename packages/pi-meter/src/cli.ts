// sidegrid-meters: runs a Pi-meter simulator process.
//   sidegrid-meters --count 10 [--seed s] [--port 4059 | --base-port 40000] [--speed 60]
//                   [--sim-start 2025-06-01T00:00:00Z] [--installed-hours-ago 24] [--interval 900]
//                   [--prosumers 0.3] [--capacity 192] [--control-port 0]
//                   [--master-key-file master.key] [--control-token-file control.token]
//                   [--device-keys-file device-keys.json] [--state-file meters.json]
//                   [--commands-file commands.jsonl] [--acks-file acks.json]
//                   [--dlms 2 [--dlms-transport mixed|wrapper|hdlc|udp]]
// Prints one JSON line {pid, host, port, controlUrl, count, firstMeterId, seed, clock,
// masterKeyFile, controlTokenFile, dlms} (also written to --state-file) and runs until SIGTERM/SIGINT.
// With --dlms N the last N meters speak DLMS/COSEM, each on its own port (listed in `dlms`).
// Secrets never reach the state file, the log or the command line: the master key is read from
// (or, the first time, generated into) a 0600 key file; the control token is written to a 0600 file.
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import { SimClock } from "./clock";
import { startMeterSimulator } from "./simulator";

export async function main(argv = process.argv.slice(2)): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      count: { type: "string", default: "10" },
      seed: { type: "string", default: "sidegrid" },
      host: { type: "string", default: "127.0.0.1" },
      port: { type: "string" },
      "base-port": { type: "string" },
      "first-meter-id": { type: "string", default: "1" },
      speed: { type: "string", default: "1" },
      "sim-start": { type: "string" },
      manual: { type: "boolean", default: false },
      "cap-at-real": { type: "boolean", default: false },
      "installed-hours-ago": { type: "string", default: "0" },
      interval: { type: "string", default: "900" },
      prosumers: { type: "string", default: "0.3" },
      capacity: { type: "string" },
      "max-records": { type: "string" },
      "control-port": { type: "string" },
      "master-key-file": { type: "string" },
      "control-token-file": { type: "string" },
      "device-keys-file": { type: "string" },
      "state-file": { type: "string" },
      "commands-file": { type: "string" },
      "acks-file": { type: "string" },
      dlms: { type: "string", default: "0" },
      "dlms-transport": { type: "string", default: "mixed" },
    },
  });
  const num = (name: string, v: string | undefined) => {
    const n = Number(v);
    if (v === undefined || !Number.isFinite(n)) throw new Error(`--${name} must be a number, got ${v}`);
    return n;
  };
  const simStart = values["sim-start"] === undefined ? Date.now() : /^\d+$/.test(values["sim-start"]) ? Number(values["sim-start"]) : Date.parse(values["sim-start"]);
  const clock = new SimClock({ simStartMs: simStart, speed: num("speed", values.speed), manual: values.manual ?? false, capAtReal: values["cap-at-real"] ?? false });
  const stateDir = values["state-file"] ? path.dirname(values["state-file"]) : process.cwd();
  const masterKeyFile = values["master-key-file"];
  const masterKey = masterKeyFile ? readOrCreateKeyFile(masterKeyFile, 16) : undefined;
  const controlTokenFile = values["control-port"] !== undefined ? (values["control-token-file"] ?? path.join(stateDir, "control.token")) : undefined;
  const controlToken = randomBytes(32).toString("hex");
  if (controlTokenFile) writeSecretFile(controlTokenFile, controlToken);
  const deviceKeys = values["device-keys-file"] ? readDeviceKeys(values["device-keys-file"]) : undefined;
  const sim = await startMeterSimulator({
    count: num("count", values.count),
    seed: values.seed!,
    host: values.host!,
    firstMeterId: num("first-meter-id", values["first-meter-id"]),
    ...(values.port !== undefined ? { port: num("port", values.port) } : {}),
    ...(values["base-port"] !== undefined ? { basePort: num("base-port", values["base-port"]) } : {}),
    clock,
    installedAtMs: simStart - num("installed-hours-ago", values["installed-hours-ago"]) * 3600_000,
    intervalSeconds: num("interval", values.interval),
    prosumerShare: num("prosumers", values.prosumers),
    ...(values.capacity !== undefined ? { capacity: num("capacity", values.capacity) } : {}),
    ...(values["max-records"] !== undefined ? { maxRecordsPerRead: num("max-records", values["max-records"]) } : {}),
    ...(values["control-port"] !== undefined ? { controlPort: num("control-port", values["control-port"]) } : {}),
    ...(masterKey ? { masterKey } : {}),
    ...(controlTokenFile ? { controlToken } : {}),
    ...(deviceKeys ? { deviceKeys } : {}),
    ...(values["commands-file"] ? { commandsFile: values["commands-file"] } : {}),
    ...(values["acks-file"] ? { acksFile: values["acks-file"] } : {}),
    ...(num("dlms", values.dlms) > 0 ? { dlms: { count: num("dlms", values.dlms), transport: dlmsTransport(values["dlms-transport"]) } } : {}),
  });
  const info = {
    pid: process.pid,
    host: sim.host,
    port: sim.port,
    controlUrl: sim.controlUrl ?? null,
    count: sim.meters.length,
    firstMeterId: sim.meters[0].meterId,
    seed: values.seed,
    addressed: values["base-port"] === undefined,
    clock: clock.state(),
    masterKeyFile: masterKeyFile ? path.resolve(masterKeyFile) : null,
    controlTokenFile: controlTokenFile ? path.resolve(controlTokenFile) : null,
    dlms: sim.endpoints().filter((e) => e.protocol !== "osgp-tcp"),
  };
  // The log says what a restart took back from the journal (a skipped line is worth a look).
  if (sim.replayed) process.stderr.write(`replayed ${sim.replayed.replayed} appliance commands from ${values["commands-file"]}${sim.replayed.skipped.map((s) => `; skipped line ${s.line}: ${s.reason}`).join("")}\n`);
  if (values["state-file"]) {
    fs.writeFileSync(`${values["state-file"]}.tmp`, JSON.stringify(info, null, 2));
    fs.renameSync(`${values["state-file"]}.tmp`, values["state-file"]);
  }
  process.stdout.write(`${JSON.stringify(info)}\n`);
  const stop = async () => {
    await sim.close();
    process.exit(0);
  };
  process.once("SIGTERM", () => void stop());
  process.once("SIGINT", () => void stop());
}

function dlmsTransport(v: string | undefined): "wrapper" | "hdlc" | "udp" | "mixed" {
  if (v === "wrapper" || v === "hdlc" || v === "udp" || v === "mixed") return v;
  throw new Error(`--dlms-transport must be wrapper, hdlc, udp or mixed, got ${v}`);
}

/** Writes `content` to `file` readable by its owner only (also when the file already existed). */
function writeSecretFile(file: string, content: string): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, content, { mode: 0o600 });
  fs.chmodSync(file, 0o600);
}

/** The hex key in `file`, or a fresh random key of `bytes` bytes written there (0600). */
function readOrCreateKeyFile(file: string, bytes: number): Uint8Array {
  if (fs.existsSync(file)) {
    fs.chmodSync(file, 0o600);
    const hex = fs.readFileSync(file, "utf8").trim().replace(/^0x/, "");
    if (!/^([0-9a-fA-F]{32}|[0-9a-fA-F]{64})$/.test(hex)) throw new Error(`${file} does not hold a 16- or 32-byte hex key`);
    return new Uint8Array(Buffer.from(hex, "hex"));
  }
  const key = randomBytes(bytes);
  writeSecretFile(file, key.toString("hex"));
  return new Uint8Array(key);
}

/** {"<meter id>": "0x<private key>"} → Map. */
function readDeviceKeys(file: string): Map<number, string> {
  const raw = JSON.parse(fs.readFileSync(file, "utf8")) as Record<string, string>;
  return new Map(Object.entries(raw).map(([id, key]) => [Number(id), key]));
}
