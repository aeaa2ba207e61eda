// Public API of @sidegrid/blockpri. Everything other packages use is exported here by name.
export { artifactsDir } from "./artifacts";
export {
  METER_BINDING_DOMAIN,
  METER_BINDING_TYPES,
  meterBindingDigest,
  meterBindingTypedData,
  recoverMeterBindingSigner,
  signMeterBinding,
} from "./binding";
export type {
  MeterBinding,
  MeterBindingTypedDataParameters,
  MeterBindingTypedDataReturnType,
  SignMeterBindingParameters,
  TypedDataSigner,
} from "./binding";
export { AUDITOR_ROLE, BlockPriClient, DISTRIBUTOR_ROLE, INSTALLER_ROLE, REGULATOR_ROLE, registerWithInstaller } from "./client";
export type {
  BlockPriClientParameters,
  ChangeResult,
  ConsumerRegisterParameters,
  MeterRecord,
  RegisterWithInstallerParameters,
  ConsumerPref,
  IsPermittedParameters,
  PreferenceHistoryEntry,
  RelayPayloadEvent,
  SetPreferenceParameters,
} from "./client";
export { deployBlockPri } from "./deploy";
export type { DeployBlockPriParameters, DeployBlockPriReturnType } from "./deploy";
export {
  BlockPriDeployError,
  BlockPriError,
  InvalidArgumentError,
  MalformedPayloadError,
  MissingEventError,
  isBlockPriError,
} from "./errors";
export type { BlockPriErrorCode, BlockPriErrorOptions } from "./errors";
export {
  MessageKind,
  decodePreferencesPayload,
  decodeRegistrationPayload,
  encodePreferencesPayload,
  encodeRegistrationPayload,
  payloadKind,
} from "./messages";
export type { MessageKindName, PreferencesPayload, RegistrationPayload } from "./messages";
export { ANY_DISTRIBUTOR, Category, Resolution, categoryName, permits, resolutionName } from "./types";
export type { CategoryName, Preference, Registration, ResolutionName } from "./types";
export { MockOutbox__factory, PPC__factory } from "./generated";
export type { MockOutbox, PPC } from "./generated";
export { meterIdFromBytes32, meterIdToBytes32 } from "./meterId";
