// The simulator's journal of accepted appliance commands. A meter's registers are a function of its
// load profile and the commands effective so far, so a simulator restarted without them would
// serve registers that went backwards (a battery that discharged never did): the gateway rejects
// every later record of that meter. One JSON line per accepted command, appended before the
// caller hears "accepted"; a restarted simulator replays them in issue order.
import fs from "node:fs";
import path from "node:path";
import type { CommandApplianceParameters } from "./applianceTypes";
import { SimulatorStateError } from "./errors";

/** One line of the journal. */
export interface JournaledCommand {
  meterId: number;
  /** With `atMs` resolved (a command for "now" is kept at the simulated now it was accepted). */
  command: CommandApplianceParameters & { atMs: number };
}

export interface ReplayCommandsReturnType {
  replayed: number;
  /** Lines that were not replayed: a torn last line (killed mid-write), a meter no longer simulated, a refused command. */
  skipped: { line: number; reason: string }[];
}

/**
 * Appends one accepted command. A single write(2) of a whole line: a process killed after it
 * returns keeps the line (the page cache outlives the process); a torn line is skipped on replay.
 * @throws SimulatorStateError when the file cannot be written
 */
export function journalCommand(file: string, entry: JournaledCommand): void {
  try {
    fs.appendFileSync(file, `${JSON.stringify(entry)}\n`, { mode: 0o600 });
  } catch (e) {
    throw new SimulatorStateError(file, "cannot append an accepted command", { cause: e });
  }
}

/**
 * Replays the journal through `apply` in the order the commands were accepted.
 * @example
 * replayCommands(file, (id, c) => sim.meter(id).commandAppliance(c)) // { replayed: 3, skipped: [] }
 */
export function replayCommands(file: string, apply: (meterId: number, command: JournaledCommand["command"]) => void): ReplayCommandsReturnType {
  const out: ReplayCommandsReturnType = { replayed: 0, skipped: [] };
  if (!fs.existsSync(file)) {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    return out;
  }
  const lines = fs.readFileSync(file, "utf8").split("\n");
  for (const [i, text] of lines.entries()) {
    if (text.trim() === "") continue;
    let entry: JournaledCommand;
    try {
      entry = JSON.parse(text) as JournaledCommand;
      if (!Number.isInteger(entry.meterId) || typeof entry.command !== "object" || entry.command === null) throw new Error("not a {meterId, command} line");
    } catch (e) {
      out.skipped.push({ line: i + 1, reason: `unreadable: ${(e as Error).message}` });
      continue;
    }
    try {
      apply(entry.meterId, entry.command);
      out.replayed++;
    } catch (e) {
      out.skipped.push({ line: i + 1, reason: (e as Error).message });
    }
  }
  return out;
}
