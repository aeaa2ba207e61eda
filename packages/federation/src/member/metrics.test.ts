// The member's relay senders' recoveries are read from them at each scrape, per chain.
import { createMemberMetrics } from "./metrics";

it("reports each chain's relay-sender recoveries at scrape time, and nothing for a chain without a sender yet", async () => {
  const m = createMemberMetrics(1);
  const sec = { flushed: 1, rebroadcast: 4, gapsFilled: 0, resubmitted: 2 };
  m.recoverySources.set("blocksec", () => sec);
  m.recoverySources.set("blocktst", () => undefined);
  const read = async (chain: string, kind: string) =>
    new RegExp(`^federation_tx_recoveries\\{chain="${chain}",kind="${kind}",member="1"\\} (\\d+)$`, "m").exec(await m.registry.metrics())?.[1];
  expect(await read("blocksec", "rebroadcast")).toBe("4");
  expect(await read("blocksec", "resubmitted")).toBe("2");
  sec.resubmitted = 5;
  expect(await read("blocksec", "resubmitted")).toBe("5");
  expect(await read("blocktst", "flushed")).toBeUndefined();
});
