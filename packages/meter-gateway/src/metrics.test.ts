// The process metrics an operator scrapes: the event-loop lag is still measured (sampled every
// 200 ms rather than prom-client's 10 ms, which woke an idle gateway ~100 times a second).
import { createGatewayMetrics } from "./metrics";

it("exports the process and event-loop metrics with the gateway's prefix, and samples the lag", async () => {
  const m = createGatewayMetrics({ defaultMetrics: true });
  // A busy spell the monitor must see as lag.
  const until = Date.now() + 300;
  while (Date.now() < until) {
    /* block the loop */
  }
  await new Promise((r) => setTimeout(r, 700));
  const text = await m.registry.metrics();
  const value = (name: string) => Number(new RegExp(`^${name} ([0-9.e+-]+)$`, "m").exec(text)?.[1]);
  expect(value("sidegrid_gateway_process_cpu_seconds_total")).toBeGreaterThan(0);
  expect(value("sidegrid_gateway_nodejs_eventloop_lag_max_seconds")).toBeGreaterThan(0.1);
  m.registry.clear();
});

it("reports what the anchoring sender worked around in its node's pool, read at each scrape", async () => {
  const counts = { stalledFlushed: 2, rebroadcast: 0, gapsFilled: 1, resubmitted: 0 };
  const m = createGatewayMetrics({ sender: counts });
  const read = async (kind: string) => Number(new RegExp(`^sidegrid_gateway_tx_recoveries\\{kind="${kind}"\\} (\\d+)$`, "m").exec(await m.registry.metrics())?.[1]);
  expect(await read("flushed")).toBe(2);
  expect(await read("gaps_filled")).toBe(1);
  counts.resubmitted = 3;
  expect(await read("resubmitted")).toBe(3);
  // Without a sender (tests, tools) the gauge is there and empty.
  expect(await createGatewayMetrics().registry.metrics()).not.toMatch(/tx_recoveries\{/);
});
