// Fuzz: real captures and encoder output, mutated, through every decoder. A run passes when no
// decoder throws anything but a DlmsError, no decode round trip changes meaning, and no mutated
// ciphered APDU with an authenticating security control byte opens (a forgery).
// `runFuzz` is used by fuzz.test.ts (a short run in jest) and fuzzRun.ts (`pnpm fuzz`, 1M frames).
import { decodeApdu, encodeApdu } from "./apdu";
import { type Apdu } from "./apduTypes";
import { decodeData } from "./axdr";
import { cipherApdu } from "./ciphering";
import { decodeDlms } from "./decode";
import { DlmsError } from "./errors";
import { HdlcReassembler, LLC_COMMAND, decodeHdlcFrame, decodeHdlcParameters, encodeHdlcFrame, hdlcAddress } from "./hdlc";
import { bytesToHex, hexToBytes } from "./hex";
import { Reader } from "./layout";
import { encodeWrapper } from "./wrapper";
import * as captures from "./test-utils/captures";

export const FUZZ_KEY = new TextEncoder().encode("MYDUMMYGLOBALKEY");

/** sfc32: small, fast, seedable; fuzz runs are reproducible from the seed. */
function prng(seed: number): () => number {
  let a = 0x9e3779b9;
  let b = 0x243f6a88;
  let c = 0xb7e15162;
  let d = seed >>> 0;
  const next = () => {
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return t >>> 0;
  };
  for (let i = 0; i < 16; i++) next();
  return next;
}

/** The seed corpus: every real capture, plus encoder output for the request kinds and ciphered forms. */
export function fuzzCorpus(): Uint8Array[] {
  const out: Uint8Array[] = Object.values(captures as Record<string, unknown>).filter((v): v is string => typeof v === "string").map(hexToBytes);
  const invoke = { invokeId: 1, confirmed: true, highPriority: true };
  const apdus: Apdu[] = [
    { type: "get-request-normal", invoke, attribute: { classId: 3, obis: "1.0.1.8.0.255", attribute: 2 }, accessSelection: null },
    { type: "get-request-with-list", invoke, attributes: [{ attribute: { classId: 3, obis: "1.0.2.8.0.255", attribute: 3 }, accessSelection: { selector: 1, parameters: { type: "structure", value: [{ type: "unsigned", value: 1 }] } } }] },
    { type: "set-request-normal", invoke, attribute: { classId: 8, obis: "0.0.1.0.0.255", attribute: 2 }, accessSelection: null, value: { type: "date-time", value: { year: 2026, month: 12, dayOfMonth: 3, dayOfWeek: 4, hour: 9, minute: 0, second: 0, hundredths: 0, deviation: -60, clockStatus: 0x80 } } },
    { type: "action-request-normal", invoke, method: { classId: 15, obis: "0.0.40.0.0.255", method: 1 }, parameters: { type: "octet-string", value: new Uint8Array(16) } },
    { type: "get-response-with-datablock", invoke, lastBlock: false, blockNumber: 1, result: { rawData: new Uint8Array(40).fill(6) } },
    { type: "get-response-with-list", invoke, results: [{ data: { type: "compact-array", description: { type: "structure", elements: [{ type: "long-unsigned" }, { type: "long64" }] }, value: [{ type: "structure", value: [{ type: "long-unsigned", value: 1 }, { type: "long64", value: -5n }] }] } }, { dataAccessResult: 3 }] },
    { type: "exception-response", stateError: 1, serviceError: 6, invocationCounter: 9 },
    { type: "event-notification-request", time: new Uint8Array(12).fill(0xff), attribute: { classId: 70, obis: "0.0.96.3.10.255", attribute: 2 }, value: { type: "boolean", value: true } },
    { type: "action-request-with-first-pblock", invoke, method: { classId: 18, obis: "0.0.44.0.0.255", method: 2 }, block: { lastBlock: false, blockNumber: 1, rawData: new Uint8Array(30).fill(9) } },
    { type: "set-request-with-datablock", invoke, block: { lastBlock: true, blockNumber: 3, rawData: new Uint8Array(5) } },
    { type: "rlrq", reason: 0, userInformation: null },
  ];
  for (const a of apdus) {
    const bytes = encodeApdu(a);
    out.push(bytes);
    const info = new Uint8Array(3 + bytes.length);
    info.set(LLC_COMMAND);
    info.set(bytes, 3);
    out.push(encodeHdlcFrame({ dst: hdlcAddress(1, 17), src: hdlcAddress(16), control: { type: "I", pf: true, ns: 1, nr: 2 }, info }));
    out.push(encodeWrapper({ sourcePort: 16, destinationPort: 1, apdu: bytes }));
    if (bytes[0] === 0xc0 || bytes[0] === 0xc4) {
      for (const form of ["glo", "general-glo"] as const) {
        for (const securityControl of [0x10, 0x30]) {
          out.push(encodeApdu(cipherApdu({ plaintext: bytes, systemTitle: hexToBytes("4d4d4d0000bc614e"), invocationCounter: 77, ek: FUZZ_KEY, ak: FUZZ_KEY, form, securityControl })));
        }
      }
    }
  }
  return out;
}

export interface FuzzStats {
  frames: number;
  decoded: number;
  typedErrors: Record<string, number>;
  /** Anything thrown that is not a DlmsError (a bug). */
  unexpected: number;
  unexpectedSamples: { input: string; error: string }[];
  /** decode(encode(decode(x))) differed from decode(x). */
  roundTripMismatches: number;
  /** Mutated ciphered APDUs (authenticating SC) that opened with the key. */
  forgeriesAccepted: number;
  slowestMs: number;
  /** The input that took longest (hex), to replay it when the time looks like more than a GC pause. */
  slowestInput: string;
  /** Inputs that took over 10 ms (GC pauses and a busy machine show up here too). */
  over10ms: number;
}

function mutate(src: Uint8Array, rnd: () => number): Uint8Array {
  const below = (n: number) => rnd() % n;
  let f: Uint8Array = src.slice();
  const n = 1 + below(4);
  for (let m = 0; m < n; m++) {
    switch (below(8)) {
      case 0:
        if (f.length) f[below(f.length)] ^= 1 << below(8);
        break;
      case 1:
        if (f.length) f[below(f.length)] = rnd() & 0xff;
        break;
      case 2: {
        const at = below(f.length + 1);
        const ins = Uint8Array.from({ length: 1 + below(8) }, () => rnd() & 0xff);
        const g = new Uint8Array(f.length + ins.length);
        g.set(f.subarray(0, at));
        g.set(ins, at);
        g.set(f.subarray(at), at + ins.length);
        f = g;
        break;
      }
      case 3:
        if (f.length) {
          const at = below(f.length);
          f = Uint8Array.from([...f.subarray(0, at), ...f.subarray(at + 1 + below(8))]);
        }
        break;
      case 4:
        f = f.slice(0, below(f.length + 1));
        break;
      case 5: // a length-ish byte to an extreme
        if (f.length) f[below(f.length)] = [0x00, 0x7f, 0x80, 0x81, 0x82, 0x84, 0xff][below(7)];
        break;
      case 6: // fix HDLC checks so the mutation reaches the layers inside
        if (f.length > 8 && f[0] === 0x7e) f = refixHdlc(f);
        break;
      default: // splice two halves of the same frame
        if (f.length > 4) {
          const a = below(f.length);
          const b = below(f.length);
          f = Uint8Array.from([...f.subarray(0, Math.min(a, b)), ...f.subarray(Math.max(a, b))]);
        }
    }
  }
  return f;
}

/** Rewrites length, HCS and FCS of something that looks like an HDLC frame. */
function refixHdlc(f: Uint8Array): Uint8Array {
  try {
    const len = f.length - 2;
    if (len > 0x7ff) return f;
    const g = f.slice();
    g[g.length - 1] = 0x7e;
    g[1] = (g[1] & 0xf8) | (len >> 8);
    g[2] = len & 0xff;
    const d = decodeHdlcFrame(g, { onBadChecksum: "report" });
    return encodeHdlcFrame({ dst: d.dst, src: d.src, control: d.control, info: d.info, segmented: d.segmented });
  } catch {
    return f;
  }
}

function cipheredFingerprint(a: Apdu | undefined): string | null {
  if (!a) return null;
  if ("securityControl" in a) return `${"systemTitle" in a ? bytesToHex(a.systemTitle) : ""}|${a.securityControl}|${a.invocationCounter}|${bytesToHex(a.information)}`;
  return null;
}

/**
 * Runs `frames` mutated inputs through every decoder.
 * @example
 * runFuzz({ frames: 20_000, seed: 1 }).unexpected // 0
 */
export function runFuzz(p: { frames: number; seed: number }): FuzzStats {
  const rnd = prng(p.seed);
  const corpus = fuzzCorpus();
  const originals = new Set(corpus.map((c) => cipheredFingerprint(tryApdu(c))).filter((x): x is string => x !== null));
  const stats: FuzzStats = { frames: 0, decoded: 0, typedErrors: {}, unexpected: 0, unexpectedSamples: [], roundTripMismatches: 0, forgeriesAccepted: 0, slowestMs: 0, slowestInput: "", over10ms: 0 };
  const reassembler = new HdlcReassembler(4096);
  for (let i = 0; i < p.frames; i++) {
    const input = mutate(corpus[i % corpus.length], rnd);
    stats.frames++;
    const t0 = performance.now();
    const step = (f: () => void) => {
      try {
        f();
        return true;
      } catch (e) {
        if (e instanceof DlmsError) {
          stats.typedErrors[e.code] = (stats.typedErrors[e.code] ?? 0) + 1;
          return false;
        }
        stats.unexpected++;
        if (stats.unexpectedSamples.length < 10) stats.unexpectedSamples.push({ input: bytesToHex(input), error: e instanceof Error ? `${e.name}: ${e.message}` : String(e) });
        return false;
      }
    };
    step(() => {
      const d = decodeDlms(input, { ek: FUZZ_KEY, ak: FUZZ_KEY, systemTitle: hexToBytes("4d4d4d0000bc614e") });
      stats.decoded++;
      const fp = cipheredFingerprint(d.apdu);
      const ciphered = d.apdu && "securityControl" in d.apdu ? d.apdu : undefined;
      if (d.plain && fp !== null && !originals.has(fp) && ciphered && ciphered.securityControl & 0x10) stats.forgeriesAccepted++;
    });
    let decodedApdu: Apdu | undefined;
    step(() => {
      decodedApdu = decodeApdu(input);
    });
    if (decodedApdu) {
      // Anything the decoder accepts must re-encode, and re-decode to the same meaning.
      let problem: string | undefined;
      try {
        const again = decodeApdu(encodeApdu(decodedApdu));
        if (JSON.stringify(again, replacer) !== JSON.stringify(decodedApdu, replacer)) problem = "round trip changed the APDU";
      } catch (e) {
        problem = `re-encode failed: ${e instanceof Error ? e.message : String(e)}`;
      }
      if (problem) {
        stats.roundTripMismatches++;
        if (stats.unexpectedSamples.length < 10) stats.unexpectedSamples.push({ input: bytesToHex(input), error: problem });
      }
    }
    step(() => void decodeData(new Reader(input)));
    step(() => void decodeHdlcParameters(input));
    step(() => {
      const f = decodeHdlcFrame(input, { onBadChecksum: "report" });
      reassembler.push(f);
    });
    const ms = performance.now() - t0;
    if (ms > 10) stats.over10ms++;
    if (ms > stats.slowestMs) {
      stats.slowestMs = ms;
      stats.slowestInput = bytesToHex(input);
    }
  }
  return stats;
}

function tryApdu(b: Uint8Array): Apdu | undefined {
  try {
    return decodeDlms(b).apdu;
  } catch {
    return undefined;
  }
}

function replacer(_k: string, v: unknown): unknown {
  if (typeof v === "bigint") return `${v}n`;
  if (v instanceof Uint8Array) return bytesToHex(v);
  if (typeof v === "number" && Number.isNaN(v)) return "NaN";
  return v;
}
