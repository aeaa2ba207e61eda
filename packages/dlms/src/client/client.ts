// The DLMS/COSEM client the adapters share: one association (AARQ/AARE, logical-name referencing,
// lowest-level or low-level (password) authentication), GET of one attribute with selective
// access, answers in one APDU or in blocks (get-request-next until the last block), and release.
// With `security`, the association is HLS-GMAC (mechanism 5) and every xDLMS APDU after the AARQ
// travels glo-ciphered (suite 0, authenticated and encrypted), the meter's invocation counter
// checked to rise so a replayed answer is refused.
import { randomBytes } from "node:crypto";
import { cipherApdu, decipherApduBytes, isCipheredApdu } from "../ciphering";
import { CURRENT_ASSOCIATION, verifyHlsGmac, hlsGmac } from "../hls";
import { BadTagError } from "../errors";
import { decodeApdu, encodeApdu } from "../apdu";
import { DATA_ACCESS_RESULTS, conformance, type AccessSelection, type Apdu, type AttributeDescriptor, type InvokeIdAndPriority } from "../apduTypes";
import { decodeData, type DlmsData } from "../axdr";
import { Reader } from "../layout";
import { MeterProtocolError, MeterRejectedError } from "../errors";
import type { DlmsLink } from "./links";

/** What this client proposes in its AARQ: LN referencing, GET with selective access and blocks. */
export const CLIENT_CONFORMANCE = conformance(["get", "selective-access", "block-transfer-with-get-or-read", "multiple-references"]);
/** On an HLS association the client also needs ACTION (reply_to_HLS_authentication). */
export const SECURED_CONFORMANCE = conformance(["get", "action", "selective-access", "block-transfer-with-get-or-read", "multiple-references"]);
const MAX_RECEIVE_PDU = 0xffff;
/** Most blocks one GET may take (a load profile of two weeks in 15-minute rows fits in far fewer). */
const MAX_BLOCKS = 1000;

export interface DlmsClientParameters {
  meterId: number;
  link: DlmsLink;
  /** Low-level security password (LLS); absent = lowest level (public client). */
  password?: Uint8Array;
  /** HLS-GMAC and glo-ciphering (suite 0): the client's system title and the meter's keys. */
  security?: ClientSecurity;
}

export interface ClientSecurity {
  /** The client's system title (8 bytes). */
  systemTitle: Uint8Array;
  ek: Uint8Array;
  ak: Uint8Array;
  /** The client's next invocation counter (default 1); it must never repeat for these keys. */
  invocationCounter?: number;
}

/**
 * A DLMS client over one link.
 * @example
 * const c = new DlmsClient({ meterId: 7, link: new WrapperTcpLink({ meterId: 7, host, port, timeoutMs: 5000 }) });
 * await c.associate();
 * const clock = await c.get({ classId: 8, obis: "0.0.1.0.0.255", attribute: 2 });
 */
export class DlmsClient {
  private invokeId = 0;
  private ic: number;
  /** The meter's system title and last invocation counter, once a ciphered association is made. */
  private server: { systemTitle: Uint8Array; lastIc: number } | undefined;
  private associated = false;
  /** What the meter accepted in its AARE (null before `associate`). */
  serverMaxReceivePdu: number | null = null;

  constructor(private readonly p: DlmsClientParameters) {
    this.ic = p.security?.invocationCounter ?? 1;
  }

  /** The invocation counter the client uses next (persist it between associations). */
  get invocationCounter(): number {
    return this.ic;
  }

  get isAssociated(): boolean {
    return this.associated;
  }

  /** Opens the link and the application association. */
  async associate(): Promise<void> {
    await this.p.link.open();
    const sec = this.p.security;
    this.server = undefined;
    const initiate: Apdu = {
      type: "initiate-request",
      dedicatedKey: null,
      responseAllowed: null,
      proposedQualityOfService: null,
      proposedDlmsVersion: 6,
      proposedConformance: sec ? SECURED_CONFORMANCE : CLIENT_CONFORMANCE,
      clientMaxReceivePduSize: MAX_RECEIVE_PDU,
    };
    const ctos = sec ? new Uint8Array(randomBytes(16)) : null;
    const aarq: Apdu = {
      type: "aarq",
      applicationContext: sec ? "logical-name-ciphering" : "logical-name",
      callingApTitle: sec ? sec.systemTitle : null,
      mechanism: sec ? "high-gmac" : this.p.password ? "low" : null,
      callingAuthenticationValue: ctos ?? this.p.password ?? null,
      userInformation: sec ? (this.seal(encodeApdu(initiate)) as Extract<Apdu, { type: "glo-initiate-request" }>) : (initiate as Extract<Apdu, { type: "initiate-request" }>),
    };
    const aare = this.decode(await this.p.link.exchange(encodeApdu(aarq)));
    if (aare.type !== "aare") throw new MeterProtocolError(this.p.meterId, `answered the AARQ with ${aare.type}`);
    if (aare.result !== 0) {
      throw new MeterRejectedError(this.p.meterId, `AARE result ${aare.result} (${aare.resultSourceDiagnostic.source} diagnostic ${aare.resultSourceDiagnostic.value})`);
    }
    let ui = aare.userInformation;
    if (sec) {
      if (!aare.respondingApTitle || aare.respondingApTitle.length !== 8 || !aare.respondingAuthenticationValue) throw new MeterProtocolError(this.p.meterId, "HLS-GMAC: the AARE carries no system title or challenge");
      this.server = { systemTitle: aare.respondingApTitle, lastIc: -1 };
      if (!ui || !isCipheredApdu(ui)) throw new MeterProtocolError(this.p.meterId, `HLS-GMAC: the AARE's user-information is not ciphered (${ui?.type ?? "none"})`);
      ui = this.open(ui) as typeof ui;
    }
    if (!ui || ui.type !== "initiate-response") throw new MeterProtocolError(this.p.meterId, `AARE without an initiate-response (${ui?.type ?? "none"})`);
    this.serverMaxReceivePdu = ui.serverMaxReceivePduSize;
    if (sec) {
      // Pass 3: answer the meter's challenge; pass 4: check its answer to ours.
      const invoke = this.nextInvoke();
      const fStoC = hlsGmac({ challenge: aare.respondingAuthenticationValue!, systemTitle: sec.systemTitle, invocationCounter: this.ic, ek: sec.ek, ak: sec.ak });
      const answer = await this.request({ type: "action-request-normal", invoke, method: { classId: CURRENT_ASSOCIATION.classId, obis: CURRENT_ASSOCIATION.obis, method: CURRENT_ASSOCIATION.method }, parameters: { type: "octet-string", value: fStoC } });
      if (answer.type !== "action-response-normal") throw new MeterProtocolError(this.p.meterId, `HLS-GMAC: answered reply_to_HLS_authentication with ${answer.type}`);
      const rp = answer.returnParameters;
      if (answer.result !== 0 || !rp || !("data" in rp) || rp.data.type !== "octet-string") throw new MeterRejectedError(this.p.meterId, `HLS-GMAC: the meter refused our answer (action-result ${answer.result})`);
      try {
        verifyHlsGmac({ answer: rp.data.value, challenge: ctos!, systemTitle: this.server!.systemTitle, ek: sec.ek, ak: sec.ak });
      } catch (e) {
        throw new MeterRejectedError(this.p.meterId, "HLS-GMAC: the meter's answer to our challenge does not verify (not the meter it claims, or other keys)", { cause: e });
      }
    }
    this.associated = true;
  }

  /** Sends an xDLMS request (ciphered on a ciphered association) and returns the plain answer. */
  private async request(apdu: Apdu): Promise<Apdu> {
    const bytes = encodeApdu(apdu);
    const answer = this.decode(await this.p.link.exchange(this.p.security ? encodeApdu(this.seal(bytes)) : bytes));
    if (!this.p.security) return answer;
    if (!isCipheredApdu(answer)) throw new MeterProtocolError(this.p.meterId, `a plain ${answer.type} on a ciphered association`);
    return this.open(answer);
  }

  private seal(plaintext: Uint8Array): Apdu {
    const sec = this.p.security!;
    const invocationCounter = this.ic;
    this.ic = (this.ic + 1) >>> 0;
    return cipherApdu({ plaintext, systemTitle: sec.systemTitle, invocationCounter, ek: sec.ek, ak: sec.ak });
  }

  private open(apdu: Apdu): Apdu {
    const sec = this.p.security!;
    const server = this.server!;
    if (!isCipheredApdu(apdu)) throw new MeterProtocolError(this.p.meterId, `a plain ${apdu.type} on a ciphered association`);
    // A replayed (or reordered) answer carries a counter the meter already used.
    if (apdu.invocationCounter <= server.lastIc) throw new MeterRejectedError(this.p.meterId, `invocation counter ${apdu.invocationCounter} not above ${server.lastIc} (replayed answer)`);
    let plain: Uint8Array;
    try {
      plain = decipherApduBytes(apdu, { systemTitle: server.systemTitle, ek: sec.ek, ak: sec.ak });
    } catch (e) {
      if (e instanceof BadTagError) throw new MeterRejectedError(this.p.meterId, "an answer whose GCM tag does not verify (forged or corrupted)", { cause: e });
      throw new MeterProtocolError(this.p.meterId, `a ciphered answer that does not open: ${(e as Error).message}`, { cause: e });
    }
    server.lastIc = apdu.invocationCounter;
    return this.decode(plain);
  }

  /**
   * Reads one attribute. Throws MeterRejectedError with the data-access-result's name when the
   * meter refuses it (e.g. "object-undefined").
   */
  async get(attribute: AttributeDescriptor, accessSelection: AccessSelection | null = null): Promise<DlmsData> {
    const invoke = this.nextInvoke();
    let answer = await this.request({ type: "get-request-normal", invoke, attribute, accessSelection });
    const what = `${attribute.obis}/${attribute.attribute}`;
    if (answer.type === "get-response-normal") {
      this.checkInvoke(answer.invoke, invoke);
      if ("dataAccessResult" in answer.result) throw this.refused(what, answer.result.dataAccessResult);
      return answer.result.data;
    }
    // Block transfer: the raw data of every block joined is one A-XDR encoded value.
    const blocks: Uint8Array[] = [];
    for (let expected = 1; ; expected++) {
      if (answer.type !== "get-response-with-datablock") throw new MeterProtocolError(this.p.meterId, `answered GET ${what} with ${answer.type}`);
      this.checkInvoke(answer.invoke, invoke);
      if (answer.blockNumber !== expected) throw new MeterProtocolError(this.p.meterId, `GET ${what}: block ${answer.blockNumber} where ${expected} was due`);
      if ("dataAccessResult" in answer.result) throw this.refused(what, answer.result.dataAccessResult);
      blocks.push(answer.result.rawData);
      if (answer.lastBlock) break;
      if (expected >= MAX_BLOCKS) throw new MeterProtocolError(this.p.meterId, `GET ${what}: more than ${MAX_BLOCKS} blocks`);
      answer = await this.request({ type: "get-request-next", invoke, blockNumber: expected });
    }
    const joined = Buffer.concat(blocks);
    try {
      const r = new Reader(joined);
      const data = decodeData(r);
      if (r.remaining > 0) throw new Error(`${r.remaining} bytes after the value`);
      return data;
    } catch (e) {
      throw new MeterProtocolError(this.p.meterId, `GET ${what}: the joined blocks do not decode: ${(e as Error).message}`, { cause: e });
    }
  }

  /** Releases the association (RLRQ) and closes the link; never throws. */
  async release(): Promise<void> {
    if (this.associated) {
      this.associated = false;
      try {
        await this.p.link.exchange(encodeApdu({ type: "rlrq", reason: 0, userInformation: null }));
      } catch {
        /* the link closes anyway */
      }
    }
    await this.p.link.close().catch(() => undefined);
  }

  private nextInvoke(): InvokeIdAndPriority {
    this.invokeId = (this.invokeId + 1) & 0x0f;
    return { invokeId: this.invokeId, confirmed: true, highPriority: true };
  }

  private checkInvoke(got: InvokeIdAndPriority, sent: InvokeIdAndPriority): void {
    if (got.invokeId !== sent.invokeId) throw new MeterProtocolError(this.p.meterId, `answer to invoke-id ${got.invokeId}, expected ${sent.invokeId}`);
  }

  private refused(what: string, result: number): MeterRejectedError {
    return new MeterRejectedError(this.p.meterId, `${DATA_ACCESS_RESULTS[result] ?? `data-access-result ${result}`} for ${what}`);
  }

  private decode(bytes: Uint8Array): Apdu {
    let apdu: Apdu;
    try {
      apdu = decodeApdu(bytes);
    } catch (e) {
      throw new MeterProtocolError(this.p.meterId, `undecodable APDU: ${(e as Error).message}`, { cause: e });
    }
    if (apdu.type === "exception-response") throw new MeterRejectedError(this.p.meterId, `exception-response (state-error ${apdu.stateError}, service-error ${apdu.serviceError})`);
    if (apdu.type === "confirmed-service-error") throw new MeterRejectedError(this.p.meterId, `confirmed-service-error (service ${apdu.service}, ${apdu.errorType}/${apdu.value})`);
    return apdu;
  }
}
