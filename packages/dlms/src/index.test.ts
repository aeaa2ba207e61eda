import * as api from "./index";

// Changes to the public API must show up in review.
it("exports exactly the documented public API", () => {
  expect(Object.keys(api).sort()).toEqual([
    "ABSTRACT_OBJECTS", "APDU_TAGS", "BadChecksumError", "BadObisError", "BadTagError", "CIPHERED_TAGS", "CONFORMANCE_BITS",
    "DATA_ACCESS_RESULTS", "DATA_TAGS", "DATE_TIME_LAYOUT", "DlmsError", "FieldValueError", "GCM_TAG_SIZE", "HAN_PUSH_LISTS",
    "HDLC_FLAG", "HDLC_MAX_LENGTH", "HdlcReassembler", "InvalidArgumentError", "InvalidHexError", "InvalidKeyError", "LLC_COMMAND",
    "LLC_RESPONSE", "LengthMismatchError", "LimitExceededError", "MAX_DATA_DEPTH", "MissingKeyError", "REGISTERS", "Reader",
    "SYSTEM_TITLE_SIZE", "TrailingBytesError", "TruncatedError", "UNITS", "UnknownTagError", "UnsupportedSecurityError",
    "WRAPPER_HEADER_LAYOUT", "WRAPPER_VERSION", "Writer", "bytesToHex", "cipherApdu", "compileLayout", "conformance", "crc16x25",
    "dataToJson", "decipherApdu", "decipherApduBytes", "decodeApdu", "decodeControl", "decodeData", "decodeDateTime", "decodeDlms",
    "decodeHdlcFrame", "decodeHdlcParameters", "decodeProfileBuffer", "decodeSecurityControl", "decodeWrapper", "describeObis",
    "dlmsToJson", "encodeApdu", "encodeControl", "encodeData", "encodeDateTime", "encodeHdlcFrame", "encodeHdlcParameters",
    "encodeSecurityControl", "encodeWrapper", "extractRegisters", "formatDateTime", "formatObis", "hdlcAddress", "hexToBytes",
    "isCipheredApdu", "isDlmsError", "parseObis", "protect", "readLength", "reading", "segmentHdlc", "splitLlc", "unprotect",
    "writeData", "writeLength",
  ]);
});
