// Public API of @sidegrid/blocksec. Everything other packages use is exported here by name.
export { accessEntryHash, verifyAccessChain } from "./access";
export type { AccessChainHead, AccessChainProblem, AccessChainProblemKind, AccessChainVerification } from "./access";
export type { AccessEntry } from "./types";
export { artifactsDir } from "./artifacts";
export { AccessHeadsTracker, accessHeadLeaf, accessHeadProof, readAccessEntries, readAccessHeads } from "./accessHeads";
export type { AccessHead, AccessHeadsSnapshot, ReadAccessHeadsParameters } from "./accessHeads";
export { auditCheckpoint, auditConsumer, formatAuditReport } from "./audit";
export { checkAuditReport, parseAuditReport } from "./auditReport";
export type { ReportCheck } from "./auditReport";
export type {
  AccessCheckpointClaim,
  AuditCheckpointParameters,
  AuditConsumerParameters,
  AuditEndpoint,
  AuditReport,
  AuditedRelease,
  CheckpointAudit,
  EndpointCheck,
  EndpointCheckStatus,
} from "./audit";
export { entryFromLog, readAccessLog } from "./accessLog";
export { AUDITOR_ROLE, BlockSecClient, DISTRIBUTOR_ROLE, FEDERATION_ROLE, GATEWAY_ROLE } from "./client";
export type {
  AccessGrant,
  AnchorResult,
  BlockSecAddresses,
  BlockSecClientParameters,
  RejectedRecords,
  RequestAccessParameters,
  StoredRecord,
} from "./client";
export {
  CONSUMER_BOX_SIZE,
  DATA_KEY_SIZE,
  EPK_SIZE,
  SHARE_BOX_SIZE,
  SHARE_SIZE,
  boxSharesForRequester,
  combineShares,
  deriveCustodyKeyPair,
  envelopeMembers,
  keyCommitment,
  newEpochDataKey,
  openConsumerEnvelope,
  openMemberShare,
  openReleasedShares,
  sealEpochKey,
} from "./custodyCrypto";
export type { BoxKeyPair, KeyContext, SealEpochKeyParameters } from "./custodyCrypto";
export { KeyCustodyClient, deployKeyCustody, entryTuple, keyCoveredByGrant } from "./custody";
export type { CustodySet, DeployKeyCustodyParameters, KeyCustodyClientParameters, KeyPublication, PublishedKey, ShareRelease } from "./custody";
export { deployBlockSec } from "./deploy";
export type { DeployBlockSecParameters, DeployBlockSecReturnType } from "./deploy";
export {
  AccessDeniedError,
  AccessLogInconsistentError,
  BatchNotFoundError,
  BlockSecDeployError,
  BlockSecError,
  CustodyCryptoError,
  InvalidArgumentError,
  MalformedRecordsError,
  MissingEventError,
  isBlockSecError,
} from "./errors";
export type { BlockSecErrorCode, BlockSecErrorOptions } from "./errors";
export { merkleProof, merkleRoot, verifyMerkleProof } from "./merkle";
export { BOX_KEY_MESSAGE, boxKeysFromSignature, walletBoxKeys } from "./walletKeys";
export {
  BATCH_FORMAT,
  BATCH_HEADER_LAYOUT,
  GROUP_HEADER_LAYOUT,
  RECORD_HEADER_LAYOUT,
  decodeBatch,
  decodeStoredRecords,
  encodeBatch,
  normalizeRecord,
  recordLeaf,
  sortRecords,
} from "./records";
export type { EncodedBatch } from "./records";
export { relayPreferences } from "./relay";
export { decodeTradePayload, encodeTradePayload } from "./trades";
export type { RelayOutcome, RelayPayloadLike, RelayPayloadSource, RelayPreferencesParameters, RelayPreferencesReturnType } from "./relay";
export { AccessCategory, Category, DenyReason, Resolution, StorageDecision } from "./types";
export type {
  AccessCategoryName,
  CategoryName,
  DenyReasonName,
  MeterRecord,
  ResolutionName,
  StorageDecisionName,
  Trade,
} from "./types";
export { AccessLedger__factory, KeyCustody__factory, MeterDataLedger__factory, PolicyMirror__factory, TradeLog__factory } from "./generated";
export type { AccessLedger, KeyCustody, MeterDataLedger, PolicyMirror, TradeLog } from "./generated";
