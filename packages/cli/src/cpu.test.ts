import { spawn, spawnSync } from "node:child_process";
import { CliError } from "./errors";
import { cpuTicks, sampleCpu } from "./cpu";

describe("sampleCpu", () => {
  it("tells a spinning process from a sleeping one, and a gone one", async () => {
    const busy = spawn(process.execPath, ["-e", "for (;;) {}"], { stdio: "ignore" });
    const idle = spawn("sleep", ["10"], { stdio: "ignore" });
    try {
      await new Promise((r) => setTimeout(r, 200));
      const s = await sampleCpu(
        [
          { name: "busy", kind: "gateway", pid: busy.pid! },
          { name: "idle", kind: "meters", pid: idle.pid! },
          { name: "gone", kind: "member", pid: 2 ** 22 + 17 },
        ],
        1,
      );
      const [b, i, g] = s.processes;
      expect(b!.percentOfCore).toBeGreaterThan(40);
      expect(i!.percentOfCore).toBeLessThan(5);
      expect(g!.percentOfCore).toBeNull();
      expect(s.totalPercentOfCore).toBeCloseTo(b!.percentOfCore! + i!.percentOfCore!, 0);
      expect(s.cores).toBeGreaterThanOrEqual(1);
      expect(s.seconds).toBeGreaterThanOrEqual(1);
    } finally {
      busy.kill("SIGKILL");
      idle.kill("SIGKILL");
    }
  });

  it("counts a process's children with it (a chain's keeper and its anvil)", async () => {
    const keeper = spawn("sh", ["-c", `"${process.execPath}" -e "for (;;) {}"`], { stdio: "ignore" });
    try {
      await new Promise((r) => setTimeout(r, 300));
      const s = await sampleCpu([{ name: "blocksec", kind: "anvil", pid: keeper.pid! }], 1);
      expect(s.processes[0]!.percentOfCore).toBeGreaterThan(40);
    } finally {
      // The child first: once its parent is gone it would belong to init.
      spawnSync("pkill", ["-KILL", "-P", String(keeper.pid)]);
      process.kill(keeper.pid!, "SIGKILL");
    }
  });

  it("reads this process's ticks and refuses a window that is not a positive number of seconds", async () => {
    expect(cpuTicks(process.pid)).toBeGreaterThan(0);
    await expect(sampleCpu([], 0)).rejects.toBeInstanceOf(CliError);
    await expect(sampleCpu([], Number.NaN)).rejects.toMatchObject({ code: "BAD_ARGUMENT" });
  });
});
