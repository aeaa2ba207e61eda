import * as api from "./index";

// Changes to the public API must show up in review.
it("exports exactly the documented public API", () => {
  expect(Object.keys(api).sort()).toEqual([
    "AGENT_BIN",
    "AgentLog",
    "InvalidArgumentError",
    "LogError",
    "METERS_BIN",
    "MeterReadError",
    "OsgpDevice",
    "PiMeterError",
    "Rng",
    "SimClock",
    "SimulatedMeter",
    "agentCliMain",
    "dlmsMeterEndpoint",
    "dlmsSource",
    "encodeLogView",
    "hanSource",
    "hash4",
    "integrateMinutes",
    "isPiMeterError",
    "makeLoadProfile",
    "metersCliMain",
    "minuteSample",
    "seedOf",
    "serialStream",
    "serveOsgpSocket",
    "simulatorMasterKey",
    "startDlmsMeter",
    "startDlmsPushMeter",
    "startMeterSimulator",
    "startPiMeterAgent",
    "systemClock",
    "unit4",
  ]);
});
