import * as api from "./index";

// Changes to the public API must show up in review.
it("exports exactly the documented public API", () => {
  expect(Object.keys(api).sort()).toEqual([
    "AES_GCM_DIRECTION_REQUEST", "AES_GCM_DIRECTION_RESPONSE", "AES_GCM_KEY_INFO", "AES_GCM_KEY_SALT", "AES_GCM_TAG_SIZE",
    "BadDigestError", "BadTagError", "DIGEST_SIZE", "EXTENDED_TABLE_OFFSET", "FieldRangeError", "InsecureSuiteError",
    "InvalidArgumentError", "InvalidHexError", "InvalidKeyError", "LENGTH_FIELD_SIZE", "LengthMismatchError", "MAX_FRAME_BODY",
    "MEP_RC4_CONSTANT", "OMA_DIGEST_SIZE", "OMA_KEY_LENGTHS", "OmaDigest", "OsgpError", "PENDING_TABLE_OFFSET",
    "PROCEDURE_CALL_LAYOUT", "PROCEDURE_RESPONSE_TABLE_ID", "PROCEDURE_RESULT_CODES", "PROCEDURE_RESULT_LAYOUT",
    "PROCEDURE_TABLE_ID", "READING_RECORD_LAYOUT", "READING_RECORD_RESERVED", "READING_RECORD_SIZE", "READING_RECORD_VERSION",
    "READING_TABLE_ID", "READING_TABLE_NUMBER", "REQUEST_SERVICES", "RESPONSES", "SECURITY_SUITE_NAMES", "SEQUENCE_WINDOW_SIZE",
    "SEQ_SIZE", "STATUS_FLAG_BITS", "SequenceCounter", "SequenceRejectedError", "SequenceWindow", "TruncatedFrameError",
    "UnknownResponseCodeError", "UnknownServiceError", "aesGcmNonce", "bytesToHex", "compileLayout", "constantTimeEqual",
    "createSecuritySuite", "decodeProcedureCall", "decodeProcedureResult", "decodeReadingRecord", "decodeRequest",
    "decodeRequestPdu", "decodeResponse", "decodeResponsePdu", "deriveMeterKey", "encodeProcedureCall", "encodeProcedureResult",
    "encodeReadingRecord", "encodeRequest", "encodeRequestPdu", "encodeResponse", "encodeResponsePdu", "formatTableId",
    "hexToBytes", "isOsgpError", "mepEncryptionKey", "omaBlockSize", "omaDigest", "omaResponseDigest", "parseTableId",
    "parseTableName", "peekFrameSize", "requestDigestInput", "responseCode", "tableId", "verifyOmaDigest",
  ]);
});
