// `sidegrid up --supervise`: stay in the foreground and bring back whatever process of the system
// dies (a crash, an OOM kill, kill -9), the way systemd or a container's restart policy would on a
// real host. Restarting is `up` itself, which starts only what is not running; it ends when the
// system is stopped (`sidegrid down` removes the state file) or the signal aborts it.
import { sleep, type SidegridConfig } from "@sidegrid/chain";
import { isOurs, readState } from "./system";
import { createUi, type Ui } from "./ui";

export interface SuperviseOptions {
  /** Brings dead processes back (`up`; passed in so this module does not import the command tree). */
  restart: (cfg: SidegridConfig, ui: Ui) => Promise<unknown>;
  /** How often the processes are looked at (default 1 s). */
  everyMs?: number;
  signal?: AbortSignal;
  /** Told which processes were found dead, before they are restarted. */
  onDead?: (names: string[]) => void;
  /** Told when a restart failed (it is tried again at the next look). */
  onError?: (e: unknown) => void;
}

/**
 * Watches the processes `up` recorded and runs `restart` when one of them is gone.
 * @returns how many restarts it made.
 * @example
 * const ac = new AbortController();
 * void supervise(cfg, { restart: up, signal: ac.signal });
 */
export async function supervise(cfg: SidegridConfig, o: SuperviseOptions): Promise<number> {
  const ui = createUi(process.stderr, true);
  let restarts = 0;
  while (!o.signal?.aborted) {
    const state = readState(cfg);
    if (!state || state.stopping) break; // stopped by `down`
    const dead = state.processes.filter((p) => !isOurs(p)).map((p) => p.name);
    if (dead.length > 0) {
      o.onDead?.(dead);
      try {
        await o.restart(cfg, ui);
        restarts++;
      } catch (e) {
        o.onError?.(e);
      }
    }
    await sleep(o.everyMs ?? 1000);
  }
  return restarts;
}
