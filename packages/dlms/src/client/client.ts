// The DLMS/COSEM client the adapters share: one association (AARQ/AARE, logical-name referencing,
// lowest-level or low-level (password) authentication), GET of one attribute with selective
// access, answers in one APDU or in blocks (get-request-next until the last block), and release.
// Ciphered associations (glo-ciphering, HLS-GMAC) are not offered yet: see the package README.
import { decodeApdu, encodeApdu } from "../apdu";
import { DATA_ACCESS_RESULTS, conformance, type AccessSelection, type Apdu, type AttributeDescriptor, type InvokeIdAndPriority } from "../apduTypes";
import { decodeData, type DlmsData } from "../axdr";
import { Reader } from "../layout";
import { MeterProtocolError, MeterRejectedError } from "../errors";
import type { DlmsLink } from "./links";

/** What this client proposes in its AARQ: LN referencing, GET with selective access and blocks. */
export const CLIENT_CONFORMANCE = conformance(["get", "selective-access", "block-transfer-with-get-or-read", "multiple-references"]);
const MAX_RECEIVE_PDU = 0xffff;
/** Most blocks one GET may take (a load profile of two weeks in 15-minute rows fits in far fewer). */
const MAX_BLOCKS = 1000;

export interface DlmsClientParameters {
  meterId: number;
  link: DlmsLink;
  /** Low-level security password (LLS); absent = lowest level (public client). */
  password?: Uint8Array;
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
  private associated = false;
  /** What the meter accepted in its AARE (null before `associate`). */
  serverMaxReceivePdu: number | null = null;

  constructor(private readonly p: DlmsClientParameters) {}

  get isAssociated(): boolean {
    return this.associated;
  }

  /** Opens the link and the application association. */
  async associate(): Promise<void> {
    await this.p.link.open();
    const aarq: Apdu = {
      type: "aarq",
      applicationContext: "logical-name",
      callingApTitle: null,
      mechanism: this.p.password ? "low" : null,
      callingAuthenticationValue: this.p.password ?? null,
      userInformation: {
        type: "initiate-request",
        dedicatedKey: null,
        responseAllowed: null,
        proposedQualityOfService: null,
        proposedDlmsVersion: 6,
        proposedConformance: CLIENT_CONFORMANCE,
        clientMaxReceivePduSize: MAX_RECEIVE_PDU,
      },
    };
    const aare = this.decode(await this.p.link.exchange(encodeApdu(aarq)));
    if (aare.type !== "aare") throw new MeterProtocolError(this.p.meterId, `answered the AARQ with ${aare.type}`);
    if (aare.result !== 0) {
      throw new MeterRejectedError(this.p.meterId, `AARE result ${aare.result} (${aare.resultSourceDiagnostic.source} diagnostic ${aare.resultSourceDiagnostic.value})`);
    }
    const ui = aare.userInformation;
    if (!ui || ui.type !== "initiate-response") throw new MeterProtocolError(this.p.meterId, `AARE without an initiate-response (${ui?.type ?? "none"})`);
    this.serverMaxReceivePdu = ui.serverMaxReceivePduSize;
    this.associated = true;
  }

  /**
   * Reads one attribute. Throws MeterRejectedError with the data-access-result's name when the
   * meter refuses it (e.g. "object-undefined").
   */
  async get(attribute: AttributeDescriptor, accessSelection: AccessSelection | null = null): Promise<DlmsData> {
    const invoke = this.nextInvoke();
    let answer = this.decode(await this.p.link.exchange(encodeApdu({ type: "get-request-normal", invoke, attribute, accessSelection })));
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
      answer = this.decode(await this.p.link.exchange(encodeApdu({ type: "get-request-next", invoke, blockNumber: expected })));
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
