// @sidegrid/pi-meter: the device side. The Pi agent beside a real meter, and the simulated meters
// (OSGP Pi meters and DLMS/COSEM meters) the demo, tests and benches run.
export { dlmsSource, hanSource, startPiMeterAgent } from "./agent";
export type { DlmsSourceParameters, HanSourceParameters, MeterSource, PiMeterAgent, PiMeterAgentStats, StartPiMeterAgentParameters } from "./agent";
export { AgentLog } from "./agentLog";
export { APPLIANCE_ACTIONS, APPLIANCE_DEVICES, APPLIANCE_DEVICE_ACTIONS, APPLIANCE_MODELS, ApplianceBank } from "./appliances";
export type {
  ApplianceAction,
  ApplianceBankParameters,
  ApplianceCommand,
  ApplianceDevice,
  ApplianceMode,
  ApplianceState,
  BatteryState,
  CommandApplianceErrorType,
  CommandApplianceParameters,
  CommandApplianceReturnType,
  EvState,
  HeatPumpState,
  WasherState,
} from "./appliances";
export type { AgentLogParameters, AgentLogStats, ElectricalVariables } from "./agentLog";
export { AGENT_BIN, METERS_BIN } from "./bins";
export { main as metersCliMain } from "./cli";
export { main as agentCliMain } from "./agentCli";
export { SimClock, systemClock } from "./clock";
export type { Clock, SimClockParameters, SimClockState } from "./clock";
export type { JournaledCommand, ReplayCommandsReturnType } from "./commandJournal";
export { dlmsMeterEndpoint, startDlmsMeter } from "./dlmsMeter";
export type { DlmsMeterEndpointParameters, DlmsMeterServer, DlmsTransport, StartDlmsMeterParameters } from "./dlmsMeter";
export { startDlmsPushMeter } from "./dlmsPushMeter";
export type { DlmsPushMeter, StartDlmsPushMeterParameters } from "./dlmsPushMeter";
export {
  ApplianceCommandInPastError,
  InvalidArgumentError,
  SimulatorStateError,
  LogError,
  MeterReadError,
  PiMeterError,
  UnknownApplianceError,
  UnsupportedApplianceActionError,
  isPiMeterError,
} from "./errors";
export type { PiMeterErrorCode, PiMeterErrorOptions } from "./errors";
export { SimulatedMeter } from "./meter";
export type { MeterBehaviour, SimulatedMeterParameters, SimulatedMeterStatus } from "./meter";
export { OsgpDevice, encodeLogView } from "./osgpDevice";
export type { DeviceFaults, DeviceTables, MeterSuiteName, OsgpDeviceParameters } from "./osgpDevice";
export { serveOsgpSocket } from "./osgpServer";
export type { OsgpFrameHandler } from "./osgpServer";
export { Rng, hash4, seedOf, unit4 } from "./prng";
export { integrateMinutes, makeLoadProfile, minuteSample } from "./profiles";
export type { Appliance, IntervalEnergy, LoadProfile, LoadProfileKind, MakeLoadProfileParameters, MinuteControl, MinuteSample } from "./profiles";
export { serialStream } from "./serial";
export type { SerialStreamOptions } from "./serial";
export { simulatorMasterKey, startMeterSimulator } from "./simulator";
export type { MeterBindingRequest, MeterEndpoint, MeterSimulator, StartMeterSimulatorParameters } from "./simulator";
