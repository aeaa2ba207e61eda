import fs from "node:fs";
import { Level } from "level";

/** A message as a member persists it, with its own signature (hex strings, JSON-safe). */
export interface StoredMessage {
  key: string;
  srcChainId: string;
  srcSender: string;
  nonce: string;
  dstChainId: string;
  dstContract: string;
  payload: string;
  digest: string;
  /**
   * This member's signature over `digest`, in stores written before batches. A batched message
   * has none of its own: its batch record holds the signature, once (not repeated per message).
   */
  signature?: string;
  /** ms since epoch when this member first saw the message. */
  firstSeen: number;
  /** Key of the batch (see {@link StoredBatch}) this member signed the message in. */
  batch?: string;
}

/** A batch as a member persists it: what it signed, and the whole tree's leaves (hex strings, JSON-safe). */
export interface StoredBatch {
  key: string;
  dstChainId: string;
  srcChainId: string;
  firstNonce: string;
  lastNonce: string;
  root: string;
  /** The batch's EIP-712 digest for its destination inbox. */
  digest: string;
  /** Message digests in leaf order. */
  leaves: string[];
  /** Message keys in leaf order. */
  keys: string[];
  /** This member's signature over `digest`. */
  signature: string;
  firstSeen: number;
}

/**
 * An execution this member saw on a destination and does not yet hold final (README "Destination
 * rollbacks"): the message stays pending in the store until the execution is re-checked.
 */
export interface StoredExecution {
  key: string;
  digest: string;
  /** The destination block it was seen executed in (or the head when it was found by a query). */
  block: number;
  /** ms since epoch when it was seen. */
  at: number;
}

type Value = StoredMessage | StoredBatch | StoredExecution | number | string | Record<string, unknown>;

/**
 * A member's LevelDB: scan cursors (`c!<chainId>`), pending messages (`m!<key>`), the batches the
 * member signed with its signature (`b!<key>`, until none of their messages is pending),
 * executions seen but not yet final (`e!<key>`), final executed-message markers holding the digest
 * (`d!<key>`), and other
 * collaborators' values under `x!` (the custodian's cursor and one marker per handled grant). A
 * scan's new messages, batch signatures, executions and cursor are written in one atomic batch, so a
 * member that crashes resumes where the batch left it: nothing missed, nothing signed twice.
 */
export class MemberStore {
  private constructor(private readonly db: Level<string, Value>) {}

  /**
   * Opens (creating) the store in `dir`.
   *
   * @example
   * const store = await MemberStore.open(".sidegrid/federation/member-0");
   */
  static async open(dir: string): Promise<MemberStore> {
    fs.mkdirSync(dir, { recursive: true });
    const db = new Level<string, Value>(dir, { valueEncoding: "json" });
    await db.open();
    return new MemberStore(db);
  }

  async cursor(chainId: number): Promise<number | undefined> {
    const v = await this.db.get(`c!${chainId}`);
    return typeof v === "number" ? v : undefined;
  }

  /** Every message signed and not yet known as executed, in key order. */
  async pending(): Promise<StoredMessage[]> {
    const out: StoredMessage[] = [];
    for await (const [, v] of this.db.iterator({ gte: "m!", lt: "m!\xff" })) out.push(v as StoredMessage);
    return out;
  }

  /** Every batch signed and not yet dropped, in key order. */
  async batches(): Promise<StoredBatch[]> {
    const out: StoredBatch[] = [];
    for await (const [, v] of this.db.iterator({ gte: "b!", lt: "b!\xff" })) out.push(v as StoredBatch);
    return out;
  }

  /** Every execution seen and not yet final, in key order. */
  async executions(): Promise<StoredExecution[]> {
    const out: StoredExecution[] = [];
    for await (const [, v] of this.db.iterator({ gte: "e!", lt: "e!\xff" })) out.push(v as StoredExecution);
    return out;
  }

  /** The digest recorded for each key that is already executed (undefined where not). */
  async doneDigests(keys: readonly string[]): Promise<(string | undefined)[]> {
    if (keys.length === 0) return [];
    const vals = await this.db.getMany(keys.map((k) => `d!${k}`));
    return vals.map((v) => (typeof v === "string" ? v : undefined));
  }

  /**
   * Atomically stores new signed batches and their messages, executions seen (`executed`) or found
   * undone by a rollback (`undone`), final executions (`done`: the message and its execution
   * record go, the digest stays), batches no longer needed and (optionally) a chain's cursor.
   */
  async commit(params: {
    messages?: readonly StoredMessage[];
    batches?: readonly StoredBatch[];
    executed?: readonly StoredExecution[];
    undone?: readonly string[];
    done?: readonly { key: string; digest: string }[];
    batchesDone?: readonly string[];
    cursor?: { chainId: number; block: number };
  }): Promise<void> {
    const ops: ({ type: "put"; key: string; value: Value } | { type: "del"; key: string })[] = [];
    for (const b of params.batches ?? []) ops.push({ type: "put", key: `b!${b.key}`, value: b });
    for (const m of params.messages ?? []) ops.push({ type: "put", key: `m!${m.key}`, value: m });
    for (const k of params.batchesDone ?? []) ops.push({ type: "del", key: `b!${k}` });
    for (const e of params.executed ?? []) ops.push({ type: "put", key: `e!${e.key}`, value: e });
    for (const k of params.undone ?? []) ops.push({ type: "del", key: `e!${k}` });
    for (const d of params.done ?? []) {
      ops.push({ type: "del", key: `m!${d.key}` });
      ops.push({ type: "del", key: `e!${d.key}` });
      ops.push({ type: "put", key: `d!${d.key}`, value: d.digest });
    }
    if (params.cursor) ops.push({ type: "put", key: `c!${params.cursor.chainId}`, value: params.cursor.block });
    if (ops.length > 0) await this.db.batch(ops);
  }

  /** A value of another collaborator (the custodian's cursor and grant markers), under `x!`. */
  async getValue<T = unknown>(key: string): Promise<T | undefined> {
    return (await this.db.get(`x!${key}`)) as T | undefined;
  }

  putValue(key: string, value: number | string | Record<string, unknown>): Promise<void> {
    return this.db.put(`x!${key}`, value);
  }

  async close(): Promise<void> {
    await this.db.close();
  }
}
