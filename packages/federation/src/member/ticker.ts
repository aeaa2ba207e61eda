// A poll loop that can be woken early: `tick` runs every `everyMs` (counted from the start of the
// last tick; a function is asked each time), or at once on `kick()` (a new head arrived), never
// twice at the same time; a kick during a tick runs one more right after.
export class Ticker {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private stopped = false;
  private wake: NodeJS.Timeout | undefined;

  constructor(
    private readonly tick: () => Promise<void>,
    private readonly everyMs: number | (() => number),
  ) {}

  start(): void {
    this.run();
  }

  kick(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.run();
  }

  /**
   * Kicks at `atMs` (wall clock) too, whatever the interval: for something known to become due then
   * (a block that will be old enough) on a chain that may bring no new head. One such wake at a time.
   */
  kickAt(atMs: number): void {
    if (this.stopped) return;
    clearTimeout(this.wake);
    this.wake = setTimeout(() => this.kick(), Math.max(50, atMs - Date.now()));
    this.wake.unref();
  }

  /** Stops; resolves when the tick under way has finished. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.wake);
    if (this.timer) clearTimeout(this.timer);
    await this.running;
  }

  private run(): void {
    if (this.stopped) return;
    const t0 = Date.now();
    this.running = this.tick()
      .catch(() => undefined)
      .finally(() => {
        this.running = undefined;
        if (this.stopped) return;
        if (this.again) {
          this.again = false;
          this.run();
          return;
        }
        const every = typeof this.everyMs === "function" ? this.everyMs() : this.everyMs;
        this.timer = setTimeout(() => this.run(), Math.max(5, every - (Date.now() - t0)));
      });
  }
}
