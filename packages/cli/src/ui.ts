// Progress output: a spinner on a terminal, plain lines otherwise (CI logs stay readable).
const FRAMES = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];

export interface Ui {
  step<T>(label: string, fn: () => Promise<T>, done?: (value: T) => string): Promise<T>;
  info(line: string): void;
}

/** Formats rows as an aligned text table; the first row is the header. */
export function formatTable(rows: string[][]): string {
  if (rows.length === 0) return "";
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? "").length)));
  const lines: string[] = [];
  for (const [n, r] of rows.entries()) {
    lines.push(r.map((cell, c) => cell.padEnd(widths[c]!)).join("  ").trimEnd());
    if (n === 0) lines.push(widths.map((w) => "─".repeat(w)).join("  "));
  }
  return lines.join("\n");
}

export function createUi(stream: NodeJS.WriteStream = process.stderr, quiet = false): Ui {
  const tty = Boolean(stream.isTTY) && !process.env.CI;
  return {
    async step(label, fn, done) {
      const t0 = Date.now();
      let i = 0;
      let timer: NodeJS.Timeout | undefined;
      if (!quiet) {
        if (tty) {
          stream.write(`${FRAMES[0]} ${label}`);
          timer = setInterval(() => stream.write(`\r${FRAMES[++i % FRAMES.length]} ${label}`), 80);
        } else stream.write(`… ${label}\n`);
      }
      try {
        const v = await fn();
        const secs = ((Date.now() - t0) / 1000).toFixed(1);
        const suffix = done ? `: ${done(v)}` : "";
        if (!quiet) stream.write(`${tty ? "\r\x1b[K" : ""}✔ ${label}${suffix} (${secs}s)\n`);
        return v;
      } catch (e) {
        if (!quiet) stream.write(`${tty ? "\r\x1b[K" : ""}✖ ${label}\n`);
        throw e;
      } finally {
        if (timer) clearInterval(timer);
      }
    },
    info(line) {
      if (!quiet) stream.write(`${line}\n`);
    },
  };
}
