import * as api from "./index";

// Changes to the public API must show up in review.
it("exports exactly the documented public API", () => {
  expect(Object.keys(api).sort()).toEqual([
    "ANVIL_MNEMONIC", "ChainError", "ChainIdMismatchError", "CompileError", "ConfigError", "ContractRevertError",
    "Deployments", "GasLimitExceededError", "InsufficientFundsError", "NETWORK_NAMES", "NetworkUnreachableError",
    "NodeStartError", "ReceiptTimeoutError", "RpcError", "SOLC_SETTINGS", "SidegridError", "TxSender", "anvilBinary", "blockNumber",
    "compileContracts", "connectNetwork", "defaultConfig", "deployContract", "devPrivateKey", "formatErrorValue", "freePort", "getLogs",
    "isAlive", "isChainError", "keccak256Buf", "keccak256Into", "latestTimestamp", "loadConfig", "makeProvider", "operatorKey", "readArtifact",
    "resolveImport", "retryRead", "revertData", "rpcCall", "sleep", "startAnvil", "startTestChain", "stopPid", "uncachedRunner",
  ]);
});
