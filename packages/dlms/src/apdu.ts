// The APDU codec: xDLMS APDUs (Green Book 9.5, A-XDR), and the ACSE APDUs around them through
// acse.ts. `decodeApdu` turns bytes into a tagged object whose `type` is the APDU name in kebab
// case; `encodeApdu` is its inverse for every type it produces. Types and tag tables: apduTypes.ts.
import { type CosemDateTime, decodeData, decodeDateTime, encodeDateTime, readLength, writeData, writeLength } from "./axdr";
import { FieldValueError, TrailingBytesError, UnknownTagError } from "./errors";
import { Reader, Writer } from "./layout";
import { formatObis } from "./obis";
import { type Apdu, CIPHERED_BY_TAG, CIPHERED_TAGS, type CipheredApdu, type Conformance, type DataBlock, type GetDataResult, type InitiateRequest, type InitiateResponse, type MethodDescriptor, SECURITY_HEADER, type XdlmsApdu, conformance } from "./apduTypes";
import { ATTRIBUTE_LAYOUT, readAttribute, readBool, readCount, readGetDataResult, readInvoke, readOctets, readPresence, readSelection, times, writeActionResult, writeBlock, writeConformance, writeDescriptor, writeGetDataResult, writeInvoke, writeOctets, writeSelection } from "./apduFields";
import { readAcse, writeAcse } from "./acse";

// ---- decoding -----------------------------------------------------------------------------------

/**
 * Decodes one APDU; the bytes must hold exactly one.
 * @example
 * decodeApdu(hexToBytes("c001c1000100002b0100ff0200"))
 * // { type: "get-request-normal", invoke: { invokeId: 1, ... }, attribute: { classId: 1, obis: "0.0.43.1.0.255", attribute: 2 }, accessSelection: null }
 */
export function decodeApdu(bytes: Uint8Array): Apdu {
  const r = new Reader(bytes);
  const apdu = readApdu(r);
  if (r.remaining > 0) throw new TrailingBytesError(apdu.type, r.remaining);
  return apdu;
}

function readApdu(r: Reader): Apdu {
  const tag = r.u8("APDU tag");
  const ciphered = CIPHERED_BY_TAG.get(tag);
  if (ciphered) {
    const len = readLength(r, `${ciphered} length`);
    r.need(len, ciphered);
    const sub = new Reader(r.bytes, r.pos, r.pos + len);
    r.pos += len;
    const h = sub.layout(SECURITY_HEADER);
    return { type: ciphered, securityControl: h.securityControl, invocationCounter: h.invocationCounter, information: sub.rest() };
  }
  switch (tag) {
    case 0x01:
      return readInitiateRequest(r);
    case 0x08:
      return readInitiateResponse(r);
    case 0x0e:
      return { type: "confirmed-service-error", service: r.u8("ConfirmedServiceError choice"), errorType: r.u8("ServiceError choice"), value: r.u8("ServiceError value") };
    case 0x0f:
      return readDataNotification(r);
    case 0x60:
    case 0x61:
    case 0x62:
    case 0x63:
      return readAcse(r, tag, decodeApdu);
    case 0xc0:
      return readGetRequest(r);
    case 0xc4:
      return readGetResponse(r);
    case 0xc1:
      return readSetRequest(r);
    case 0xc5:
      return readSetResponse(r);
    case 0xc3:
      return readActionRequest(r);
    case 0xc2: {
      const time = readPresence(r, "time") ? readOctets(r, "time") : null;
      const attribute = readAttribute(r);
      return { type: "event-notification-request", time, attribute, value: decodeData(r) };
    }
    case 0xc7:
      return readActionResponse(r);
    case 0xd8: {
      const stateError = r.u8("state-error");
      const serviceError = r.u8("service-error");
      // service-error 6 (invocation-counter-error) carries the expected counter.
      const invocationCounter = serviceError === 6 && r.remaining >= 4 ? r.u32("invocation counter") : null;
      return { type: "exception-response", stateError, serviceError, invocationCounter };
    }
    case 0xdb:
    case 0xdc: {
      const stLen = readLength(r, "system-title length");
      const systemTitle = r.take(stLen, "system-title");
      const len = readLength(r, "ciphered-content length");
      r.need(len, "ciphered-content");
      const sub = new Reader(r.bytes, r.pos, r.pos + len);
      r.pos += len;
      const h = sub.layout(SECURITY_HEADER);
      return { type: tag === 0xdb ? "general-glo-ciphering" : "general-ded-ciphering", systemTitle, securityControl: h.securityControl, invocationCounter: h.invocationCounter, information: sub.rest() };
    }
    default:
      throw new UnknownTagError("APDU", tag);
  }
}

function readConformance(r: Reader): Conformance {
  const t1 = r.u8("conformance tag");
  const t2 = r.u8("conformance tag");
  if (t1 !== 0x5f || t2 !== 0x1f) throw new FieldValueError("BAD_FORMAT", "conformance tag", (t1 << 8) | t2, "0x5f1f");
  const len = r.u8("conformance length");
  if (len !== 4) throw new FieldValueError("BAD_FORMAT", "conformance length", len, "4");
  r.u8("conformance unused bits");
  return conformance((r.u8("conformance") << 16) | (r.u8("conformance") << 8) | r.u8("conformance"));
}

function readInitiateRequest(r: Reader): InitiateRequest {
  const dedicatedKey = readPresence(r, "dedicated-key") ? readOctets(r, "dedicated-key") : null;
  const responseAllowed = readPresence(r, "response-allowed") ? readBool(r, "response-allowed") : null;
  const proposedQualityOfService = readPresence(r, "proposed-quality-of-service") ? r.i8("proposed-quality-of-service") : null;
  const proposedDlmsVersion = r.u8("proposed-dlms-version-number");
  const proposedConformance = readConformance(r);
  return { type: "initiate-request", dedicatedKey, responseAllowed, proposedQualityOfService, proposedDlmsVersion, proposedConformance, clientMaxReceivePduSize: r.u16("client-max-receive-pdu-size") };
}

function readInitiateResponse(r: Reader): InitiateResponse {
  const negotiatedQualityOfService = readPresence(r, "negotiated-quality-of-service") ? r.i8("negotiated-quality-of-service") : null;
  const negotiatedDlmsVersion = r.u8("negotiated-dlms-version-number");
  const negotiatedConformance = readConformance(r);
  const serverMaxReceivePduSize = r.u16("server-max-receive-pdu-size");
  return { type: "initiate-response", negotiatedQualityOfService, negotiatedDlmsVersion, negotiatedConformance, serverMaxReceivePduSize, vaaName: r.u16("vaa-name") };
}

function readDataNotification(r: Reader): XdlmsApdu {
  const longInvokeIdAndPriority = r.u32("long-invoke-id-and-priority");
  const first = r.u8("date-time");
  let dateTime: CosemDateTime | null = null;
  let dateTimeEncoding: "octet-string" | "absent" | "data" = "absent";
  if (first === 0x0c) {
    dateTime = decodeDateTime(r.view(12, "date-time"));
    dateTimeEncoding = "octet-string";
  } else if (first === 0x09) {
    const len = r.u8("date-time length");
    if (len !== 12) throw new FieldValueError("BAD_FORMAT", "date-time length", len, "12");
    dateTime = decodeDateTime(r.view(12, "date-time"));
    dateTimeEncoding = "data";
  } else if (first !== 0x00) {
    throw new FieldValueError("BAD_FORMAT", "date-time", first, "0x00 (absent), 0x0c (12-byte date-time) or 0x09 0x0c");
  }
  return { type: "data-notification", longInvokeIdAndPriority, dateTime, dateTimeEncoding, body: decodeData(r) };
}

function readGetRequest(r: Reader): XdlmsApdu {
  const choice = r.u8("get-request choice");
  const invoke = readInvoke(r);
  switch (choice) {
    case 1:
      return { type: "get-request-normal", invoke, attribute: readAttribute(r), accessSelection: readSelection(r) };
    case 2:
      return { type: "get-request-next", invoke, blockNumber: r.u32("block-number") };
    case 3:
      return { type: "get-request-with-list", invoke, attributes: times(readCount(r, "attribute count"), () => ({ attribute: readAttribute(r), accessSelection: readSelection(r) })) };
    default:
      throw new UnknownTagError("get-request choice", choice);
  }
}

function readGetResponse(r: Reader): XdlmsApdu {
  const choice = r.u8("get-response choice");
  const invoke = readInvoke(r);
  switch (choice) {
    case 1:
      return { type: "get-response-normal", invoke, result: readGetDataResult(r) };
    case 2: {
      const lastBlock = readBool(r, "last-block");
      const blockNumber = r.u32("block-number");
      const c = r.u8("DataBlock-G result choice");
      if (c === 0) return { type: "get-response-with-datablock", invoke, lastBlock, blockNumber, result: { rawData: readOctets(r, "raw-data") } };
      if (c === 1) return { type: "get-response-with-datablock", invoke, lastBlock, blockNumber, result: { dataAccessResult: r.u8("Data-Access-Result") } };
      throw new UnknownTagError("DataBlock-G result", c);
    }
    case 3:
      return { type: "get-response-with-list", invoke, results: times(readCount(r, "result count"), () => readGetDataResult(r)) };
    default:
      throw new UnknownTagError("get-response choice", choice);
  }
}

function readDataBlock(r: Reader): DataBlock {
  return { lastBlock: readBool(r, "last-block"), blockNumber: r.u32("block-number"), rawData: readOctets(r, "raw-data") };
}

function readSetRequest(r: Reader): XdlmsApdu {
  const choice = r.u8("set-request choice");
  const invoke = readInvoke(r);
  switch (choice) {
    case 1: {
      const attribute = readAttribute(r);
      const accessSelection = readSelection(r);
      return { type: "set-request-normal", invoke, attribute, accessSelection, value: decodeData(r) };
    }
    case 2: {
      const attribute = readAttribute(r);
      const accessSelection = readSelection(r);
      return { type: "set-request-with-first-datablock", invoke, attribute, accessSelection, block: readDataBlock(r) };
    }
    case 3:
      return { type: "set-request-with-datablock", invoke, block: readDataBlock(r) };
    case 4: {
      const attributes = times(readCount(r, "attribute count"), () => ({ attribute: readAttribute(r), accessSelection: readSelection(r) }));
      return { type: "set-request-with-list", invoke, attributes, values: times(readCount(r, "value count"), () => decodeData(r)) };
    }
    default:
      throw new UnknownTagError("set-request choice", choice);
  }
}

function readSetResponse(r: Reader): XdlmsApdu {
  const choice = r.u8("set-response choice");
  const invoke = readInvoke(r);
  switch (choice) {
    case 1:
      return { type: "set-response-normal", invoke, result: r.u8("Data-Access-Result") };
    case 2:
      return { type: "set-response-datablock", invoke, blockNumber: r.u32("block-number") };
    case 3: {
      const result = r.u8("Data-Access-Result");
      return { type: "set-response-last-datablock", invoke, result, blockNumber: r.u32("block-number") };
    }
    case 5:
      return { type: "set-response-with-list", invoke, results: times(readCount(r, "result count"), () => r.u8("Data-Access-Result")) };
    default:
      throw new UnknownTagError("set-response choice", choice);
  }
}

function readMethod(r: Reader): MethodDescriptor {
  const v = r.layout(ATTRIBUTE_LAYOUT);
  return { classId: v.classId, obis: formatObis(v.instance), method: v.id };
}

function readActionRequest(r: Reader): XdlmsApdu {
  const choice = r.u8("action-request choice");
  const invoke = readInvoke(r);
  switch (choice) {
    case 1: {
      const method = readMethod(r);
      return { type: "action-request-normal", invoke, method, parameters: readPresence(r, "method-invocation-parameters") ? decodeData(r) : null };
    }
    case 2:
      return { type: "action-request-next-pblock", invoke, blockNumber: r.u32("block-number") };
    case 3: {
      const methods = times(readCount(r, "method count"), () => readMethod(r));
      return { type: "action-request-with-list", invoke, methods, parameters: times(readCount(r, "parameter count"), () => decodeData(r)) };
    }
    case 4: {
      const method = readMethod(r);
      return { type: "action-request-with-first-pblock", invoke, method, block: readDataBlock(r) };
    }
    case 6:
      return { type: "action-request-with-pblock", invoke, block: readDataBlock(r) };
    default:
      throw new UnknownTagError("action-request choice", choice);
  }
}

function readActionResult(r: Reader): { result: number; returnParameters: GetDataResult | null } {
  const result = r.u8("Action-Result");
  return { result, returnParameters: readPresence(r, "return-parameters") ? readGetDataResult(r) : null };
}

function readActionResponse(r: Reader): XdlmsApdu {
  const choice = r.u8("action-response choice");
  const invoke = readInvoke(r);
  switch (choice) {
    case 1:
      return { type: "action-response-normal", invoke, ...readActionResult(r) };
    case 2:
      return { type: "action-response-with-pblock", invoke, block: readDataBlock(r) };
    case 3:
      return { type: "action-response-with-list", invoke, results: times(readCount(r, "result count"), () => readActionResult(r)) };
    case 4:
      return { type: "action-response-next-pblock", invoke, blockNumber: r.u32("block-number") };
    default:
      throw new UnknownTagError("action-response choice", choice);
  }
}

// ---- encoding -----------------------------------------------------------------------------------

/**
 * Encodes an APDU (any type {@link decodeApdu} returns).
 * @example
 * encodeApdu({ type: "get-request-next", invoke: { invokeId: 1, confirmed: true, highPriority: true }, blockNumber: 1 }) // c002c100000001
 */
export function encodeApdu(apdu: Apdu): Uint8Array {
  const w = new Writer();
  writeApdu(w, apdu);
  return w.finish();
}

function writeApdu(w: Writer, a: Apdu): void {
  if (a.type in CIPHERED_TAGS) {
    const c = a as CipheredApdu;
    w.u8(CIPHERED_TAGS[c.type]);
    writeLength(w, 5 + c.information.length).layout(SECURITY_HEADER, { securityControl: c.securityControl, invocationCounter: c.invocationCounter }).bytes(c.information);
    return;
  }
  switch (a.type) {
    case "initiate-request":
      w.u8(0x01);
      if (a.dedicatedKey) writeOctets(w.u8(1), a.dedicatedKey);
      else w.u8(0);
      if (a.responseAllowed === null) w.u8(0);
      else w.u8(1).u8(a.responseAllowed ? 1 : 0);
      if (a.proposedQualityOfService === null) w.u8(0);
      else w.u8(1).u8(a.proposedQualityOfService);
      w.u8(a.proposedDlmsVersion);
      writeConformance(w, a.proposedConformance);
      w.u16(a.clientMaxReceivePduSize);
      return;
    case "initiate-response":
      w.u8(0x08);
      if (a.negotiatedQualityOfService === null) w.u8(0);
      else w.u8(1).u8(a.negotiatedQualityOfService);
      w.u8(a.negotiatedDlmsVersion);
      writeConformance(w, a.negotiatedConformance);
      w.u16(a.serverMaxReceivePduSize).u16(a.vaaName);
      return;
    case "confirmed-service-error":
      w.u8(0x0e).u8(a.service).u8(a.errorType).u8(a.value);
      return;
    case "data-notification":
      w.u8(0x0f).u32(a.longInvokeIdAndPriority);
      if (a.dateTime === null || a.dateTimeEncoding === "absent") w.u8(0);
      else w.bytes(a.dateTimeEncoding === "data" ? [0x09, 0x0c] : [0x0c]).bytes(encodeDateTime(a.dateTime));
      writeData(w, a.body);
      return;
    case "get-request-normal":
      w.u8(0xc0).u8(1);
      writeInvoke(w, a.invoke);
      writeDescriptor(w, a.attribute.classId, a.attribute.obis, a.attribute.attribute);
      writeSelection(w, a.accessSelection);
      return;
    case "get-request-next":
      w.u8(0xc0).u8(2);
      writeInvoke(w, a.invoke);
      w.u32(a.blockNumber);
      return;
    case "get-request-with-list":
      w.u8(0xc0).u8(3);
      writeInvoke(w, a.invoke);
      writeLength(w, a.attributes.length);
      for (const x of a.attributes) {
        writeDescriptor(w, x.attribute.classId, x.attribute.obis, x.attribute.attribute);
        writeSelection(w, x.accessSelection);
      }
      return;
    case "get-response-normal":
      w.u8(0xc4).u8(1);
      writeInvoke(w, a.invoke);
      writeGetDataResult(w, a.result);
      return;
    case "get-response-with-datablock":
      w.u8(0xc4).u8(2);
      writeInvoke(w, a.invoke);
      w.u8(a.lastBlock ? 1 : 0).u32(a.blockNumber);
      if ("rawData" in a.result) writeOctets(w.u8(0), a.result.rawData);
      else w.u8(1).u8(a.result.dataAccessResult);
      return;
    case "get-response-with-list":
      w.u8(0xc4).u8(3);
      writeInvoke(w, a.invoke);
      writeLength(w, a.results.length);
      for (const x of a.results) writeGetDataResult(w, x);
      return;
    case "set-request-normal":
      w.u8(0xc1).u8(1);
      writeInvoke(w, a.invoke);
      writeDescriptor(w, a.attribute.classId, a.attribute.obis, a.attribute.attribute);
      writeSelection(w, a.accessSelection);
      writeData(w, a.value);
      return;
    case "set-request-with-first-datablock":
      w.u8(0xc1).u8(2);
      writeInvoke(w, a.invoke);
      writeDescriptor(w, a.attribute.classId, a.attribute.obis, a.attribute.attribute);
      writeSelection(w, a.accessSelection);
      writeBlock(w, a.block);
      return;
    case "set-request-with-datablock":
      w.u8(0xc1).u8(3);
      writeInvoke(w, a.invoke);
      writeBlock(w, a.block);
      return;
    case "set-request-with-list":
      w.u8(0xc1).u8(4);
      writeInvoke(w, a.invoke);
      writeLength(w, a.attributes.length);
      for (const x of a.attributes) {
        writeDescriptor(w, x.attribute.classId, x.attribute.obis, x.attribute.attribute);
        writeSelection(w, x.accessSelection);
      }
      writeLength(w, a.values.length);
      for (const v of a.values) writeData(w, v);
      return;
    case "set-response-normal":
      w.u8(0xc5).u8(1);
      writeInvoke(w, a.invoke);
      w.u8(a.result);
      return;
    case "set-response-datablock":
      w.u8(0xc5).u8(2);
      writeInvoke(w, a.invoke);
      w.u32(a.blockNumber);
      return;
    case "set-response-last-datablock":
      w.u8(0xc5).u8(3);
      writeInvoke(w, a.invoke);
      w.u8(a.result).u32(a.blockNumber);
      return;
    case "set-response-with-list":
      w.u8(0xc5).u8(5);
      writeInvoke(w, a.invoke);
      writeLength(w, a.results.length);
      for (const x of a.results) w.u8(x);
      return;
    case "action-request-normal":
      w.u8(0xc3).u8(1);
      writeInvoke(w, a.invoke);
      writeDescriptor(w, a.method.classId, a.method.obis, a.method.method);
      if (a.parameters === null) w.u8(0);
      else writeData(w.u8(1), a.parameters);
      return;
    case "action-request-next-pblock":
      w.u8(0xc3).u8(2);
      writeInvoke(w, a.invoke);
      w.u32(a.blockNumber);
      return;
    case "action-request-with-list":
      w.u8(0xc3).u8(3);
      writeInvoke(w, a.invoke);
      writeLength(w, a.methods.length);
      for (const m of a.methods) writeDescriptor(w, m.classId, m.obis, m.method);
      writeLength(w, a.parameters.length);
      for (const p of a.parameters) writeData(w, p);
      return;
    case "action-request-with-first-pblock":
      w.u8(0xc3).u8(4);
      writeInvoke(w, a.invoke);
      writeDescriptor(w, a.method.classId, a.method.obis, a.method.method);
      writeBlock(w, a.block);
      return;
    case "action-request-with-pblock":
      w.u8(0xc3).u8(6);
      writeInvoke(w, a.invoke);
      writeBlock(w, a.block);
      return;
    case "action-response-with-pblock":
      w.u8(0xc7).u8(2);
      writeInvoke(w, a.invoke);
      writeBlock(w, a.block);
      return;
    case "event-notification-request":
      w.u8(0xc2);
      if (a.time === null) w.u8(0);
      else writeOctets(w.u8(1), a.time);
      writeDescriptor(w, a.attribute.classId, a.attribute.obis, a.attribute.attribute);
      writeData(w, a.value);
      return;
    case "action-response-normal":
      w.u8(0xc7).u8(1);
      writeInvoke(w, a.invoke);
      writeActionResult(w, a);
      return;
    case "action-response-with-list":
      w.u8(0xc7).u8(3);
      writeInvoke(w, a.invoke);
      writeLength(w, a.results.length);
      for (const x of a.results) writeActionResult(w, x);
      return;
    case "action-response-next-pblock":
      w.u8(0xc7).u8(4);
      writeInvoke(w, a.invoke);
      w.u32(a.blockNumber);
      return;
    case "exception-response":
      w.u8(0xd8).u8(a.stateError).u8(a.serviceError);
      if (a.invocationCounter !== null) w.u32(a.invocationCounter);
      return;
    case "general-glo-ciphering":
    case "general-ded-ciphering":
      w.u8(a.type === "general-glo-ciphering" ? 0xdb : 0xdc);
      writeOctets(w, a.systemTitle);
      writeLength(w, 5 + a.information.length).layout(SECURITY_HEADER, { securityControl: a.securityControl, invocationCounter: a.invocationCounter }).bytes(a.information);
      return;
    case "aarq":
    case "aare":
    case "rlrq":
    case "rlre":
      writeAcse(w, a, encodeApdu);
      return;
  }
}

