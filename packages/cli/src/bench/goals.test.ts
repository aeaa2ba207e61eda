import { GOALS, evaluateGoal, evaluateGoals } from "./goals";

describe("goals", () => {
  const spec = GOALS.find((g) => g.id === "anchor-gas")!;

  it("holds a value against the issue's target in the right direction", () => {
    expect(evaluateGoal(spec, 6147).met).toBe(true);
    expect(evaluateGoal(spec, 7000).met).toBe(true); // ≤ includes the target
    expect(evaluateGoal(spec, 7001).met).toBe(false);
    const relay = GOALS.find((g) => g.id === "relay-throughput")!;
    expect(evaluateGoal(relay, 999).met).toBe(false);
    expect(evaluateGoal(relay, 1000).met).toBe(true);
  });

  it("never counts a missing figure as met", () => {
    expect(evaluateGoal(spec, NaN).met).toBe(false);
    expect(evaluateGoals({}).every((g) => g.met === false)).toBe(true);
  });

  it("evaluates every goal, with notes and per-run overrides", () => {
    const goals = evaluateGoals({ "bench-wall-time": 300 }, { "bench-wall-time": "full run" }, { "bench-wall-time": { target: 900 } });
    expect(goals.map((g) => g.id)).toEqual(GOALS.map((g) => g.id));
    const wall = goals.find((g) => g.id === "bench-wall-time")!;
    expect(wall).toMatchObject({ value: 300, target: 900, met: true, note: "full run" });
    expect(goals.find((g) => g.id === "codec-decode")!.issue).toBe(3);
  });
});
