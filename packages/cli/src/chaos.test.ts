// The chaos command's inputs and its printed report (the run itself: test/faults/system.test.ts).
import { CliError } from "./errors";
import { defaultConfig } from "@sidegrid/chain";
import { formatChaos, parseFaults, rollbacksCovered, type ChaosReport } from "./chaos";
import { meterReadings } from "./chaosChecks";

describe("parseFaults", () => {
  it("gives the default run (members, gateway, meters, Redis twice, a BlockSEC rollback) and 'all' adds anvil kills and source rollbacks", () => {
    expect(parseFaults("default", 3)).toEqual(["member-0", "member-1", "member-2", "gateway", "meters", "redis", "redis-empty", "blocksec-rollback"]);
    const all = parseFaults("all", 2);
    expect(all).toEqual(["member-0", "member-1", "gateway", "meters", "redis", "redis-empty", "blocksec-rollback", "blockpri", "blocksec", "blocktst", "blockpri-rollback", "blocktst-rollback"]);
    expect(parseFaults(" gateway , blocktst-rollback ", 3)).toEqual(["gateway", "blocktst-rollback"]);
  });

  it("adds the anvil kills and the source chains' rollbacks to the default run only where every chain's minBlockAgeMs outlasts them", () => {
    expect(parseFaults("default", 1, true)).toEqual(["member-0", "gateway", "meters", "redis", "redis-empty", "blocksec-rollback", "blockpri", "blocksec", "blocktst", "blockpri-rollback", "blocktst-rollback"]);
    const cfg = defaultConfig();
    expect(rollbacksCovered(cfg)).toBe(false); // the embedded defaults relay at once
    for (const n of Object.values(cfg.networks)) n.minBlockAgeMs = 4000;
    expect(rollbacksCovered(cfg)).toBe(true);
    cfg.networks.blocktst.minBlockAgeMs = 3000; // a rollback may be 3 s of blocks
    expect(rollbacksCovered(cfg)).toBe(false);
  });

  it("refuses unknown names and an empty list with a typed error", () => {
    const unknown = (() => {
      try {
        return parseFaults("gateway,member-7", 3);
      } catch (e) {
        return e;
      }
    })();
    expect(unknown).toBeInstanceOf(CliError);
    expect((unknown as CliError).code).toBe("BAD_ARGUMENT");
    expect((unknown as CliError).message).toMatch(/unknown fault "member-7"/);
    expect(() => parseFaults(" , ", 3)).toThrow(/name at least one fault/);
  });
});

describe("formatChaos", () => {
  const base: ChaosReport = {
    ok: true,
    seed: 7,
    durationMs: 61_000,
    households: 3,
    faults: [
      { name: "gateway", pid: 12, killedAtMs: 3000, restartedAfterMs: 2000, healthyAfterMs: 2500 },
      { name: "blocksec-rollback", pid: 0, killedAtMs: 9000, restartedAfterMs: 0, healthyAfterMs: 1200, blocksRolledBack: 4 },
    ],
    streams: { preferenceChanges: 10, pegLocks: 4, pegBurns: 2, failedSends: 1, batteryCommands: 3 },
    readings: { handedOver: 100, anchored: 98, duplicates: 0, lostWithAlert: 2, lostSilently: [], ackBehind: 1 },
    messages: { sent: 20, executed: 20, executedTwice: 0, notExecuted: 0 },
    preferences: { mirroredEvents: 10, outOfOrder: [], behind: [] },
    peg: { lockedOnBlockTst: "2", wrappedOnBlockPri: "2", heldOnBlockPri: "0", conserved: true },
    violations: [],
    settle: { ms: 12_300, looks: 4 },
  };

  it("prints the counts a reader checks first", () => {
    const text = formatChaos(base).join("\n");
    expect(text).toContain("chaos PASSED (seed 7, 61 s, 3 households)");
    expect(text).toContain("killed and restarted: 2 (gateway, blocksec-rollback); slowest back to healthy 2.5 s");
    expect(text).toContain("readings: 100 handed over by the meters, 98 anchored, 0 anchored twice, 2 lost with a gap alert, 0 lost silently");
    expect(text).toContain("federation messages: 20 sent, 20 executed, 0 executed twice, 0 not executed");
    expect(text).toContain("peg: 4 locks, 2 burns; locked 2 = wSGT 2 + held 0: conserved");
    expect(text).toContain("settled: the checks held after 12.3 s and 4 look(s) at the chains");
    expect(text).not.toContain("VIOLATION");
  });

  it("names every violation of a failed run", () => {
    const text = formatChaos({ ...base, ok: false, violations: ["1 of 20 federation messages not executed"] }).join("\n");
    expect(text).toContain("chaos FAILED");
    expect(text).toContain("VIOLATION: 1 of 20 federation messages not executed");
  });
});

describe("meterReadings (one meter's account while its meter goes on producing)", () => {
  const range = (a: number, b: number) => Array.from({ length: b - a + 1 }, (_, i) => a + i);

  it("fixes what must be anchored at the first look: records acknowledged later are in flight, not lost", () => {
    const tops = new Map<number, number>();
    // First look: acknowledged up to 159, anchored up to 157 (two in the gateway's outbox).
    expect(meterReadings(range(0, 157), 159, [], tops, 7)).toMatchObject({ anchored: 158, handedOver: 160, missing: [158, 159] });
    expect(tops.get(7)).toBe(159);
    // A later look: the meter went on to 170 and the gateway anchored up to 168. 169 and 170 are in
    // flight; what was owed at the first look is all there.
    expect(meterReadings(range(0, 168), 170, [], tops, 7)).toEqual({ handedOver: 169, anchored: 169, duplicates: 0, lostWithAlert: 0, ackBehind: false, missing: [] });
  });

  it("still finds a record owed at the first look that never came, and counts gap alerts and duplicates", () => {
    const tops = new Map<number, number>();
    meterReadings(range(0, 150), 152, [], tops, 1);
    const later = [...range(0, 150), 152, 153, 154, 154];
    // 151 never anchored and no alert: lost silently; 154 twice.
    expect(meterReadings(later, 160, [], tops, 1)).toMatchObject({ missing: [151], duplicates: 1, anchored: 154 });
    // The gateway's gap alert for 151 accounts for it.
    expect(meterReadings(later, 160, [[151, 151]], tops, 1)).toMatchObject({ missing: [], lostWithAlert: 1, handedOver: 155, anchored: 154 });
  });

  it("a restarted simulator's meter (acknowledged position behind what is anchored): the anchored records set the top", () => {
    const tops = new Map<number, number>();
    expect(meterReadings([3, 4, 6], 0, [], tops, 2)).toMatchObject({ ackBehind: true, missing: [5], handedOver: 4 });
    expect(tops.get(2)).toBe(6);
    expect(meterReadings([], 0, [], new Map(), 3)).toMatchObject({ anchored: 0, handedOver: 0, missing: [] });
  });
});
