import * as api from "./index";

describe("public API", () => {
  it("exports exactly these names", () => {
    expect(Object.keys(api).sort()).toEqual([
      "ANY_DISTRIBUTOR",
      "AUDITOR_ROLE",
      "BlockPriClient",
      "BlockPriDeployError",
      "BlockPriError",
      "Category",
      "DISTRIBUTOR_ROLE",
      "InvalidArgumentError",
      "MalformedPayloadError",
      "MessageKind",
      "MissingEventError",
      "MockOutbox__factory",
      "PPC__factory",
      "Resolution",
      "artifactsDir",
      "categoryName",
      "decodePreferencesPayload",
      "decodeRegistrationPayload",
      "deployBlockPri",
      "encodePreferencesPayload",
      "encodeRegistrationPayload",
      "isBlockPriError",
      "payloadKind",
      "permits",
      "resolutionName",
    ]);
  });
});
