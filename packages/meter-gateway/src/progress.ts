// A one-line progress display for large fleets: polls, readings, outbox, anchoring, queue,
// alerts, with rates over the last interval. On a TTY the line is redrawn in place.
import type { Gateway, GatewaySnapshot } from "./gateway";

/**
 * Formats two consecutive snapshots as one status line.
 * @example
 * formatProgress(prev, next) // "meters 1000 │ polls 5,210 (+498/s, 0 failed) │ stored 52,100 (+5,010/s) │ ..."
 */
export function formatProgress(prev: GatewaySnapshot | undefined, s: GatewaySnapshot): string {
  const dt = prev ? Math.max(0.001, (s.at - prev.at) / 1000) : 1;
  const rate = (now: number, before: number | undefined) => (prev === undefined || before === undefined ? "" : ` +${fmt((now - before) / dt)}/s`);
  return [
    `meters ${fmt(s.meters)}`,
    `polls ${fmt(s.polls.ok)}${rate(s.polls.ok, prev?.polls.ok)} (${fmt(s.polls.failed)} failed)`,
    `stored ${fmt(s.readings.stored)}${rate(s.readings.stored, prev?.readings.stored)}`,
    `not permitted ${fmt(s.readings.notPermitted)}`,
    `outbox ${fmt(s.outboxPending)}${s.backpressure.engaged ? " (backpressure: polls deferred)" : ""}`,
    `anchored ${fmt(s.anchored)}${rate(s.anchored, prev?.anchored)} in ${fmt(s.anchorTxs)} txs`,
    `queue w${fmt(s.queue.waiting)} a${fmt(s.queue.active)} d${fmt(s.queue.delayed)} f${fmt(s.queue.failed)}`,
    `alerts ${fmt(s.alerts)}`,
  ].join(" │ ");
}

function fmt(n: number): string {
  return Math.round(n).toLocaleString("en-US");
}

/**
 * Prints the progress line every `intervalMs` until the returned function is called.
 * @example
 * const stop = startProgressDisplay(gateway, { stream: process.stderr }); ... stop();
 */
export function startProgressDisplay(gateway: Pick<Gateway, "snapshot">, options: { stream?: NodeJS.WriteStream; intervalMs?: number } = {}): () => void {
  const stream = options.stream ?? process.stderr;
  let prev: GatewaySnapshot | undefined;
  let busy = false;
  const timer = setInterval(async () => {
    if (busy) return;
    busy = true;
    try {
      const s = await gateway.snapshot();
      const line = formatProgress(prev, s);
      prev = s;
      if (stream.isTTY) stream.write(`\r\x1b[2K${line}`);
      else stream.write(`${line}\n`);
    } catch {
      /* a snapshot can fail while Redis restarts; try again next tick */
    } finally {
      busy = false;
    }
  }, options.intervalMs ?? 1000);
  return () => {
    clearInterval(timer);
    if (stream.isTTY) stream.write("\n");
  };
}
