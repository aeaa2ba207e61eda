// Public API of @sidegrid/chain. Everything other packages use is exported here by name.
export { ANVIL_MNEMONIC, anvilBinary, startAnvil } from "./anvil";
export type { AnvilHandle, StartAnvilParameters } from "./anvil";
export { SOLC_SETTINGS, compileContracts, readArtifact, resolveImport } from "./compile";
export type { CompileContractsParameters, CompileContractsReturnType, ContractArtifact } from "./compile";
export { NETWORK_NAMES, defaultConfig, devPrivateKey, loadConfig, networkRpcUrls, operatorKey, redisClusterNodes } from "./config";
export type { LoadConfigParameters, NetworkConfig, NetworkName, ServicesConfig, SidegridConfig } from "./config";
export { Deployments, deployContract } from "./deploy";
export type { DeployContractParameters, DeployContractReturnType, DeploymentRecord, DeploymentsFile } from "./deploy";
export {
  ChainError,
  ChainIdMismatchError,
  CompileError,
  ConfigError,
  ContractRevertError,
  GasLimitExceededError,
  InsufficientFundsError,
  NetworkUnreachableError,
  NodeStartError,
  ReceiptTimeoutError,
  RpcDisagreementError,
  RpcError,
  RpcUnavailableError,
  SidegridError,
  formatErrorValue,
  isChainError,
} from "./errors";
export type { ChainErrorCode, ChainErrorOptions, RpcEndpointAnswer, SidegridErrorOptions } from "./errors";
export { NodeRaceRetryingProvider, connectNetwork, isNodeMiningRace, makeProvider, retryNodeMiningRace } from "./network";
export type { ConnectNetworkParameters, ConnectedNetwork, MakeProviderOptions } from "./network";
export { MultiRpcProvider } from "./multiRpc";
export type { MultiRpcProviderOptions } from "./multiRpc";
export type { EndpointStatus } from "./endpoints";
export { freePort, isAlive, sleep, stopPid } from "./process";
export { keccak256Buf, keccak256Into } from "./keccak";
export { blockNumber, getLogs, latestTimestamp, retryRead, settledBlock, uncachedRunner } from "./reads";
export type { RawRpc, SettledBlockParameters, SettledBlockReturnType } from "./reads";
export type { RawLog } from "./reads";
export { rpcCall } from "./rpc";
export { TxSender, revertData } from "./sender";
export type { SentTx, TxReceipt, TxSenderOptions } from "./sender";
export { UnminedTransactions, diagnoseStalledTx } from "./stall";
export type { RpcSend, StalledTxDiagnosis } from "./stall";
export { startTestChain } from "./testing";
export type { StartTestChainParameters, TestChain } from "./testing";
export { HeadFollower } from "./heads";
export type { HeadFollowerParameters } from "./heads";
