// The meters' acknowledged log positions, kept across simulator restarts. A real meter holds its
// position in non-volatile memory; a simulated one that forgot it would hand its whole log over
// again after every restart, which the gateway (rightly) reports as replayed records. Written every
// few seconds when a position moved, and on close; a position lost to a kill -9 only makes a
// meter hand over again what the gateway already has (duplicates it recognises and skips).
import fs from "node:fs";
import path from "node:path";
import { SimulatorStateError } from "./errors";
//
// The same file keeps each meter's response-number reservation. The gateway remembers the last
// response number it accepted from a meter and reports anything not after it as a replay (a real
// meter keeps its counter in non-volatile memory); a simulator that started its counters from the
// seed again after a restart had every meter reported as replaying for hundreds of polls. Written
// ahead: a meter resumes at its reservation, and a new one (RESPONSE_SEQ_RESERVATION further) is
// written at start and at every tick, long before a meter can answer that many requests.

/** Responses a meter may send between two writes of the file; far more than it answers in a tick. */
export const RESPONSE_SEQ_RESERVATION = 100_000;

interface AckFile {
  firstMeterId: number;
  acked: number[];
  /** Per meter: its response numbers resume here after a restart. */
  responseSeq?: number[];
}

/**
 * Each meter's kept response-number reservation (undefined where unknown: a new meter, a missing,
 * older or unreadable file).
 */
export function readResponseSeqs(file: string, firstMeterId: number, count: number): (number | undefined)[] {
  const out = new Array<number | undefined>(count).fill(undefined);
  const f = readFile(file);
  if (!f || !Array.isArray(f.responseSeq)) return out;
  for (let i = 0; i < count; i++) {
    const v = f.responseSeq[firstMeterId + i - f.firstMeterId];
    if (Number.isInteger(v) && (v as number) >= 0 && (v as number) <= 0xffffffff) out[i] = v as number;
  }
  return out;
}

function readFile(file: string): AckFile | undefined {
  if (!fs.existsSync(file)) return undefined;
  let f: AckFile;
  try {
    f = JSON.parse(fs.readFileSync(file, "utf8")) as AckFile;
  } catch {
    return undefined; // written by rename: a torn file cannot happen, a hand-edited one starts over
  }
  if (!Number.isInteger(f.firstMeterId) || !Array.isArray(f.acked)) return undefined;
  return f;
}

/**
 * Reads the positions for meters `firstMeterId`..`firstMeterId + count - 1` (0 where unknown: a new
 * meter, a missing or unreadable file, another numbering).
 */
export function readAcks(file: string, firstMeterId: number, count: number): number[] {
  const out = new Array<number>(count).fill(0);
  const f = readFile(file);
  if (!f) return out;
  for (let i = 0; i < count; i++) {
    const v = f.acked[firstMeterId + i - f.firstMeterId];
    if (Number.isInteger(v) && (v as number) > 0) out[i] = v as number;
  }
  return out;
}

/**
 * Keeps `file` up to date with `positions()` and, when given, the meters' next response numbers
 * (`responseSeqs()`, stored as reservations): written now, then checked every `everyMs`; `close`
 * writes once more.
 */
export function keepAcks(file: string, firstMeterId: number, positions: () => number[], everyMs = 2000, responseSeqs?: () => number[]): { close(): void } {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  let last = "";
  let reserved: number[] | undefined;
  const write = () => {
    const acked = positions();
    if (responseSeqs) {
      const next = responseSeqs();
      // A reservation moves only when a meter has used half of it: the file does not change every tick.
      if (!reserved || next.some((n, i) => ((reserved![i]! - n) >>> 0) < RESPONSE_SEQ_RESERVATION / 2 || ((reserved![i]! - n) >>> 0) > RESPONSE_SEQ_RESERVATION)) {
        reserved = next.map((n) => (n + RESPONSE_SEQ_RESERVATION) >>> 0);
      }
    }
    const text = JSON.stringify({ firstMeterId, acked, ...(reserved ? { responseSeq: reserved } : {}) } satisfies AckFile);
    if (text === last) return;
    try {
      fs.writeFileSync(`${file}.tmp`, text);
      fs.renameSync(`${file}.tmp`, file);
      last = text;
    } catch (e) {
      throw new SimulatorStateError(file, "cannot write the meters' acknowledged positions", { cause: e });
    }
  };
  write(); // a reservation must be on disk before the meters answer anything
  const timer = setInterval(() => {
    try {
      write();
    } catch (e) {
      process.stderr.write(`${(e as Error).message}\n`); // tried again at the next tick
    }
  }, everyMs);
  timer.unref();
  return {
    close() {
      clearInterval(timer);
      write();
    },
  };
}
