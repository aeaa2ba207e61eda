// New heads of a chain by WebSocket subscription (eth_subscribe newHeads), so a watcher (the
// gateway's consent and trade watchers, a federation member's chain watcher) reads the chain when
// it changes instead of polling it several times a second: an idle system then costs little CPU.
// The socket is plain `ws`, not an ethers provider: a node that is down, refuses or drops the
// socket only means another attempt after `retryMs`, never an unhandled rejection, and the
// watcher's own slow polls carry on meanwhile.
import WebSocket from "ws";

export interface HeadFollowerParameters {
  wsUrl: string;
  onHead: () => void;
  onError?: (e: unknown) => void;
  /** Pause before connecting again after a failure or a drop (default 3 s). */
  retryMs?: number;
}

/**
 * @example
 * const heads = new HeadFollower({ wsUrl: "ws://127.0.0.1:31002", onHead: () => void policy.poll() });
 * heads.start(); ... await heads.stop();
 */
export class HeadFollower {
  private socket: WebSocket | undefined;
  private retry: NodeJS.Timeout | undefined;
  private stopped = false;
  private live = false;
  heads = 0;

  constructor(private readonly p: HeadFollowerParameters) {}

  /** True while heads arrive by subscription. */
  get subscribed(): boolean {
    return this.live;
  }

  start(): void {
    this.stopped = false;
    this.connect();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.live = false;
    if (this.retry) clearTimeout(this.retry);
    const s = this.socket;
    this.socket = undefined;
    if (!s || s.readyState === WebSocket.CLOSED) return;
    await new Promise<void>((resolve) => {
      s.once("close", () => resolve());
      s.terminate();
    });
  }

  private connect(): void {
    const s = new WebSocket(this.p.wsUrl);
    this.socket = s;
    s.on("open", () => s.send(JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_subscribe", params: ["newHeads"] })));
    s.on("message", (data) => {
      let msg: { id?: number; result?: unknown; error?: { message?: string }; method?: string };
      try {
        msg = JSON.parse(String(data)) as typeof msg;
      } catch {
        return;
      }
      if (msg.id === 1) {
        if (msg.error) {
          this.p.onError?.(new Error(`eth_subscribe newHeads refused: ${msg.error.message ?? "?"}`));
          s.terminate();
          return;
        }
        this.live = true;
        return;
      }
      if (msg.method === "eth_subscription") {
        this.heads++;
        this.p.onHead();
      }
    });
    s.on("error", (e) => this.p.onError?.(e));
    s.on("close", () => {
      const wasLive = this.live;
      this.live = false;
      if (this.socket !== s || this.stopped) return;
      this.socket = undefined;
      if (wasLive) this.p.onHead(); // catch up on what the gap may hide
      this.retry = setTimeout(() => {
        this.retry = undefined;
        if (!this.stopped) this.connect();
      }, this.p.retryMs ?? 3000);
    });
  }
}
