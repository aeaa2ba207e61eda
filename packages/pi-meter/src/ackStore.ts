// The meters' acknowledged log positions, kept across simulator restarts. A real meter holds its
// position in non-volatile memory; a simulated one that forgot it would hand its whole log over
// again after every restart, which the gateway (rightly) reports as replayed records. Written every
// few seconds when a position moved, and on close; a position lost to a kill -9 only makes a
// meter hand over again what the gateway already has (duplicates it recognises and skips).
import fs from "node:fs";
import path from "node:path";
import { SimulatorStateError } from "./errors";

interface AckFile {
  firstMeterId: number;
  acked: number[];
}

/**
 * Reads the positions for meters `firstMeterId`..`firstMeterId + count - 1` (0 where unknown: a new
 * meter, a missing or unreadable file, another numbering).
 */
export function readAcks(file: string, firstMeterId: number, count: number): number[] {
  const out = new Array<number>(count).fill(0);
  if (!fs.existsSync(file)) return out;
  let f: AckFile;
  try {
    f = JSON.parse(fs.readFileSync(file, "utf8")) as AckFile;
  } catch {
    return out; // written by rename: a torn file cannot happen, a hand-edited one starts over
  }
  if (!Number.isInteger(f.firstMeterId) || !Array.isArray(f.acked)) return out;
  for (let i = 0; i < count; i++) {
    const v = f.acked[firstMeterId + i - f.firstMeterId];
    if (Number.isInteger(v) && (v as number) > 0) out[i] = v as number;
  }
  return out;
}

/** Keeps `file` up to date with `positions()` (checked every `everyMs`); `close` writes once more. */
export function keepAcks(file: string, firstMeterId: number, positions: () => number[], everyMs = 2000): { close(): void } {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  let last = "";
  const write = () => {
    const acked = positions();
    const text = JSON.stringify({ firstMeterId, acked } satisfies AckFile);
    if (text === last) return;
    try {
      fs.writeFileSync(`${file}.tmp`, text);
      fs.renameSync(`${file}.tmp`, file);
      last = text;
    } catch (e) {
      throw new SimulatorStateError(file, "cannot write the meters' acknowledged positions", { cause: e });
    }
  };
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
