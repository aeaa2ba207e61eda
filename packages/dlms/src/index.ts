// Public API of @sidegrid/dlms. Everything other packages use is exported here by name.
export { decodeApdu, encodeApdu } from "./apdu";
export {
  APDU_TAGS,
  CIPHERED_TAGS,
  CONFORMANCE_BITS,
  DATA_ACCESS_RESULTS,
  conformance,
} from "./apduTypes";
export type {
  AccessSelection,
  Aare,
  Aarq,
  Apdu,
  ApduType,
  ApplicationContext,
  AttributeDescriptor,
  AttributeWithSelection,
  CipheredApdu,
  CipheredApduType,
  Conformance,
  ConformanceBit,
  ConfirmedServiceError,
  DataBlock,
  GeneralGloCiphering,
  GetDataResult,
  InitiateRequest,
  InitiateResponse,
  InvokeIdAndPriority,
  Mechanism,
  MethodDescriptor,
  ReleaseApdu,
  XdlmsApdu,
} from "./apduTypes";
export {
  DATA_TAGS,
  DATE_TIME_LAYOUT,
  MAX_DATA_DEPTH,
  dataToJson,
  decodeData,
  decodeDateTime,
  encodeData,
  encodeDateTime,
  formatDateTime,
  readLength,
  writeData,
  writeLength,
} from "./axdr";
export type { CosemDate, CosemDateTime, CosemTime, DataTypeName, DlmsData, TypeDescription } from "./axdr";
export { cipherApdu, decipherApdu, decipherApduBytes, isCipheredApdu } from "./ciphering";
export type { AnyCipheredApdu, CipherApduParameters, DecipherApduParameters } from "./ciphering";
export { crc16x25 } from "./crc";
export { decodeDlms, dlmsToJson } from "./decode";
export type { DecodeDlmsOptions, DecodeDlmsReturnType, DecodedHdlc } from "./decode";
export {
  BadChecksumError,
  BadObisError,
  BadTagError,
  DlmsError,
  FieldValueError,
  InvalidArgumentError,
  InvalidHexError,
  InvalidKeyError,
  LengthMismatchError,
  LimitExceededError,
  MissingKeyError,
  TrailingBytesError,
  TruncatedError,
  UnknownTagError,
  UnsupportedSecurityError,
  isDlmsError,
  MeterConnectionError,
  MeterProtocolError,
  MeterRejectedError,
  MeterTimeoutError,
} from "./errors";
export type { DlmsErrorCode, DlmsErrorOptions } from "./errors";
export {
  HDLC_FLAG,
  HDLC_MAX_LENGTH,
  HdlcReassembler,
  LLC_COMMAND,
  LLC_RESPONSE,
  decodeControl,
  decodeHdlcFrame,
  decodeHdlcParameters,
  encodeControl,
  encodeHdlcFrame,
  encodeHdlcParameters,
  hdlcAddress,
  segmentHdlc,
  splitLlc,
} from "./hdlc";
export type {
  DecodeHdlcFrameOptions,
  DecodeHdlcFrameReturnType,
  EncodeHdlcFrameParameters,
  HdlcAddress,
  HdlcControl,
  HdlcFrame,
  HdlcFrameType,
  HdlcParameters,
} from "./hdlc";
export { bytesToHex, hexToBytes } from "./hex";
export { Reader, Writer, compileLayout } from "./layout";
export type { CompiledLayout, FieldSpec, FieldType, Layout, LayoutValues } from "./layout";
export { ABSTRACT_OBJECTS, REGISTERS, UNITS, describeObis, formatObis, parseObis } from "./obis";
export type { RegisterInfo } from "./obis";
export { HAN_PUSH_LISTS, decodeProfileBuffer, extractRegisters, reading } from "./push";
export type { ExtractRegistersReturnType, PushListSpec, RegisterReading } from "./push";
export { GCM_TAG_SIZE, SYSTEM_TITLE_SIZE, decodeSecurityControl, encodeSecurityControl, protect, unprotect } from "./security";
export type { ProtectParameters, SecurityControl, SecurityKeys, UnprotectParameters } from "./security";
export { WRAPPER_HEADER_LAYOUT, WRAPPER_VERSION, decodeWrapper, encodeWrapper } from "./wrapper";
export type { WrapperHeader } from "./wrapper";
// The client side (I/O over a byte stream the caller opens): association, GET, links, the objects read.
export { CLIENT_CONFORMANCE, DlmsClient, SECURED_CONFORMANCE } from "./client/client";
export type { ClientSecurity, DlmsClientParameters } from "./client/client";
export { HdlcLink, WrapperLink, cutHdlcFrames, cutWrapperFrames, tcpStream, udpStream } from "./client/links";
export type { DlmsLink, LinkParameters, StreamOpener } from "./client/links";
export { CLASS, ENERGY, INSTANTANEOUS, LOAD_PROFILE_COLUMNS, OBJECTS, UNIT, cosemDateTime, cosemToMs, dateTimeData, obisBytes, rangeSelection, readingFromRegisters } from "./client/objects";
export type { RegisterObject } from "./client/objects";
export { DlmsMeterReader } from "./client/reader";
export type { EnergyBaseline, ProfileRow } from "./client/reader";
export { CURRENT_ASSOCIATION, HLS_GMAC_SC, hlsGmac, verifyHlsGmac } from "./hls";
export type { HlsGmacParameters } from "./hls";
export { PushReceiver } from "./client/pushReceiver";
export type { PushReceiverParameters, ReceivedPush } from "./client/pushReceiver";
