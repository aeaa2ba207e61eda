// Ethers with the byte handling of large transactions moved to Buffers. An anchorBatch transaction
// carries a few hundred kilobytes of calldata; ethers' JSON-RPC transport encodes request bodies
// character by character (toUtf8Bytes) and its transaction serializer walks the hex data byte by
// byte, and with noble's keccak that made ~350 µs of CPU per anchored reading — the gateway's
// largest cost. These two subclasses keep every ethers semantic (errors, batching, TxSender's
// nonces and gas sizing) and only replace the transport and the EIP-1559 serializer.
// fastRpc.test.ts checks the signed bytes against ethers' own.
import { keccak256Buf, retryNodeMiningRace } from "@sidegrid/chain";
import http from "node:http";
import https from "node:https";
import { JsonRpcProvider, Network, Signature, Wallet, getAddress, type JsonRpcPayload, type JsonRpcResult, type TransactionRequest } from "ethers";

/**
 * A JsonRpcProvider whose transport posts Buffers over a keep-alive agent.
 * @example
 * const provider = new FastJsonRpcProvider("http://127.0.0.1:8545", 31337);
 */
export class FastJsonRpcProvider extends JsonRpcProvider {
  /** Requests retried after anvil's BlockOutOfRangeError race (see _send). */
  racesRetried = 0;
  private readonly url: URL;
  private readonly agent: http.Agent;

  constructor(url: string, chainId: number) {
    super(url, Network.from(chainId), { staticNetwork: true, batchMaxCount: 1 });
    this.url = new URL(url);
    this.agent = this.url.protocol === "https:" ? new https.Agent({ keepAlive: true, maxSockets: 16 }) : new http.Agent({ keepAlive: true, maxSockets: 16 });
  }

  override async _send(payload: JsonRpcPayload | JsonRpcPayload[]): Promise<JsonRpcResult[]> {
    const body = Buffer.from(JSON.stringify(payload), "utf8");
    // anvil (1.7, --prune-history) answers calls at "latest" with "BlockOutOfRangeError: block
    // height is N but requested was N-1" while it mines back to back (~15 % of calls under load):
    // a race inside the node, harmless to retry.
    return retryNodeMiningRace(() => this.post(body), () => this.racesRetried++);
  }

  private async post(body: Buffer): Promise<JsonRpcResult[]> {
    const lib = this.url.protocol === "https:" ? https : http;
    const text = await new Promise<string>((resolve, reject) => {
      const req = lib.request(
        this.url,
        { method: "POST", agent: this.agent, headers: { "content-type": "application/json", "content-length": body.length } },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("end", () => {
            const t = Buffer.concat(chunks).toString("utf8");
            if ((res.statusCode ?? 500) >= 400 && !t.startsWith("{") && !t.startsWith("[")) reject(new Error(`HTTP ${res.statusCode} from ${this.url.host}: ${t.slice(0, 200)}`));
            else resolve(t);
          });
          res.on("error", reject);
        },
      );
      req.on("error", reject);
      req.end(body);
    });
    const resp = JSON.parse(text) as JsonRpcResult | JsonRpcResult[];
    return Array.isArray(resp) ? resp : [resp];
  }

  override destroy(): void {
    this.agent.destroy();
    super.destroy();
  }
}

function rlpLength(len: number, offset: number): Buffer {
  if (len < 56) return Buffer.from([offset + len]);
  const hex = len.toString(16);
  const lb = Buffer.from(hex.length % 2 ? `0${hex}` : hex, "hex");
  return Buffer.concat([Buffer.from([offset + 55 + lb.length]), lb]);
}

function rlpBytes(b: Buffer): Buffer {
  if (b.length === 1 && b[0] < 0x80) return b;
  return Buffer.concat([rlpLength(b.length, 0x80), b]);
}

function rlpInt(v: bigint | number | string | null | undefined): Buffer {
  const n = BigInt(v ?? 0);
  if (n === 0n) return Buffer.from([0x80]);
  const hex = n.toString(16);
  return rlpBytes(Buffer.from(hex.length % 2 ? `0${hex}` : hex, "hex"));
}

function rlpList(items: Buffer[]): Buffer {
  const payload = Buffer.concat(items);
  return Buffer.concat([rlpLength(payload.length, 0xc0), payload]);
}

/**
 * A Wallet that serializes and hashes plain EIP-1559 transactions (no access list) on Buffers;
 * anything else goes to ethers. Signatures are deterministic (RFC 6979), so the bytes are ethers'.
 * @example
 * const sender = await TxSender.create(new FastWallet(key, provider), provider);
 */
export class FastWallet extends Wallet {
  override async signTransaction(tx: TransactionRequest): Promise<string> {
    const fast =
      tx.type === 2 &&
      typeof tx.to === "string" &&
      /^0x[0-9a-fA-F]{40}$/.test(tx.to) &&
      (tx.data === undefined || tx.data === null || typeof tx.data === "string") &&
      (tx.accessList === undefined || tx.accessList === null || (Array.isArray(tx.accessList) && tx.accessList.length === 0)) &&
      tx.chainId !== undefined &&
      tx.chainId !== null &&
      tx.nonce !== undefined &&
      tx.nonce !== null &&
      BigInt(tx.maxPriorityFeePerGas ?? 0) <= BigInt(tx.maxFeePerGas ?? 0) &&
      (tx.from === undefined || tx.from === null || (typeof tx.from === "string" && getAddress(tx.from) === this.address));
    if (!fast) return super.signTransaction(tx);
    const data = typeof tx.data === "string" ? tx.data : "0x";
    const fields = [
      rlpInt(tx.chainId as bigint),
      rlpInt(tx.nonce as number),
      rlpInt(tx.maxPriorityFeePerGas as bigint),
      rlpInt(tx.maxFeePerGas as bigint),
      rlpInt(tx.gasLimit as bigint),
      rlpBytes(Buffer.from((tx.to as string).slice(2), "hex")),
      rlpInt(tx.value as bigint),
      rlpBytes(Buffer.from(data.slice(2), "hex")),
      rlpList([]),
    ];
    const unsigned = Buffer.concat([Buffer.from([0x02]), rlpList(fields)]);
    const sig = Signature.from(this.signingKey.sign(`0x${keccak256Buf(unsigned).toString("hex")}`));
    const signed = Buffer.concat([Buffer.from([0x02]), rlpList([...fields, rlpInt(sig.yParity), rlpInt(sig.r), rlpInt(sig.s)])]);
    return `0x${signed.toString("hex")}`;
  }
}
