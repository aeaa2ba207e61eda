// sidegrid-pi-meter: the agent on the Pi beside a meter.
//   sidegrid-pi-meter --meter-id 7 --serial /dev/ttyUSB0 [--baud 9600] --meter-key-file meter.key
//                     --log-dir /var/lib/sidegrid-pi [--port 4059] [--host 0.0.0.0]
//                     [--every 60] [--password-file lls.txt] [--physical-address 7]
//   sidegrid-pi-meter --meter-id 7 --tcp 192.0.2.10:4059 --transport wrapper ...   (cellular, serial bridge)
//   sidegrid-pi-meter --meter-id 7 --udp fd00::7:4059 ...                          (G3-PLC node: wrapper on UDP)
//   sidegrid-pi-meter --meter-id 7 --han --serial /dev/ttyAMA0 --baud 115200 [--han-keys-file k.json] ...
//                                                     (the meter pushes on its HAN/P1 port; keys {ekHex, akHex})
// Prints one JSON line {pid, meterId, host, port, meter, logDir} once it answers OSGP, then runs
// until SIGTERM/SIGINT. The key stays in its file: never on the command line or in the log.
import fs from "node:fs";
import { parseArgs } from "node:util";
import { tcpStream, udpStream } from "@sidegrid/dlms";
import { dlmsSource, hanSource, startPiMeterAgent } from "./agent";
import { InvalidArgumentError } from "./errors";
import { serialStream } from "./serial";

export async function main(argv = process.argv.slice(2)): Promise<void> {
  const { values: v } = parseArgs({
    args: argv,
    options: {
      "meter-id": { type: "string" },
      serial: { type: "string" },
      baud: { type: "string", default: "9600" },
      tcp: { type: "string" },
      udp: { type: "string" },
      transport: { type: "string" },
      "physical-address": { type: "string" },
      "password-file": { type: "string" },
      "meter-key-file": { type: "string" },
      "log-dir": { type: "string" },
      host: { type: "string", default: "127.0.0.1" },
      port: { type: "string", default: "0" },
      every: { type: "string", default: "60" },
      han: { type: "boolean", default: false },
      "han-keys-file": { type: "string" },
    },
  });
  const int = (name: string, s: string | undefined, min: number, max: number): number => {
    const n = Number(s);
    if (s === undefined || !Number.isInteger(n) || n < min || n > max) throw new InvalidArgumentError(`--${name}`, s, `an integer in ${min}..${max}`);
    return n;
  };
  const meterId = int("meter-id", v["meter-id"], 0, 0xffffffff);
  if ([v.serial, v.tcp, v.udp].filter((x) => x !== undefined).length !== 1) throw new InvalidArgumentError("--serial/--tcp/--udp", v.serial ?? v.tcp ?? v.udp, "exactly one of --serial <device>, --tcp <host:port> or --udp <host:port>");
  if (!v["log-dir"]) throw new InvalidArgumentError("--log-dir", undefined, "the directory of the agent's LevelDB log");
  if (!v["meter-key-file"]) throw new InvalidArgumentError("--meter-key-file", undefined, "a file holding this meter's 16-byte hex OSGP key");
  const hex = fs.readFileSync(v["meter-key-file"], "utf8").trim();
  if (!/^[0-9a-fA-F]{32}$/.test(hex)) throw new InvalidArgumentError("--meter-key-file", "(hidden)", "a file with a 16-byte hex key");
  const transport = v.transport ?? (v.serial ? "hdlc" : "wrapper");
  if (transport !== "hdlc" && transport !== "wrapper") throw new InvalidArgumentError("--transport", transport, "hdlc or wrapper");
  let stream;
  if (v.serial) {
    stream = serialStream(v.serial, { baudRate: int("baud", v.baud, 300, 921_600) });
  } else {
    // host:port, the host an IPv4/IPv6 address or a name (the last colon separates the port).
    const m = /^\[?(.+?)\]?:(\d+)$/.exec((v.tcp ?? v.udp)!);
    if (!m) throw new InvalidArgumentError(v.tcp ? "--tcp" : "--udp", v.tcp ?? v.udp, "host:port");
    const port = int("port of the meter", m[2], 1, 65535);
    stream = v.tcp ? tcpStream(m[1]!, port) : udpStream(m[1]!, port);
    if (v.udp && transport !== "wrapper") throw new InvalidArgumentError("--transport", transport, "wrapper (the only transport on UDP)");
  }
  const password = v["password-file"] ? new TextEncoder().encode(fs.readFileSync(v["password-file"], "utf8").trim()) : undefined;
  const everyMs = int("every", v.every, 1, 86_400) * 1000;
  let hanKeys: { ek: Uint8Array; ak: Uint8Array } | undefined;
  if (v["han-keys-file"]) {
    const k = JSON.parse(fs.readFileSync(v["han-keys-file"], "utf8")) as { ekHex?: unknown; akHex?: unknown };
    const key = (x: unknown, name: string) => {
      if (typeof x !== "string" || !/^[0-9a-fA-F]{32}$/.test(x)) throw new InvalidArgumentError(`--han-keys-file ${name}`, "(hidden)", "16 bytes as hex");
      return new Uint8Array(Buffer.from(x, "hex"));
    };
    hanKeys = { ek: key(k.ekHex, "ekHex"), ak: key(k.akHex, "akHex") };
  }
  const source = v.han
    ? hanSource({ meterId, stream, ...(hanKeys ? { keys: hanKeys } : {}) })
    : dlmsSource({ meterId, stream, transport, ...(password ? { password } : {}), ...(v["physical-address"] ? { physicalAddress: int("physical-address", v["physical-address"], 16, 0x3fff) } : {}) });
  const agent = await startPiMeterAgent({
    meterId,
    source,
    logDir: v["log-dir"],
    meterKey: Buffer.from(hex, "hex"),
    host: v.host!,
    port: int("port", v.port, 0, 65535),
    variablesEveryMs: everyMs,
    profileEveryMs: everyMs,
    log: (level, msg, fields) => process.stderr.write(`${JSON.stringify({ t: new Date().toISOString(), level, msg, ...fields })}\n`),
  });
  process.stdout.write(`${JSON.stringify({ pid: process.pid, meterId, host: agent.host, port: agent.port, meter: stream.endpoint, logDir: v["log-dir"] })}\n`);
  const stop = () => void agent.close().then(() => process.exit(0));
  process.once("SIGTERM", stop);
  process.once("SIGINT", stop);
}
