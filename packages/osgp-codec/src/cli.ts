#!/usr/bin/env node
// `osgp`: a debugging CLI for integrators working with captures. Hex in, hex or JSON out. The logic
// is `runCli` (argv in, output and exit code out) so tests run it in-process.
import { Command, CommanderError, Option } from "commander";
import { omaDigest, omaResponseDigest } from "./digest";
import { InvalidArgumentError, InvalidHexError, isOsgpError } from "./errors";
import { decodeRequest, decodeResponse, encodeRequest, encodeResponse, requestDigestInput } from "./frame";
import { bytesToHex, hexToBytes } from "./hex";
import { decodeProcedureCall, encodeProcedureCall } from "./procedure";
import { READING_RECORD_SIZE, READING_TABLE_ID, decodeReadingRecord } from "./record";
import { REQUEST_SERVICES, RESPONSES, decodeRequestPdu, encodeRequestPdu, type ServiceRequest, type ServiceResponse } from "./services";
import { PROCEDURE_TABLE_ID, formatTableId, parseTableName } from "./tableId";

/** Exit codes: 0 success, 1 decoded but the digest did not verify, 2 bad input. */
export const EXIT_OK = 0;
export const EXIT_BAD_DIGEST = 1;
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

function parseHex(name: string, text: string): Uint8Array {
  try {
    return hexToBytes(text);
  } catch (e) {
    if (e instanceof InvalidHexError) throw new InvalidArgumentError(name, text, `hex bytes (${e.reason})`, { cause: e });
    throw e;
  }
}

/** JSON-friendly copy: bytes become hex strings. */
function jsonable(value: object): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = v instanceof Uint8Array ? bytesToHex(v) : v;
  return out;
}

function describeRequest(request: ServiceRequest): Record<string, unknown> {
  const { service, ...fields } = request;
  const out: Record<string, unknown> = {
    service,
    code: `0x${REQUEST_SERVICES[service].code.toString(16).padStart(2, "0")}`,
    fields: { ...jsonable(fields), table: formatTableId(request.tableId) },
  };
  if (request.service === "fullWrite" && request.tableId === PROCEDURE_TABLE_ID) {
    try {
      const call = decodeProcedureCall(request.data);
      // Procedures share the table numbering: ET17's id is EP17's.
      out.procedure = { ...jsonable(call), name: formatTableId(call.procedure).replace("T", "P") };
    } catch (e) {
      if (!isOsgpError(e)) throw e;
      out.procedure = { error: e.shortMessage };
    }
  }
  return out;
}

function describeResponse(response: ServiceResponse, request: ServiceRequest | undefined): Record<string, unknown> {
  const { response: name, ...fields } = response;
  const out: Record<string, unknown> = {
    response: name,
    code: `0x${RESPONSES[name].code.toString(16).padStart(2, "0")}`,
    fields: jsonable(fields),
  };
  if (response.response === "invalidSequenceNumber") (out.fields as Record<string, unknown>).seqHex = response.seq.toString(16).padStart(8, "0");
  const readsRecord =
    request !== undefined && (request.service === "fullRead" || request.service === "partialRead") && request.tableId === READING_TABLE_ID;
  if (response.response === "okData" && readsRecord && response.data.length === READING_RECORD_SIZE) {
    try {
      out.reading = decodeReadingRecord(response.data);
    } catch (e) {
      if (!isOsgpError(e)) throw e;
      out.reading = { error: e.shortMessage };
    }
  }
  return out;
}

function buildProgram(write: (s: string) => void, setExit: (code: number) => void): Command {
  const program = new Command("osgp")
    .description("OSGP/MEP application-layer codec: OMA digests, frames, PDUs, ET160 reading records")
    .showHelpAfterError(false)
    .exitOverride();

  program
    .command("digest")
    .description("OMA digest of a message, or with --request the response digest over request PDU ‖ seq ‖ response PDU")
    .requiredOption("--key <hex>", "OMA key: 6, 12 or 16 bytes")
    .option("--request <hex>", "request PDU ‖ seq (makes <message-hex> the response PDU)")
    .argument("<message-hex>", "message (request PDU ‖ seq) or response PDU")
    .action((messageHex: string, o: { key: string; request?: string }) => {
      const key = parseHex("--key", o.key);
      const message = parseHex("message", messageHex);
      const digest =
        o.request === undefined ? omaDigest(key, message) : omaResponseDigest({ key, request: parseHex("--request", o.request), response: message });
      write(`${bytesToHex(digest)}\n`);
    });

  const frame = program.command("frame").description("wrap a PDU into a full frame with length and digest");
  frame
    .command("request")
    .requiredOption("--key <hex>", "OMA key")
    .requiredOption("--seq <n>", "sequence number (decimal or 0x-hex)")
    .argument("<service-pdu-hex>", "service code and fields")
    .action((pduHex: string, o: { key: string; seq: string }) => {
      const out = encodeRequest({ request: parseHex("service-pdu", pduHex), seq: parseNumber("--seq", o.seq, 0xffffffff), key: parseHex("--key", o.key) });
      write(`${bytesToHex(out)}\n`);
    });
  frame
    .command("response")
    .requiredOption("--key <hex>", "OMA key")
    .requiredOption("--request <hex>", "request PDU ‖ seq")
    .argument("<response-pdu-hex>", "response code and data")
    .action((pduHex: string, o: { key: string; request: string }) => {
      const out = encodeResponse({ response: parseHex("response-pdu", pduHex), request: parseHex("--request", o.request), key: parseHex("--key", o.key) });
      write(`${bytesToHex(out)}\n`);
    });

  const encode = program.command("encode").description("encode a service PDU");
  const table = (s: string) => parseTableName(s);
  encode
    .command("full-read")
    .requiredOption("--table <t>", "table: BTn, ETn or an id")
    .action((o: { table: string }) => write(`${bytesToHex(encodeRequestPdu({ service: "fullRead", tableId: table(o.table) }))}\n`));
  encode
    .command("partial-read")
    .requiredOption("--table <t>", "table: BTn, ETn or an id")
    .requiredOption("--offset <n>", "byte offset (24 bits)")
    .requiredOption("--count <n>", "byte count (16 bits)")
    .action((o: { table: string; offset: string; count: string }) => {
      const pdu = encodeRequestPdu({
        service: "partialRead",
        tableId: table(o.table),
        offset: parseNumber("--offset", o.offset, 0xffffff),
        count: parseNumber("--count", o.count, 0xffff),
      });
      write(`${bytesToHex(pdu)}\n`);
    });
  encode
    .command("full-write")
    .requiredOption("--table <t>", "table: BTn, ETn or an id")
    .argument("<data-hex>", "table data (LSB-first fields)")
    .action((dataHex: string, o: { table: string }) => {
      write(`${bytesToHex(encodeRequestPdu({ service: "fullWrite", tableId: table(o.table), data: parseHex("data", dataHex) }))}\n`);
    });
  encode
    .command("partial-write")
    .requiredOption("--table <t>", "table: BTn, ETn or an id")
    .requiredOption("--offset <n>", "byte offset (24 bits)")
    .argument("<data-hex>", "table data (LSB-first fields)")
    .action((dataHex: string, o: { table: string; offset: string }) => {
      const pdu = encodeRequestPdu({ service: "partialWrite", tableId: table(o.table), offset: parseNumber("--offset", o.offset, 0xffffff), data: parseHex("data", dataHex) });
      write(`${bytesToHex(pdu)}\n`);
    });
  encode
    .command("procedure")
    .description("a procedure call: full write of BT07")
    .requiredOption("--id <n>", "procedure: BPn, EPn (= 2048 + n) or a number")
    .requiredOption("--psn <n>", "procedure sequence number (0..255)")
    .option("--response-handling <n>", "bits 12-15 of the procedure word", "0")
    .argument("[params-hex]", "procedure parameters", "")
    .action((paramsHex: string, o: { id: string; psn: string; responseHandling: string }) => {
      const call = encodeProcedureCall({
        procedure: parseTableName(o.id),
        psn: parseNumber("--psn", o.psn, 0xff),
        responseHandling: parseNumber("--response-handling", o.responseHandling, 15),
        params: parseHex("params", paramsHex),
      });
      write(`${bytesToHex(encodeRequestPdu(call))}\n`);
    });

  program
    .command("decode")
    .description("decode a frame to JSON; exit 1 if a digest was checked and failed")
    .option("--key <hex>", "OMA key to verify the digest")
    .option("--request <hex>", "request PDU ‖ seq (decodes <frame-hex> as a response)")
    .option("--request-frame <hex>", "the full request frame instead of --request")
    .addOption(new Option("--as <kind>", "force request or response").choices(["request", "response"]))
    .argument("<frame-hex>", "len | PDU | [seq] | digest")
    .action((frameHex: string, o: { key?: string; request?: string; requestFrame?: string; as?: "request" | "response" }) => {
      const bytes = parseHex("frame", frameHex);
      const key = o.key === undefined ? undefined : parseHex("--key", o.key);
      let request = o.request === undefined ? undefined : parseHex("--request", o.request);
      if (o.requestFrame !== undefined) request = requestDigestInput(parseHex("--request-frame", o.requestFrame));
      const kind = o.as ?? (request === undefined ? "request" : "response");
      let result: Record<string, unknown>;
      let digestValid: boolean | null;
      if (kind === "request") {
        const d = decodeRequest(bytes, { ...(key ? { key } : {}), onBadDigest: "report" });
        digestValid = d.digestValid;
        result = { type: "request", length: bytes.length - 2, ...describeRequest(d.request), seq: d.seq, seqHex: d.seq.toString(16).padStart(8, "0") };
        result.digest = bytesToHex(d.digest);
      } else {
        if (key && !request) throw new InvalidArgumentError("--request", undefined, "the request (PDU ‖ seq) to verify a response digest");
        const d = decodeResponse(bytes, { ...(key ? { key } : {}), ...(request ? { request } : {}), onBadDigest: "report" });
        digestValid = d.digestValid;
        // Only to annotate the output (e.g. decode an ET160 record); a malformed request is no error here.
        let parsedRequest: ServiceRequest | undefined;
        try {
          parsedRequest = request ? decodeRequestPdu(request, 0, request.length - 4) : undefined;
        } catch (e) {
          if (!isOsgpError(e)) throw e;
        }
        result = { type: "response", length: bytes.length - 2, ...describeResponse(d.response, parsedRequest), digest: bytesToHex(d.digest) };
      }
      result.digestValid = digestValid;
      result.insecure = true;
      write(`${JSON.stringify(result, null, 2)}\n`);
      if (digestValid === false) setExit(EXIT_BAD_DIGEST);
    });

  program
    .command("record")
    .description("decode a 144-byte ET160 reading record to JSON")
    .argument("<data-hex>", "the table data")
    .action((dataHex: string) => {
      write(`${JSON.stringify(decodeReadingRecord(parseHex("data", dataHex)), null, 2)}\n`);
    });

  return program;
}

/**
 * Runs the `osgp` CLI on `argv` (without node and script) and returns its output and exit code.
 * @example
 * await runCli(["digest", "--key", "dfdfdfdfdfdfdfdfdfdfdfdf", "0202003000037f30ea6d0000000d0020980031c30008000000000011"])
 * // { stdout: "dbe5cde507b1cb3d\n", stderr: "", exitCode: 0 }
 */
export async function runCli(argv: readonly string[]): Promise<RunCliReturnType> {
  let stdout = "";
  let stderr = "";
  let exitCode = EXIT_OK;
  const program = buildProgram(
    (s) => {
      stdout += s;
    },
    (code) => {
      exitCode = code;
    },
  );
  const capture = { writeOut: (s: string) => void (stdout += s), writeErr: (s: string) => void (stderr += s) };
  program.configureOutput(capture);
  for (const sub of allCommands(program)) sub.exitOverride().configureOutput(capture);
  try {
    await program.parseAsync([...argv], { from: "user" });
  } catch (e) {
    if (e instanceof CommanderError) {
      // Help and version are successful exits; every other parse problem is bad input.
      exitCode = e.code === "commander.helpDisplayed" || e.code === "commander.help" || e.code === "commander.version" ? EXIT_OK : EXIT_BAD_INPUT;
      if (exitCode === EXIT_BAD_INPUT && !stderr) stderr = `osgp: ${e.message}\n`;
    } else if (isOsgpError(e)) {
      stderr += `osgp: error: ${e.code}: ${e.shortMessage}\n`;
      exitCode = EXIT_BAD_INPUT;
    } else {
      throw e;
    }
  }
  return { stdout, stderr, exitCode };
}

function allCommands(c: Command): Command[] {
  return c.commands.flatMap((sub) => [sub, ...allCommands(sub)]);
}

/** Runs the command on this process's argv and sets its exit code (the `osgp` bin). */
export function main(argv: string[] = process.argv.slice(2)): void {
  runCli(argv).then(
    (r) => {
      process.stdout.write(r.stdout);
      process.stderr.write(r.stderr);
      process.exitCode = r.exitCode;
    },
    (e: unknown) => {
      process.stderr.write(`osgp: internal error: ${e instanceof Error ? e.stack : String(e)}\n`);
      process.exitCode = 70;
    },
  );
}

if (require.main === module) main();
