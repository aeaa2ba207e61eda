import * as api from "./index";

describe("public API", () => {
  it("exports exactly these names", () => {
    expect(Object.keys(api).sort()).toEqual([
      "BLOCKTST_ABIS",
      "BLOCKTST_DEFAULTS",
      "BlockTstClient",
      "BlockTstDeployError",
      "BlockTstError",
      "Category",
      "DEFAULT_PRICE_PARAMS",
      "DELIVERY_TYPES",
      "DEMAND_RESPONSE_LIMITS",
      "DISCOUNT_VOUCHER_TYPES",
      "DemandResponseClient",
      "DemandResponse__factory",
      "EnergyAuction__factory",
      "EnergyMarket__factory",
      "EventMissingError",
      "HOUR_SECONDS",
      "InvalidArgumentError",
      "MARKET_DOMAIN_NAME",
      "MARKET_DOMAIN_VERSION",
      "MarketMirror__factory",
      "MessageKind",
      "ONE",
      "ROLES",
      "Resolution",
      "Side",
      "SmartGridToken__factory",
      "TABLE3",
      "TRADING_ACCOUNT_TYPES",
      "TradeKind",
      "TradeStatus",
      "WH_PER_UNIT",
      "amountFor",
      "artifactsDir",
      "bidEscrow",
      "bilateralPrice",
      "clearAuction",
      "decodeTradePayload",
      "deliveryDigest",
      "deliveryKeyOf",
      "deployBlockTst",
      "deployDemandResponse",
      "encodePreferencesPayload",
      "encodeRegistrationPayload",
      "encodeTradePayload",
      "isBlockTstError",
      "marketDomain",
      "signDeliveryConfirmation",
      "signDiscountVoucher",
      "signTradingAccountCertificate",
      "unitPrice",
    ]);
  });

  it("gives every error a stable code and the offending values", () => {
    const e = new api.InvalidArgumentError("gridPrice", 0n, "must be positive");
    expect(e).toBeInstanceOf(api.BlockTstError);
    expect(api.isBlockTstError(e, "INVALID_ARGUMENT")).toBe(true);
    expect(api.isBlockTstError(e, "DEPLOY_FAILED")).toBe(false);
    expect([e.code, e.shortMessage, e.argument, e.value]).toEqual(["INVALID_ARGUMENT", "gridPrice = 0: must be positive", "gridPrice", 0n]);
    const cause = new Error("boom");
    const d = new api.BlockTstDeployError("grid tariff", "configuration transaction failed", { cause, details: "nonce" });
    expect([d.code, d.step, d.cause, d.details, d.message]).toEqual(["DEPLOY_FAILED", "grid tariff", cause, "nonce", "grid tariff: configuration transaction failed\n\nDetails: nonce"]);
    const m = new api.EventMissingError("EnergyBought", "0xabc");
    expect([m.code, m.event, m.txHash]).toEqual(["EVENT_MISSING", "EnergyBought", "0xabc"]);
  });
});
