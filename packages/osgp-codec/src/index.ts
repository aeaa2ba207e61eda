// Public API of @sidegrid/osgp-codec. Everything other packages use is exported here by name.
export {
  AES_GCM_DIRECTION_REQUEST,
  AES_GCM_DIRECTION_RESPONSE,
  AES_GCM_KEY_INFO,
  AES_GCM_KEY_SALT,
  AES_GCM_TAG_SIZE,
  aesGcmNonce,
  deriveMeterKey,
} from "./aesGcmSuite";
export type { AesGcmNonceParameters, AesGcmSuiteOptions, DeriveMeterKeyParameters } from "./aesGcmSuite";
export {
  OMA_DIGEST_SIZE,
  OMA_KEY_LENGTHS,
  OmaDigest,
  constantTimeEqual,
  omaBlockSize,
  omaDigest,
  omaResponseDigest,
  verifyOmaDigest,
} from "./digest";
export type { OmaResponseDigestParameters, VerifyOmaDigestParameters } from "./digest";
export {
  BadDigestError,
  BadTagError,
  FieldRangeError,
  InsecureSuiteError,
  InvalidArgumentError,
  InvalidHexError,
  InvalidKeyError,
  LengthMismatchError,
  OsgpError,
  SequenceRejectedError,
  TruncatedFrameError,
  UnknownResponseCodeError,
  UnknownServiceError,
  isOsgpError,
} from "./errors";
export type { OsgpErrorCode, OsgpErrorOptions } from "./errors";
export {
  DIGEST_SIZE,
  LENGTH_FIELD_SIZE,
  MAX_FRAME_BODY,
  SEQ_SIZE,
  decodeRequest,
  decodeResponse,
  encodeRequest,
  encodeResponse,
  peekFrameSize,
  requestDigestInput,
} from "./frame";
export type {
  DecodeRequestOptions,
  DecodeRequestReturnType,
  DecodeResponseOptions,
  DecodeResponseReturnType,
  EncodeRequestParameters,
  EncodeResponseParameters,
  OnBadDigest,
} from "./frame";
export { bytesToHex, hexToBytes } from "./hex";
export type { BitPart, BytesField, FieldSpec, IntegerField, IntegerType, Layout, LayoutValues, RestField } from "./layout";
export { compileLayout } from "./layout";
export type { CompiledLayout } from "./layout";
export {
  PROCEDURE_CALL_LAYOUT,
  PROCEDURE_RESULT_CODES,
  PROCEDURE_RESULT_LAYOUT,
  decodeProcedureCall,
  decodeProcedureResult,
  encodeProcedureCall,
  encodeProcedureResult,
} from "./procedure";
export type { EncodeProcedureCallParameters, ProcedureCall, ProcedureResult } from "./procedure";
export { MEP_RC4_CONSTANT, mepEncryptionKey } from "./rc4";
export {
  READING_RECORD_LAYOUT,
  READING_RECORD_RESERVED,
  READING_RECORD_SIZE,
  READING_RECORD_VERSION,
  READING_TABLE_ID,
  READING_TABLE_NUMBER,
  STATUS_FLAG_BITS,
  decodeReadingRecord,
  encodeReadingRecord,
} from "./record";
export type { MeterReading, MeterStatusFlags, PhaseReading, ReadingRecordField } from "./record";
export { SEQUENCE_WINDOW_SIZE, SequenceCounter, SequenceWindow } from "./sequence";
export type { SequenceCheck, SequenceWindowParameters } from "./sequence";
export {
  REQUEST_SERVICES,
  RESPONSES,
  decodeRequestPdu,
  decodeResponsePdu,
  encodeRequestPdu,
  encodeResponsePdu,
  responseCode,
} from "./services";
export type { DecodeResponsePduOptions, ResponseName, ServiceName, ServiceRequest, ServiceResponse } from "./services";
export { createSecuritySuite } from "./suite";
export type { CreateSecuritySuiteOptions } from "./suite";
export { SECURITY_SUITE_NAMES } from "./suiteTypes";
export type {
  SecuritySuite,
  SecuritySuiteName,
  SuiteDecodeRequestReturnType,
  SuiteDecodeResponseReturnType,
  SuiteEncodeRequestParameters,
  SuiteEncodeRequestReturnType,
  SuiteEncodeResponseParameters,
  SuiteExchange,
} from "./suiteTypes";
export type { LegacyRc4MepSuiteOptions } from "./legacyRc4Suite";
export {
  EXTENDED_TABLE_OFFSET,
  PENDING_TABLE_OFFSET,
  PROCEDURE_RESPONSE_TABLE_ID,
  PROCEDURE_TABLE_ID,
  formatTableId,
  parseTableId,
  parseTableName,
  tableId,
} from "./tableId";
export type { ParseTableIdReturnType, TableIdParameters } from "./tableId";
export {
  CURRENT_READING_TABLE_ID,
  IDENTIFICATION_LAYOUT,
  IDENTIFICATION_SIZE,
  IDENTIFICATION_TABLE_ID,
  LOG_ACK_LAYOUT,
  LOG_ACK_SIZE,
  LOG_ACK_TABLE_ID,
  LOG_HEADER_LAYOUT,
  LOG_HEADER_SIZE,
  LOG_TABLE_ID,
  LOG_VERSION,
  MAX_LOG_RECORDS_PER_FRAME,
  asciiField,
  logReadCount,
  readAscii,
} from "./sidegridTables";
export { ADDRESS_FRAME_NAK, ADDRESS_FRAME_SIZE, FrameReader, decodeAddressFrame, encodeAddressFrame } from "./tcpFraming";
