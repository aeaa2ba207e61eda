// Public API of @sidegrid/cli: the command runner and the system lifecycle, for scripts and tests.
export { CliError } from "./errors";
export type { CliErrorCode } from "./errors";
export { buildProgram, run, up } from "./program";
export type { CliIo, UpReturnType } from "./program";
export { deploySystem } from "./deploy-system";
export type { DeployedContract, SystemDeployment } from "./deploy-system";
export { probeStatus, readState, startInfrastructure, stopAll } from "./system";
export type { ComponentStatus, ProcessRecord, SystemState } from "./system";
