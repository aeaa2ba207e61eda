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
      "INSTALLER_ROLE",
      "InvalidArgumentError",
      "METER_BINDING_DOMAIN",
      "METER_BINDING_TYPES",
      "MalformedPayloadError",
      "MessageKind",
      "MissingEventError",
      "MockOutbox__factory",
      "PPC__factory",
      "REGULATOR_ROLE",
      "Resolution",
      "artifactsDir",
      "categoryName",
      "decodePreferencesPayload",
      "decodeRegistrationPayload",
      "deployBlockPri",
      "encodePreferencesPayload",
      "encodeRegistrationPayload",
      "isBlockPriError",
      "meterBindingDigest",
      "meterBindingTypedData",
      "meterIdFromBytes32",
      "meterIdToBytes32",
      "payloadKind",
      "permits",
      "recoverMeterBindingSigner",
      "registerWithInstaller",
      "resolutionName",
      "signMeterBinding",
    ]);
  });
});
