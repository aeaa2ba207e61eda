// Public API of @sidegrid/federation. Everything other packages use is exported here by name.
export { artifactsDir } from "./artifacts";
export { AccessCheckpointsClient, checkpointsRevert, deployAccessCheckpoints } from "./checkpoints";
export type { AccessCheckpoint, AccessCheckpointsClientParameters, CheckpointAttestation, CheckpointVote, DeployAccessCheckpointsParameters } from "./checkpoints";
export { parseMemberArgs, runMemberCli } from "./cli";
export { FEDERATION_ROLE, deployFederation } from "./deploy";
export type {
  DeployFederationParameters,
  DeployFederationReturnType,
  FederationChainDeployment,
  FederationChainSetup,
} from "./deploy";
export {
  CheckpointMisconfiguredError,
  CheckpointVoteError,
  CustodyMisconfiguredError,
  CustodyRegistrationError,
  CustodyReleaseError,
  EquivocationError,
  FederationConfigError,
  FederationDeployError,
  FederationError,
  GovernanceError,
  HostNetworkError,
  InboxReplyError,
  MemberNotFoundError,
  MemberStartError,
  PeerAuthError,
  RelayTimeoutError,
  WiringUnavailableError,
  isFederationError,
} from "./errors";
export type { FederationErrorCode, FederationErrorOptions } from "./errors";
export {
  GOVERNANCE_ROLES,
  adminRoles,
  cancelGovernance,
  deployGovernance,
  executeGovernance,
  handOverAdmin,
  proposeGovernance,
  setInboxPaused,
  signAll,
  updateMemberSet,
} from "./governance";
export type {
  AdminRolesEntry,
  AdminRolesParameters,
  CancelGovernanceParameters,
  DeployGovernanceParameters,
  DeployGovernanceReturnType,
  ExecuteGovernanceParameters,
  GovernanceCall,
  GovernanceRoleName,
  HandOverAdminParameters,
  HandOverAdminResult,
  ProposeGovernanceParameters,
  ProposeGovernanceReturnType,
  SetInboxPausedParameters,
  SignerKeys,
  UpdateMemberSetParameters,
} from "./governance";
export { MerkleTree, MessageBatch } from "./merkle";
export type { MultiProof } from "./merkle";
export {
  BATCH_TYPES,
  CANCEL_TYPES,
  GOVERNOR_DOMAIN_NAME,
  GOVERNOR_DOMAIN_VERSION,
  INBOX_DOMAIN_NAME,
  INBOX_DOMAIN_VERSION,
  MEMBER_SET_TYPES,
  MESSAGE_TYPES,
  PAUSE_TYPES,
  SCHEDULE_TYPES,
  batchDigest,
  cancelDigest,
  decodePegPayload,
  domainSeparator,
  governorDomain,
  inboxDomain,
  memberSetDigest,
  messageDigest,
  messageKey,
  packSignatures,
  pauseDigest,
  scheduleDigest,
  signDigest,
  recoverSigner,
} from "./messages";
export type { FederationBatch, FederationBatchDelivery, FederationMessage, GovernanceProposal } from "./messages";
export { DEFAULT_TUNING, loadFederationPeers, loadMemberConfig, localMemberKeys, writeMemberConfigs } from "./member/config";
export type {
  EventSourceConfig,
  FederationCheckpointerConfig,
  FederationConfigFile,
  FederationCustodyConfig,
  FederationMemberEntry,
  MemberChainConfig,
  MemberConfig,
  MemberTuning,
  WriteMemberConfigsParameters,
} from "./member/config";
export { startMember } from "./member/node";
export { EVENT_NONCE_FLAG, eventNonce } from "./member/watcher";
export type { MemberHandle, MemberHealth, StartMemberOptions } from "./member/node";
export type { MemberLogger } from "./member/state";
export { memberBinPath, spawnMember, waitForMember } from "./member/spawn";
export type { SpawnMemberParameters, WaitForMemberOptions } from "./member/spawn";
export { spawnFederation } from "./member/processes";
export type { CustodianStats, CustodyOutcome, CustodySkipReason } from "./member/custodian";
export { Checkpointer } from "./member/checkpointer";
export type { CheckpointVoteOutcome, CheckpointerDeps, CheckpointerStats } from "./member/checkpointer";
export type { MemberProcesses, SpawnFederationParameters } from "./member/processes";
export { MemberStore } from "./member/store";
export type { StoredMessage } from "./member/store";
export {
  AccessCheckpoints__factory,
  FederationGovernor__factory,
  FederationInbox__factory,
  FederationOutbox__factory,
  SidegridTimelock__factory,
  TokenPeg__factory,
  WrappedToken__factory,
} from "./generated";
export { deployRelayLoad, measureRelayThroughput, sendRelayLoad } from "./relayLoad";
export type {
  DeployRelayLoadParameters,
  DeployRelayLoadReturnType,
  MeasureRelayThroughputParameters,
  MeasureRelayThroughputReturnType,
} from "./relayLoad";
export { SIDEGRID_RELAYS, wireSidegrid } from "./wiring";
export type { WireSidegridParameters, WireSidegridReturnType } from "./wiring";
