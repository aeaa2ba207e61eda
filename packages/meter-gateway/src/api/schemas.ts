// JSON Schemas (2020-12, as OpenAPI 3.1 uses them) of the API's inputs and main outputs.
export const ADDRESS = { type: "string", pattern: "^0x[0-9a-fA-F]{40}$", description: "EVM address" } as const;
export const BYTES32 = { type: "string", pattern: "^0x[0-9a-fA-F]{64}$" } as const;
export const HEX = { type: "string", pattern: "^0x([0-9a-fA-F]{2})*$", maxLength: 200_000 } as const;
export const RESOLUTION = { type: "string", enum: ["NONE", "MONTHLY", "DAILY", "HOURLY", "QUARTER_HOURLY"] } as const;
export const CATEGORY = { type: "string", enum: ["CONSUMPTION", "TRADES"] } as const;
const UINT = { type: "integer", minimum: 0, maximum: Number.MAX_SAFE_INTEGER } as const;

export const consumerParams = {
  type: "object",
  properties: { address: ADDRESS },
  required: ["address"],
  additionalProperties: false,
} as const;

export const preferencesBody = {
  type: "object",
  properties: {
    preferences: {
      type: "array",
      minItems: 1,
      maxItems: 32,
      items: {
        type: "object",
        properties: {
          utility: { ...ADDRESS, description: "omitted: any distributor (the default entry)" },
          category: CATEGORY,
          allowed: { type: "boolean" },
          resolution: RESOLUTION,
          expiresAt: { ...UINT, description: "Unix seconds; 0 = never" },
        },
        required: ["category", "allowed"],
        additionalProperties: false,
      },
    },
  },
  required: ["preferences"],
  additionalProperties: false,
} as const;

export const relayBody = {
  type: "object",
  properties: { signedTx: { ...HEX, description: "the transaction signed by the caller's wallet, serialized" } },
  required: ["signedTx"],
  additionalProperties: false,
} as const;

export const readingsQuery = {
  type: "object",
  properties: {
    from: { ...UINT, description: "period start, Unix ms (inclusive)" },
    to: { ...UINT, description: "period start, Unix ms (exclusive)" },
    limit: { type: "integer", minimum: 1, maximum: 5000 },
  },
  additionalProperties: false,
} as const;

export const accessRequestBody = {
  type: "object",
  properties: {
    consumer: ADDRESS,
    category: CATEGORY,
    resolution: RESOLUTION,
    from: { ...UINT, description: "Unix seconds" },
    to: { ...UINT, description: "Unix seconds" },
    requesterKey: { ...BYTES32, description: "X25519 key the federation releases data keys to" },
  },
  required: ["consumer", "category", "from", "to"],
  additionalProperties: false,
} as const;

export const accessEntryParams = {
  type: "object",
  properties: { address: ADDRESS, index: { type: "string", pattern: "^[0-9]{1,10}$" } },
  required: ["address", "index"],
  additionalProperties: false,
} as const;

const ALERT_KINDS = ["bad-digest", "replay", "register-backwards", "gap", "clock-drift", "silent", "wrong-meter", "malformed", "rejected-by-meter", "not-anchored", "energy-power-mismatch"];

export const alertsQuery = {
  type: "object",
  properties: {
    limit: { type: "integer", minimum: 1, maximum: 1000 },
    meterId: { type: "integer", minimum: 0, maximum: 4294967295 },
    kind: { type: "string", enum: ALERT_KINDS },
    open: { type: "boolean", description: "only alerts nobody acknowledged yet" },
  },
  additionalProperties: false,
} as const;

export const consumerAlertsQuery = {
  type: "object",
  properties: { limit: { type: "integer", minimum: 1, maximum: 1000 } },
  additionalProperties: false,
} as const;

export const alertParams = {
  type: "object",
  properties: { id: { type: "string", pattern: "^[0-9]{13}![0-9]{6}$", description: "the alert's id as listed" } },
  required: ["id"],
  additionalProperties: false,
} as const;

export const errorResponse = {
  type: "object",
  properties: {
    error: {
      type: "object",
      properties: {
        code: { type: "string" },
        message: { type: "string" },
        errors: { type: "array", items: { type: "object" } },
        entry: { type: "object" },
      },
      required: ["code", "message"],
    },
  },
  required: ["error"],
} as const;

export const unsignedTx = {
  type: "object",
  properties: {
    type: { const: 2 },
    chainId: { type: "string" },
    from: ADDRESS,
    to: ADDRESS,
    data: HEX,
    value: { type: "string" },
    nonce: { type: "integer" },
    gasLimit: { type: "string" },
    maxFeePerGas: { type: "string" },
    maxPriorityFeePerGas: { type: "string" },
  },
  required: ["type", "chainId", "from", "to", "data", "nonce", "gasLimit"],
} as const;

export const readingRecord = {
  type: "object",
  properties: {
    meterId: { type: "integer" },
    sequence: { type: "integer" },
    consumer: ADDRESS,
    periodStart: { type: "integer", description: "Unix ms" },
    periodEnd: { type: "integer" },
    resolution: RESOLUTION,
    category: CATEGORY,
    payload: { ...HEX, description: "encrypted, payload format v1 (README)" },
    status: { type: "string", enum: ["pending", "anchored"] },
    anchor: {
      type: "object",
      properties: {
        batchId: BYTES32,
        txHash: BYTES32,
        blockNumber: { type: "integer" },
        root: BYTES32,
        leafIndex: { type: "integer" },
        proof: { type: "array", items: BYTES32 },
      },
    },
  },
  required: ["meterId", "sequence", "consumer", "periodStart", "resolution", "payload", "status"],
} as const;

export const tradingAccountBody = {
  type: "object",
  properties: {
    account: { ...ADDRESS, description: "the BlockTST trading account" },
    signature: { type: "string", pattern: "^0x[0-9a-fA-F]{130}$", description: "the account's EIP-191 signature of the link message (tradingAccountLinkMessage)" },
  },
  required: ["account", "signature"],
  additionalProperties: false,
} as const;

export const unlinkAccountBody = {
  type: "object",
  properties: { account: ADDRESS },
  required: ["account"],
  additionalProperties: false,
} as const;
