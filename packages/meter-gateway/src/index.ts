// Public API of @sidegrid/meter-gateway. Everything other packages use is exported here by name.
export { AdapterRegistry } from "./adapter";
export { AdapterPool } from "./connections";
export type { AdapterPoolOptions } from "./connections";
export type {
  AdapterContext,
  InstantaneousReadResult,
  LogReadResult,
  MeterAdapter,
  MeterAdapterFactory,
  MeterCapabilities,
  MeterConfig,
  MeterIdentity,
  NormalizedReading,
  ReadResult,
  ReadingSpec,
} from "./adapter";
export { Anchorer } from "./anchorer";
export type { AnchorLedger, AnchorOutcome, AnchoredItem, AnchorerOptions, AnchorerStats } from "./anchorer";
export { ApiChainOps } from "./api/chainOps";
export type { AccessRequestInput, PreferenceInput, RelayedTx, UnsignedTx } from "./api/chainOps";
export { PORTAL_DIR, ROUTES, createApiApp, openApiDocument } from "./api/app";
export type { ApiDependencies, DevAccount, MeterStatusView } from "./api/app";
export {
  AUTH_HEADERS,
  AUTH_PREFIX,
  MemoryNonceStore,
  RedisNonceStore,
  ReplayMemoryLostError,
  canonicalRequestText,
  signRequest,
  verifySignedRequest,
} from "./api/auth";
export type { CanonicalRequest, NonceStore, SignRequestParameters, VerifyRequestParameters } from "./api/auth";
export { runApiQueryBench } from "./bench/apiQuery";
export type { RunApiQueryBenchParameters, RunApiQueryBenchReturnType } from "./bench/apiQuery";
export { runEndToEndBench } from "./bench/endToEnd";
export type { EndToEndSample, RunEndToEndBenchParameters, RunEndToEndBenchReturnType } from "./bench/endToEnd";
export { startIngestBench } from "./bench/ingest";
export type { IngestBench, IngestBenchRun, StartIngestBenchParameters } from "./bench/ingest";
export { percentileOf, summarize } from "./bench/stats";
export type { LatencySummary } from "./bench/stats";
export { BlockSecLedger, BlockSecPolicySource, meterIdFromBytes32, meterIdToBytes32, toMeterRecord } from "./blocksec";
export type { BlockSecLedgerOptions, BlockSecPolicySourceOptions } from "./blocksec";
export { main as gatewayCliMain } from "./cli/gateway";
export { GATEWAY_CONFIG_SCHEMA, configuredMeters, loadGatewayConfig, validateGatewayConfig } from "./config";
export type { GatewayConfig } from "./config";
export {
  ApplianceControlError,
  RedisClusterError,
  AuthFailedError,
  ChainUnavailableError,
  ClosedError,
  CustodyUnavailableError,
  ForbiddenError,
  GatewayError,
  GrantNotReleasedError,
  InvalidArgumentError,
  InvalidConfigError,
  LedgerError,
  MeterAuthenticationError,
  MeterConnectionError,
  MeterProtocolError,
  MeterRejectedError,
  MeterReplayError,
  MeterTimeoutError,
  NotFoundError,
  PayloadError,
  TradingAccountLinkError,
  TransactionRejectedError,
  UnknownAdapterError,
  UnknownMeterError,
  ValidationError,
  isGatewayError,
} from "./errors";
export type { GatewayErrorCode, GatewayErrorOptions } from "./errors";
export { FastJsonRpcProvider, FastWallet } from "./fastRpc";
export { startGateway } from "./gateway";
export type { Gateway, GatewaySnapshot, StartGatewayParameters } from "./gateway";
export type { BackpressureOptions, BackpressureStats } from "./backpressure";
export { IngestPipeline } from "./ingest";
export type { IngestOutcome, IngestPipelineOptions } from "./ingest";
export { merkleLevels, merkleLevelsBuf, proofFromLevels, proofFromLevelsBuf } from "./merkle";
export { createGatewayMetrics } from "./metrics";
export type { GatewayMetrics } from "./metrics";
export { OSGP_RAW_FORMAT, OSGP_TCP_PROTOCOL, OsgpTcpAdapter, osgpTcpAdapterFactory } from "./osgpAdapter";
export type { OsgpTcpAdapterOptions } from "./osgpAdapter";
export { DLMS_HDLC_PROTOCOL, DLMS_RAW_FORMAT, DLMS_UDP_PROTOCOL, DLMS_WRAPPER_PROTOCOL, DlmsAdapter, dlmsAdapterFactories } from "./dlms/adapter";
export { DLMS_PUSH_PROTOCOL, DLMS_PUSH_RAW_FORMAT, DlmsPushAdapter, dlmsPushAdapterFactory } from "./dlms/pushAdapter";
export type { PushListenerStats } from "./dlms/pushAdapter";
export { anchorBatchCalldata, packBatch, recordLeafFast, sortForBatch } from "./packing";
export type { PackableRecord } from "./packing";
export {
  AGGREGATE_LAYOUT,
  AGGREGATE_SIZE,
  COMPACT_RECORD_SIZE,
  CONTENT_AGGREGATE,
  CONTENT_RAW_COMPACT,
  CONTENT_RAW_RECORD,
  CONTENT_TRADE,
  PAYLOAD_HEADER_SIZE,
  PAYLOAD_V2,
  PAYLOAD_V2_HEADER_SIZE,
  PAYLOAD_VERSION,
  compactRawRecord,
  compactRecordSize,
  decodeAggregate,
  decodeSealedTrade,
  encodeAggregate,
  encodeSealedTrade,
  expandRawRecord,
  newDataKey,
  openReadingPayload,
  openTradePayload,
  payloadKeyId,
  recordNonce,
  recordNonceV2,
  sealReadingPayload,
  sealReadingPayloadV2,
} from "./payload";
export { EpochKeys } from "./epochKeys";
export type { CustodySetView, EpochKey, EpochKeySource, EpochKeysOptions } from "./epochKeys";
export { KeyPublisher, toKeyPublication } from "./keyPublisher";
export type { KeyPublisherOptions, KeyPublisherStats } from "./keyPublisher";
export { consumerDataKeys, readGranted, readGrantedTrades } from "./grantReader";
export { DemandResponseAgent, SimulatorApplianceControl } from "./demandResponse";
export type { ApplianceControl, DemandResponseAction, DemandResponseAgentOptions, DemandResponseSource, DemandResponseStats, GatewayDemandResponse } from "./demandResponse";
export { demandResponseActions } from "./demandResponseLog";
export type { GrantedReading, GrantedTrade, ReadGrantedParameters, ReadGrantedReturnType, ReadGrantedTradesReturnType } from "./grantReader";
export type { Aggregate, DataKey, OpenedPayload, PayloadContext, SealedTrade } from "./payload";
export { TRADE_SEQUENCE_BASE, TradeSealer, tradingAccountLinkMessage } from "./trades";
export type { TradeSealerOptions, TradeSealerStats } from "./trades";
export { CachedPolicy } from "./policy";
export type { CachedPolicyOptions, ConsentSnapshot, MeterBinding, PolicyChange, PolicySource } from "./policy";
export { pollMeter } from "./poll";
export type { PollMeterParameters, PollMeterReturnType } from "./poll";
export { MeterPoller, POLL_QUEUE, redisConnectionOptions } from "./poller";
export type { MeterPollerOptions, PollJobData, QueueDepth } from "./poller";
export { createRedis, keyPrefixFor, redisTargetOf } from "./redis";
export type { RedisClient, RedisTarget } from "./redis";
export { freeRedisClusterPorts, startRedisCluster, waitClusterOk } from "./redisCluster";
export type { RedisCluster, RedisClusterNode, StartRedisClusterParameters } from "./redisCluster";
export { ShardMembership, shardOwner, shardWeight } from "./shards";
export type { ShardOptions, ShardStats } from "./shards";
export { formatProgress, startProgressDisplay } from "./progress";
export { GridAggregator } from "./realtime";
export type { GridPeriod, GridSnapshot } from "./realtime";
export { Category, RESOLUTIONS_FINE_TO_COARSE, RESOLUTION_NAMES, Resolution, periodOf, resolutionOfInterval } from "./resolution";
export { GATEWAY_BIN, METERS_BIN, gatewayConfigForSimulator, meterSimulatorControl, readSecretFile, spawnGateway, spawnMeterSimulator, writeGatewayConfig } from "./spawn";
export type { GatewayConfigForSimulatorParameters, MeterSimulatorControl, SpawnGatewayParameters, SpawnMeterSimulatorParameters, SpawnedGateway, SpawnedMeterSimulator, SpawnedProcess } from "./spawn";
export { GatewayStore, newMeterState } from "./store";
export type { AcceptedRegisters, Alert, AlertKind, AnchorInfo, BatchRecord, MeterState, OpenAggregate, OutboxRecord, StoredKeyPublication, TradingAccountLink } from "./store";
