#!/usr/bin/env node
// `dlms`: decode captures and build the frames a client sends. Hex in, JSON or hex out. The logic is
// `runCli` (argv in, output and exit code out) so tests run it in-process.
import { Command, CommanderError } from "commander";
import { encodeApdu } from "./apdu";
import { type Apdu, type ApplicationContext, CONFORMANCE_BITS, type ConformanceBit, conformance } from "./apduTypes";
import { cipherApdu } from "./ciphering";
import { decodeDlms, dlmsToJson } from "./decode";
import { InvalidArgumentError, InvalidHexError, isDlmsError } from "./errors";
import { type HdlcAddress, LLC_COMMAND, encodeHdlcFrame, encodeHdlcParameters, hdlcAddress } from "./hdlc";
import { bytesToHex, hexToBytes } from "./hex";
import { parseObis, formatObis } from "./obis";
import { encodeWrapper } from "./wrapper";

/** Exit codes: 0 success, 1 a GCM tag or HDLC check failed, 2 other bad input. */
export const EXIT_OK = 0;
export const EXIT_BAD_CHECK = 1;
export const EXIT_BAD_INPUT = 2;

export interface RunCliReturnType {
  stdout: string;
  stderr: string;
  exitCode: number;
}

function parseNumber(name: string, text: string, max: number): number {
  const t = String(text).trim();
  const n = /^0x[0-9a-f]+$/i.test(t) ? parseInt(t, 16) : /^\d+$/.test(t) ? Number(t) : NaN;
  if (!Number.isSafeInteger(n) || n < 0 || n > max) throw new InvalidArgumentError(name, text, `a decimal or 0x-hex integer in 0..${max}`);
  return n;
}

function parseHex(name: string, text: string, length?: number): Uint8Array {
  let b: Uint8Array;
  try {
    b = hexToBytes(text);
  } catch (e) {
    if (e instanceof InvalidHexError) throw new InvalidArgumentError(name, text, `hex bytes (${e.reason})`, { cause: e });
    throw e;
  }
  if (length !== undefined && b.length !== length) throw new InvalidArgumentError(name, text, `${length} bytes of hex`);
  return b;
}

/** "1" → upper 1; "1/17" → upper 1, lower 17 (2 bytes, or 4 when a part exceeds 127). */
function parseServer(text: string): HdlcAddress {
  const m = /^(\w+)(?:\/(\w+))?$/.exec(String(text).trim());
  if (!m) throw new InvalidArgumentError("--server", text, "upper[/lower], e.g. 1 or 1/17");
  const upper = parseNumber("--server upper", m[1], 0x3fff);
  return m[2] === undefined ? hdlcAddress(upper) : hdlcAddress(upper, parseNumber("--server lower", m[2], 0x3fff));
}

interface FramingOptions {
  client: string;
  server: string;
  ns: string;
  nr: string;
  wrapper?: boolean;
  apdu?: boolean;
  ek?: string;
  ak?: string;
  systemTitle?: string;
  ic?: string;
}

/** Frames a client APDU: HDLC I frame with the LLC command header (default), IP wrapper, or bare. */
function frameApdu(apdu: Apdu, o: FramingOptions): Uint8Array {
  let bytes = encodeApdu(apdu);
  if (o.ek !== undefined) {
    if (o.ak === undefined || o.systemTitle === undefined || o.ic === undefined) throw new InvalidArgumentError("--ek", "(set)", "--ak, --system-title and --ic with it");
    bytes = encodeApdu(cipherApdu({ plaintext: bytes, ek: parseHex("--ek", o.ek, 16), ak: parseHex("--ak", o.ak, 16), systemTitle: parseHex("--system-title", o.systemTitle, 8), invocationCounter: parseNumber("--ic", o.ic, 0xffffffff) }));
  }
  if (o.apdu) return bytes;
  const client = parseNumber("--client", o.client, 0x7f);
  if (o.wrapper) return encodeWrapper({ sourcePort: client, destinationPort: parseServer(o.server).upper, apdu: bytes });
  const info = new Uint8Array(LLC_COMMAND.length + bytes.length);
  info.set(LLC_COMMAND);
  info.set(bytes, LLC_COMMAND.length);
  return encodeHdlcFrame({
    dst: parseServer(o.server),
    src: hdlcAddress(client),
    control: { type: "I", pf: true, ns: parseNumber("--ns", o.ns, 7), nr: parseNumber("--nr", o.nr, 7) },
    info,
  });
}

function addFraming(c: Command, withApdu: boolean): Command {
  c.option("--client <n>", "client SAP (HDLC source address, or source wPort)", "16").option("--server <upper[/lower]>", "server HDLC address: logical[/physical]", "1");
  if (withApdu) {
    c.option("--ns <n>", "N(S) of the I frame", "0")
      .option("--nr <n>", "N(R) of the I frame", "0")
      .option("--wrapper", "IP wrapper (IEC 62056-47) instead of HDLC")
      .option("--apdu", "the bare APDU, no framing")
      .option("--ek <hex>", "cipher as glo-xxx (SC 0x30, suite 0) with this encryption key; needs --ak, --system-title, --ic")
      .option("--ak <hex>", "authentication key")
      .option("--system-title <hex>", "our system title (8 bytes)")
      .option("--ic <n>", "invocation counter (never reuse one with the same key)");
  }
  return c;
}

/** Invoke-Id-And-Priority from --invoke-id (confirmed, high priority) or a raw --invoke-byte. */
const invoke = (o: { invokeId: string; invokeByte?: string }) => {
  if (o.invokeByte === undefined) return { invokeId: parseNumber("--invoke-id", o.invokeId, 15), confirmed: true, highPriority: true };
  const b = parseNumber("--invoke-byte", o.invokeByte, 0xff);
  if (b & 0x30) throw new InvalidArgumentError("--invoke-byte", o.invokeByte, "bits 4 and 5 clear (reserved)");
  return { invokeId: b & 0x0f, confirmed: (b & 0x40) !== 0, highPriority: (b & 0x80) !== 0 };
};

function buildProgram(write: (s: string) => void): Command {
  const program = new Command("dlms").description("DLMS/COSEM codec: HDLC, IP wrapper, xDLMS/ACSE APDUs, A-XDR, glo-ciphering, OBIS registers").showHelpAfterError(false).exitOverride();

  program
    .command("decode")
    .description("decode a capture (HDLC frame 7E..7E, IP-wrapper frame 0001..., or a bare APDU) to JSON")
    .argument("<hex>", "the captured bytes")
    .option("--ek <hex>", "global encryption key (16 bytes) to open ciphered APDUs")
    .option("--ak <hex>", "authentication key (16 bytes)")
    .option("--system-title <hex>", "the sender's system title (8 bytes), for glo-xxx APDUs")
    .option("--columns <obis,...>", "capture objects of a profile: a get-response with its buffer is printed as rows keyed by these OBIS codes")
    .option("--json", "JSON output (the default and only format)")
    .action((hex: string, o: { ek?: string; ak?: string; systemTitle?: string; columns?: string }) => {
      const d = decodeDlms(parseHex("capture", hex), {
        ...(o.ek ? { ek: parseHex("--ek", o.ek, 16) } : {}),
        ...(o.ak ? { ak: parseHex("--ak", o.ak, 16) } : {}),
        ...(o.systemTitle ? { systemTitle: parseHex("--system-title", o.systemTitle, 8) } : {}),
        ...(o.columns ? { profileColumns: o.columns.split(",").map((c) => formatObis(parseObis(c))) } : {}),
      });
      write(`${JSON.stringify(dlmsToJson(d), null, 2)}\n`);
    });

  const encode = program.command("encode").description("encode a frame a client sends (hex out)");
  addFraming(encode.command("snrm").description("SNRM (set normal response mode), optionally with parameters"), false)
    .option("--max-info <n>", "propose this maximum information field length (both directions)")
    .option("--window <n>", "propose this window size (both directions)")
    .action((o: FramingOptions & { maxInfo?: string; window?: string }) => {
      const params = {
        ...(o.maxInfo ? { maxInfoTransmit: parseNumber("--max-info", o.maxInfo, 2030), maxInfoReceive: parseNumber("--max-info", o.maxInfo, 2030) } : {}),
        ...(o.window ? { windowTransmit: parseNumber("--window", o.window, 7), windowReceive: parseNumber("--window", o.window, 7) } : {}),
      };
      const info = Object.keys(params).length ? encodeHdlcParameters(params) : undefined;
      write(`${bytesToHex(encodeHdlcFrame({ dst: parseServer(o.server), src: hdlcAddress(parseNumber("--client", o.client, 0x7f)), control: { type: "SNRM", pf: true }, ...(info ? { info } : {}) }))}\n`);
    });
  addFraming(encode.command("disc").description("DISC (disconnect)"), false).action((o: FramingOptions) => {
    write(`${bytesToHex(encodeHdlcFrame({ dst: parseServer(o.server), src: hdlcAddress(parseNumber("--client", o.client, 0x7f)), control: { type: "DISC", pf: true } }))}\n`);
  });
  addFraming(encode.command("rr").description("RR (receive ready), e.g. to ask for the next segment"), false)
    .option("--nr <n>", "N(R): the next frame expected", "0")
    .action((o: FramingOptions) => {
      write(`${bytesToHex(encodeHdlcFrame({ dst: parseServer(o.server), src: hdlcAddress(parseNumber("--client", o.client, 0x7f)), control: { type: "RR", pf: true, nr: parseNumber("--nr", o.nr, 7) } }))}\n`);
    });
  addFraming(encode.command("aarq").description("AARQ: LN or SN referencing, no or lowest-level (password) security"), true)
    .option("--password <text>", "low-level security password (omit for no security)")
    .option("--sn", "short-name referencing instead of logical names")
    .option("--max-pdu <n>", "client-max-receive-pdu-size", "0xffff")
    .option("--conformance <names>", `comma-separated conformance bits (${CONFORMANCE_BITS.filter((n) => !n.startsWith("reserved")).join(", ")})`, "block-transfer-with-get-or-read,block-transfer-with-set-or-write,block-transfer-with-action,multiple-references,get,set,selective-access,action")
    .action((o: FramingOptions & { password?: string; sn?: boolean; maxPdu: string; conformance: string }) => {
      const context: ApplicationContext = o.sn ? "short-name" : "logical-name";
      const apdu: Apdu = {
        type: "aarq",
        applicationContext: context,
        callingApTitle: null,
        mechanism: o.password === undefined ? null : "low",
        callingAuthenticationValue: o.password === undefined ? null : new TextEncoder().encode(o.password),
        userInformation: {
          type: "initiate-request", dedicatedKey: null, responseAllowed: null, proposedQualityOfService: null, proposedDlmsVersion: 6,
          proposedConformance: conformance(o.conformance.split(",").map((s) => s.trim()) as ConformanceBit[]),
          clientMaxReceivePduSize: parseNumber("--max-pdu", o.maxPdu, 0xffff),
        },
      };
      write(`${bytesToHex(frameApdu(apdu, o))}\n`);
    });
  addFraming(encode.command("get").description("get-request-normal for one attribute"), true)
    .requiredOption("--obis <code>", "logical name, e.g. 1.0.1.8.0.255 or 1-0:1.8.0*255")
    .option("--class <n>", "interface class id (3 register, 7 profile generic, 8 clock, 1 data)", "3")
    .option("--attribute <n>", "attribute index (2 value, 3 scaler_unit)", "2")
    .option("--invoke-id <n>", "invoke id 0..15 (confirmed, high priority)", "1")
    .option("--invoke-byte <n>", "the raw Invoke-Id-And-Priority byte instead, e.g. 0x41")
    .option("--next <block>", "get-request-next for this block number instead")
    .action((o: FramingOptions & { obis: string; class: string; attribute: string; invokeId: string; invokeByte?: string; next?: string }) => {
      const apdu: Apdu = o.next !== undefined
        ? { type: "get-request-next", invoke: invoke(o), blockNumber: parseNumber("--next", o.next, 0xffffffff) }
        : { type: "get-request-normal", invoke: invoke(o), attribute: { classId: parseNumber("--class", o.class, 0xffff), obis: formatObis(parseObis(o.obis)), attribute: parseNumber("--attribute", o.attribute, 127) }, accessSelection: null };
      write(`${bytesToHex(frameApdu(apdu, o))}\n`);
    });
  addFraming(encode.command("rlrq").description("RLRQ (release request), reason normal"), true).action((o: FramingOptions) => {
    write(`${bytesToHex(frameApdu({ type: "rlrq", reason: 0, userInformation: null }, o))}\n`);
  });

  return program;
}

/**
 * Runs the `dlms` CLI on `argv` (without node and script) and returns its output and exit code.
 * @example
 * await runCli(["encode", "snrm", "--server", "1/17"]) // { stdout: "7ea00802232193bd647e\n", stderr: "", exitCode: 0 }
 */
export async function runCli(argv: readonly string[]): Promise<RunCliReturnType> {
  let stdout = "";
  let stderr = "";
  let exitCode = EXIT_OK;
  const program = buildProgram((s) => {
    stdout += s;
  });
  const capture = { writeOut: (s: string) => void (stdout += s), writeErr: (s: string) => void (stderr += s) };
  program.configureOutput(capture);
  for (const sub of allCommands(program)) sub.exitOverride().configureOutput(capture);
  try {
    await program.parseAsync([...argv], { from: "user" });
  } catch (e) {
    if (e instanceof CommanderError) {
      exitCode = e.code === "commander.helpDisplayed" || e.code === "commander.help" || e.code === "commander.version" ? EXIT_OK : EXIT_BAD_INPUT;
      if (exitCode === EXIT_BAD_INPUT && !stderr) stderr = `dlms: ${e.message}\n`;
    } else if (isDlmsError(e)) {
      stderr += `dlms: error: ${e.code}: ${e.shortMessage}\n`;
      exitCode = e.code === "BAD_TAG" || e.code === "BAD_FCS" || e.code === "BAD_HCS" ? EXIT_BAD_CHECK : EXIT_BAD_INPUT;
    } else {
      throw e;
    }
  }
  return { stdout, stderr, exitCode };
}

function allCommands(c: Command): Command[] {
  return c.commands.flatMap((sub) => [sub, ...allCommands(sub)]);
}

/** Runs the command on this process's argv and sets its exit code (the `dlms` bin). */
export function main(argv: string[] = process.argv.slice(2)): void {
  runCli(argv).then(
    (r) => {
      process.stdout.write(r.stdout);
      process.stderr.write(r.stderr);
      process.exitCode = r.exitCode;
    },
    (e: unknown) => {
      process.stderr.write(`dlms: internal error: ${e instanceof Error ? e.stack : String(e)}\n`);
      process.exitCode = 70;
    },
  );
}

if (require.main === module) main();
