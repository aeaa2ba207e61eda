// The registry of security suites: picks and configures one by name. The interface they share is
// in suiteTypes.ts.
import { createAesGcmSuite, type AesGcmSuiteOptions } from "./aesGcmSuite";
import { InsecureSuiteError, InvalidArgumentError } from "./errors";
import { createLegacyRc4MepSuite, type LegacyRc4MepSuiteOptions } from "./legacyRc4Suite";
import { SECURITY_SUITE_NAMES, type SecuritySuite, type SecuritySuiteName } from "./suiteTypes";

export type CreateSecuritySuiteOptions = LegacyRc4MepSuiteOptions | AesGcmSuiteOptions;

/**
 * Creates a security suite. `legacy-rc4-mep` throws {@link InsecureSuiteError} unless
 * `allowInsecure: true` is passed.
 * @example
 * const suite = createSecuritySuite("aes-gcm", { masterKey, meterId: 42 });
 * const { frame, exchange } = suite.encodeRequest({ request, seq: 1 });
 */
export function createSecuritySuite(name: "legacy-rc4-mep", options: LegacyRc4MepSuiteOptions): SecuritySuite;
export function createSecuritySuite(name: "aes-gcm", options: AesGcmSuiteOptions): SecuritySuite;
export function createSecuritySuite(name: SecuritySuiteName, options: CreateSecuritySuiteOptions): SecuritySuite;
export function createSecuritySuite(name: SecuritySuiteName, options: CreateSecuritySuiteOptions): SecuritySuite {
  if (typeof options !== "object" || options === null) throw new InvalidArgumentError("options", options, "an options object");
  switch (name) {
    case "legacy-rc4-mep": {
      const o = options as LegacyRc4MepSuiteOptions;
      if (o.allowInsecure !== true) throw new InsecureSuiteError(name);
      return createLegacyRc4MepSuite(o);
    }
    case "aes-gcm":
      return createAesGcmSuite(options as AesGcmSuiteOptions);
    default:
      throw new InvalidArgumentError("suite", name, SECURITY_SUITE_NAMES.join(" or "));
  }
}
