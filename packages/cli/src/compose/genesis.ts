// A Besu QBFT genesis for one Sidegrid chain: the validators sit in the genesis block's extraData
// (block-header validator selection), so the network needs no validator contract.
import { Wallet, decodeRlp, encodeRlp, getAddress, hexlify, isHexString, zeroPadValue, type RlpStructuredData } from "ethers";
import { CliError } from "../errors";

/**
 * QBFT's fixed mixHash ("ctical byzantine fault tolerance" in ASCII): Besu recognises a BFT block
 * by it, so every QBFT genesis carries this exact value.
 */
export const QBFT_MIX_HASH = "0x63746963616c2062797a616e74696e65206661756c7420746f6c6572616e6365";

/** 32 zero bytes: QBFT's vanity field, unused but required. */
const VANITY = zeroPadValue("0x", 32);

/** What the genesis extraData says: the validator set (votes, round and seals are empty in block 0). */
export interface QbftExtraData {
  vanity: string;
  validators: string[];
  votes: RlpStructuredData[];
  round: number;
  seals: string[];
}

/**
 * RLP([vanity, [validators], [] votes, round, [] seals]) as Besu's QBFT reads it; round 0 encodes as
 * the empty byte string (RLP's integer zero).
 *
 * @example
 * encodeQbftExtraData(["0x64d9…", "0x9239…", "0xaefd…", "0xc7ee…"]); // "0xf87aa000…c080c0"
 */
export function encodeQbftExtraData(validators: readonly string[]): string {
  if (validators.length === 0) throw new CliError("BAD_ARGUMENT", "a QBFT network needs at least one validator");
  const checked = validators.map((v) => getAddress(v));
  if (new Set(checked).size !== checked.length) throw new CliError("BAD_ARGUMENT", "the validator list repeats an address");
  return encodeRlp([VANITY, checked.map((a) => a.toLowerCase()), [], "0x", []]);
}

/**
 * Reads a QBFT extraData back (the genesis check, and any block header's extraData).
 *
 * @example
 * decodeQbftExtraData(genesis.extraData).validators; // checksummed addresses in genesis order
 */
export function decodeQbftExtraData(extraData: string): QbftExtraData {
  const bad = (why: string): never => {
    throw new CliError("CONFIG", `not a QBFT extraData: ${why}`);
  };
  if (!isHexString(extraData)) bad("not hex");
  let items: RlpStructuredData;
  try {
    items = decodeRlp(extraData);
  } catch (e) {
    return bad((e as Error).message);
  }
  if (!Array.isArray(items) || items.length !== 5) return bad("expected a list of 5 items (vanity, validators, votes, round, seals)");
  const [vanity, validators, votes, round, seals] = items;
  if (typeof vanity !== "string" || (vanity.length - 2) / 2 !== 32) bad("vanity must be 32 bytes");
  if (!Array.isArray(validators) || validators.some((v) => typeof v !== "string" || (v.length - 2) / 2 !== 20)) bad("validators must be a list of 20-byte addresses");
  if (!Array.isArray(votes)) bad("votes must be a list");
  if (typeof round !== "string") bad("round must be a byte string");
  if (!Array.isArray(seals) || seals.some((s) => typeof s !== "string")) bad("seals must be a list of byte strings");
  return {
    vanity: vanity as string,
    validators: (validators as string[]).map((v) => getAddress(v)),
    votes: votes as RlpStructuredData[],
    round: round === "0x" ? 0 : Number(BigInt(round as string)),
    seals: seals as string[],
  };
}

export interface QbftGenesisParameters {
  chainId: number;
  validators: readonly string[];
  /** Seconds between blocks (QBFT's minimum block time). */
  blockPeriodSeconds: number;
  /** Accounts funded in the genesis block (the operator, roles and members need gas). */
  fund?: readonly string[];
  /** Wei per funded account, default 10^24 (a million ether: a private chain's gas money). */
  balanceWei?: bigint;
  /** Genesis timestamp (seconds); fixed by default so a regeneration with the same keys gives the same hash. */
  timestamp?: number;
}

export interface QbftGenesis {
  config: Record<string, unknown>;
  nonce: string;
  timestamp: string;
  gasLimit: string;
  difficulty: string;
  mixHash: string;
  coinbase: string;
  extraData: string;
  alloc: Record<string, { balance: string }>;
}

/**
 * The genesis.json of a Besu QBFT network with block-header validator selection.
 *
 * @example
 * const g = qbftGenesis({ chainId: 41001, validators, blockPeriodSeconds: 2 });
 */
export function qbftGenesis(p: QbftGenesisParameters): QbftGenesis {
  if (!Number.isSafeInteger(p.blockPeriodSeconds) || p.blockPeriodSeconds < 1) throw new CliError("BAD_ARGUMENT", `the block time must be a whole number of seconds ≥ 1, got ${p.blockPeriodSeconds}`);
  const balance = `0x${(p.balanceWei ?? 10n ** 24n).toString(16)}`;
  const alloc: Record<string, { balance: string }> = {};
  for (const a of p.fund ?? []) alloc[getAddress(a).slice(2).toLowerCase()] = { balance };
  return {
    config: {
      chainId: p.chainId,
      // Every fork from block 0 up to Cancun: the contracts are compiled for the cancun EVM.
      homesteadBlock: 0,
      eip150Block: 0,
      eip155Block: 0,
      eip158Block: 0,
      byzantiumBlock: 0,
      constantinopleBlock: 0,
      petersburgBlock: 0,
      istanbulBlock: 0,
      berlinBlock: 0,
      londonBlock: 0,
      shanghaiTime: 0,
      cancunTime: 0,
      // Gas is still metered (limits stop runaway loops) but costs nothing on a permissioned chain.
      zeroBaseFee: true,
      qbft: {
        blockperiodseconds: p.blockPeriodSeconds,
        epochlength: 30000,
        // A round that has not committed by then moves to the next proposer; well above the block time.
        requesttimeoutseconds: Math.max(4, p.blockPeriodSeconds * 2),
      },
    },
    nonce: "0x0",
    timestamp: `0x${(p.timestamp ?? 1_735_689_600).toString(16)}`,
    gasLimit: "0x1c9c380",
    difficulty: "0x1",
    mixHash: QBFT_MIX_HASH,
    coinbase: "0x0000000000000000000000000000000000000000",
    extraData: encodeQbftExtraData(p.validators),
    alloc,
  };
}

/** One validator's node identity: its secp256k1 key is both its p2p id and its QBFT signing key. */
export interface ValidatorKey {
  privateKey: string;
  /** 64-byte public key without the 0x04 prefix, as enode URLs spell it. */
  nodeId: string;
  address: string;
}

/**
 * A fresh validator key (random; never derived from anything public).
 *
 * @example
 * const v = newValidatorKey(); // v.address goes into extraData, v.privateKey into its key file
 */
export function newValidatorKey(): ValidatorKey {
  return validatorKeyFrom(Wallet.createRandom().privateKey);
}

/** The node id and address of an existing validator key (a key file kept from an earlier run). */
export function validatorKeyFrom(privateKey: string): ValidatorKey {
  const w = new Wallet(privateKey.startsWith("0x") ? privateKey : `0x${privateKey}`);
  return { privateKey: w.privateKey, nodeId: hexlify(w.signingKey.publicKey).slice(4), address: w.address };
}

/** enode URL of a validator at host:port (discovery off, so no discport). */
export function enodeUrl(key: ValidatorKey, host: string, port = 30303): string {
  return `enode://${key.nodeId}@${host}:${port}`;
}
